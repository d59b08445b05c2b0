"""The two fast paths of the array math.

**Blocked NumPy.** The array is viewed as (outer, channels, inner) and walked
in cache-sized blocks. For each block and channel one ufunc call reads the
source channel (the channel reordering is just which slice is read) and
writes ``x * m + b`` into a small scratch buffer; rounding, clipping and the
cast to the output then run on that buffer while it is still in cache. Per
channel constants are scalars over long strided loops, never a 3-wide inner
broadcast, and there is no full-size float temporary.

**Fused XLA.** When TensorFlow is already imported, a large tensor (or a
NumPy array handed over by DLPack without a copy) goes through one
`tf.function(jit_compile=True)` kernel: the same traced math as the graph
path, compiled into one pass over memory, cached per spec and layout.
"""

from __future__ import annotations

import functools
import math
import sys
from typing import Any

import numpy as np

from keras_deprocess._backends import KerasOps, TensorFlowOps, count_nonfinite_numpy
from keras_deprocess.spec import Affine

TensorOps = TensorFlowOps | KerasOps

# 256K elements: a 1 MiB float32 scratch buffer, which stays in L2. Measured
# on 2 cores: 64K elements 11.8 ms, 256K 9.3 ms, 512K 9.0 ms for a 64x224x224x3 batch.
BLOCK_ELEMENTS = 1 << 18
# Below this many elements, a fused kernel's compilation costs more than it saves.
XLA_MIN_ELEMENTS = 1 << 20


def compute_dtype(dtype: str) -> str:
    # float16 and bfloat16 are computed in float32 and rounded once at the end.
    return "float64" if dtype == "float64" else "float32"


def numpy_dtype(name: str) -> np.dtype[Any]:
    if name == "bfloat16":
        import ml_dtypes  # a Keras dependency; NumPy has no bfloat16 of its own

        return np.dtype(ml_dtypes.bfloat16)  # type: ignore[no-any-return]
    return np.dtype(name)


class NonFinite(Exception):
    """Raised by the kernels when a uint8 output meets NaN or ±Inf in the input."""

    def __init__(self, counts: tuple[int, int, int], size: int) -> None:
        super().__init__(counts, size)
        self.counts, self.size = counts, size


def affine_blocked(
    x: np.ndarray, affine: Affine, axis: int, out_dtype: str, *, rounding: bool, clip: bool
) -> np.ndarray:
    """``out[.., k, ..] = x[.., source[k], ..] * m[k] + b[k]``, then rint and clip if asked.

    Raises:
        NonFinite: With `rounding` (a uint8 output), for NaN or ±Inf in `x`.
    """
    out = np.empty(x.shape, numpy_dtype(out_dtype))
    if x.size == 0:
        return out
    channels = x.shape[axis]
    outer, inner = math.prod(x.shape[:axis]), math.prod(x.shape[axis + 1 :])
    source_view = x.reshape(outer, channels, inner)
    out_view = out.reshape(outer, channels, inner)
    source, multiplier, offset = affine
    sources = source or tuple(range(channels))
    multipliers = multiplier * channels if len(multiplier) == 1 else multiplier
    offsets = offset * channels if len(offset) == 1 else offset
    compute = numpy_dtype(compute_dtype(x.dtype.name))
    same_dtype = x.dtype == compute
    direct = out.dtype == compute and not rounding  # write straight into the output

    inner_step = inner if channels * inner <= BLOCK_ELEMENTS else max(1, BLOCK_ELEMENTS // channels)
    rows = max(1, BLOCK_ELEMENTS // (channels * inner_step))
    scratch = None if direct else np.empty((min(rows, outer), channels, min(inner, inner_step)), compute)
    for lo in range(0, outer, rows):
        hi = min(lo + rows, outer)
        for inner_lo in range(0, inner, inner_step):
            inner_hi = min(inner_lo + inner_step, inner)
            if scratch is None:
                block = out_view[lo:hi, :, inner_lo:inner_hi]
            else:
                block = scratch[: hi - lo, :, : inner_hi - inner_lo]
            for k in range(channels):
                src = source_view[lo:hi, sources[k], inner_lo:inner_hi]
                dst = block[:, k]
                m, b = multipliers[k], offsets[k]
                if not same_dtype:
                    np.copyto(dst, src, casting="unsafe")
                    src = dst
                if m != 1.0:
                    np.multiply(src, m, out=dst)
                    if b != 0.0:
                        np.add(dst, b, out=dst)
                elif b != 0.0:
                    np.add(src, b, out=dst)
                elif src is not dst:
                    np.copyto(dst, src)
            if rounding:
                # A non-finite sum means NaN or ±Inf in the block, or finite
                # values so large that they overflowed: count in the input.
                if not math.isfinite(float(np.add.reduce(block, axis=None))):
                    _check_finite(x)
                np.rint(block, out=block)
            if clip:
                np.clip(block, 0.0, 255.0, out=block)
            if scratch is not None:
                np.copyto(out_view[lo:hi, :, inner_lo:inner_hi], block, casting="unsafe")
    return out


def affine_tensor(ops: TensorOps, x: Any, affine: Affine, axis: int, rank: int, compute: str) -> Any:
    source, multiplier, offset = affine
    if source is not None:
        x = ops.take(x, source, axis)
    shape = [1] * rank
    shape[axis] = len(multiplier)
    if any(m != 1.0 for m in multiplier):
        x = x * ops.constant(multiplier, shape, compute)
    if any(o != 0.0 for o in offset):
        x = x + ops.constant(offset, shape, compute)
    return x


def restore_tensor_math(
    ops: TensorOps, x: Any, affine: Affine, axis: int, out_dtype: str, clip: bool, *, zero_nan: bool
) -> Any:
    """The inverse on a tensor, as backend ops (traceable; no data-dependent Python)."""
    compute = compute_dtype(ops.dtype_name(x))
    y = affine_tensor(ops, ops.cast(x, compute), affine, axis, len(ops.shape(x)), compute)
    if out_dtype == "uint8":
        if zero_nan:
            y = ops.zero_nan(y)
        y = ops.round(y)
    if clip:
        y = ops.clip(y, 0.0, 255.0)
    return y if out_dtype == compute else ops.cast(y, out_dtype)


@functools.lru_cache(maxsize=64)
def _xla_kernel(affine: Affine, axis: int, out_dtype: str, clip: bool) -> Any:
    import tensorflow as tf

    ops = TensorFlowOps()

    @tf.function(jit_compile=True, reduce_retracing=True)  # type: ignore[untyped-decorator]
    def kernel(x: Any) -> Any:
        return restore_tensor_math(ops, x, affine, axis, out_dtype, clip, zero_nan=True)

    return kernel


def _check_finite(values: np.ndarray) -> None:
    """One SIMD sum: finite means no NaN or ±Inf. (XLA's CPU reductions cost more than the kernel.)"""
    if not math.isfinite(float(np.add.reduce(values, axis=None))):
        counts = count_nonfinite_numpy(values)
        if any(counts):  # else finite values so large that the sum overflowed
            raise NonFinite(counts, values.size)


def xla_restore(x: Any, affine: Affine, axis: int, out_dtype: str, clip: bool) -> Any:
    """Restore an eager tf.Tensor with one fused, cached XLA kernel.

    Raises:
        NonFinite: For NaN or ±Inf in `x` when the output is uint8.
    """
    if out_dtype == "uint8":
        if "CPU" in x.device:
            _check_finite(np.asarray(x))  # a view of the tensor's memory, no copy
        else:
            counts = TensorFlowOps().count_nonfinite(x)
            if any(counts):
                raise NonFinite(counts, int(np.prod(x.shape)))
    return _xla_kernel(affine, axis, out_dtype, clip)(x)


def xla_restore_numpy(
    x: np.ndarray, affine: Affine, axis: int, out_dtype: str, clip: bool
) -> np.ndarray | None:
    """The fused kernel on a NumPy array, handed over by DLPack without a copy.

    Only when TensorFlow is already imported and the array is large and
    64-byte aligned: TensorFlow copies less-aligned buffers (which costs what
    the fusion saves), and its eager kernels can abort on them, so no eager
    op ever touches the borrowed buffer. NumPy's own allocations are usually
    16-byte aligned: those take the blocked NumPy path. None when the
    hand-over is refused (read-only, strided, unaligned or exotic arrays).
    """
    tf = sys.modules.get("tensorflow")
    if (
        tf is None
        or x.size < XLA_MIN_ELEMENTS
        or x.dtype.name not in ("float16", "float32", "float64")
        or x.ctypes.data % 64
    ):
        return None
    try:
        tensor = tf.experimental.dlpack.from_dlpack(x.__dlpack__())
    except Exception:  # DLPack refusals have no common type across versions
        return None
    if out_dtype == "uint8":
        _check_finite(x)
    return np.asarray(_xla_kernel(affine, axis, out_dtype, clip)(tensor))
