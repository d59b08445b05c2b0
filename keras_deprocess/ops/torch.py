"""PyTorch's ops."""

from __future__ import annotations

from typing import Any

from keras_deprocess.frameworks.torch import TorchBackend
from keras_deprocess.ops.base import TensorOps

__all__ = ["TorchOps"]


class TorchOps(TorchBackend, TensorOps):
    def moveaxis(self, x: Any, source: int, destination: int) -> Any:
        return self.torch.movedim(x, source, destination)

    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        return x.reshape(shape)

    def permute(self, x: Any, axes: tuple[int, ...]) -> Any:
        return x.permute(*axes)

    def resize_bilinear(self, x: Any, height: int, width: int) -> Any:
        channels_first = x.permute(0, 3, 1, 2)
        resized = self.torch.nn.functional.interpolate(
            channels_first, size=(height, width), mode="bilinear", align_corners=False
        )
        return resized.permute(0, 2, 3, 1)

    def sum(self, x: Any, axis: int) -> Any:
        return self.torch.sum(x, dim=axis, keepdim=True)

    def max(self, x: Any, axis: int) -> Any:
        return self.torch.amax(x, dim=axis, keepdim=True)

    def exp(self, x: Any) -> Any:
        return self.torch.exp(x)

    def log(self, x: Any) -> Any:
        return self.torch.log(x)

    def kth_smallest(self, x: Any, k: int) -> Any:
        return self.torch.kthvalue(x, k, dim=-1, keepdim=True).values
