"""The fused engine for host memory: numba kernels, when the `fast` extra is installed.

One pass over memory instead of the blocked engine's several in-cache
passes; float64 in registers for uint8 output, so it is correctly rounded at
no extra cost (`pip install "keras-deprocess[fast]"`). numba is imported on
the first array large enough to use it, never by ``import keras_deprocess``.
The kernels release the GIL, so an array of more than a million elements
per CPU is split across threads, one per CPU (1.8x faster on 2 cores).

`keras_deprocess.engines.router` sends arrays here from
`THRESHOLDS["numba"]` elements, where it beats the blocked engine by more
than numba's import costs.

For a 'lab' spec's uint8 output the linear → sRGB curve is not evaluated:
its 255 steps (the linear values at which the float64 reference's output
byte goes up) are found once by bisection against the reference itself, and
a table of 4096 buckets then gives each value's byte with one or two
comparisons. The result is the reference's, without a ``pow`` per channel.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import numpy as np

from keras_deprocess.core.blocks import view3
from keras_deprocess.core.finite import NonFinite, count_nonfinite
from keras_deprocess.core.plan import INVERSE, Plan
from keras_deprocess.core.spec import Affine, PreprocessSpec
from keras_deprocess.frameworks.numpy import NumpyBackend
from keras_deprocess.kernels.affine import rounding_shifts
from keras_deprocess.kernels.colour import D65_WHITE, RGB_FROM_XYZ, srgb_encode
from keras_deprocess.kernels.steps import first_reaching

__all__ = ["available", "run", "supports"]

_DTYPES = ("float16", "float32", "float64")


@functools.cache
def available() -> bool:
    """True when numba is installed (checked without importing it)."""
    return importlib.util.find_spec("numba") is not None


@functools.cache
def _kernels() -> ModuleType:
    from keras_deprocess.engines import _numba_kernels

    return _numba_kernels


def supports(x: np.ndarray, plan: Plan) -> bool:
    """The kernels cover inverses from float16/32/64 to uint8, float32 and float64."""
    return (
        plan.direction == INVERSE
        and x.dtype.name in _DTYPES
        and plan.out_dtype in ("uint8", "float32", "float64")
    )


def run(x: np.ndarray, plan: Plan, *, flat: bool = True) -> np.ndarray:
    """`plan` on `x` by the fused kernels (`supports` must hold).

    `flat` allows the flat channels_last kernels; the general ones serve any
    layout, and tests switch the flat ones off to exercise them.

    Raises:
        NonFinite: For NaN or ±Inf in `x` when the output is uint8.
    """
    spec, axis, out_dtype, clip = plan.spec, plan.axis, plan.out_dtype, plan.clip
    out = np.empty(x.shape, np.dtype(out_dtype))
    source, target = view3(x, axis), view3(out, axis)
    shape = target.shape
    kernels = _kernels()

    def run(rows: slice) -> bool:
        finite = True
        for block, into in _widened_blocks(source[rows], target[rows]):
            if spec.is_affine:
                finite &= _affine(kernels, block, into, spec.inverse_affine(), out_dtype, clip, flat)
            elif out_dtype == "uint8":
                finite &= bool(kernels.lab_to_uint8(block, into, *_lab_constants(spec)))
            else:
                finite &= bool(kernels.lab_to_float(block, into, *_lab_constants(spec)[:4], clip))
        return finite

    # The kernels release the GIL: large arrays are split across the CPUs.
    parts = _parts(shape[0], x.size)
    finite = all(_pool().map(run, parts)) if len(parts) > 1 else run(parts[0])
    if not finite:
        raise NonFinite(count_nonfinite(x), x.size)
    return out


# Elements per thread below which a second thread costs more than it saves.
ELEMENTS_PER_THREAD = 1 << 20


def cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _parts(rows: int, size: int) -> list[slice]:
    """`rows` split in at most one part per CPU and per `ELEMENTS_PER_THREAD` elements."""
    count = max(1, min(cpus(), size // ELEMENTS_PER_THREAD, rows))
    edges = [rows * k // count for k in range(count + 1)]
    return [slice(lo, hi) for lo, hi in itertools.pairwise(edges)]


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=cpus(), thread_name_prefix="keras-deprocess")


def _widened_blocks(source: np.ndarray, target: np.ndarray) -> Any:
    """The array as is; float16 (which numba cannot read) widened to float32 a few rows at a time."""
    if source.dtype != np.float16:
        yield source, target
        return
    rows = max(1, (1 << 16) // max(1, source.shape[1] * source.shape[2]))  # 256 KiB of float32
    for start in range(0, source.shape[0], rows):
        yield source[start : start + rows].astype(np.float32), target[start : start + rows]


def _affine(
    kernels: ModuleType,
    block: np.ndarray,
    target: np.ndarray,
    affine: Affine,
    out: str,
    clip: bool,
    flat_allowed: bool,
) -> bool:
    channels = block.shape[1]
    source = tuple(affine.source or range(channels))
    multipliers = np.broadcast_to(np.asarray(affine.multiplier, np.float64), channels).copy()
    # Contiguous channels_last RGB or BGR: the flat kernels, which vectorize.
    flat = (
        flat_allowed
        and channels == 3
        and block.shape[2] == 1
        and block.flags.c_contiguous
        and target.flags.c_contiguous
        and source in ((0, 1, 2), (2, 1, 0))
    )
    reversed_order = source == (2, 1, 0)
    if out == "uint8":
        shifts = np.broadcast_to(np.asarray(rounding_shifts(affine), np.float64), channels).copy()
        if flat:
            kernel = kernels.affine_to_uint8_bgr if reversed_order else kernels.affine_to_uint8_rgb
            return bool(kernel(block.reshape(-1), target.reshape(-1), shifts, multipliers))
        return bool(kernels.affine_to_uint8(block, target, np.asarray(source, np.int64), shifts, multipliers))
    compute = np.float64 if block.dtype == np.float64 else np.float32
    offsets = np.broadcast_to(np.asarray(affine.offset, np.float64), channels).astype(compute)
    multipliers = multipliers.astype(compute)
    if flat:
        kernel = kernels.affine_to_float_bgr if reversed_order else kernels.affine_to_float_rgb
        return bool(kernel(block.reshape(-1), target.reshape(-1), multipliers, offsets, clip))
    return bool(
        kernels.affine_to_float(block, target, np.asarray(source, np.int64), multipliers, offsets, clip)
    )


@functools.lru_cache(maxsize=16)
def _lab_constants(spec: PreprocessSpec) -> tuple[np.ndarray, ...]:
    affine = spec.inverse_affine()
    low, steps = srgb_steps()
    return (
        np.broadcast_to(np.asarray(affine.multiplier, np.float64), 3).copy(),
        np.broadcast_to(np.asarray(affine.offset, np.float64), 3).copy(),
        np.ascontiguousarray(RGB_FROM_XYZ),
        np.asarray(D65_WHITE, np.float64),
        low,
        steps,
    )


def srgb_byte_reference(linear: np.ndarray) -> np.ndarray:
    """The byte `kernels.maps` gives a linear-light value: its float64 operations, rounded and clipped."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.asarray(np.clip(np.rint(srgb_encode(_NUMPY, linear)), 0, 255))


_NUMPY = NumpyBackend()


@functools.cache
def srgb_steps(buckets: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(low, steps): per bucket of [0, 1), the byte below it and the step positions inside it."""
    levels = np.arange(1, 256, dtype=np.int64)[:, None]
    low_key = np.zeros_like(levels)
    high_key = np.full_like(levels, int(np.float64(1.0).view(np.int64)))

    def reaches(keys: np.ndarray) -> np.ndarray:  # positive floats order as their bit patterns
        return srgb_byte_reference(keys.view(np.float64)) >= levels

    positions = first_reaching(reaches, low_key, high_key)[:, 0].view(np.float64)  # first value per byte
    margin = 1e-9  # far beyond the rounding of linear * buckets
    edges = np.arange(buckets + 1) / buckets
    low = np.searchsorted(positions, edges[:-1] - margin, side="left").astype(np.int64)
    first = low
    last = np.searchsorted(positions, edges[1:] + margin, side="right")
    width = int((last - first).max())
    steps = np.full((buckets, max(width, 1)), np.inf)
    for k in range(width):
        inside = first + k < last
        steps[inside, k] = positions[(first + k)[inside]]
    return low, steps
