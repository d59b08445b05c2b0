"""TensorFlow's ops."""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_deprocess.frameworks.tensorflow import TensorFlowBackend
from keras_deprocess.ops.base import TensorOps

__all__ = ["TensorFlowOps"]


class TensorFlowOps(TensorFlowBackend, TensorOps):
    def moveaxis(self, x: Any, source: int, destination: int) -> Any:
        order = list(range(len(x.shape)))
        order.insert(destination % len(order), order.pop(source % len(order)))
        return self.tf.transpose(x, order)

    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        return self.tf.reshape(x, shape)

    def permute(self, x: Any, axes: tuple[int, ...]) -> Any:
        return self.tf.transpose(x, axes)

    def resize_bilinear(self, x: Any, height: int, width: int) -> Any:
        resized = self.tf.image.resize(x, (height, width), method="bilinear")
        return self.tf.cast(resized, x.dtype)

    def sum(self, x: Any, axis: int) -> Any:
        return self.tf.reduce_sum(x, axis=axis, keepdims=True)

    def max(self, x: Any, axis: int) -> Any:
        return self.tf.reduce_max(x, axis=axis, keepdims=True)

    def exp(self, x: Any) -> Any:
        return self.tf.exp(x)

    def log(self, x: Any) -> Any:
        return self.tf.math.log(x)

    def matmul(self, x: Any, matrix: np.ndarray) -> Any:
        return self.tf.tensordot(x, self.tf.constant(matrix.astype(x.dtype.as_numpy_dtype)), axes=1)

    def kth_smallest(self, x: Any, k: int) -> Any:
        return -self.tf.math.top_k(-x, k=k).values[..., k - 1 : k]
