"""`keras.ops` on symbolic tensors."""

from __future__ import annotations

from typing import Any

from keras_deprocess.frameworks.keras import KerasBackend
from keras_deprocess.ops.base import TensorOps

__all__ = ["KerasOps"]


class KerasOps(KerasBackend, TensorOps):
    def moveaxis(self, x: Any, source: int, destination: int) -> Any:
        return self.ops.moveaxis(x, source, destination)

    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        return self.ops.reshape(x, shape)

    def permute(self, x: Any, axes: tuple[int, ...]) -> Any:
        return self.ops.transpose(x, axes)

    def resize_bilinear(self, x: Any, height: int, width: int) -> Any:
        return self.ops.image.resize(
            x, (height, width), interpolation="bilinear", data_format="channels_last"
        )

    def sum(self, x: Any, axis: int) -> Any:
        return self.ops.sum(x, axis=axis, keepdims=True)

    def max(self, x: Any, axis: int) -> Any:
        return self.ops.max(x, axis=axis, keepdims=True)

    def exp(self, x: Any) -> Any:
        return self.ops.exp(x)

    def log(self, x: Any) -> Any:
        return self.ops.log(x)

    def kth_smallest(self, x: Any, k: int) -> Any:
        return -self.ops.top_k(-x, k)[0][..., k - 1 : k]
