"""The engines that restore arrays in host memory, and the router between them.

Routing (chosen by `benchmarks/bench_restore.py` on a 2-core machine):

- **Fused XLA**, when TensorFlow is already imported and the array is large
  and 64-byte aligned: the array is handed over by DLPack without a copy and
  restored by one cached `jit_compile=True` kernel.
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

import numpy as np

from keras_deprocess.frameworks import backend_for
from keras_deprocess.frameworks.numpy import numpy_dtype
from keras_deprocess.math import kernels
from keras_deprocess.math.affine import compute_dtype
from keras_deprocess.math.finite import NonFinite, all_finite, check_finite, count_nonfinite
from keras_deprocess.spec import Affine

__all__ = ["affine_blocked", "restore_on_host"]

# 128K elements: a 1 MiB float64 scratch buffer, which stays in L2.
BLOCK_ELEMENTS = 1 << 17
# Below this many elements, a fused kernel's compilation costs more than it saves.
XLA_MIN_ELEMENTS = 1 << 20


def restore_on_host(x: np.ndarray, affine: Affine, axis: int, out_dtype: str, clip: bool) -> np.ndarray:
    """The inverse of a NumPy array, by the fastest engine available for it.

    Raises:
        NonFinite: For NaN or ±Inf in `x` when the output is uint8.
    """
    fused = xla_restore_numpy(x, affine, axis, out_dtype, clip)
    if fused is not None:
        return fused
    return affine_blocked(x, affine, axis, out_dtype, rounding=out_dtype == "uint8", clip=clip)


def engine_name() -> str:
    """Which engine large NumPy arrays take now."""
    if "tensorflow" in sys.modules:
        return f"fused XLA via DLPack for 64-byte-aligned arrays from {XLA_MIN_ELEMENTS} elements"
    return "blocked NumPy"


def affine_blocked(
    x: np.ndarray, affine: Affine, axis: int, out_dtype: str, *, rounding: bool, clip: bool
) -> np.ndarray:
    """``out[.., k, ..] = x[.., source[k], ..] * m[k] + b[k]``, then rint and clip if asked.

    Computed in float64 when `rounding` (so that a uint8 output is the float64
    reference), else in float32 (float64 for float64 input).

    Raises:
        NonFinite: With `rounding`, for NaN or ±Inf in `x`.
    """
    out = np.empty(x.shape, numpy_dtype(out_dtype))
    if x.size == 0:
        return out
    channels = x.shape[axis]
    outer, inner = math.prod(x.shape[:axis]), math.prod(x.shape[axis + 1 :])
    source_view = x.reshape(outer, channels, inner)
    out_view = out.reshape(outer, channels, inner)
    source, multiplier, offset = affine
    sources = source or tuple(range(channels))
    multipliers = multiplier * channels if len(multiplier) == 1 else multiplier
    offsets = offset * channels if len(offset) == 1 else offset
    compute = np.dtype(np.float64) if rounding else numpy_dtype(compute_dtype(x.dtype.name))
    same_dtype = x.dtype == compute
    direct = out.dtype == compute and not rounding  # write straight into the output

    inner_step = inner if channels * inner <= BLOCK_ELEMENTS else max(1, BLOCK_ELEMENTS // channels)
    rows = max(1, BLOCK_ELEMENTS // (channels * inner_step))
    scratch = None if direct else np.empty((min(rows, outer), channels, min(inner, inner_step)), compute)
    with np.errstate(over="ignore", invalid="ignore"):
        for lo in range(0, outer, rows):
            hi = min(lo + rows, outer)
            for inner_lo in range(0, inner, inner_step):
                inner_hi = min(inner_lo + inner_step, inner)
                if scratch is None:
                    block = out_view[lo:hi, :, inner_lo:inner_hi]
                else:
                    block = scratch[: hi - lo, :, : inner_hi - inner_lo]
                for k in range(channels):
                    src = source_view[lo:hi, sources[k], inner_lo:inner_hi]
                    dst = block[:, k]
                    m, b = multipliers[k], offsets[k]
                    if not same_dtype:
                        np.copyto(dst, src, casting="unsafe")
                        src = dst
                    if m != 1.0:
                        np.multiply(src, m, out=dst)
                        if b != 0.0:
                            np.add(dst, b, out=dst)
                    elif b != 0.0:
                        np.add(src, b, out=dst)
                    elif src is not dst:
                        np.copyto(dst, src)
                if rounding:
                    if not all_finite(block):
                        raise NonFinite(count_nonfinite(x), x.size)
                    np.rint(block, out=block)
                if clip:
                    np.clip(block, 0.0, 255.0, out=block)
                if scratch is not None:
                    np.copyto(out_view[lo:hi, :, inner_lo:inner_hi], block, casting="unsafe")
    return out


def xla_restore_numpy(
    x: np.ndarray, affine: Affine, axis: int, out_dtype: str, clip: bool
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
    kernel = kernels.compiled_restore(backend_for(tensor), affine, axis, out_dtype, clip)
    return np.asarray(kernel(tensor))
