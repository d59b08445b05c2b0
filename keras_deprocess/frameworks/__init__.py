"""Which framework an array comes from, found from its own type.

Modelled on einops' ``_backends``: a framework is considered only when its
module is already in `sys.modules` (a torch tensor cannot exist before torch
is imported), so answering "is this a torch tensor?" never imports torch. The
answer is cached per type. ``KERAS_BACKEND`` plays no part: a torch tensor is
handled by torch, a JAX array by JAX, whatever Keras runs on.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from keras_deprocess.errors import DeprocessError, shown
from keras_deprocess.frameworks.base import Backend
from keras_deprocess.frameworks.jax import JaxBackend
from keras_deprocess.frameworks.keras import KerasBackend
from keras_deprocess.frameworks.numpy import NumpyBackend
from keras_deprocess.frameworks.tensorflow import TensorFlowBackend
from keras_deprocess.frameworks.torch import TorchBackend

__all__ = ["Backend", "backend_for", "framework_and_array", "unwrap_variable"]

# Each framework class, in the order asked, with the sys.modules key it needs.
# The classes import no framework themselves (they read sys.modules when made),
# so importing them here is cheap, and nothing is imported during a trace:
# torch.compile(fullgraph=True) refuses importlib.
_FRAMEWORKS: tuple[tuple[str, type[Backend]], ...] = (
    ("numpy", NumpyBackend),
    ("tensorflow", TensorFlowBackend),
    ("torch", TorchBackend),
    ("jax", JaxBackend),
    ("keras", KerasBackend),
)
_INSTANCES: dict[str, Backend] = {}
_BY_TYPE: dict[type, Backend] = {}


def _instance(name: str, cls: type[Backend]) -> Backend:
    if name not in _INSTANCES:
        _INSTANCES[name] = cls()
    return _INSTANCES[name]


def backend_for(x: Any) -> Backend | None:
    """The framework class for `x`, or None for anything else (lists, PIL images, scalars)."""
    backend = _BY_TYPE.get(type(x))
    if backend is not None:
        return backend
    for name, cls in _FRAMEWORKS:
        if name not in sys.modules:
            continue
        candidate = _instance(name, cls)
        if candidate.is_appropriate_type(x):
            _BY_TYPE[type(x)] = candidate
            return candidate
    return None


def unwrap_variable(x: Any) -> Any:
    """A `keras.Variable`'s value (a tensor of Keras's backend); anything else as is."""
    keras = sys.modules.get("keras")
    variable = getattr(keras, "Variable", None)
    if variable is not None and isinstance(x, variable):
        return x.value
    return x


def framework_and_array(x: Any) -> tuple[Backend, Any]:
    """The framework class of `x`; anything else (lists, PIL images) becomes a NumPy array.

    Raises:
        DeprocessError: For strings, ragged nesting and objects NumPy can only hold as objects.
    """
    x = unwrap_variable(x)
    backend = backend_for(x)
    if backend is not None:
        return backend, x
    array = _as_numpy(x)
    backend = backend_for(array)
    assert backend is not None
    return backend, array


def _as_numpy(x: Any) -> np.ndarray:
    what = f"an object of type {type(x).__qualname__}"
    if isinstance(x, (str, bytes)):
        raise DeprocessError(
            f"Expected an array or tensor of preprocessed images. Received {what}: {shown(x)}. To restore "
            "a file, load it first (np.load), or use the command line: keras-deprocess restore FILE."
        )
    try:
        array = np.asarray(x)
    except (ValueError, TypeError) as error:
        reason = "its rows have different lengths" if "inhomogeneous" in str(error) else str(error)[:120]
        raise DeprocessError(
            "Expected a NumPy array, a tensor (TensorFlow, PyTorch, JAX), or a nested list of numbers "
            f"of one shape. Received {what} that NumPy cannot read as an array: {reason}. "
            "Stack the images into one array of shape (N, H, W, C) first."
        ) from None
    if array.dtype == object:
        raise DeprocessError(
            "Expected a NumPy array, a tensor (TensorFlow, PyTorch, JAX), or a nested list of numbers. "
            f"Received {what}, which NumPy reads as an object array. Convert it to a numeric array first."
        )
    return array
