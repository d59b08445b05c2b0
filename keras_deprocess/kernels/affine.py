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
scope when x64 is off) that is what is computed here; where it does not (MPS,
TPUs), `keras_deprocess.kernels.steps` gives the same bits from float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_deprocess.core.dtypes import compute_dtype
from keras_deprocess.core.spec import Affine
from keras_deprocess.frameworks.base import Backend

__all__ = ["apply_affine", "per_channel", "restore_affine", "rounding_shifts", "uint8_reference"]


def per_channel(values: tuple[float, ...], channels: int) -> tuple[float, ...]:
    return values * channels if len(values) == 1 else values


def apply_affine(backend: Backend, x: Any, affine: Affine, axis: int, compute: str) -> Any:
    """``x[.., source[k], ..] * m[k] + b[k]`` in the dtype of `x` (already `compute`)."""
    source, multiplier, offset = affine
    if source is not None:
        x = backend.take(x, source, axis)
    rank = len(backend.shape(x))

    def constant(values: tuple[float, ...]) -> Any:
        if len(values) == 1:
            return values[0]
        shape = [1] * rank
        shape[axis] = len(values)
        return backend.constant(values, shape, compute, like=x)

    if any(m != 1.0 for m in multiplier):
        x = x * constant(multiplier)
    if any(o != 0.0 for o in offset):
        x = x + constant(offset)
    return x


def restore_affine(
    backend: Backend, x: Any, affine: Affine, axis: int, out_dtype: str, clip: bool, *, zero_nan: bool
) -> Any:
    """The inverse on a tensor, as framework ops (traceable: no data-dependent Python).

    A uint8 output is computed in float64: the caller checks that `backend`
    has it for `x` (`keras_deprocess.kernels.steps` serves those without).
    With `zero_nan` (inside a trace, where no error can be raised), NaN
    becomes 0 in a uint8 output instead.
    """
    if out_dtype == "uint8":
        with backend.float64_scope():
            y = _rounding_form(backend, backend.cast(x, "float64"), affine, axis)
            # Whole numbers are exact in float32, where the rest is cheaper.
            y = backend.cast(backend.round(y), "float32")
        y = backend.zero_nan(y) if zero_nan else y
        return backend.cast(backend.clip(y, 0.0, 255.0), "uint8")
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
    return per_channel(a, n), per_channel(b, n)


def _rounding_form(backend: Backend, x: Any, affine: Affine, axis: int) -> Any:
    """``(x[source] + b / m) * m`` in float64, per channel."""
    sum_then_product = Affine(affine.source, (1.0,), rounding_shifts(affine))
    y = apply_affine(backend, x, sum_then_product, axis, "float64")
    return apply_affine(backend, y, Affine(None, affine.multiplier, (0.0,)), axis, "float64")


def uint8_reference(x: np.ndarray, multiplier: float, offset: float) -> np.ndarray:
    """The definition of the uint8 inverse of one channel: float64, round half to even, clip."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.clip(np.rint((x.astype(np.float64) + offset / multiplier) * multiplier), 0, 255)
