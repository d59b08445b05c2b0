"""The numba kernels behind `keras_deprocess.engines.numba`. Importing this module imports numba.

Each kernel makes one pass over memory: it reads the input in place, computes
in registers, and writes the output once. They are compiled on first use and
cached on disk (``cache=True``), so later processes load them instead.

The general kernels view arrays as (outer, channels, inner), any strides;
``inner`` is 1 for channels_last. Interleaved channels defeat LLVM's
vectorizer unless the channel offsets are constants of the loop, so
contiguous channels_last RGB and BGR data get flat kernels of their own,
which inline one loop with literal offsets. The arithmetic mirrors the NumPy
engines operation for operation, so that every engine gives the same bits.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "affine_to_float",
    "affine_to_float_bgr",
    "affine_to_float_rgb",
    "affine_to_uint8",
    "affine_to_uint8_bgr",
    "affine_to_uint8_rgb",
    "lab_to_float",
    "lab_to_uint8",
]


@numba.njit(cache=True, nogil=True, inline="always")
def _byte(value):  # type: ignore[no-untyped-def]
    """rint, then clip to [0, 255], without branches (NaN: callers have refused it)."""
    return np.uint8(min(max(np.rint(value), 0.0), 255.0))


@numba.njit(cache=True, nogil=True, inline="always")
def _bad(value):  # type: ignore[no-untyped-def]
    return not (abs(value) < np.inf)


@numba.njit(cache=True, nogil=True, inline="always")
def _uint8_pixels(x, out, first, second, third, shift, multiplier):  # type: ignore[no-untyped-def]
    b0, b1, b2 = shift[0], shift[1], shift[2]
    m0, m1, m2 = multiplier[0], multiplier[1], multiplier[2]
    bad = 0
    for pixel in range(x.shape[0] // 3):
        q = 3 * pixel
        v0, v1, v2 = np.float64(x[q + first]), np.float64(x[q + second]), np.float64(x[q + third])
        bad |= _bad(v0) | _bad(v1) | _bad(v2)
        out[q] = _byte((v0 + b0) * m0)
        out[q + 1] = _byte((v1 + b1) * m1)
        out[q + 2] = _byte((v2 + b2) * m2)
    return bad == 0


@numba.njit(cache=True, nogil=True)
def affine_to_uint8_rgb(x, out, shift, multiplier):  # type: ignore[no-untyped-def]
    """Flat channels_last RGB: ``out[3p + c] = byte((x[3p + c] + shift[c]) * multiplier[c])``."""
    return _uint8_pixels(x, out, 0, 1, 2, shift, multiplier)


@numba.njit(cache=True, nogil=True)
def affine_to_uint8_bgr(x, out, shift, multiplier):  # type: ignore[no-untyped-def]
    """Flat channels_last BGR input: ``out[3p + c] = byte((x[3p + 2 - c] + shift[c]) * multiplier[c])``."""
    return _uint8_pixels(x, out, 2, 1, 0, shift, multiplier)


@numba.njit(cache=True, nogil=True, inline="always")
def _float_pixels(x, out, first, second, third, multiplier, offset, clip):  # type: ignore[no-untyped-def]
    b0, b1, b2 = offset[0], offset[1], offset[2]
    m0, m1, m2 = multiplier[0], multiplier[1], multiplier[2]
    low = b0 - b0  # 0 and 255 in the compute dtype, so that float32 stays float32
    high = low + 255
    for pixel in range(x.shape[0] // 3):
        q = 3 * pixel
        v0, v1, v2 = x[q + first] * m0 + b0, x[q + second] * m1 + b1, x[q + third] * m2 + b2
        if clip:
            v0, v1, v2 = min(max(v0, low), high), min(max(v1, low), high), min(max(v2, low), high)
        out[q], out[q + 1], out[q + 2] = v0, v1, v2
    return True


@numba.njit(cache=True, nogil=True)
def affine_to_float_rgb(x, out, multiplier, offset, clip):  # type: ignore[no-untyped-def]
    """Flat channels_last RGB: ``out[3p + c] = x[3p + c] * multiplier[c] + offset[c]``."""
    return _float_pixels(x, out, 0, 1, 2, multiplier, offset, clip)


@numba.njit(cache=True, nogil=True)
def affine_to_float_bgr(x, out, multiplier, offset, clip):  # type: ignore[no-untyped-def]
    """Flat channels_last BGR input: ``out[3p + c] = x[3p + 2 - c] * multiplier[c] + offset[c]``."""
    return _float_pixels(x, out, 2, 1, 0, multiplier, offset, clip)


@numba.njit(cache=True, nogil=True)
def affine_to_uint8(x, out, source, shift, multiplier):  # type: ignore[no-untyped-def]
    """``out[o, c, i] = byte((float64(x[o, source[c], i]) + shift[c]) * multiplier[c])``, any layout.

    Returns False, leaving `out` partly written, when `x` holds NaN or ±Inf.
    """
    outer, channels, inner = out.shape
    bad = 0
    for o in range(outer):
        for c in range(channels):
            s, b, m = source[c], shift[c], multiplier[c]
            for i in range(inner):
                value = np.float64(x[o, s, i])
                bad |= _bad(value)
                out[o, c, i] = _byte((value + b) * m)
    return bad == 0


@numba.njit(cache=True, nogil=True)
def affine_to_float(x, out, source, multiplier, offset, clip):  # type: ignore[no-untyped-def]
    """``out[o, c, i] = x[o, source[c], i] * multiplier[c] + offset[c]``, clipped if asked, any layout.

    Computed in the dtype of `multiplier` (float32, or float64 for float64 input).
    """
    outer, channels, inner = out.shape
    low = offset[0] - offset[0]  # 0 and 255 in the compute dtype
    high = low + 255
    for o in range(outer):
        for c in range(channels):
            s, m, b = source[c], multiplier[c], offset[c]
            for i in range(inner):
                value = x[o, s, i] * m + b
                if clip:
                    value = min(max(value, low), high)
                out[o, c, i] = value
    return True


@numba.njit(cache=True, nogil=True, inline="always")
def _f_inverse(t, white):  # type: ignore[no-untyped-def]
    if t > 0.2068966:
        return t * t * t * white
    return (t - 16.0 / 116.0) * (1 / 7.787) * white


@numba.njit(cache=True, nogil=True, inline="always")
def _srgb_byte(linear, low, steps):  # type: ignore[no-untyped-def]
    """The uint8 of a linear-light value, from the bucket table of the reference's steps."""
    if not linear > 0.0:
        return np.uint8(0)
    if linear >= 1.0:
        return np.uint8(255)
    bucket = int(linear * low.shape[0])
    level = low[bucket]
    for k in range(steps.shape[1]):
        level += linear >= steps[bucket, k]
    return np.uint8(level)


@numba.njit(cache=True, nogil=True, inline="always")
def _linear_light(x, o, i, multiplier, offset, matrix, white):  # type: ignore[no-untyped-def]
    """The linear-light (R, G, B) of pixel (o, i) of normalized Lab, in float64."""
    lightness = np.float64(x[o, 0, i]) * multiplier[0] + offset[0]
    a = np.float64(x[o, 1, i]) * multiplier[1] + offset[1]
    b = np.float64(x[o, 2, i]) * multiplier[2] + offset[2]
    fy = (lightness + 16.0) * (1 / 116.0)
    fx = a * (1 / 500.0) + fy
    fz = max(fy - b * (1 / 200.0), 0.0)
    xx, yy, zz = _f_inverse(fx, white[0]), _f_inverse(fy, white[1]), _f_inverse(fz, white[2])
    red = xx * matrix[0, 0] + yy * matrix[0, 1] + zz * matrix[0, 2]
    green = xx * matrix[1, 0] + yy * matrix[1, 1] + zz * matrix[1, 2]
    blue = xx * matrix[2, 0] + yy * matrix[2, 1] + zz * matrix[2, 2]
    return red, green, blue, lightness + a + b


@numba.njit(cache=True, nogil=True)
def lab_to_float(x, out, multiplier, offset, matrix, white, clip):  # type: ignore[no-untyped-def]
    """Normalized Lab → sRGB in [0, 255] (clipped if asked), computed in float64, any layout."""
    outer, _, inner = out.shape
    for o in range(outer):
        for i in range(inner):
            linear = _linear_light(x, o, i, multiplier, offset, matrix, white)
            for c in range(3):
                value = linear[c]
                value = value ** (1 / 2.4) * 1.055 - 0.055 if value > 0.0031308 else value * 12.92
                value *= 255.0
                if clip:
                    value = min(max(value, 0.0), 255.0)
                out[o, c, i] = value
    return True


@numba.njit(cache=True, nogil=True)
def lab_to_uint8(x, out, multiplier, offset, matrix, white, low, steps):  # type: ignore[no-untyped-def]
    """Normalized Lab → sRGB uint8, as `kernels.maps` computes it in float64, any layout.

    ``multiplier`` and ``offset`` undo the spec's normalization; ``matrix`` is
    skimage's ``rgb_from_xyz``; ``low`` and ``steps`` are the bucket table of
    the uint8 steps of the linear → sRGB curve (see
    `keras_deprocess.engines.numba`). Returns False when `x` holds NaN or ±Inf.
    """
    outer, _, inner = out.shape
    bad = 0
    for o in range(outer):
        for i in range(inner):
            red, green, blue, total = _linear_light(x, o, i, multiplier, offset, matrix, white)
            bad |= _bad(total)  # NaN or ±Inf in L, a or b makes their sum so
            out[o, 0, i] = _srgb_byte(red, low, steps)
            out[o, 1, i] = _srgb_byte(green, low, steps)
            out[o, 2, i] = _srgb_byte(blue, low, steps)
    return bad == 0
