"""Bilinear resizing with half-pixel centres, for NumPy (the frameworks have their own)."""

from __future__ import annotations

import numpy as np

__all__ = ["resize_bilinear_numpy"]


def _taps(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source rows (below, above) and the weight of the one above, per output row."""
    centre = (np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5
    centre = np.clip(centre, 0.0, size_in - 1)
    below = np.floor(centre).astype(np.intp)
    above = np.minimum(below + 1, size_in - 1)
    return below, above, centre - below


def resize_bilinear_numpy(x: np.ndarray, height: int, width: int) -> np.ndarray:
    """(N, H, W, C) → (N, height, width, C), as ``interpolate(..., align_corners=False)``.

    Output pixel ``i`` samples the source at ``(i + 0.5) * in / out - 0.5``,
    clamped to the image, and mixes its two neighbours linearly, rows then
    columns.
    """
    below, above, weight = _taps(x.shape[1], height)
    rows = x[:, below] * (1 - weight)[None, :, None, None] + x[:, above] * weight[None, :, None, None]
    below, above, weight = _taps(x.shape[2], width)
    return np.asarray(
        rows[:, :, below] * (1 - weight)[None, None, :, None]
        + rows[:, :, above] * weight[None, None, :, None],
        dtype=x.dtype,
    )
