"""NumPy's ops, with bilinear resizing written out (NumPy has none)."""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_deprocess.frameworks.numpy import NumpyBackend
from keras_deprocess.ops.base import TensorOps

__all__ = ["NumpyOps", "resize_bilinear_numpy"]


class NumpyOps(NumpyBackend, TensorOps):
    def moveaxis(self, x: Any, source: int, destination: int) -> Any:
        return np.moveaxis(x, source, destination)

    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        return np.reshape(x, shape)

    def permute(self, x: Any, axes: tuple[int, ...]) -> Any:
        return np.transpose(x, axes)

    def resize_bilinear(self, x: Any, height: int, width: int) -> Any:
        return resize_bilinear_numpy(x, height, width)

    def sum(self, x: Any, axis: int) -> Any:
        return np.sum(x, axis=axis, keepdims=True)

    def max(self, x: Any, axis: int) -> Any:
        return np.max(x, axis=axis, keepdims=True)

    def exp(self, x: Any) -> Any:
        return np.exp(x)

    def log(self, x: Any) -> Any:
        return np.log(x)

    def kth_smallest(self, x: Any, k: int) -> Any:
        return np.partition(x, k - 1, axis=-1)[..., k - 1 : k]


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
