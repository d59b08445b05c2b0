"""Heatmaps and label maps: their shapes, their scale to [0, 1], and resampling them to the picture.

Resampling is written once, for sample positions given per output row and
column: to the model's input (``u = (i + 1/2) · h / H``) or, through a
`Geometry`, to the original picture (``u = (a (i + 1/2) + b) · h / H_in``),
where ``u`` is the continuous coordinate in heatmap pixels of output pixel
``i``'s centre. Heatmaps are sampled bilinearly (half-pixel centres, rows
first, then columns, in float64), label maps at their nearest pixel.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from keras_deprocess.core.finite import count_nonfinite
from keras_deprocess.errors import DeprocessError

__all__ = [
    "Maps",
    "as_float_mask",
    "bilinear",
    "input_centres",
    "maps_of",
    "nearest",
    "original_centres",
    "pairing",
    "to_unit",
]


class Maps(NamedTuple):
    """Heatmaps or label maps as ``(M, h, w)`` on the host; ``labels`` for integer maps."""

    values: np.ndarray
    labels: bool


def maps_of(host: np.ndarray) -> Maps:
    """``(h, w)``, ``(M, h, w)`` or ``(M, 1, h, w)`` → ``(M, h, w)``, float64 or int64 for labels.

    Raises:
        DeprocessError: For another shape, an empty map, or a dtype that is
            neither real nor integer.
    """
    shape = host.shape
    if host.ndim == 4 and shape[1] != 1 and shape[-1] == 1:
        raise DeprocessError(
            f"Expected heatmaps of shape (h, w), (N, h, w) or (N, 1, h, w). Received shape {shape}: "
            "its channel is last. Pass heatmap[..., 0]."
        )
    if host.ndim not in (2, 3, 4) or (host.ndim == 4 and shape[1] != 1):
        raise DeprocessError(
            f"Expected heatmaps of shape (h, w), (N, h, w) or (N, 1, h, w). Received shape {shape}. "
            "Reduce the channels first (Grad-CAM sums the weighted activations over them)."
        )
    values = host.reshape(-1, shape[-2], shape[-1])
    if values.size == 0:
        raise DeprocessError(f"Expected a heatmap with values. Received shape {shape}.")
    kind = values.dtype.kind
    if kind in "iub":
        return Maps(values.astype(np.int64), True)
    if kind != "f":
        raise DeprocessError(
            f"Expected a real heatmap (float) or an integer label map. Received dtype {values.dtype}."
        )
    values = values.astype(np.float64)
    nan, positive, negative = count_nonfinite(values)
    if nan or positive or negative:
        raise DeprocessError(
            f"Expected finite heatmap values. Received {nan} NaN, {positive} +Inf and {negative} -Inf "
            f"values (of {values.size}): no colour stands for them. Clean them first, e.g. with "
            "np.nan_to_num(heatmap)."
        )
    return Maps(values, False)


def to_unit(values: np.ndarray, normalize: bool) -> tuple[np.ndarray, int]:
    """Heatmaps in [0, 1]: min-max per heatmap, or clipped; with the count of values clipped.

    ``normalize=True``: ``(v - min) / (max - min)`` per heatmap (0 for a
    constant one). ``normalize=False``: the values as they are, those
    outside [0, 1] clipped and counted.
    """
    if normalize:
        low = values.min(axis=(1, 2), keepdims=True)
        span = values.max(axis=(1, 2), keepdims=True) - low
        safe = np.where(span > 0, span, 1.0)
        return np.where(span > 0, (values - low) / safe, 0.0), 0
    outside = int(np.count_nonzero((values < 0.0) | (values > 1.0)))
    return (np.clip(values, 0.0, 1.0) if outside else values), outside


def input_centres(size_in: int, size_out: int) -> np.ndarray:
    """``(i + 1/2) · h / H`` for output pixels ``i < H``: their centres in heatmap pixels."""
    return (np.arange(size_out, dtype=np.float64) + 0.5) * size_in / size_out


def original_centres(
    scale: float, offset: float, start: int, stop: int, size_in: int, input_size: int
) -> np.ndarray:
    """``(a (i + 1/2) + b) · h / H_in`` for original pixels ``start ≤ i < stop``: through a geometry."""
    on_input = (np.arange(start, stop, dtype=np.float64) + 0.5) * scale + offset
    return on_input * size_in / input_size


def _taps(centres: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    position = np.clip(centres - 0.5, 0.0, size - 1)
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, size - 1)
    return below, above, position - below


def bilinear(values: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``(M, h, w)`` float64 sampled at row and column centres: ``(M, len(rows), len(columns))``.

    Each sample sits half a pixel below its centre (half-pixel centres),
    clamped to ``[0, h - 1]``, and mixes its two neighbours: rows first,
    ``v = m[y0] (1 - f_y) + m[y1] f_y``, then columns the same way.
    """
    below, above, weight = _taps(rows, values.shape[1])
    mixed = values[:, below] * (1 - weight)[None, :, None] + values[:, above] * weight[None, :, None]
    below, above, weight = _taps(columns, values.shape[2])
    out: np.ndarray = (
        mixed[:, :, below] * (1 - weight)[None, None, :] + mixed[:, :, above] * weight[None, None, :]
    )
    return out


def nearest(values: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Label maps sampled at the pixel under each centre: ``floor(u)``, clamped."""
    row = np.clip(np.floor(rows).astype(np.intp), 0, values.shape[1] - 1)
    column = np.clip(np.floor(columns).astype(np.intp), 0, values.shape[2] - 1)
    return np.asarray(values[:, row][:, :, column])


def pairing(images: int, maps: int) -> int:
    """How many overlays: one per image and map, one map for every image, or one image for every map.

    Raises:
        DeprocessError: When the counts do not pair.
    """
    if images == maps or maps == 1:
        return images
    if images == 1:
        return maps
    raise DeprocessError(
        f"Expected one heatmap per image, or one for all of them. Received {images} images and "
        f"{maps} heatmaps. Pass heatmaps of shape (N, h, w) with N = {images}."
    )


def as_float_mask(values: Any, dtype: np.dtype[Any]) -> np.ndarray:
    """Float64 values back in the heatmap's own float dtype (float32 for half precision)."""
    target = dtype if dtype in (np.dtype(np.float32), np.dtype(np.float64)) else np.dtype(np.float32)
    return np.asarray(values).astype(target)
