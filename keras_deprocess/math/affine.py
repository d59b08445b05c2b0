r"""The per-channel affine map on any framework, and its correctly rounded uint8 inverse.

Written once against `keras_deprocess.frameworks.base.Backend`. For output
channel ``k``:

.. math::

    y_k = x_{\mathrm{source}[k]} \cdot m_k + b_k

**Correct rounding.** The uint8 result is defined as the float64 reference

.. math::

    \mathrm{clip}(\mathrm{rint}((\mathrm{float64}(x) + b / m) \cdot m), 0, 255)

round half to even of the exact inverse of the given float values. It is
written as a sum then a product, not ``x * m + b``, so that no compiler can
fuse it into a multiply-add with one rounding fewer (XLA does, on CPU): every
engine then computes the same two roundings. Where float64 exists (NumPy,
TensorFlow, PyTorch except on MPS, JAX except on TPUs, inside a local x64
scope when x64 is off) that is what is computed. Where it does not (MPS,
TPUs), float32 gives a first estimate, off by at most one level next to a
rounding boundary, and a table of the float32 inputs at which the reference
output steps up (257 per channel, computed once per spec by bisection over
the float32 values against the float64 reference itself) corrects it. Both
give the reference bit for bit, for every float16, bfloat16 and float32 input.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from keras_deprocess.frameworks.base import Backend
from keras_deprocess.spec import Affine

__all__ = ["apply_affine", "compute_dtype", "restore_affine", "uint8_reference"]

_LEVELS = 256


def compute_dtype(dtype: str) -> str:
    """float16 and bfloat16 are computed in float32 and rounded once at the end."""
    return "float64" if dtype == "float64" else "float32"


def _per_channel(values: tuple[float, ...], channels: int) -> tuple[float, ...]:
    return values * channels if len(values) == 1 else values


def apply_affine(backend: Backend, x: Any, affine: Affine, axis: int, compute: str) -> Any:
    """``x[.., source[k], ..] * m[k] + b[k]`` in the dtype of `x` (already `compute`)."""
    source, multiplier, offset = affine
    if source is not None:
        x = backend.take(x, source, axis)
    rank = len(backend.shape(x))

    def per_channel(values: tuple[float, ...]) -> Any:
        if len(values) == 1:
            return values[0]
        shape = [1] * rank
        shape[axis] = len(values)
        return backend.constant(values, shape, compute, like=x)

    if any(m != 1.0 for m in multiplier):
        x = x * per_channel(multiplier)
    if any(o != 0.0 for o in offset):
        x = x + per_channel(offset)
    return x


def restore_affine(
    backend: Backend, x: Any, affine: Affine, axis: int, out_dtype: str, clip: bool, *, zero_nan: bool
) -> Any:
    """The inverse on a tensor, as framework ops (traceable: no data-dependent Python).

    With `zero_nan` (inside a trace, where no error can be raised), NaN
    becomes 0 in a uint8 output instead.
    """
    if out_dtype == "uint8":
        if backend.has_float64(x):
            with backend.float64_scope():
                y = _rounding_form(backend, backend.cast(x, "float64"), affine, axis)
                # Whole numbers are exact in float32, where the rest is cheaper.
                y = backend.cast(backend.round(y), "float32")
            y = backend.zero_nan(y) if zero_nan else y
            return backend.cast(backend.clip(y, 0.0, 255.0), "uint8")
        return _uint8_by_thresholds(backend, x, affine, axis)
    compute = compute_dtype(backend.dtype_name(x))
    y = apply_affine(backend, backend.cast(x, compute), affine, axis, compute)
    if clip:
        y = backend.clip(y, 0.0, 255.0)
    return y if out_dtype == compute else backend.cast(y, out_dtype)


def rounding_shifts(affine: Affine) -> tuple[float, ...]:
    """``b / m`` per channel: the uint8 inverse is ``(x + b / m) * m``, see the module docstring."""
    multipliers, offsets = _broadcast(affine.multiplier, affine.offset)
    return tuple(b / m for m, b in zip(multipliers, offsets, strict=True))


def _broadcast(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    n = max(len(a), len(b))
    return _per_channel(a, n), _per_channel(b, n)


def _rounding_form(backend: Backend, x: Any, affine: Affine, axis: int) -> Any:
    """``(x[source] + b / m) * m`` in float64, per channel."""
    sum_then_product = Affine(affine.source, (1.0,), rounding_shifts(affine))
    y = apply_affine(backend, x, sum_then_product, axis, "float64")
    return apply_affine(backend, y, Affine(None, affine.multiplier, (0.0,)), axis, "float64")


def uint8_reference(x: np.ndarray, multiplier: float, offset: float) -> np.ndarray:
    """The definition of the uint8 inverse of one channel: float64, round half to even, clip."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.clip(np.rint((x.astype(np.float64) + offset / multiplier) * multiplier), 0, 255)


# -- float32 estimate, corrected by a table of steps --------------------------


class _Steps:
    """Per output channel: the float32 inputs at which the reference output steps up.

    ``table[k * 257 + j]`` is the smallest float32 ``x`` with reference output
    ``>= j`` for ``j`` in 1..255 (in the sign-flipped input for a negative
    multiplier, so that the map is increasing); entry 0 is -inf and entry 256
    NaN, so that no comparison leaves the channel's range.
    """

    def __init__(self, affine: Affine, channels: int) -> None:
        _, multiplier, offset = affine
        self.multipliers = _per_channel(multiplier, channels)
        self.offsets = _per_channel(offset, channels)
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
    while np.any(high - low > 1):
        middle = (low + high) // 2
        up = reaches(middle)
        high = np.where(up, middle, high)
        low = np.where(up, low, middle)
    steps = _ordered(high)[:, 0].astype(np.float32)
    steps[never[:, 0]] = np.inf
    steps[always[:, 0]] = -np.inf
    return np.concatenate([[-np.inf], steps, [np.nan]]).astype(np.float32)


@functools.lru_cache(maxsize=64)
def _steps_for(affine: Affine, channels: int) -> _Steps:
    return _Steps(affine, channels)


def _uint8_by_thresholds(backend: Backend, x: Any, affine: Affine, axis: int) -> Any:
    rank = len(backend.shape(x))
    channels = backend.shape(x)[axis]
    if channels is None:
        channels = len(affine.multiplier)
    steps = _steps_for(affine, int(channels))
    shape = [1] * rank
    shape[axis] = int(channels)

    def per_channel(values: Any, dtype: str) -> Any:
        return backend.constant(np.asarray(values).reshape(-1), shape, dtype, like=x)

    if affine.source is not None:
        x = backend.take(x, affine.source, axis)
    x = backend.cast(x, "float32")
    if any(s < 0 for s in steps.signs):
        x = x * per_channel(steps.signs, "float32")
    magnitudes = [abs(m) for m in steps.multipliers]
    estimate = x * per_channel(magnitudes, "float32") + per_channel(steps.offsets, "float32")
    estimate = backend.zero_nan(backend.clip(backend.round(estimate), 0.0, 255.0))
    starts = per_channel([k * (_LEVELS + 1) for k in range(int(channels))], "int32")
    index = backend.cast(estimate, "int32") + starts
    table = backend.constant(steps.table, [steps.table.size], "float32", like=x)
    for _ in range(steps.corrections):
        too_high = backend.cast(x < backend.gather(table, index), "int32")
        too_low = backend.cast(x >= backend.gather(table, index + 1), "int32")
        index = index - too_high + too_low
    return backend.cast(index - starts, "uint8")
