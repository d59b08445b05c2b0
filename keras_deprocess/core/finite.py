"""NaN and ±Inf checks on host arrays, linear in the array's size, silent."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["NonFinite", "all_finite", "count_nonfinite"]


class NonFinite(Exception):
    """Raised by the engines when a uint8 output meets NaN or ±Inf in the input."""

    def __init__(self, counts: tuple[int, int, int], size: int) -> None:
        super().__init__(counts, size)
        self.counts, self.size = counts, size


def all_finite(values: np.ndarray) -> bool:
    """No NaN and no ±Inf. One SIMD sum in the common case; `isfinite` only if the sum is not finite.

    A sum of finite values can overflow (values near the dtype's maximum):
    then, and only then, each value is checked.
    """
    if values.size == 0:
        return True
    # float16 and bfloat16 sum in float32, without a copy.
    accumulator = np.float32 if values.dtype.itemsize < 4 else None
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isfinite(float(np.add.reduce(values, axis=None, dtype=accumulator))):
            return True
    return bool(np.isfinite(values).all())


def count_nonfinite(values: np.ndarray) -> tuple[int, int, int]:
    """(NaN, +Inf, -Inf) counts."""
    if all_finite(values):
        return 0, 0, 0
    return int(np.isnan(values).sum()), int(np.isposinf(values).sum()), int(np.isneginf(values).sum())


def check_finite(values: np.ndarray) -> None:
    """Raises `NonFinite` for NaN or ±Inf in `values`."""
    if not all_finite(values):
        raise NonFinite(count_nonfinite(values), values.size)
