"""The interface: a framework's kernel ops, plus the manipulations the higher layers need."""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_deprocess.frameworks.base import Backend

__all__ = ["TensorOps"]


class TensorOps(Backend):
    """A framework's kernel ops (inherited) and these; ``axis`` may be negative throughout."""

    def moveaxis(self, x: Any, source: int, destination: int) -> Any:
        raise NotImplementedError

    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        """`x` with the same values in row-major order, in `shape` (one entry may be -1)."""
        raise NotImplementedError

    def permute(self, x: Any, axes: tuple[int, ...]) -> Any:
        """The axes of `x` reordered: output axis ``i`` is input axis ``axes[i]`` (NumPy's ``transpose``)."""
        raise NotImplementedError

    def resize_bilinear(self, x: Any, height: int, width: int) -> Any:
        """(N, H, W, C) → (N, height, width, C), bilinear with half-pixel centres.

        The convention of ``torch.nn.functional.interpolate(mode="bilinear",
        align_corners=False)``, ``tf.image.resize`` and ``jax.image.resize``
        (no antialiasing).
        """
        raise NotImplementedError

    def sum(self, x: Any, axis: int) -> Any:
        """The sum over `axis`, keeping it (size 1)."""
        raise NotImplementedError

    def max(self, x: Any, axis: int) -> Any:
        """The maximum over `axis`, keeping it (size 1)."""
        raise NotImplementedError

    def exp(self, x: Any) -> Any:
        raise NotImplementedError

    def log(self, x: Any) -> Any:
        raise NotImplementedError

    def matmul(self, x: Any, matrix: np.ndarray) -> Any:
        """``x @ matrix`` over the last axis of `x`, for a constant 2-D `matrix`."""
        return x @ self.constant(matrix, matrix.shape, self.dtype_name(x), like=x)

    def kth_smallest(self, x: Any, k: int) -> Any:
        """The `k`-th smallest value over the last axis, keeping it (size 1)."""
        raise NotImplementedError
