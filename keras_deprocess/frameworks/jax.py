"""JAX arrays, natively: in `jit`, `grad` and `vmap`; sharded arrays keep their sharding."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_deprocess.core.finite import all_finite
from keras_deprocess.frameworks.base import Backend

__all__ = ["JaxBackend"]


class JaxBackend(Backend):
    name = "jax"
    module = "jax"

    def __init__(self) -> None:
        import jax.numpy as jnp

        self.jax: Any = sys.modules["jax"]
        self.jnp: Any = jnp

    def is_appropriate_type(self, x: Any) -> bool:
        return isinstance(x, self.jax.Array)

    def dtype_name(self, x: Any) -> str:
        return str(np.dtype(x.dtype).name)

    def is_traced(self, x: Any) -> bool:
        return isinstance(x, self.jax.core.Tracer)

    def has_float64(self, x: Any) -> bool:
        # float64 is emulated, slowly or not at all, on TPUs.
        return bool(self.jax.default_backend() != "tpu")

    def float64_scope(self) -> contextlib.AbstractContextManager[None]:
        """x64 for the block only, also inside `jit` (JAX keeps float64 as float32 otherwise)."""
        if self.jax.config.read("jax_enable_x64"):
            return contextlib.nullcontext()
        state = getattr(self.jax, "enable_x64", None)
        if callable(state):
            return state(True)  # type: ignore[no-any-return]
        experimental = importlib.import_module("jax.experimental")  # older JAX
        return experimental.enable_x64()  # type: ignore[no-any-return]

    def needs_gradient(self, x: Any) -> bool:
        # jax.grad traces: a concrete array is never being differentiated.
        return self.is_traced(x)

    def _on_one_cpu(self, x: Any) -> bool:
        devices = x.devices()
        return len(devices) == 1 and next(iter(devices)).platform == "cpu"

    def host_view(self, x: Any) -> np.ndarray | None:
        if self.is_traced(x) or not self._on_one_cpu(x):
            return None
        return np.asarray(x)  # read-only and zero-copy on the CPU

    def from_host(self, array: np.ndarray, like: Any) -> Any:
        return self.jax.device_put(array, like.sharding)

    def to_numpy(self, x: Any) -> np.ndarray:
        if x.dtype == self.jnp.bfloat16:
            x = x.astype(self.jnp.float32)
        return np.asarray(self.jax.device_get(x))

    def cast(self, x: Any, dtype: str) -> Any:
        return x.astype(dtype)

    def constant(self, values: Any, shape: Sequence[int], dtype: str, like: Any) -> Any:
        return self.jnp.asarray(np.asarray(values, dtype=dtype).reshape(shape))

    def take(self, x: Any, indices: Sequence[int], axis: int) -> Any:
        if list(indices) == list(range(len(indices)))[::-1]:
            return self.jnp.flip(x, axis)
        return self.jnp.take(x, np.asarray(indices), axis=axis)

    def gather(self, table: Any, indices: Any) -> Any:
        return self.jnp.take(table, indices)

    def concat(self, parts: Sequence[Any], axis: int) -> Any:
        return self.jnp.concatenate(list(parts), axis=axis)

    def round(self, x: Any) -> Any:
        return self.jnp.round(x)

    def clip(self, x: Any, low: float, high: float) -> Any:
        return self.jnp.clip(x, low, high)

    def where(self, condition: Any, x: Any, y: Any) -> Any:
        return self.jnp.where(condition, x, y)

    def zero_nan(self, x: Any) -> Any:
        return self.jnp.where(self.jnp.isnan(x), 0.0, x)

    def cbrt(self, x: Any) -> Any:
        return self.jnp.cbrt(x)

    def maximum(self, x: Any, value: float) -> Any:
        return self.jnp.maximum(x, value)

    def copy(self, x: Any) -> Any:
        return self.jnp.array(x, copy=True)

    def all_finite(self, x: Any) -> bool:
        if self._on_one_cpu(x):
            return all_finite(np.asarray(x))
        return bool(self.jnp.isfinite(x).all())

    def jit(self, function: Any) -> Any:
        return self.jax.jit(function)
