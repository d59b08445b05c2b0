"""The engines that restore arrays in host memory, and the router between them.

Routing (chosen by `benchmarks/bench_restore.py` on a 2-core machine):

- **Fused numba kernels** (`keras_deprocess.math.compiled`), when the `fast`
  extra is installed: one pass over memory for every spec, float16, float32
  and float64 input, uint8, float32 and float64 output.
- **Fused XLA**, otherwise, when TensorFlow is already imported and the array
  is large and 64-byte aligned: the array is handed over by DLPack without a
  copy and restored by one cached `jit_compile=True` kernel.
- **Blocked NumPy** otherwise. The array is viewed as (outer, channels,
  inner) and walked in cache-sized blocks. Per block and channel one ufunc
  call reads the source channel (the reordering is just which slice is read)
  and writes ``x * m + b`` into a small scratch buffer, in float64 for a
  uint8 output, so that rounding is the reference's; rounding, clipping and
  the cast then run on that buffer while it is in cache. There is no
  full-size float temporary.

Every engine gives the float64 reference bit for bit for a uint8 output, and
none writes into its input.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from keras_deprocess.frameworks import backend_for
from keras_deprocess.frameworks.numpy import numpy_dtype
from keras_deprocess.math import compiled, kernels
from keras_deprocess.math.affine import compute_dtype, rounding_shifts
from keras_deprocess.math.finite import NonFinite, all_finite, check_finite, count_nonfinite
from keras_deprocess.spec import Affine, PreprocessSpec

__all__ = ["affine_blocked", "restore_on_host"]

# 96K elements: a 768 KiB float64 scratch buffer, which stays in L2 and keeps
# the engine's memory under the output's size plus 1 MiB.
BLOCK_ELEMENTS = 3 << 15
# Rows of a pre-tiled constant block for interleaved channels (48 KiB for 3).
TILE_ROWS = 2048
# Below this many elements, a fused kernel's compilation costs more than it saves.
XLA_MIN_ELEMENTS = 1 << 20


def restore_on_host(x: np.ndarray, spec: PreprocessSpec, axis: int, out_dtype: str, clip: bool) -> np.ndarray:
    """The inverse of a NumPy array, by the fastest engine available for it.

    Raises:
        NonFinite: For NaN or ±Inf in `x` when the output is uint8.
    """
    fused = compiled.restore(x, spec, axis, out_dtype, clip)
    if fused is None:
        fused = xla_restore_numpy(x, spec, axis, out_dtype, clip)
    if fused is not None:
        return fused
    if not spec.is_affine:
        return _map_blocked(x, axis, out_dtype, rounding=out_dtype == "uint8", inverse=(spec, clip))
    return affine_blocked(x, spec.inverse_affine(), axis, out_dtype, rounding=out_dtype == "uint8", clip=clip)


def forward_on_host(x: np.ndarray, spec: PreprocessSpec, axis: int, out_dtype: str) -> np.ndarray:
    """`spec`'s forward pass of a NumPy array."""
    if not spec.is_affine:
        return _map_blocked(x, axis, out_dtype, rounding=False, forward=spec)
    return affine_blocked(x, spec.forward_affine(), axis, out_dtype, rounding=False, clip=False)


# Pixels per block of a non-affine map: its float64 temporaries stay in L2.
MAP_BLOCK_PIXELS = 1 << 13


def _map_blocked(
    x: np.ndarray,
    axis: int,
    out_dtype: str,
    *,
    rounding: bool,
    inverse: tuple[PreprocessSpec, bool] | None = None,
    forward: PreprocessSpec | None = None,
) -> np.ndarray:
    """A non-affine map (`math.maps`) with NumPy's ops, block by block: no full-size temporaries."""
    from keras_deprocess.math.maps import forward_map, inverse_map

    numpy_backend = backend_for(x)
    assert numpy_backend is not None
    out, source_view, out_view = _views(x, axis, out_dtype)
    if x.size == 0:
        return out
    outer, _, inner = source_view.shape
    inner_step = min(inner, MAP_BLOCK_PIXELS)
    rows = max(1, MAP_BLOCK_PIXELS // inner_step)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for lo in range(0, outer, rows):
            for inner_lo in range(0, inner, inner_step):
                chunk = source_view[lo : lo + rows, :, inner_lo : inner_lo + inner_step]
                if rounding and not all_finite(chunk):
                    raise NonFinite(count_nonfinite(x), x.size)
                if inverse is not None:
                    spec, clip = inverse
                    mapped = inverse_map(numpy_backend, chunk, spec, 1, out_dtype, clip, zero_nan=False)
                else:
                    assert forward is not None
                    mapped = forward_map(numpy_backend, chunk, forward, 1, out_dtype)
                out_view[lo : lo + rows, :, inner_lo : inner_lo + inner_step] = mapped
    return out


def engine_name() -> str:
    """Which engine large NumPy arrays take now."""
    if compiled.available():
        return f"fused numba kernels from {compiled.MIN_ELEMENTS} elements"
    if "tensorflow" in sys.modules:
        return f"fused XLA via DLPack for 64-byte-aligned arrays from {XLA_MIN_ELEMENTS} elements"
    return "blocked NumPy"


def affine_blocked(
    x: np.ndarray, affine: Affine, axis: int, out_dtype: str, *, rounding: bool, clip: bool
) -> np.ndarray:
    """``out[.., k, ..] = x[.., source[k], ..] * m[k] + b[k]``, then rint and clip if asked.

    Computed in float64 when `rounding` (so that a uint8 output is the float64
    reference), else in float32 (float64 for float64 input).

    Per block: one copy per channel casts the input into the scratch buffer,
    reading the source channel (so the reordering is free); the constants are
    then applied by contiguous ufunc calls: per channel for long channel runs
    (channels_first), or against a pre-tiled constant block when the channels
    interleave (channels_last), since a 3-wide broadcast would make NumPy's
    inner loop 3 elements long.

    Raises:
        NonFinite: With `rounding`, for NaN or ±Inf in `x`.
    """
    out, source_view, out_view = _views(x, axis, out_dtype)
    if x.size == 0:
        return out
    outer, channels, inner = source_view.shape
    source, multiplier, offset = affine
    sources = source or tuple(range(channels))
    multipliers = multiplier * channels if len(multiplier) == 1 else multiplier
    offsets = offset * channels if len(offset) == 1 else offset
    compute = np.dtype(np.float64) if rounding else numpy_dtype(compute_dtype(x.dtype.name))
    # uint8: (x + b / m) * m, the reference's sum then product (math.affine).
    shifts = rounding_shifts(Affine(None, multipliers, offsets)) if rounding else None

    inner_step = inner if channels * inner <= BLOCK_ELEMENTS else max(1, BLOCK_ELEMENTS // channels)
    rows = max(1, BLOCK_ELEMENTS // (channels * inner_step))
    rows = min(outer, rows - rows % TILE_ROWS if rows > TILE_ROWS else rows)
    scratch = np.empty((rows, channels, min(inner, inner_step)), compute)
    # The constants, applied in the order of the computation: a sum then a
    # product for uint8 (the reference's, see math.affine), else the reverse.
    additions = shifts if shifts is not None else offsets
    steps = [(np.add, additions), (np.multiply, multipliers)]
    if shifts is None:
        steps.reverse()
    steps = [(op, values) for op, values in steps if any(v != (op is np.multiply) for v in values)]
    # Whole-block calls when every channel has the same constant; pre-tiled
    # constant blocks when channels interleave (a 3-wide broadcast would make
    # NumPy's inner loop 3 elements long); per-channel calls otherwise.
    uniform = all(len(set(values)) == 1 for _, values in steps)
    tiled = {}
    if not uniform and inner_step == inner < 8:
        tile_shape = (min(rows, TILE_ROWS), channels * inner_step)
        tiled = {op: _tiled(values, inner_step, tile_shape, compute) for op, values in steps}
    with np.errstate(over="ignore", invalid="ignore"):
        for lo in range(0, outer, rows):
            hi = min(lo + rows, outer)
            for inner_lo in range(0, inner, inner_step):
                inner_hi = min(inner_lo + inner_step, inner)
                block = scratch[: hi - lo, :, : inner_hi - inner_lo]
                chunk = source_view[lo:hi, :, inner_lo:inner_hi]
                # Checked on the input, at its own width: half the bytes of the float64 scratch.
                if rounding and not all_finite(chunk):
                    raise NonFinite(count_nonfinite(x), x.size)
                for k in range(channels):
                    np.copyto(block[:, k], chunk[:, sources[k]], casting="unsafe")
                for op, values in steps:
                    if uniform:
                        op(block, values[0], out=block)
                    elif tiled:
                        _apply_tiled(op, block.reshape(hi - lo, -1), tiled[op])
                    else:
                        for k in range(channels):
                            op(block[:, k], values[k], out=block[:, k])
                if rounding:
                    np.rint(block, out=block)
                if clip:
                    _clip(block, 0.0, 255.0, out=block)
                np.copyto(out_view[lo:hi, :, inner_lo:inner_hi], block, casting="unsafe")
    return out


def _views(x: np.ndarray, axis: int, out_dtype: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A new output, and (outer, channels, inner) views of the input and of it."""
    out = np.empty(x.shape, numpy_dtype(out_dtype))
    shape = (math.prod(x.shape[:axis]), x.shape[axis], math.prod(x.shape[axis + 1 :]))
    return out, x.reshape(shape), out.reshape(shape)


def _tiled(values: tuple[float, ...], inner: int, shape: tuple[int, int], dtype: np.dtype[Any]) -> np.ndarray:
    """`shape` rows of the per-channel constants, laid out as the block's interleaved channels."""
    row = np.repeat(np.asarray(values, dtype), inner)
    return np.ascontiguousarray(np.broadcast_to(row, shape))


def _apply_tiled(op: Any, block: np.ndarray, tile: np.ndarray) -> None:
    """``block = op(block, constants)`` in place, with one long inner loop per tile of rows."""
    rows = len(block)
    whole = rows - rows % len(tile)
    if whole:
        head = block[:whole].reshape(-1, *tile.shape)
        op(head, tile, out=head)
    if whole < rows:
        op(block[whole:], tile[: rows - whole], out=block[whole:])


# The ufunc behind np.clip, without the wrapper's per-call checks.
_clip = getattr(np, "_core", getattr(np, "core", np)).umath.clip


def xla_restore_numpy(
    x: np.ndarray, spec: PreprocessSpec, axis: int, out_dtype: str, clip: bool
) -> np.ndarray | None:
    """The fused kernel on a NumPy array, handed over by DLPack without a copy.

    Only when TensorFlow is already imported and the array is large and
    64-byte aligned: TensorFlow copies less-aligned buffers (which costs what
    the fusion saves), and its eager kernels can abort on them, so no eager
    op ever touches the borrowed buffer. NumPy's own allocations are usually
    16-byte aligned: those take the blocked NumPy path. None when the
    hand-over is refused (read-only, strided, unaligned or exotic arrays).
    """
    tf = sys.modules.get("tensorflow")
    if (
        tf is None
        or x.size < XLA_MIN_ELEMENTS
        or x.dtype.name not in ("float16", "float32", "float64")
        or x.ctypes.data % 64
    ):
        return None
    try:
        tensor = tf.experimental.dlpack.from_dlpack(x.__dlpack__())
    except Exception:  # DLPack refusals have no common type across versions
        return None
    if out_dtype == "uint8":
        check_finite(x)
    kernel = kernels.compiled_restore(backend_for(tensor), spec, axis, out_dtype, clip)
    return np.asarray(kernel(tensor))
