r"""sRGB ↔ CIE Lab, written once against the framework interface.

The constants and the piecewise functions are scikit-image's
(`skimage.color.rgb2lab` / `lab2rgb`: sRGB primaries, D65 white, 2°
observer), so that a 'lab' spec agrees with skimage to float rounding:

- sRGB → linear: ``((v + 0.055) / 1.055) ** 2.4`` above 0.04045, else ``v / 12.92``;
- linear → XYZ: skimage's ``xyz_from_rgb`` matrix, divided by the white point;
- XYZ → Lab: ``f(t) = t ** (1/3)`` above 0.008856, else ``7.787 t + 16/116``;
  ``L = 116 f(Y) - 16``, ``a = 500 (f(X) - f(Y))``, ``b = 200 (f(Y) - f(Z))``.

The inverse runs the same steps backwards; like skimage, a negative ``f(Z)``
is set to 0 (counted by `keras_deprocess.out_of_gamut`). Every branch is
selected with a "safe" argument, so that the unselected side never produces
NaN: gradients stay finite at the kinks and at black, grey and white.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_deprocess.frameworks.base import Backend

__all__ = ["D65_WHITE", "RGB_FROM_XYZ", "lab_from_rgb", "negative_z", "rgb_from_lab", "srgb_encode"]

XYZ_FROM_RGB = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
RGB_FROM_XYZ = np.linalg.inv(XYZ_FROM_RGB)
D65_WHITE = (0.95047, 1.0, 1.08883)

_SRGB_KNEE, _LINEAR_KNEE = 0.04045, 0.0031308
_F_KNEE, _F_INVERSE_KNEE = 0.008856, 0.2068966
_F_SLOPE, _F_OFFSET = 7.787, 16.0 / 116.0


def _channels(backend: Backend, x: Any, axis: int) -> tuple[Any, Any, Any]:
    return (
        backend.slice_channel(x, 0, axis),
        backend.slice_channel(x, 1, axis),
        backend.slice_channel(x, 2, axis),
    )


def _mix(rows: Any, a: Any, b: Any, c: Any) -> list[Any]:
    """The 3x3 matrix `rows` times the channel vector (a, b, c)."""
    return [a * float(r[0]) + b * float(r[1]) + c * float(r[2]) for r in rows]


def _where_above(backend: Backend, x: Any, knee: float, above: Any, below: Any, safe: float) -> Any:
    """``above(x)`` where ``x > knee``, else ``below(x)``; each side sees only its own values."""
    mask = x > knee
    return backend.where(mask, above(backend.where(mask, x, safe)), below(backend.where(mask, knee, x)))


def lab_from_rgb(backend: Backend, rgb: Any, axis: int) -> Any:
    """RGB in [0, 255] (float) → CIE Lab, channels on `axis`."""
    v = rgb * (1.0 / 255.0)
    linear = _where_above(
        backend,
        v,
        _SRGB_KNEE,
        lambda t: backend.power((t + 0.055) * (1 / 1.055), 2.4),
        lambda t: t * (1 / 12.92),
        safe=1.0,
    )
    r, g, b = _channels(backend, linear, axis)
    x, y, z = (
        value * (1.0 / white) for value, white in zip(_mix(XYZ_FROM_RGB, r, g, b), D65_WHITE, strict=True)
    )
    fx, fy, fz = (
        _where_above(backend, t, _F_KNEE, backend.cbrt, lambda s: s * _F_SLOPE + _F_OFFSET, safe=1.0)
        for t in (x, y, z)
    )
    return backend.concat([fy * 116.0 - 16.0, (fx - fy) * 500.0, (fy - fz) * 200.0], axis)


def rgb_from_lab(backend: Backend, lab: Any, axis: int) -> Any:
    """CIE Lab → RGB in [0, 255] (float, not clipped), channels on `axis`."""
    lightness, a, b = _channels(backend, lab, axis)
    fy = (lightness + 16.0) * (1 / 116.0)
    fx = a * (1 / 500.0) + fy
    # skimage sets a negative f(Z) to 0: a colour beyond the gamut's blue side.
    fz = backend.maximum(fy - b * (1 / 200.0), 0.0)
    x, y, z = (
        _where_above(
            backend,
            t,
            _F_INVERSE_KNEE,
            lambda s: s * s * s,
            lambda s: (s - _F_OFFSET) * (1 / _F_SLOPE),
            safe=1.0,
        )
        * white
        for t, white in zip((fx, fy, fz), D65_WHITE, strict=True)
    )
    return backend.concat([srgb_encode(backend, value) for value in _mix(RGB_FROM_XYZ, x, y, z)], axis)


def srgb_encode(backend: Backend, linear: Any) -> Any:
    """Linear light → sRGB in [0, 255] (not clipped)."""
    encoded = _where_above(
        backend,
        linear,
        _LINEAR_KNEE,
        lambda s: backend.power(s, 1 / 2.4) * 1.055 - 0.055,
        lambda s: s * 12.92,
        safe=1.0,
    )
    return encoded * 255.0


def negative_z(backend: Backend, lab: Any, axis: int) -> Any:
    """Where ``f(Z) < 0``: the pixels whose Z the inverse sets to 0, as skimage does."""
    lightness, _, b = _channels(backend, lab, axis)
    return (lightness + 16.0) * (1 / 116.0) - b * (1 / 200.0) < 0
