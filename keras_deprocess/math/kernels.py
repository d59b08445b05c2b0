"""Compiled kernels: the traced math, fused into one pass over memory, cached per spec and layout."""

from __future__ import annotations

import functools
from typing import Any

from keras_deprocess.frameworks.base import Backend
from keras_deprocess.math.maps import inverse_map
from keras_deprocess.spec import PreprocessSpec

__all__ = ["compiled_restore"]


@functools.lru_cache(maxsize=128)
def compiled_restore(
    backend: Backend | None, spec: PreprocessSpec, axis: int, out_dtype: str, clip: bool
) -> Any:
    """`inverse_map` compiled by the framework (XLA for TensorFlow and JAX), NaN becoming 0.

    Callers check for NaN and ±Inf before calling it when the output is uint8.
    """
    assert backend is not None

    def kernel(x: Any) -> Any:
        return inverse_map(backend, x, spec, axis, out_dtype, clip, zero_nan=True)

    return backend.jit(kernel)
