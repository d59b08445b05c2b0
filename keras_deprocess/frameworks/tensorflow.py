"""TensorFlow tensors and variables, natively: also in `tf.function`, `tf.data` and XLA."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_deprocess.core.finite import all_finite
from keras_deprocess.errors import DeprocessError
from keras_deprocess.frameworks.base import Backend

__all__ = ["TensorFlowBackend"]


class TensorFlowBackend(Backend):
    name = "tensorflow"
    module = "tensorflow"

    def __init__(self) -> None:
        self.tf: Any = sys.modules["tensorflow"]

    def is_appropriate_type(self, x: Any) -> bool:
        return isinstance(x, (self.tf.Tensor, self.tf.Variable))

    def shape(self, x: Any) -> tuple[int | None, ...]:
        if x.shape.rank is None:
            raise DeprocessError(
                "Expected a tensor of known rank: 3 (one image) or 4 (a batch). Received a tensor "
                "of unknown rank. Give it a static rank, e.g. with tf.ensure_shape."
            )
        return tuple(x.shape.as_list())

    def dtype_name(self, x: Any) -> str:
        return str(x.dtype.name)

    def is_traced(self, x: Any) -> bool:
        return not self.tf.executing_eagerly()

    def needs_gradient(self, x: Any) -> bool:
        # A GradientTape may be watching any eager tensor: keep float math in TensorFlow.
        return True

    def from_host(self, array: np.ndarray, like: Any) -> Any:
        with self.tf.device(like.device):
            return self.tf.constant(array)

    def to_numpy(self, x: Any) -> np.ndarray:
        if x.dtype == self.tf.bfloat16:
            x = self.tf.cast(x, "float32")
        return np.asarray(x.numpy())

    def cast(self, x: Any, dtype: str) -> Any:
        return self.tf.cast(x, dtype)

    def constant(self, values: Any, shape: Sequence[int], dtype: str, like: Any) -> Any:
        return self.tf.constant(np.asarray(values, dtype=dtype).reshape(shape))

    def take(self, x: Any, indices: Sequence[int], axis: int) -> Any:
        if list(indices) == list(range(len(indices)))[::-1]:
            return self.tf.reverse(x, [axis])
        return self.tf.gather(x, list(indices), axis=axis)

    def gather(self, table: Any, indices: Any) -> Any:
        return self.tf.gather(table, indices)

    def concat(self, parts: Sequence[Any], axis: int) -> Any:
        return self.tf.concat(list(parts), axis=axis)

    def round(self, x: Any) -> Any:
        return self.tf.round(x)

    def clip(self, x: Any, low: float, high: float) -> Any:
        return self.tf.clip_by_value(x, low, high)

    def where(self, condition: Any, x: Any, y: Any) -> Any:
        # A Python number takes the tensor's dtype (TensorFlow would make it float32).
        if isinstance(x, (int, float)):
            x = self.tf.cast(x, y.dtype)
        if isinstance(y, (int, float)):
            y = self.tf.cast(y, x.dtype)
        return self.tf.where(condition, x, y)

    def zero_nan(self, x: Any) -> Any:
        return self.tf.where(self.tf.math.is_nan(x), self.tf.zeros_like(x), x)

    def power(self, x: Any, exponent: float) -> Any:
        return self.tf.pow(x, self.tf.cast(exponent, x.dtype))

    def cbrt(self, x: Any) -> Any:
        return self.tf.sign(x) * self.tf.pow(self.tf.abs(x), self.tf.cast(1 / 3, x.dtype))

    def maximum(self, x: Any, value: float) -> Any:
        return self.tf.maximum(x, self.tf.cast(value, x.dtype))

    def copy(self, x: Any) -> Any:
        return self.tf.identity(x)

    def all_finite(self, x: Any) -> bool:
        if "CPU" in x.device:
            return all_finite(np.asarray(x))  # a view of the tensor's memory, no copy
        return bool(self.tf.reduce_all(self.tf.math.is_finite(x)))

    def jit(self, function: Any) -> Any:
        return self.tf.function(function, jit_compile=True, reduce_retracing=True)
