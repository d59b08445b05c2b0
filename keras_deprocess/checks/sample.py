"""An evenly strided sample of pixels, cut where the array lives and only then copied to the host."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from keras_deprocess.frameworks.base import Backend

__all__ = ["strided_pixels"]


def strided_pixels(backend: Backend, x: Any, axis: int, pixels: int) -> np.ndarray:
    """At most `pixels` pixels, as (P, C) on the host: every pixel of a smaller array.

    Every axis but the channel axis keeps up to the same number `m` of evenly
    spaced positions, the largest `m` whose sample fits `pixels`: an axis of
    `m` or fewer entries is kept whole. So every image of a small batch is
    sampled (a uniform step would stride over a batch of two and see only its
    first image), and a large batch is spread over as evenly as its rows and
    columns. Only the sample leaves the device. Values keep their dtype
    (bfloat16 becomes float32).
    """
    shape = [int(d or 0) for d in backend.shape(x)]
    others = [d for i, d in enumerate(shape) if i != axis]
    if math.prod(others) <= pixels:
        sample = backend.to_numpy(x)
    else:
        kept = _positions_per_axis(others, pixels)
        index: list[Any] = [slice(None, None, max(1, math.ceil(d / kept))) for d in shape]
        index[axis] = slice(None)
        sample = backend.to_numpy(x[tuple(index)])
    return np.moveaxis(sample, axis, -1).reshape(-1, shape[axis])


def _positions_per_axis(sizes: list[int], pixels: int) -> int:
    """The largest `m` with prod(min(d, m)) <= pixels (at least 1): the sample's count is monotone in `m`."""
    low, high = 1, max(sizes)
    while low < high:
        middle = (low + high + 1) // 2
        if math.prod(min(d, middle) for d in sizes) <= pixels:
            low = middle
        else:
            high = middle - 1
    return low
