"""The compiled engine: a plan's kernel fused by the framework's compiler, cached per plan.

- TensorFlow and JAX tensors: one XLA kernel per framework and plan
  (``tf.function(jit_compile=True)``, ``jax.jit``), one pass over memory.
- PyTorch tensors off the CPU: the kernel as eager ops on slices of rows
  written into one output tensor (`TorchBackend.map_rows`), so that no
  float64 temporary is ever full-size.
- NumPy arrays, when TensorFlow is already imported: handed to the XLA
  kernel by DLPack without a copy (`restore_numpy_by_dlpack`).

NaN becomes 0 inside the kernel (nothing can be raised there): callers
check for NaN and ±Inf first when the output is uint8.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import numpy as np

from keras_deprocess.core.finite import check_finite
from keras_deprocess.core.plan import Plan
from keras_deprocess.frameworks import backend_for
from keras_deprocess.frameworks.base import Backend
from keras_deprocess.kernels.maps import run_map

__all__ = ["compiled_kernel", "restore_numpy_by_dlpack", "run"]


@functools.lru_cache(maxsize=128)
def compiled_kernel(backend: Backend, plan: Plan) -> Any:
    """`plan`'s map compiled by `backend`'s framework (or as is, where it has no compiler)."""

    def kernel(x: Any) -> Any:
        return run_map(backend, x, plan, zero_nan=True)

    return backend.jit(kernel)


def run(backend: Backend, x: Any, plan: Plan) -> Any:
    """`plan` on the eager tensor `x` (checked for NaN and ±Inf by the caller)."""
    return backend.map_rows(compiled_kernel(backend, plan), x, plan.out_dtype, plan.axis)


def restore_numpy_by_dlpack(x: np.ndarray, plan: Plan) -> np.ndarray | None:
    """`plan` on a NumPy array through the XLA kernel, handed over by DLPack without a copy.

    Only when TensorFlow is already imported and the array is 64-byte
    aligned: TensorFlow copies less-aligned buffers (which costs what the
    fusion saves), and its eager kernels can abort on them, so no eager op
    ever touches the borrowed buffer. NumPy's own allocations are usually
    16-byte aligned: those take the blocked engine. None when the hand-over
    is refused (read-only, strided, unaligned or exotic arrays).

    Raises:
        NonFinite: For NaN or ±Inf in `x` when the output is uint8.
    """
    tf = sys.modules.get("tensorflow")
    if tf is None or x.dtype.name not in ("float16", "float32", "float64") or x.ctypes.data % 64:
        return None
    try:
        tensor = tf.experimental.dlpack.from_dlpack(x.__dlpack__())
    except Exception:  # DLPack refusals have no common type across versions
        return None
    if plan.rounds:
        check_finite(x)
    backend = backend_for(tensor)
    assert backend is not None
    return np.asarray(compiled_kernel(backend, plan)(tensor))
