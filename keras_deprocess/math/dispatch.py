"""Which engine runs the math for an array: host engines, a compiled kernel, or plain ops.

Routing, for the inverse:

- **Host memory** (NumPy, and CPU tensors of torch and JAX read in place
  through a zero-copy view): the host engines (`keras_deprocess.math.host`);
  the result comes back as the caller's framework, on the CPU. A float
  output of a tensor that needs its gradient stays in the framework instead.
- **Inside a trace** (`jit`, `tf.function`, `torch.compile`, symbolic Keras
  tensors): the math as the framework's ops, so that the trace owns it.
  NaN becomes 0 in a uint8 output, since no error can be raised on data.
- **Eager tensors elsewhere** (TensorFlow, devices, sharded JAX arrays):
  one compiled kernel per spec and layout for large ones (XLA for TensorFlow
  and JAX); for PyTorch, its ops on slices of rows written into one output
  tensor, so that no float64 temporary is full-size; the framework's ops
  for small ones.
"""

from __future__ import annotations

import math
from typing import Any

from keras_deprocess.frameworks.base import Backend
from keras_deprocess.math import host, kernels
from keras_deprocess.math.finite import NonFinite
from keras_deprocess.math.maps import forward_map, inverse_map
from keras_deprocess.spec import PreprocessSpec

__all__ = ["forward", "inverse"]


def inverse(backend: Backend, x: Any, spec: PreprocessSpec, axis: int, out_dtype: str, clip: bool) -> Any:
    """The inverse of `spec` on `x` (any framework), of `out_dtype`.

    Raises:
        NonFinite: For NaN or ±Inf in `x` when the output is uint8, outside traces.
    """
    differentiable = out_dtype != "uint8" and backend.needs_gradient(x)
    on_host = None if differentiable else backend.host_view(x)
    if on_host is not None:
        return backend.from_host(host.restore_on_host(on_host, spec, axis, out_dtype, clip), like=x)
    if backend.is_traced(x):
        return inverse_map(backend, x, spec, axis, out_dtype, clip, zero_nan=True)
    size = math.prod(d or 0 for d in backend.shape(x))
    if out_dtype == "uint8":
        counts = backend.count_nonfinite(x)
        if any(counts):
            raise NonFinite(counts, size)
    if size >= host.XLA_MIN_ELEMENTS:
        kernel = kernels.compiled_restore(backend, spec, axis, out_dtype, clip)
        return backend.map_rows(kernel, x, out_dtype, axis)
    return _fresh(backend, x, inverse_map(backend, x, spec, axis, out_dtype, clip, zero_nan=False))


def forward(backend: Backend, x: Any, spec: PreprocessSpec, axis: int, out_dtype: str) -> Any:
    """`spec`'s forward pass on `x`, of the float `out_dtype`."""
    on_host = None if backend.needs_gradient(x) else backend.host_view(x)
    if on_host is not None:
        return backend.from_host(host.forward_on_host(on_host, spec, axis, out_dtype), like=x)
    return _fresh(backend, x, forward_map(backend, x, spec, axis, out_dtype))


def _fresh(backend: Backend, x: Any, y: Any) -> Any:
    # An identity map can hand back `x` itself; torch tensors are mutable, so
    # the caller must never get its own tensor back.
    return backend.copy(y) if y is x else y
