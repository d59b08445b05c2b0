r"""The correctly rounded uint8 inverse where float64 is missing (MPS, TPUs): a table of steps.

float32 gives a first estimate of each output byte, off by at most one level
next to a rounding boundary. A table of the float32 inputs at which the
float64 reference output steps up (257 per channel, computed once per spec
by bisection over the float32 values against the reference itself) then
corrects it. The result is the reference bit for bit for every float16,
bfloat16 and float32 input.

`first_reaching` is the bisection, shared with the numba engine's table of
the sRGB curve's steps.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from keras_deprocess.core.spec import Affine
from keras_deprocess.frameworks.base import Backend
from keras_deprocess.kernels.affine import per_channel, uint8_reference

__all__ = ["first_reaching", "uint8_by_steps"]

_LEVELS = 256


def first_reaching(
    reaches: Callable[[np.ndarray], np.ndarray], low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """Per entry, the smallest integer key in ``(low, high]`` at which `reaches` holds, by bisection.

    `reaches` must be monotone in the key (False at `low`, True at `high`);
    keys are floats' bit patterns ordered as the floats are, so the answer
    is exact to the last bit. Vectorised: one bisection per entry, together.
    """
    while np.any(high - low > 1):
        middle = (low + high) // 2
        up = reaches(middle)
        high = np.where(up, middle, high)
        low = np.where(up, low, middle)
    return high


class _Steps:
    """Per output channel: the float32 inputs at which the reference output steps up.

    ``table[k * 257 + j]`` is the smallest float32 ``x`` with reference output
    ``>= j`` for ``j`` in 1..255 (in the sign-flipped input for a negative
    multiplier, so that the map is increasing); entry 0 is -inf and entry 256
    NaN, so that no comparison leaves the channel's range.
    """

    def __init__(self, affine: Affine, channels: int) -> None:
        _, multiplier, offset = affine
        self.multipliers = per_channel(multiplier, channels)
        self.offsets = per_channel(offset, channels)
        self.signs = tuple(1.0 if m > 0 else -1.0 for m in self.multipliers)
        self.table = np.concatenate(
            [_steps(m, b, s) for m, b, s in zip(self.multipliers, self.offsets, self.signs, strict=True)]
        )
        # The float32 estimate's error, in levels: products and sums of values
        # up to 256 + |b|, each rounded once, plus the constants' own rounding.
        worst = max((4 * (_LEVELS + abs(b)) + abs(b)) * 2.0**-24 for b in self.offsets)
        self.corrections = 1 + math.floor(worst + 0.5)


def _ordered(keys: np.ndarray) -> np.ndarray:
    """float32 values from integers ordered as the floats are (negative keys: negative floats)."""
    bits = np.where(keys >= 0, keys, (-keys) | 0x80000000).astype(np.uint32)
    return bits.view(np.float32)


def _steps(multiplier: float, offset: float, sign: float) -> np.ndarray:
    """The 257 step positions of one channel, by bisection over the float32 values."""
    levels = np.arange(1, _LEVELS, dtype=np.int64)[:, None]
    largest = int(np.float32(np.finfo(np.float32).max).view(np.uint32))

    def reaches(keys: np.ndarray) -> np.ndarray:
        return uint8_reference(_ordered(keys) * np.float32(sign), multiplier, offset) >= levels

    low = np.full_like(levels, -largest)
    high = np.full_like(levels, largest)
    never = ~reaches(high)  # not reached by any finite input: only +inf reaches it
    always = reaches(low)
    steps = _ordered(first_reaching(reaches, low, high))[:, 0].astype(np.float32)
    steps[never[:, 0]] = np.inf
    steps[always[:, 0]] = -np.inf
    return np.concatenate([[-np.inf], steps, [np.nan]]).astype(np.float32)


@functools.lru_cache(maxsize=64)
def _steps_for(affine: Affine, channels: int) -> _Steps:
    return _Steps(affine, channels)


def uint8_by_steps(backend: Backend, x: Any, affine: Affine, axis: int) -> Any:
    """The uint8 inverse of `affine` on `x`, computed in float32 and corrected by the step table."""
    rank = len(backend.shape(x))
    channels = backend.shape(x)[axis]
    if channels is None:
        channels = len(affine.multiplier)
    steps = _steps_for(affine, int(channels))
    shape = [1] * rank
    shape[axis] = int(channels)

    def constant(values: Any, dtype: str) -> Any:
        return backend.constant(np.asarray(values).reshape(-1), shape, dtype, like=x)

    if affine.source is not None:
        x = backend.take(x, affine.source, axis)
    x = backend.cast(x, "float32")
    if any(s < 0 for s in steps.signs):
        x = x * constant(steps.signs, "float32")
    magnitudes = [abs(m) for m in steps.multipliers]
    estimate = x * constant(magnitudes, "float32") + constant(steps.offsets, "float32")
    estimate = backend.zero_nan(backend.clip(backend.round(estimate), 0.0, 255.0))
    starts = constant([k * (_LEVELS + 1) for k in range(int(channels))], "int32")
    index = backend.cast(estimate, "int32") + starts
    table = backend.constant(steps.table, [steps.table.size], "float32", like=x)
    for _ in range(steps.corrections):
        too_high = backend.cast(x < backend.gather(table, index), "int32")
        too_low = backend.cast(x >= backend.gather(table, index + 1), "int32")
        index = index - too_high + too_low
    return backend.cast(index - starts, "uint8")
