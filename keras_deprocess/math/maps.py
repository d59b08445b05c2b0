"""A whole spec's map, forward and inverse, as framework ops (traceable).

An affine spec is its per-channel map (`keras_deprocess.math.affine`); a
'lab' spec composes the colour conversion (`keras_deprocess.math.colour`)
with the same per-channel map, applied to (L, a, b).
"""

from __future__ import annotations

from typing import Any

from keras_deprocess.frameworks.base import Backend
from keras_deprocess.math.affine import apply_affine, compute_dtype, restore_affine
from keras_deprocess.math.colour import lab_from_rgb, rgb_from_lab
from keras_deprocess.spec import PreprocessSpec

__all__ = ["forward_map", "inverse_map"]


def inverse_map(
    backend: Backend, x: Any, spec: PreprocessSpec, axis: int, out_dtype: str, clip: bool, *, zero_nan: bool
) -> Any:
    """The inverse of `spec` on `x`, of `out_dtype`; NaN becomes 0 in a uint8 output with `zero_nan`.

    uint8 output is computed in float64 where the framework has it (see
    `keras_deprocess.math.affine`), float outputs at the input's precision.
    """
    if spec.is_affine:
        return restore_affine(backend, x, spec.inverse_affine(), axis, out_dtype, clip, zero_nan=zero_nan)
    if out_dtype == "uint8" and backend.has_float64(x):
        with backend.float64_scope():
            rgb = _lab_inverse(backend, backend.cast(x, "float64"), spec, axis, "float64")
            rgb = backend.cast(backend.round(rgb), "float32")
        rgb = backend.zero_nan(rgb) if zero_nan else rgb
        return backend.cast(backend.clip(rgb, 0.0, 255.0), "uint8")
    compute = compute_dtype(backend.dtype_name(x))
    rgb = _lab_inverse(backend, backend.cast(x, compute), spec, axis, compute)
    if out_dtype == "uint8":
        rgb = backend.round(backend.zero_nan(rgb) if zero_nan else rgb)
    if clip:
        rgb = backend.clip(rgb, 0.0, 255.0)
    return rgb if out_dtype == compute else backend.cast(rgb, out_dtype)


def _lab_inverse(backend: Backend, x: Any, spec: PreprocessSpec, axis: int, compute: str) -> Any:
    return rgb_from_lab(backend, apply_affine(backend, x, spec.inverse_affine(), axis, compute), axis)


def forward_map(backend: Backend, x: Any, spec: PreprocessSpec, axis: int, out_dtype: str) -> Any:
    """`spec`'s forward pass on RGB values in [0, 255], of the float `out_dtype`."""
    compute = compute_dtype(out_dtype)
    y = backend.cast(x, compute)
    if not spec.is_affine:
        y = lab_from_rgb(backend, y, axis)
    y = apply_affine(backend, y, spec.forward_affine(), axis, compute)
    return y if compute == out_dtype else backend.cast(y, out_dtype)
