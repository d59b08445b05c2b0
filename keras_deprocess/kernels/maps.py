"""A plan's whole map, forward or inverse, as framework ops (traceable).

An affine spec is its per-channel map (`keras_deprocess.kernels.affine`); a
'lab' spec composes the colour conversion (`keras_deprocess.kernels.colour`)
with the same per-channel map, applied to (L, a, b).
"""

from __future__ import annotations

from typing import Any

from keras_deprocess.core.dtypes import compute_dtype
from keras_deprocess.core.plan import INVERSE, Plan
from keras_deprocess.frameworks.base import Backend
from keras_deprocess.kernels.affine import apply_affine, restore_affine
from keras_deprocess.kernels.colour import lab_from_rgb, rgb_from_lab
from keras_deprocess.kernels.steps import uint8_by_steps

__all__ = ["forward_map", "inverse_map", "run_map"]


def run_map(backend: Backend, x: Any, plan: Plan, *, zero_nan: bool) -> Any:
    """`plan` on `x`, in its direction; NaN becomes 0 in a uint8 output with `zero_nan`."""
    if plan.direction == INVERSE:
        return inverse_map(backend, x, plan, zero_nan=zero_nan)
    return forward_map(backend, x, plan)


def inverse_map(backend: Backend, x: Any, plan: Plan, *, zero_nan: bool) -> Any:
    """The inverse of `plan.spec` on `x`, of `plan.out_dtype`.

    uint8 output is computed in float64 where the framework has it (see
    `keras_deprocess.kernels.affine`), from float32 and a step table where it
    does not (`keras_deprocess.kernels.steps`); float outputs at the input's
    precision.
    """
    spec, axis, out_dtype, clip = plan.spec, plan.axis, plan.out_dtype, plan.clip
    if spec.is_affine:
        if out_dtype == "uint8" and not backend.has_float64(x):
            return uint8_by_steps(backend, x, spec.inverse_affine(), axis)
        return restore_affine(backend, x, spec.inverse_affine(), axis, out_dtype, clip, zero_nan=zero_nan)
    if out_dtype == "uint8" and backend.has_float64(x):
        with backend.float64_scope():
            rgb = _lab_inverse(backend, backend.cast(x, "float64"), plan, "float64")
            rgb = backend.cast(backend.round(rgb), "float32")
        rgb = backend.zero_nan(rgb) if zero_nan else rgb
        return backend.cast(backend.clip(rgb, 0.0, 255.0), "uint8")
    compute = compute_dtype(backend.dtype_name(x))
    rgb = _lab_inverse(backend, backend.cast(x, compute), plan, compute)
    if out_dtype == "uint8":
        rgb = backend.round(backend.zero_nan(rgb) if zero_nan else rgb)
    if clip:
        rgb = backend.clip(rgb, 0.0, 255.0)
    return rgb if out_dtype == compute else backend.cast(rgb, out_dtype)


def _lab_inverse(backend: Backend, x: Any, plan: Plan, compute: str) -> Any:
    lab = apply_affine(backend, x, plan.spec.inverse_affine(), plan.axis, compute)
    return rgb_from_lab(backend, lab, plan.axis)


def forward_map(backend: Backend, x: Any, plan: Plan) -> Any:
    """`plan.spec`'s forward pass on RGB values in [0, 255], of the float `plan.out_dtype`."""
    compute = compute_dtype(plan.out_dtype)
    y = backend.cast(x, compute)
    if not plan.spec.is_affine:
        y = lab_from_rgb(backend, y, plan.axis)
    y = apply_affine(backend, y, plan.spec.forward_affine(), plan.axis, compute)
    return y if compute == plan.out_dtype else backend.cast(y, plan.out_dtype)
