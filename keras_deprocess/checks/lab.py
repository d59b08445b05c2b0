"""Whether L and ab are on the scales a Lab spec says, judged on a sample.

A colorizer's L and ab come in several conventions (raw, L - 50, (L - 50) /
100, L / 100, ab / 110, OpenCV's 8-bit Lab). Restored with the wrong one they
give plausible and wrong colours, so clear mismatches are refused with the
convention the values fit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_deprocess.checks.sample import strided_pixels
from keras_deprocess.core.spec import PreprocessSpec
from keras_deprocess.errors import DeprocessError
from keras_deprocess.frameworks.base import Backend

__all__ = ["LAB_CHECK_PIXELS", "check_lab_input", "check_lab_scales"]

# Pixels of a Lab batch the scale check reads (evenly strided along every axis).
LAB_CHECK_PIXELS = 1 << 16


def check_lab_input(backend: Backend, x: Any, spec: PreprocessSpec, axis: int) -> None:
    """The scales of L and ab checked on a strided sample, taken before leaving the device."""
    sample = strided_pixels(backend, x, axis, LAB_CHECK_PIXELS)
    check_lab_scales(sample[:, :1], sample[:, 1:3], spec)


# (name, the range of the L channel under that convention, the spec to use)
_L_CONVENTIONS = (
    ("normalized (L - 50) / 100, in [-0.5, 0.5]", (-0.5, 0.5), "the spec 'colorization'"),
    ("L / 100, in [0, 1]", (0.0, 1.0), "spec_from_lab(l_scale=100)"),
    ("L - 50, in [-50, 50]", (-50.0, 50.0), "the spec 'colorization-caffe'"),
    ("raw L, in [0, 100]", (0.0, 100.0), "the spec 'lab'"),
    ("8-bit L, in [0, 255] (OpenCV's 8-bit Lab: L * 255 / 100, a + 128, b + 128)", (0.0, 255.0), None),
)

# Values sampled, evenly strided, to judge the scales of L and ab.
_LAB_SAMPLE = 1 << 16
# Implied L may overshoot [0, 100] this far (predicted L, float error) before it is refused.
_L_SLACK = 5.0
# Implied |a|, |b| beyond this is no colour: the sRGB gamut reaches about 108.
_AB_LIMIT = 300.0


def check_lab_scales(lightness: np.ndarray, ab: np.ndarray, spec: PreprocessSpec) -> None:
    """Refuse L or ab clearly on another scale than `spec` says, naming the likely scale.

    Judged on the 0.5th to 99.5th percentiles of samples, so that a few
    outlying predictions (which restoring clips) are no reason to refuse.
    Refused: implied L beyond [-5, 105]; implied L below 0 within a narrow
    band (normalized L given to a raw spec); implied |a| or |b| beyond 300
    (raw ab given to a spec that divides ab).

    Args:
        lightness: A sample of the stored L channel, any shape.
        ab: A sample of the stored a and b channels, any shape.
        spec: The Lab spec the caller named.

    Raises:
        DeprocessError: Naming the spec's formula, the values received and,
            where one fits, the convention they look like.
    """
    inverse = spec.inverse_affine()
    l_multiplier, l_offset = (float(np.broadcast_to(v, 3)[0]) for v in (inverse.multiplier, inverse.offset))
    ab_multiplier = float(np.broadcast_to(inverse.multiplier, 3)[1])
    l_range = _central_range(lightness)
    if l_range is not None:
        low, high = l_range
        implied = sorted((low * l_multiplier + l_offset, high * l_multiplier + l_offset))
        out = implied[0] < -_L_SLACK or implied[1] > 100 + _L_SLACK
        normalized_given_raw = implied[0] < -0.05 and implied[1] - implied[0] < _L_SLACK
        if out or normalized_given_raw:
            raise DeprocessError(
                f"Expected the L channel as the {spec.name!r} spec stores it, so that "
                f"{_formula('L', l_multiplier, l_offset)} lies in [0, 100]. Received L values from "
                f"{low:.4g} to {high:.4g}, which give L from {implied[0]:.4g} to {implied[1]:.4g}."
                f"{_l_hint(low, high)}"
            )
    ab_range = _central_range(np.abs(ab))
    if ab_range is not None and ab_range[1] * abs(ab_multiplier) > _AB_LIMIT:
        high = ab_range[1]
        raise DeprocessError(
            f"Expected a and b as the {spec.name!r} spec stores them, so that "
            f"{_formula('a', ab_multiplier, 0.0)} (and b alike) lies within about ±110. Received "
            f"|a|, |b| up to {high:.4g}, which give up to {high * abs(ab_multiplier):.4g}. They look "
            "like raw a and b: use a spec that keeps them raw, such as 'lab' or 'colorization-caffe', or "
            "spec_from_lab(..., ab_scale=1)."
        )


def _central_range(values: np.ndarray) -> tuple[float, float] | None:
    flat = values.reshape(-1)
    sample = flat[:: max(1, flat.size // _LAB_SAMPLE)].astype(np.float64)
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return None
    low, high = np.percentile(sample, [0.5, 99.5])
    return float(low), float(high)


def _formula(symbol: str, multiplier: float, offset: float) -> str:
    """'L = y * 100 + 50', 'L = y - 50', 'L = y': the stored value y mapped back."""
    text = f"{symbol} = y" + ("" if multiplier == 1 else f" * {multiplier:g}")
    if offset:
        text += f" {'+' if offset > 0 else '-'} {abs(offset):g}"
    return text


def _l_hint(low: float, high: float) -> str:
    """The conventions the L values fit, those they fill most first."""
    fitting = []
    for name, (c_low, c_high), use in _L_CONVENTIONS:
        margin = 0.05 * (c_high - c_low)
        if c_low - margin <= low and high <= c_high + margin:
            fitting.append(((high - low) / (c_high - c_low), name, use))
    if not fitting:
        return " Check the model's Lab convention, and build its spec with spec_from_lab(...)."
    fitting.sort(key=lambda f: -f[0])
    _, name, use = fitting[0]
    advice = f"use {use}" if use else "convert it to L in [0, 100] first"
    close_second = len(fitting) > 1 and fitting[1][0] >= fitting[0][0] / 2
    also = f" (or {fitting[1][1]})" if close_second else ""
    return f" It looks like {name}{also}: {advice}."
