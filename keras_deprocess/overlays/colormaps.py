"""Colours for overlays: OpenCV's JET, any matplotlib colormap, and a palette for label maps.

Every table here is ``(K, 3)`` uint8 RGB, looked up by index: a colormap has
256 entries (index ``round(255 × t)`` for ``t`` in [0, 1]); a palette has one
per class.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from keras_deprocess.errors import DeprocessError, shown

__all__ = ["JET", "colormap_table", "opencv_jet", "palette_table", "voc_palette"]

JET = "jet"


def _ramp(start: float, count: int, step: float) -> np.ndarray:
    return (start + step * np.arange(count)) / 255.0


@functools.cache
def opencv_jet() -> np.ndarray:
    """OpenCV's ``COLORMAP_JET`` as a (256, 3) uint8 RGB table, built from its definition.

    OpenCV (``modules/imgproc/src/colormap.cpp``, class ``Jet``) defines JET
    by 256 control points per channel, piecewise ramps of ``(c + 4k) / 255``
    ("equals the GNU Octave colormap jet"), stored as float32. It interpolates
    them at ``i / 255`` in float32 (``interp1``: ``y[i-1] + ((x - x[i-1]) *
    (y[i] - y[i-1])) / (x[i] - x[i-1])``, which is not always exactly
    ``y[i]``), multiplies by 255 in float32 and rounds half to even
    (``convertTo(CV_8U, 255)``). The same steps here give OpenCV's table bit
    for bit (the tests hold a copy of OpenCV 4.11's); no OpenCV is needed.

    Returns:
        A read-only (256, 3) uint8 array; row ``i`` is the colour of index ``i``.

    Example:
        >>> from keras_deprocess.overlays.colormaps import opencv_jet
        >>> opencv_jet()[[0, 127, 128, 255]].tolist()
        [[0, 0, 128], [126, 255, 130], [130, 255, 126], [128, 0, 0]]
    """
    red = np.concatenate([np.zeros(96), _ramp(1.5, 64, 4), np.ones(64), _ramp(251.5, 32, -4)])
    green = np.concatenate([np.zeros(32), _ramp(0.5, 64, 4), np.ones(64), _ramp(252.5, 64, -4), np.zeros(32)])
    blue = np.concatenate([_ramp(127.5, 32, 4), np.ones(64), _ramp(253.5, 64, -4), np.zeros(96)])
    f32 = np.float32
    x = np.arange(256, dtype=f32) * (f32(1) / f32(255))  # OpenCV's linspace(0, 1, 256), in float32
    channels = []
    for control in (red, green, blue):
        y = control.astype(f32)
        interpolated = np.empty(256, f32)
        interpolated[0] = y[0]
        step = x[1:] - x[:-1]
        interpolated[1:] = y[:-1] + ((x[1:] - x[:-1]) * (y[1:] - y[:-1])) / step
        channels.append(np.clip(np.rint(interpolated * f32(255)), 0, 255).astype(np.uint8))
    table = np.stack(channels, axis=1)
    table.flags.writeable = False
    return table


def colormap_table(colormap: Any) -> np.ndarray:
    """The (256, 3) uint8 RGB table of `colormap`.

    Args:
        colormap: "jet" (OpenCV's ``COLORMAP_JET``, what Grad-CAM tools
            show); the name of any matplotlib colormap ("viridis",
            "inferno", "turbo", ...; matplotlib's own jet, which differs
            from OpenCV's, is ``matplotlib.colormaps["jet"]``); a matplotlib
            ``Colormap``; or a (256, 3) table of integers in [0, 255].
            A matplotlib colormap is sampled at ``i / 255`` and its float
            colours rounded to nearest.

    Raises:
        DeprocessError: For an unknown name (with the closest matches),
            a missing matplotlib, or a table of the wrong shape.
    """
    if isinstance(colormap, str):
        if colormap.lower() == JET:
            return opencv_jet()
        return _matplotlib_table(_matplotlib_colormap(colormap))
    if callable(colormap) and hasattr(colormap, "N"):
        return _matplotlib_table(colormap)
    table = np.asarray(colormap) if isinstance(colormap, (np.ndarray, list, tuple)) else None
    if table is not None and table.shape == (256, 3) and _whole_levels(table):
        return table.astype(np.uint8)
    raise DeprocessError(
        "Expected `colormap` to be 'jet' (OpenCV's), a matplotlib colormap or its name, or a (256, 3) "
        f"table of integers in [0, 255]. Received {_described(colormap)}."
    )


def _matplotlib_colormap(name: str) -> Any:
    try:
        import matplotlib
    except ImportError:
        raise DeprocessError(
            f"Expected matplotlib for the colormap {name!r}: colormaps other than 'jet' are "
            "matplotlib's. Received an environment without matplotlib. Install it (pip install "
            "matplotlib), or pass colormap='jet' (OpenCV's JET, built in)."
        ) from None
    names = list(matplotlib.colormaps)
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise DeprocessError(
            f"Expected `colormap` to be 'jet' or a matplotlib colormap name. Received: colormap={name!r}, "
            f"which matplotlib does not know.{hint} list(matplotlib.colormaps) lists them."
        )
    return matplotlib.colormaps[name]


def _matplotlib_table(colormap: Any) -> np.ndarray:
    rgba = np.asarray(colormap(np.linspace(0.0, 1.0, 256)), np.float64)
    return np.clip(np.rint(rgba[:, :3] * 255.0), 0, 255).astype(np.uint8)


def _whole_levels(table: np.ndarray) -> bool:
    if table.dtype.kind not in "uif" or table.size == 0:
        return False
    values = table.astype(np.float64)
    return bool(
        np.all(np.isfinite(values)) and np.all(values == np.rint(values)) and values.min() >= 0
    ) and bool(values.max() <= 255)


def _described(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__qualname__} {shown(value)}"


@functools.cache
def voc_palette() -> np.ndarray:
    """The PASCAL VOC palette: 256 distinct colours, one per class, 0 black.

    Class ``j``'s colour spreads the bits of ``j`` over the high bits of the
    three channels (bit 0 → red, bit 1 → green, bit 2 → blue, then the next
    three one bit lower, ...), so every one of the 256 classes gets its own
    colour, and neighbouring classes very different ones.

    Example:
        >>> from keras_deprocess.overlays.colormaps import voc_palette
        >>> voc_palette()[:4].tolist(), len({tuple(c) for c in voc_palette()})
        ([[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]], 256)
    """
    labels = np.arange(256)
    table = np.zeros((256, 3), np.int64)
    for bit in range(8):
        for channel in range(3):
            table[:, channel] |= ((labels >> (3 * bit + channel)) & 1) << (7 - bit)
    out = table.astype(np.uint8)
    out.flags.writeable = False
    return out


def palette_table(palette: Any, highest: int) -> tuple[np.ndarray, np.ndarray]:
    """(table, drawn): a colour per label up to `highest`, and whether each label is drawn at all.

    Args:
        palette: None (the VOC palette, 256 classes); a sequence of RGB
            triples or a (K, 3) array, one per label; or a mapping
            label → RGB triple, or → None to leave that label undrawn.
        highest: The largest label in the map.

    Raises:
        DeprocessError: For a label with no colour, or colours that are not
            integers in [0, 255].
    """
    if palette is None:
        table = voc_palette()
        if highest >= len(table):
            raise DeprocessError(
                f"Expected labels in [0, 255] for the default palette. Received a label map whose largest "
                f"label is {highest}. Pass palette= with a colour for every label."
            )
        return table, np.ones(len(table), bool)
    if isinstance(palette, Mapping):
        size = max([highest, *(_label(k) for k in palette)]) + 1
        table = np.zeros((size, 3), np.uint8)
        drawn = np.zeros(size, bool)
        missing = set(range(highest + 1)) - {_label(k) for k in palette}
        for key, colour in palette.items():
            if colour is not None:
                table[_label(key)] = _colour(colour, key)
                drawn[_label(key)] = True
        if missing:
            first = sorted(missing)[:5]
            raise DeprocessError(
                f"Expected a colour (or None) for every label in the map. Received a palette without "
                f"label(s) {first}{' ...' if len(missing) > 5 else ''}. Add them to the palette."
            )
        return table, drawn
    colours = np.asarray(palette)
    if colours.ndim != 2 or colours.shape[1] != 3 or not _whole_levels(colours):
        raise DeprocessError(
            "Expected `palette` to be None, RGB triples of integers in [0, 255] (one per label, a (K, 3) "
            f"array), or a mapping label → RGB triple or None. Received {_described(palette)}."
        )
    if highest >= len(colours):
        raise DeprocessError(
            f"Expected a colour for every label. Received a palette of {len(colours)} colours and a label "
            f"map whose largest label is {highest}. Add colours, or pass a mapping."
        )
    return colours.astype(np.uint8), np.ones(len(colours), bool)


def _label(key: Any) -> int:
    if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or key < 0:
        raise DeprocessError(
            f"Expected the palette's labels to be integers ≥ 0. Received the key {shown(key)}."
        )
    return int(key)


def _colour(colour: Any, key: Any) -> np.ndarray:
    values = np.asarray(colour)
    if values.shape != (3,) or not _whole_levels(values):
        raise DeprocessError(
            f"Expected an RGB triple of integers in [0, 255] for label {key}. Received {shown(colour)}."
        )
    return values.astype(np.uint8)
