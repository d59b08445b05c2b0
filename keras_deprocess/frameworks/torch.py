"""PyTorch tensors, natively: any device (the result stays there), autograd, `torch.compile`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_deprocess.core.dtypes import numpy_dtype
from keras_deprocess.frameworks.base import Backend

__all__ = ["TorchBackend"]

_HOST_DTYPES = ("float16", "float32", "float64", "bfloat16", "uint8")


class TorchBackend(Backend):
    name = "torch"
    module = "torch"
    channels_first_by_default = True

    def __init__(self) -> None:
        self.torch: Any = sys.modules["torch"]

    def is_appropriate_type(self, x: Any) -> bool:
        return isinstance(x, self.torch.Tensor)

    def dtype_name(self, x: Any) -> str:
        return str(x.dtype).removeprefix("torch.")

    def is_traced(self, x: Any) -> bool:
        return bool(self.torch.compiler.is_compiling()) or bool(self.torch.jit.is_tracing())

    def has_float64(self, x: Any) -> bool:
        return bool(x.device.type != "mps")

    def needs_gradient(self, x: Any) -> bool:
        return bool(x.requires_grad)

    def host_view(self, x: Any) -> np.ndarray | None:
        if x.device.type != "cpu" or self.is_traced(x) or self.dtype_name(x) not in _HOST_DTYPES:
            return None
        x = x.detach()
        if x.dtype == self.torch.bfloat16:
            return np.asarray(x.view(self.torch.int16).numpy().view(numpy_dtype("bfloat16")))
        return np.asarray(x.numpy())

    def from_host(self, array: np.ndarray, like: Any) -> Any:
        array = np.ascontiguousarray(array)
        if array.dtype.name == "bfloat16":
            tensor = self.torch.from_numpy(array.view(np.int16)).view(self.torch.bfloat16)
        else:
            tensor = self.torch.from_numpy(array)
        return tensor if like.device.type == "cpu" else tensor.to(like.device)

    def to_numpy(self, x: Any) -> np.ndarray:
        x = x.detach().cpu()
        if x.dtype == self.torch.bfloat16:
            x = x.float()
        return np.asarray(x.numpy())

    def cast(self, x: Any, dtype: str) -> Any:
        return x.to(getattr(self.torch, dtype))

    def constant(self, values: Any, shape: Sequence[int], dtype: str, like: Any) -> Any:
        array = np.asarray(values, dtype=dtype).reshape(shape)
        return self.torch.as_tensor(array, device=like.device)

    def take(self, x: Any, indices: Sequence[int], axis: int) -> Any:
        if list(indices) == list(range(len(indices)))[::-1]:
            return self.torch.flip(x, (axis,))
        index = self.torch.as_tensor(list(indices), device=x.device)
        return self.torch.index_select(x, axis, index)

    def gather(self, table: Any, indices: Any) -> Any:
        return table[indices.long()]

    def concat(self, parts: Sequence[Any], axis: int) -> Any:
        return self.torch.cat(list(parts), dim=axis)

    def round(self, x: Any) -> Any:
        return self.torch.round(x)

    def clip(self, x: Any, low: float, high: float) -> Any:
        return self.torch.clamp(x, low, high)

    def where(self, condition: Any, x: Any, y: Any) -> Any:
        return self.torch.where(condition, x, y)

    def zero_nan(self, x: Any) -> Any:
        return self.torch.nan_to_num(x, nan=0.0)

    def cbrt(self, x: Any) -> Any:
        return self.torch.sign(x) * self.torch.abs(x) ** (1 / 3)

    def maximum(self, x: Any, value: float) -> Any:
        return self.torch.clamp(x, min=value)

    def copy(self, x: Any) -> Any:
        return x.clone()

    # Elements per slice of `map_rows`.
    slice_elements = 1 << 20

    def map_rows(self, function: Any, x: Any, out_dtype: str, channel_axis: int) -> Any:
        """Slices along the first axis, written into one output tensor on `x`'s device."""
        rows = x.shape[0]
        step = max(1, self.slice_elements // max(1, x[0].numel()))
        if channel_axis == 0 or rows <= step:
            return function(x)
        out = self.torch.empty(x.shape, dtype=getattr(self.torch, out_dtype), device=x.device)
        for start in range(0, rows, step):
            out[start : start + step] = function(x[start : start + step])
        return out

    def all_finite(self, x: Any) -> bool:
        return bool(self.torch.isfinite(x).all())
