"""Symbolic `KerasTensor`s, through `keras.ops` (only their shapes and dtypes are ever computed)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_deprocess.frameworks.base import Backend

__all__ = ["KerasBackend"]


class KerasBackend(Backend):
    name = "keras"
    module = "keras"

    def __init__(self) -> None:
        self.keras: Any = sys.modules["keras"]
        self.ops: Any = self.keras.ops

    def is_appropriate_type(self, x: Any) -> bool:
        return isinstance(x, self.keras.KerasTensor)

    def dtype_name(self, x: Any) -> str:
        return str(self.keras.backend.standardize_dtype(x.dtype))

    def is_traced(self, x: Any) -> bool:
        return True

    def needs_gradient(self, x: Any) -> bool:
        return True

    def cast(self, x: Any, dtype: str) -> Any:
        return self.ops.cast(x, dtype)

    def constant(self, values: Any, shape: Sequence[int], dtype: str, like: Any) -> Any:
        return self.ops.convert_to_tensor(np.asarray(values, dtype=dtype).reshape(shape), dtype=dtype)

    def take(self, x: Any, indices: Sequence[int], axis: int) -> Any:
        if list(indices) == list(range(len(indices)))[::-1]:
            return self.ops.flip(x, axis=axis)
        return self.ops.take(x, np.asarray(indices, dtype="int32"), axis=axis)

    def gather(self, table: Any, indices: Any) -> Any:
        return self.ops.take(table, indices)

    def concat(self, parts: Sequence[Any], axis: int) -> Any:
        return self.ops.concatenate(list(parts), axis=axis)

    def round(self, x: Any) -> Any:
        return self.ops.round(x)

    def clip(self, x: Any, low: float, high: float) -> Any:
        return self.ops.clip(x, low, high)

    def where(self, condition: Any, x: Any, y: Any) -> Any:
        return self.ops.where(condition, x, y)

    def zero_nan(self, x: Any) -> Any:
        return self.ops.where(self.ops.isnan(x), self.ops.zeros_like(x), x)

    def power(self, x: Any, exponent: float) -> Any:
        return self.ops.power(x, exponent)

    def cbrt(self, x: Any) -> Any:
        return self.ops.sign(x) * self.ops.power(self.ops.abs(x), 1 / 3)

    def maximum(self, x: Any, value: float) -> Any:
        return self.ops.maximum(x, value)

    def copy(self, x: Any) -> Any:
        return self.ops.copy(x)
