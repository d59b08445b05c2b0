"""NumPy arrays: the reference framework, and the host that the fast engines run on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_deprocess.frameworks.base import Backend

__all__ = ["NumpyBackend", "numpy_dtype"]


def numpy_dtype(name: str) -> np.dtype[Any]:
    """NumPy's dtype for a name, bfloat16 included (from ml_dtypes, which Keras and JAX install)."""
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)  # type: ignore[no-any-return]
    return np.dtype(name)


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

    def isnan(self, x: Any) -> Any:
        return np.isnan(x)

    def zero_nan(self, x: Any) -> Any:
        return np.nan_to_num(x, nan=0.0, posinf=np.inf, neginf=-np.inf)

    def cbrt(self, x: Any) -> Any:
        return np.cbrt(x)

    def maximum(self, x: Any, value: float) -> Any:
        return np.maximum(x, value)

    def exp(self, x: Any) -> Any:
        return np.exp(x)

    def log(self, x: Any) -> Any:
        return np.log(x)

    def sum(self, x: Any, axis: int) -> Any:
        return np.sum(x, axis=axis, keepdims=True)

    def max(self, x: Any, axis: int) -> Any:
        return np.max(x, axis=axis, keepdims=True)

    def kth_smallest(self, x: Any, k: int) -> Any:
        return np.partition(x, k - 1, axis=-1)[..., k - 1 : k]

    def moveaxis(self, x: Any, source: int, destination: int) -> Any:
        return np.moveaxis(x, source, destination)

    def resize_bilinear(self, x: Any, height: int, width: int) -> Any:
        from keras_deprocess.math.resize import resize_bilinear_numpy

        return resize_bilinear_numpy(x, height, width)

    def copy(self, x: Any) -> Any:
        return np.array(x, copy=True)

    def all_finite(self, x: Any) -> bool:
        from keras_deprocess.math.finite import all_finite

        return all_finite(np.asarray(x))
