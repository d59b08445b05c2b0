"""The one router: which engine runs a plan, from the array and one table of thresholds.

Routing, chosen by `benchmarks/bench_restore.py` on a 2-core machine:

===========================================  =====================================================
the array                                    the engine
===========================================  =====================================================
host memory (NumPy; CPU torch and JAX        ``numba`` from ``THRESHOLDS["numba"]`` elements when
tensors, read through a zero-copy view),     the `fast` extra is installed; else ``compiled`` (XLA
and no gradient to keep                      by DLPack) from ``THRESHOLDS["compiled"]`` elements
                                             when TensorFlow is imported and the array is 64-byte
                                             aligned; else ``blocked``. The result comes back as
                                             the caller's framework.
inside a trace (``jit``, ``tf.function``,    ``ops``, so that the trace owns the math; NaN becomes
``torch.compile``, symbolic Keras tensors)   0 in a uint8 output, since nothing can be raised.
any other eager tensor (TensorFlow,          ``compiled`` from ``THRESHOLDS["compiled"]``
devices, sharded JAX, float outputs that     elements, else ``ops``; checked for NaN and ±Inf
autodiff may follow)                         first when the output is uint8.
===========================================  =====================================================

The forward direction has no fused kernels: ``blocked`` on the host, ``ops``
elsewhere.

`run(plan, x, engine=name)` runs one engine directly, as parity tests do;
an engine that cannot take the array raises `EngineRefused`.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import numpy as np

from keras_deprocess.core.finite import NonFinite
from keras_deprocess.core.plan import INVERSE, Plan
from keras_deprocess.engines import blocked, compiled, numba, ops
from keras_deprocess.frameworks import backend_for
from keras_deprocess.frameworks.base import Backend

__all__ = [
    "ENGINES",
    "THRESHOLDS",
    "EngineRefused",
    "describe_host_engine",
    "engine_for",
    "host_engine",
    "run",
]

ENGINES = ("numba", "blocked", "compiled", "ops")

# Elements from which an engine pays back its fixed cost: numba's import
# (about half a second on a process's first call) and a compiled kernel's
# compilation (once per plan) against the blocked engine's extra passes.
THRESHOLDS = {"numba": 1 << 20, "compiled": 1 << 20}


_HOST_ENGINE: ContextVar[str | None] = ContextVar("keras_deprocess_host_engine", default=None)


@contextlib.contextmanager
def host_engine(name: str) -> Iterator[None]:
    """Route host arrays to the `blocked` engine while the block runs, in this thread.

    For callers whose own threads hold every core (the CLI's image
    encoders): numba's and XLA's thread pools would contend with them, and
    measured on 1,024 images over two cores the export ran 10% slower with
    numba routed than with the blocked engine, which starts no thread.
    """
    if name != "blocked":
        raise ValueError(f"host_engine takes 'blocked', got {name!r}")
    token = _HOST_ENGINE.set(name)
    try:
        yield
    finally:
        _HOST_ENGINE.reset(token)


class EngineRefused(Exception):
    """An engine asked for by name cannot take this array or plan (tests skip such cases)."""


def run(plan: Plan, x: Any, engine: str | None = None, **options: Any) -> Any:
    """`plan` on `x`, an array of any framework, by `engine` or the routed one.

    Args:
        plan: The work.
        x: A NumPy array or a tensor (never a list: the caller resolves that).
        engine: One of `ENGINES`, or None to route.
        **options: Passed to the engine (``block_elements`` and
            ``map_block_pixels`` for ``blocked``, ``flat`` for ``numba``).

    Returns:
        The result, in `x`'s framework and on its device.

    Raises:
        NonFinite: For NaN or ±Inf in `x` when the plan rounds to uint8, outside traces.
        EngineRefused: When the named `engine` cannot take `x` or `plan`.
    """
    backend = backend_for(x)
    if backend is None:
        raise EngineRefused(f"not an array of a known framework: {type(x).__qualname__}")
    host = None if _keeps_gradient(backend, x, plan) else backend.host_view(x)
    name = engine or _route(backend, x, plan, host)
    if name == "ops":
        traced = backend.is_traced(x)
        if plan.rounds and not traced:
            _refuse_nonfinite(backend, x)
        return ops.run(backend, x, plan, zero_nan=traced)
    if host is None:
        if name != "compiled":
            raise EngineRefused(
                f"the {name} engine needs host memory, and this {backend.name} array has none"
            )
        if plan.rounds:
            _refuse_nonfinite(backend, x)
        return compiled.run(backend, x, plan)
    return backend.from_host(_on_host(name, host, plan, options, routed=engine is None), like=x)


def engine_for(plan: Plan, x: Any) -> str:
    """The engine the routing table gives `x` and `plan`."""
    backend = backend_for(x)
    if backend is None:
        raise EngineRefused(f"not an array of a known framework: {type(x).__qualname__}")
    host = None if _keeps_gradient(backend, x, plan) else backend.host_view(x)
    return _route(backend, x, plan, host)


def _keeps_gradient(backend: Backend, x: Any, plan: Plan) -> bool:
    """A float result that autodiff may follow stays in the framework."""
    return plan.out_dtype != "uint8" and backend.needs_gradient(x)


def _route(backend: Backend, x: Any, plan: Plan, host: np.ndarray | None) -> str:
    if host is not None:
        if plan.direction != INVERSE or _HOST_ENGINE.get() is not None:
            return "blocked"
        if host.size >= THRESHOLDS["numba"] and numba.available() and numba.supports(host, plan):
            return "numba"
        if host.size >= THRESHOLDS["compiled"] and "tensorflow" in sys.modules and host.ctypes.data % 64 == 0:
            return "compiled"
        return "blocked"
    if backend.is_traced(x) or plan.direction != INVERSE:
        return "ops"
    size = math.prod(d or 0 for d in backend.shape(x))
    return "compiled" if size >= THRESHOLDS["compiled"] else "ops"


def _on_host(name: str, host: np.ndarray, plan: Plan, options: dict[str, Any], *, routed: bool) -> np.ndarray:
    if name == "blocked":
        return blocked.run(host, plan, **options)
    if name == "numba":
        if not numba.available():
            raise EngineRefused("numba is not installed (the `fast` extra)")
        if not numba.supports(host, plan):
            raise EngineRefused(f"its kernels do not cover {plan.direction} {host.dtype} -> {plan.out_dtype}")
        return numba.run(host, plan, **options)
    if name == "compiled":
        result = compiled.restore_numpy_by_dlpack(host, plan)
        if result is not None:
            return result
        if routed:  # DLPack refused the array (read-only, strided): the blocked engine takes it
            return blocked.run(host, plan)
        raise EngineRefused("TensorFlow is not imported, or DLPack refused the array (alignment, strides)")
    raise EngineRefused(f"unknown engine {name!r}; expected one of {ENGINES}")


def _refuse_nonfinite(backend: Backend, x: Any) -> None:
    counts = backend.count_nonfinite(x)
    if any(counts):
        raise NonFinite(counts, math.prod(d or 0 for d in backend.shape(x)))


def describe_host_engine() -> str:
    """Which engine large NumPy arrays take now, in words."""
    if numba.available():
        return f"fused numba kernels from {THRESHOLDS['numba']} elements"
    if "tensorflow" in sys.modules:
        return f"fused XLA via DLPack for 64-byte-aligned arrays from {THRESHOLDS['compiled']} elements"
    return "blocked NumPy"
