"""The interface every framework class implements: the few ops the math needs.

The kernels (`keras_deprocess.kernels`) are written once against this
interface, and the engines (`keras_deprocess.engines`) move arrays through
it. Each framework is one small subclass, found by the array's own type and
never by ``KERAS_BACKEND``. Arithmetic between tensors and Python numbers
uses the framework's operators (``x * m + b``); everything else goes through
these methods. Array manipulations that only the higher layers need
(layouts, resizing, reductions) are `keras_deprocess.ops`, not here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from keras_deprocess.core.finite import count_nonfinite

__all__ = ["Backend"]


class Backend:
    """One array framework.

    Attributes:
        name: "numpy", "tensorflow", "torch", "jax" or "keras".
        module: The top-level module whose presence in `sys.modules` is a
            precondition for an array of this framework to exist.
        channels_first_by_default: True when the framework's own image
            layout is (N, C, H, W) (PyTorch), so that ``data_format=None``
            means 'channels_first' for its tensors.
    """

    name: ClassVar[str]
    module: ClassVar[str]
    channels_first_by_default: ClassVar[bool] = False

    def is_appropriate_type(self, x: Any) -> bool:
        raise NotImplementedError

    # -- what the array is -------------------------------------------------------

    def shape(self, x: Any) -> tuple[int | None, ...]:
        return tuple(x.shape)

    def dtype_name(self, x: Any) -> str:
        """ "float32", "bfloat16", "uint8", ...: NumPy's names."""
        raise NotImplementedError

    def is_traced(self, x: Any) -> bool:
        """True inside a trace (jit, tf.function, torch.compile): no values, so no data-dependent errors."""
        return False

    def has_float64(self, x: Any) -> bool:
        """True when float64 arithmetic is available for `x` where it lives."""
        return True

    def float64_scope(self) -> contextlib.AbstractContextManager[None]:
        """Where float64 arithmetic must be switched on for the block it guards (JAX's x64)."""
        return contextlib.nullcontext()

    def needs_gradient(self, x: Any) -> bool:
        """True when autodiff may follow this array through our math."""
        return False

    # -- host --------------------------------------------------------------------

    def host_view(self, x: Any) -> np.ndarray | None:
        """A zero-copy NumPy view of `x`, or None when there is none (a device, a trace, a gradient).

        The host engines then read it in place; the result comes back through `from_host`.
        """
        return None

    def from_host(self, array: np.ndarray, like: Any) -> Any:
        """`array` as an array of this framework, where `like` lives."""
        raise NotImplementedError

    def to_numpy(self, x: Any) -> np.ndarray:
        """A host copy for looking at: detached, on the CPU, bfloat16 widened to float32."""
        raise NotImplementedError

    # -- ops -----------------------------------------------------------------------

    def cast(self, x: Any, dtype: str) -> Any:
        raise NotImplementedError

    def constant(self, values: Any, shape: Sequence[int], dtype: str, like: Any) -> Any:
        """A constant tensor of `values` reshaped to `shape`, where `like` lives."""
        raise NotImplementedError

    def take(self, x: Any, indices: Sequence[int], axis: int) -> Any:
        raise NotImplementedError

    def gather(self, table: Any, indices: Any) -> Any:
        """``table[indices]`` for a 1-D `table` and an integer tensor `indices` of any shape."""
        raise NotImplementedError

    def concat(self, parts: Sequence[Any], axis: int) -> Any:
        raise NotImplementedError

    def slice_channel(self, x: Any, channel: int, axis: int) -> Any:
        """Channel `channel` of `x`, keeping the axis (size 1)."""
        index: list[Any] = [slice(None)] * len(self.shape(x))
        index[axis] = slice(channel, channel + 1)
        return x[tuple(index)]

    def round(self, x: Any) -> Any:
        """Round half to even."""
        raise NotImplementedError

    def clip(self, x: Any, low: float, high: float) -> Any:
        raise NotImplementedError

    def where(self, condition: Any, x: Any, y: Any) -> Any:
        raise NotImplementedError

    def zero_nan(self, x: Any) -> Any:
        """NaN → 0, everything else unchanged (±Inf may become ±max, which clips the same)."""
        raise NotImplementedError

    def power(self, x: Any, exponent: float) -> Any:
        return x**exponent

    def cbrt(self, x: Any) -> Any:
        """The real cube root, also of negative values."""
        raise NotImplementedError

    def maximum(self, x: Any, value: float) -> Any:
        raise NotImplementedError

    def copy(self, x: Any) -> Any:
        raise NotImplementedError

    def all_finite(self, x: Any) -> bool:
        """One boolean from where `x` lives: no NaN and no ±Inf. Only outside traces."""
        raise NotImplementedError

    def count_nonfinite(self, x: Any) -> tuple[int, int, int]:
        """(NaN, +Inf, -Inf) counts; only outside traces. The array reaches the host only when needed."""
        if self.all_finite(x):
            return 0, 0, 0
        return count_nonfinite(self.to_numpy(x))

    def jit(self, function: Any) -> Any:
        """`function` compiled for eager calls where that fuses the passes (XLA), else as is."""
        return function

    def map_rows(self, function: Any, x: Any, out_dtype: str, channel_axis: int) -> Any:
        """``function(x)`` for an eager tensor, in the framework's most economical way.

        By default in one call. A framework without a fusing compiler overrides
        it to run on slices of rows into one output buffer, so that the
        function's float64 temporaries are never full-size.
        """
        return function(x)
