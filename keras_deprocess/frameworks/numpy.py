"""NumPy arrays: the reference framework, and the host that the fast engines run on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_deprocess.core.dtypes import numpy_dtype
from keras_deprocess.core.finite import all_finite
from keras_deprocess.frameworks.base import Backend

__all__ = ["NumpyBackend"]


class NumpyBackend(Backend):
    name = "numpy"
    module = "numpy"

    def is_appropriate_type(self, x: Any) -> bool:
        return isinstance(x, np.ndarray)

    def dtype_name(self, x: Any) -> str:
        return str(x.dtype.name)

    def host_view(self, x: Any) -> np.ndarray | None:
        return np.asarray(x)

    def from_host(self, array: np.ndarray, like: Any) -> Any:
        return array

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def cast(self, x: Any, dtype: str) -> Any:
        return np.asarray(x).astype(numpy_dtype(dtype), copy=False)

    def constant(self, values: Any, shape: Sequence[int], dtype: str, like: Any) -> Any:
        return np.asarray(values, dtype=numpy_dtype(dtype)).reshape(shape)

    def take(self, x: Any, indices: Sequence[int], axis: int) -> Any:
        return np.take(x, list(indices), axis=axis)

    def gather(self, table: Any, indices: Any) -> Any:
        return np.take(table, indices)

    def concat(self, parts: Sequence[Any], axis: int) -> Any:
        return np.concatenate(parts, axis=axis)

    def round(self, x: Any) -> Any:
        return np.rint(x)

    def clip(self, x: Any, low: float, high: float) -> Any:
        return np.clip(x, low, high)

    def where(self, condition: Any, x: Any, y: Any) -> Any:
        return np.where(condition, x, y)

    def zero_nan(self, x: Any) -> Any:
        return np.nan_to_num(x, nan=0.0, posinf=np.inf, neginf=-np.inf)

    def cbrt(self, x: Any) -> Any:
        return np.cbrt(x)

    def maximum(self, x: Any, value: float) -> Any:
        return np.maximum(x, value)

    def copy(self, x: Any) -> Any:
        return np.array(x, copy=True)

    def all_finite(self, x: Any) -> bool:
        return all_finite(np.asarray(x))
