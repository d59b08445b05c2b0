"""Which array library a value belongs to, and the few tensor ops we need.

Detection looks only at frameworks already in `sys.modules`: a torch tensor
cannot exist unless torch was imported, so nothing here imports a framework
to answer "is this a torch tensor?". Results are cached per type.

Two op sets implement the same small interface:
- `TensorFlowOps`, native TensorFlow, so that tf.Tensors work in `tf.data`
  and `tf.function` whatever `KERAS_BACKEND` says;
- `KerasOps`, `keras.ops`, for the other backends' native tensors and for
  symbolic `KerasTensor`s.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_deprocess._config import import_keras
from keras_deprocess.errors import DeprocessError

_FAMILY_BY_TYPE: dict[type, str | None] = {}


def _family_of_type(cls: type) -> str | None:
    if cls not in _FAMILY_BY_TYPE:
        _FAMILY_BY_TYPE[cls] = _find_family(cls)
    return _FAMILY_BY_TYPE[cls]


def _find_family(cls: type) -> str | None:
    if issubclass(cls, (np.ndarray, np.generic)):
        return "numpy"
    tf = sys.modules.get("tensorflow")
    if tf is not None and issubclass(cls, (tf.Tensor, tf.Variable)):
        return "tensorflow"
    jax = sys.modules.get("jax")
    if jax is not None and issubclass(cls, jax.Array):
        return "jax"
    torch = sys.modules.get("torch")
    if torch is not None and issubclass(cls, torch.Tensor):
        return "torch"
    keras = sys.modules.get("keras")
    if keras is not None and issubclass(cls, (keras.KerasTensor, keras.Variable)):
        return "keras"
    return None


def family_of(x: Any) -> str | None:
    """ "numpy", "tensorflow", "jax", "torch", "keras", or None for other objects."""
    family = _family_of_type(type(x))
    if family is None and sys.modules.get("jax") is not None:
        # jax tracers are registered as virtual subclasses of jax.Array
        # without inheriting from it, so they miss the per-type cache.
        import jax

        if isinstance(x, jax.Array):
            return "jax"
    return family


class TensorFlowOps:
    """Native TensorFlow ops."""

    def __init__(self) -> None:
        import tensorflow as tf

        self.tf = tf

    def shape(self, x: Any) -> tuple[int | None, ...]:
        if x.shape.rank is None:
            raise DeprocessError(
                "Expected a tensor of known rank: 3 (one image) or 4 (a batch). Received a tensor "
                "of unknown rank. Give it a static rank, e.g. with tf.ensure_shape."
            )
        return tuple(x.shape.as_list())

    def dtype_name(self, x: Any) -> str:
        return str(x.dtype.name)

    def is_symbolic(self, x: Any) -> bool:
        return not self.tf.executing_eagerly()

    def cast(self, x: Any, dtype: str) -> Any:
        return self.tf.cast(x, dtype)

    def take(self, x: Any, indices: Sequence[int], axis: int) -> Any:
        if list(indices) == list(range(len(indices)))[::-1]:
            return self.tf.reverse(x, [axis])
        return self.tf.gather(x, list(indices), axis=axis)

    def constant(self, values: Sequence[float], shape: Sequence[int], dtype: str) -> Any:
        return self.tf.constant(np.asarray(values, dtype=dtype).reshape(shape))

    def round(self, x: Any) -> Any:
        return self.tf.round(x)

    def copy(self, x: Any) -> Any:
        return self.tf.identity(x)

    def clip(self, x: Any, low: float, high: float) -> Any:
        return self.tf.clip_by_value(x, low, high)

    def zero_nan(self, x: Any) -> Any:
        return self.tf.where(self.tf.math.is_nan(x), self.tf.zeros_like(x), x)

    def count_nonfinite(self, x: Any) -> tuple[int, int, int]:
        # One boolean crosses to the host in the common, all-finite case.
        if bool(self.tf.reduce_all(self.tf.math.is_finite(x))):
            return 0, 0, 0
        return count_nonfinite_numpy(np.asarray(self.tf.cast(x, "float32")))


class KerasOps:
    """`keras.ops`, for native tensors of the active Keras backend."""

    def __init__(self) -> None:
        keras = import_keras()
        self.keras = keras
        self.ops = keras.ops

    def shape(self, x: Any) -> tuple[int | None, ...]:
        return tuple(x.shape)

    def dtype_name(self, x: Any) -> str:
        return str(self.keras.backend.standardize_dtype(x.dtype))

    def is_symbolic(self, x: Any) -> bool:
        if isinstance(x, self.keras.KerasTensor):
            return True
        jax_core = getattr(sys.modules.get("jax"), "core", None)
        if jax_core is not None and isinstance(x, jax_core.Tracer):
            return True
        torch = sys.modules.get("torch")
        return bool(torch is not None and torch.compiler.is_compiling())

    def cast(self, x: Any, dtype: str) -> Any:
        return self.ops.cast(x, dtype)

    def take(self, x: Any, indices: Sequence[int], axis: int) -> Any:
        if list(indices) == list(range(len(indices)))[::-1]:
            return self.ops.flip(x, axis=axis)
        return self.ops.take(x, np.asarray(indices, dtype="int32"), axis=axis)

    def constant(self, values: Sequence[float], shape: Sequence[int], dtype: str) -> Any:
        return self.ops.convert_to_tensor(np.asarray(values, dtype=dtype).reshape(shape), dtype=dtype)

    def round(self, x: Any) -> Any:
        return self.ops.round(x)

    def copy(self, x: Any) -> Any:
        return self.ops.copy(x)

    def clip(self, x: Any, low: float, high: float) -> Any:
        return self.ops.clip(x, low, high)

    def zero_nan(self, x: Any) -> Any:
        return self.ops.where(self.ops.isnan(x), self.ops.zeros_like(x), x)

    def count_nonfinite(self, x: Any) -> tuple[int, int, int]:
        if bool(self.ops.all(self.ops.isfinite(x))):
            return 0, 0, 0
        return count_nonfinite_numpy(np.asarray(self.ops.convert_to_numpy(self.ops.cast(x, "float32"))))


def count_nonfinite_numpy(x: np.ndarray) -> tuple[int, int, int]:
    """(NaN, +Inf, -Inf) counts; a fast path for the common all-finite case."""
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    if np.isfinite(x).all():
        return 0, 0, 0
    return int(np.isnan(x).sum()), int(np.isposinf(x).sum()), int(np.isneginf(x).sum())


@functools.cache
def ops_for(family: str) -> TensorFlowOps | KerasOps:
    """The op set for a tensor family; checks that Keras can handle it."""
    if family == "tensorflow":
        return TensorFlowOps()
    ops = KerasOps()
    if family in ("jax", "torch"):
        backend = ops.keras.backend.backend()
        if backend != family:
            raise DeprocessError(
                f"Received a {family} tensor, but Keras's backend is {backend!r}, and "
                f"{family} tensors are handled through keras.ops. Set KERAS_BACKEND={family} "
                "before Keras is imported, or pass a NumPy array (np.asarray(x))."
            )
    return ops
