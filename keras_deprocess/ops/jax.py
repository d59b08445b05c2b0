"""JAX's ops."""

from __future__ import annotations

from typing import Any

from keras_deprocess.frameworks.jax import JaxBackend
from keras_deprocess.ops.base import TensorOps

__all__ = ["JaxOps"]


class JaxOps(JaxBackend, TensorOps):
    def moveaxis(self, x: Any, source: int, destination: int) -> Any:
        return self.jnp.moveaxis(x, source, destination)

    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        return self.jnp.reshape(x, shape)

    def permute(self, x: Any, axes: tuple[int, ...]) -> Any:
        return self.jnp.transpose(x, axes)

    def resize_bilinear(self, x: Any, height: int, width: int) -> Any:
        shape = (x.shape[0], height, width, x.shape[3])
        return self.jax.image.resize(x, shape, method="bilinear", antialias=False)

    def sum(self, x: Any, axis: int) -> Any:
        return self.jnp.sum(x, axis=axis, keepdims=True)

    def max(self, x: Any, axis: int) -> Any:
        return self.jnp.max(x, axis=axis, keepdims=True)

    def exp(self, x: Any) -> Any:
        return self.jnp.exp(x)

    def log(self, x: Any) -> Any:
        return self.jnp.log(x)

    def kth_smallest(self, x: Any, k: int) -> Any:
        return -self.jax.lax.top_k(-x, k)[0][..., k - 1 : k]
