"""Compiled kernels: the traced math, fused into one pass over memory, cached per spec and layout."""

from __future__ import annotations

import functools
from typing import Any

from keras_deprocess.frameworks.base import Backend
from keras_deprocess.math.affine import restore_affine
from keras_deprocess.spec import Affine

__all__ = ["compiled_restore"]


@functools.lru_cache(maxsize=128)
def compiled_restore(backend: Backend | None, affine: Affine, axis: int, out_dtype: str, clip: bool) -> Any:
    """`restore_affine` compiled by the framework (XLA for TensorFlow and JAX), NaN becoming 0.

    Callers check for NaN and ±Inf before calling it when the output is uint8.
    """
    assert backend is not None

    def kernel(x: Any) -> Any:
        return restore_affine(backend, x, affine, axis, out_dtype, clip, zero_nan=True)

    return backend.jit(kernel)
