"""An evenly strided sample of pixels, cut where the array lives and only then copied to the host."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from keras_deprocess.frameworks.base import Backend

__all__ = ["strided_pixels"]


def strided_pixels(backend: Backend, x: Any, axis: int, pixels: int) -> np.ndarray:
    """At most about `pixels` pixels, as (P, C) on the host: every pixel of a smaller array.

    Every axis but the channel axis is strided by the same step, so the
    sample spreads over images, rows and columns alike, and only the sample
    leaves the device. Values keep their dtype (bfloat16 becomes float32).
    """
    shape = [int(d or 0) for d in backend.shape(x)]
    total = math.prod(shape) // max(1, shape[axis])
    others = len(shape) - 1
    step = max(1, math.ceil((total / pixels) ** (1 / others))) if others and total > pixels else 1
    index: list[Any] = [slice(None, None, step)] * len(shape)
    index[axis] = slice(None)
    sample = backend.to_numpy(x[tuple(index)] if step > 1 else x)
    return np.moveaxis(sample, axis, -1).reshape(-1, shape[axis])
