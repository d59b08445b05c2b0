"""The blocked NumPy engine: any plan, on host memory, with no full-size float temporary.

The array is viewed as (outer, channels, inner) (`keras_deprocess.core.blocks`)
and walked in cache-sized blocks. For an affine plan, per block and channel
one ufunc call reads the source channel (the reordering is just which slice is
read) and writes into a small scratch buffer, in float64 for a uint8 output so
that rounding is the reference's; the constants, rounding, clipping and the
cast then run on that buffer while it is in cache. A Lab plan runs its kernel
(`keras_deprocess.kernels.maps`) with NumPy's ops, a block of pixels at a time.

It needs nothing beyond NumPy, serves every plan, and gives the float64
reference bit for bit for a uint8 output; it never writes into its input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_deprocess.core.blocks import block_shape, blocks, view3
from keras_deprocess.core.dtypes import compute_dtype, numpy_dtype
from keras_deprocess.core.finite import NonFinite, all_finite, count_nonfinite
from keras_deprocess.core.plan import Plan
from keras_deprocess.core.spec import Affine
from keras_deprocess.frameworks.numpy import NumpyBackend
from keras_deprocess.kernels.affine import rounding_shifts
from keras_deprocess.kernels.maps import run_map

__all__ = ["BLOCK_ELEMENTS", "MAP_BLOCK_PIXELS", "affine_blocked", "run"]

# 96K elements: a 768 KiB float64 scratch buffer, which stays in L2 and keeps
# the engine's memory under the output's size plus 1 MiB.
BLOCK_ELEMENTS = 3 << 15
# Rows of a pre-tiled constant block for interleaved channels (48 KiB for 3).
TILE_ROWS = 2048
# Pixels per block of a non-affine map: its float64 temporaries stay in L2.
MAP_BLOCK_PIXELS = 1 << 13

_NUMPY = NumpyBackend()


def run(
    x: np.ndarray,
    plan: Plan,
    *,
    block_elements: int = BLOCK_ELEMENTS,
    map_block_pixels: int = MAP_BLOCK_PIXELS,
) -> np.ndarray:
    """`plan` on the NumPy array `x`, block by block.

    Raises:
        NonFinite: For NaN or ±Inf in `x` when the plan rounds to uint8.
    """
    if not plan.is_affine:
        return _map_blocked(x, plan, map_block_pixels)
    return affine_blocked(
        x,
        plan.affine,
        plan.axis,
        plan.out_dtype,
        rounding=plan.rounds,
        clip=plan.clip,
        block_elements=block_elements,
    )


def _map_blocked(x: np.ndarray, plan: Plan, block_pixels: int) -> np.ndarray:
    """A non-affine map with NumPy's ops, block by block: no full-size temporaries."""
    out, source_view, out_view = _views(x, plan.axis, plan.out_dtype)
    if x.size == 0:
        return out
    outer, _, inner = source_view.shape
    on_blocks = plan.at_axis(1)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for rows, pixels in blocks(outer, inner, *block_shape(outer, 1, inner, block_pixels)):
            chunk = source_view[rows, :, pixels]
            if plan.rounds and not all_finite(chunk):
                raise NonFinite(count_nonfinite(x), x.size)
            out_view[rows, :, pixels] = run_map(_NUMPY, chunk, on_blocks, zero_nan=False)
    return out


def affine_blocked(
    x: np.ndarray,
    affine: Affine,
    axis: int,
    out_dtype: str,
    *,
    rounding: bool,
    clip: bool,
    block_elements: int = BLOCK_ELEMENTS,
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
    # uint8: (x + b / m) * m, the reference's sum then product (kernels.affine).
    shifts = rounding_shifts(Affine(None, multipliers, offsets)) if rounding else None

    rows, inner_step = block_shape(outer, channels, inner, block_elements, row_multiple=TILE_ROWS)
    scratch = np.empty((rows, channels, min(inner, inner_step)), compute)
    # The constants, applied in the order of the computation: a sum then a
    # product for uint8 (the reference's, see kernels.affine), else the reverse.
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
        for row_slice, inner_slice in blocks(outer, inner, rows, inner_step):
            count = row_slice.stop - row_slice.start
            block = scratch[:count, :, : inner_slice.stop - inner_slice.start]
            chunk = source_view[row_slice, :, inner_slice]
            # Checked on the input, at its own width: half the bytes of the float64 scratch.
            if rounding and not all_finite(chunk):
                raise NonFinite(count_nonfinite(x), x.size)
            for k in range(channels):
                np.copyto(block[:, k], chunk[:, sources[k]], casting="unsafe")
            for op, values in steps:
                if uniform:
                    op(block, values[0], out=block)
                elif tiled:
                    _apply_tiled(op, block.reshape(count, -1), tiled[op])
                else:
                    for k in range(channels):
                        op(block[:, k], values[k], out=block[:, k])
            if rounding:
                np.rint(block, out=block)
            if clip:
                _clip(block, 0.0, 255.0, out=block)
            np.copyto(out_view[row_slice, :, inner_slice], block, casting="unsafe")
    return out


def _views(x: np.ndarray, axis: int, out_dtype: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A new output, and (outer, channels, inner) views of the input and of it."""
    out = np.empty(x.shape, numpy_dtype(out_dtype))
    return out, view3(x, axis), view3(out, axis)


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
