"""Cache-sized blocks of an (outer, channels, inner) view: the one loop of every blocked pass.

An array with its channel axis at `axis` is viewed, without a copy, as
``(prod(shape[:axis]), channels, prod(shape[axis + 1:]))``. Blocked passes
walk it in blocks of whole rows when a row fits the budget (channels_last:
``inner`` is 1), else in runs of ``inner`` (channels_first planes), so that
their scratch buffers stay in cache whatever the array's size.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

__all__ = ["block_shape", "blocks", "flat_blocks", "view3"]


def view3(x: np.ndarray, axis: int) -> np.ndarray:
    """`x` as (outer, channels, inner); a view whenever the strides allow it (they usually do)."""
    shape = (math.prod(x.shape[:axis]), x.shape[axis], math.prod(x.shape[axis + 1 :]))
    try:
        return np.reshape(x, shape, copy=False)
    except ValueError:
        return np.reshape(x, shape)


def block_shape(
    outer: int, channels: int, inner: int, elements: int, row_multiple: int = 1
) -> tuple[int, int]:
    """(rows, inner run) of a block of at most about `elements` elements.

    Whole rows when a row fits; rows rounded down to a multiple of
    `row_multiple` when there are more than that many.
    """
    inner_step = inner if channels * inner <= elements else max(1, elements // channels)
    rows = max(1, elements // (channels * max(inner_step, 1)))
    if rows > row_multiple > 1:
        rows -= rows % row_multiple
    return min(max(outer, 1), rows), max(inner_step, 1)


def blocks(outer: int, inner: int, rows: int, inner_step: int) -> Iterator[tuple[slice, slice]]:
    """(rows, inner run) slices covering an (outer, ·, inner) view, rows outermost."""
    for lo in range(0, outer, rows):
        for inner_lo in range(0, inner, inner_step):
            yield slice(lo, min(lo + rows, outer)), slice(inner_lo, min(inner_lo + inner_step, inner))


def flat_blocks(size: int, elements: int) -> Iterator[slice]:
    """Runs of at most `elements` over a flat array of `size`."""
    for lo in range(0, size, elements):
        yield slice(lo, min(lo + elements, size))
