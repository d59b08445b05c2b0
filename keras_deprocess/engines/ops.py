"""The ops engine: the kernels as plain framework ops, so that a trace or autodiff owns them.

It serves every framework and plan: inside traces (``jit``,
``tf.function``, ``torch.compile``, symbolic Keras tensors), for float
outputs that autodiff may follow, and for eager tensors too small for a
compiled kernel to pay back.
"""

from __future__ import annotations

from typing import Any

from keras_deprocess.core.plan import Plan
from keras_deprocess.frameworks.base import Backend
from keras_deprocess.kernels.maps import run_map

__all__ = ["run"]


def run(backend: Backend, x: Any, plan: Plan, *, zero_nan: bool) -> Any:
    """`plan` on `x` with `backend`'s ops; with `zero_nan`, NaN becomes 0 in a uint8 output."""
    y = run_map(backend, x, plan, zero_nan=zero_nan)
    # An identity map can hand back `x` itself; torch tensors are mutable, so
    # the caller must never get its own tensor back.
    return backend.copy(y) if y is x else y
