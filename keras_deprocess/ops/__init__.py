"""Array manipulations beyond the kernels: layouts, resizing, reductions, one small class per framework.

Colorization, and the geometry and overlays above it, move channel axes,
resize, and reduce over bins; the restore kernels never do. So these ops are
not part of the kernel interface (`keras_deprocess.frameworks.base.Backend`):
each class here extends one framework's kernel class with them, and
`ops_for` gives the one matching an array's framework.
"""

from __future__ import annotations

from keras_deprocess.frameworks import Backend
from keras_deprocess.ops.base import TensorOps
from keras_deprocess.ops.jax import JaxOps
from keras_deprocess.ops.keras import KerasOps
from keras_deprocess.ops.numpy import NumpyOps, resize_bilinear_numpy
from keras_deprocess.ops.tensorflow import TensorFlowOps
from keras_deprocess.ops.torch import TorchOps

__all__ = ["TensorOps", "ops_for", "resize_bilinear_numpy"]

_CLASSES: dict[str, type[TensorOps]] = {
    "numpy": NumpyOps,
    "tensorflow": TensorFlowOps,
    "torch": TorchOps,
    "jax": JaxOps,
    "keras": KerasOps,
}
_INSTANCES: dict[str, TensorOps] = {}


def ops_for(backend: Backend) -> TensorOps:
    """The ops of `backend`'s framework (which is imported already: its array exists)."""
    ops = _INSTANCES.get(backend.name)
    if ops is None:
        ops = _INSTANCES[backend.name] = _CLASSES[backend.name]()
    return ops
