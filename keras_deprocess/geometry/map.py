"""`Geometry`: where the model's input lies on the original picture, as frozen data.

Every supported pipeline resizes, crops and pads along the axes, so the
whole chain is, per axis, one affine map of continuous pixel coordinates
``u_in = a * u0 + b``, plus the part of the input that holds picture rather
than padding. The steps compose in exact fractions; points and boxes map
in the caller's framework.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from keras_deprocess.errors import DeprocessError, shown
from keras_deprocess.frameworks import framework_and_array
from keras_deprocess.geometry.steps import Step

__all__ = ["Axis", "Geometry", "original_size_of"]

_HALF = Fraction(1, 2)


class Axis(NamedTuple):
    """One axis of a geometry, exactly: ``u_in = scale * u0 + offset``; picture in ``[low, high)``."""

    original: int
    size: int
    scale: Fraction
    offset: Fraction
    low: Fraction
    high: Fraction

    def visible(self) -> tuple[int, int]:
        """The original pixels whose centres land on picture in the input: ``range(start, stop)``."""
        start = math.ceil((self.low - self.offset) / self.scale - _HALF)
        stop = math.ceil((self.high - self.offset) / self.scale - _HALF)
        start, stop = max(start, 0), min(stop, self.original)
        return (start, max(stop, start))

    def picture(self) -> tuple[int, int]:
        """The input pixels whose centres lie on picture (not padding): ``range(start, stop)``."""
        return (math.ceil(self.low - _HALF), math.ceil(self.high - _HALF))


def original_size_of(value: Any) -> tuple[int, int]:
    """`original_size` checked: (height, width), positive integers."""
    ok = isinstance(value, (tuple, list)) and len(value) == 2
    if ok:
        ok = all(not isinstance(v, bool) and isinstance(v, (int, np.integer)) and v > 0 for v in value)
    if not ok:
        raise DeprocessError(
            "Expected `original_size` to be (height, width) in pixels, two positive integers. "
            f"Received: original_size={shown(value)}. Pass e.g. original_size=(480, 640) "
            "(a PIL image's .size is (width, height): reverse it)."
        )
    return (int(value[0]), int(value[1]))


def _compose(original: int, maps: Sequence[Any]) -> Axis:
    scale, offset = Fraction(1), Fraction(0)
    low, high = Fraction(0), Fraction(original)
    size = original
    for step_map in maps:
        scale, offset = step_map.scale * scale, step_map.scale * offset + step_map.offset
        low, high = step_map.scale * low + step_map.offset, step_map.scale * high + step_map.offset
        size = step_map.size
        low, high = max(low, Fraction(0)), min(high, Fraction(size))
        high = max(high, low)
    return Axis(original, size, scale, offset, low, high)


@dataclasses.dataclass(frozen=True)
class Geometry:
    r"""The model's input placed on the original picture: sizes, the map, and what the model saw.

    Per axis, in continuous pixel coordinates (pixel ``i`` covers
    ``[i, i + 1)``; a box ``[0, 0, W, H]`` is the whole image):

    .. math::

        x_{\mathrm{in}} = a_x x_0 + b_x, \qquad y_{\mathrm{in}} = a_y y_0 + b_y

    composed exactly from the steps, in order. ``content`` is the part of
    the input that holds picture, not padding; the original pixels whose
    centres map into it are the `mask`.

    Build one with `geometry_for` (from a pipeline, a processor, a config or
    a Keras model), or from the library's steps:
    ``Geometry((300, 420), (Resize(256), CenterCrop(224)))``.

    Attributes:
        original_size: (height, width) of the original picture.
        steps: The spatial steps, in order.
        input_size: (height, width) of the model's input.
        scale: (a_x, a_y).
        offset: (b_x, b_y), in input pixels.
        content: (x0, y0, x1, y1): the picture in input coordinates.
        visible: (x0, y0, x1, y1): the part of the original the input
            shows, in original coordinates.

    Example:
        >>> from keras_deprocess import CenterCrop, Geometry, Resize
        >>> g = Geometry((300, 420), (Resize(256), CenterCrop(224)))
        >>> g.input_size, g.offset  # 300x420 → 256x358, then 67 columns and 16 rows cut off
        ((224, 224), (-67.0, -16.0))
        >>> g.to_original([[0.0, 0.0, 224.0, 224.0]]).round(2)
        array([[ 78.6 ,  18.75, 341.4 , 281.25]])
    """

    original_size: tuple[int, int]
    steps: tuple[Step, ...] = ()
    input_size: tuple[int, int] = dataclasses.field(init=False)
    scale: tuple[float, float] = dataclasses.field(init=False)
    offset: tuple[float, float] = dataclasses.field(init=False)
    content: tuple[float, float, float, float] = dataclasses.field(init=False)
    visible: tuple[float, float, float, float] = dataclasses.field(init=False)
    rows: Axis = dataclasses.field(init=False, repr=False)
    columns: Axis = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        size = original_size_of(self.original_size)
        steps = tuple(self.steps) if isinstance(self.steps, (list, tuple)) else (self.steps,)
        for step in steps:
            if not isinstance(step, Step):
                raise DeprocessError(
                    "Expected the library's steps (Resize, CenterCrop, Pad, Letterbox) in a Geometry. "
                    f"Received an object of type {type(step).__qualname__}: {shown(step)}. For another "
                    "library's pipeline, processor or config, use geometry_for(it, original_size)."
                )
        row_maps, column_maps = [], []
        height, width = size
        for step in steps:
            rows, columns = step.place(height, width)
            if min(rows.size, columns.size) < 1 or min(rows.scale, columns.scale) <= 0:
                raise DeprocessError(
                    f"Expected every step to leave an image. Received {step!r}, which turns {height}x{width} "
                    f"into {rows.size}x{columns.size} (the picture shrunk to nothing along an axis). Check "
                    f"original_size={size} and the steps."
                )
            row_maps.append(rows)
            column_maps.append(columns)
            height, width = rows.size, columns.size
        rows_axis, columns_axis = _compose(size[0], row_maps), _compose(size[1], column_maps)
        values = {
            "original_size": size,
            "steps": steps,
            "input_size": (rows_axis.size, columns_axis.size),
            "scale": (float(columns_axis.scale), float(rows_axis.scale)),
            "offset": (float(columns_axis.offset), float(rows_axis.offset)),
            "content": tuple(
                float(v) for v in (columns_axis.low, rows_axis.low, columns_axis.high, rows_axis.high)
            ),
            "visible": tuple(
                float(min(max((edge - axis.offset) / axis.scale, Fraction(0)), Fraction(axis.original)))
                for axis, edge in (
                    (columns_axis, columns_axis.low),
                    (rows_axis, rows_axis.low),
                    (columns_axis, columns_axis.high),
                    (rows_axis, rows_axis.high),
                )
            ),
            "rows": rows_axis,
            "columns": columns_axis,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    # -- what the model saw ---------------------------------------------------------------

    @property
    def mask_bounds(self) -> tuple[int, int, int, int]:
        """(top, bottom, left, right): the mask is ``[top:bottom, left:right]``, a rectangle."""
        top, bottom = self.rows.visible()
        left, right = self.columns.visible()
        return (top, bottom, left, right)

    def mask(self) -> np.ndarray:
        """True for exactly the original pixels whose centres land on picture in the input.

        Shape:
            ``(H0, W0)``, bool: a new array each call.

        Example:
            >>> from keras_deprocess import CenterCrop, Geometry
            >>> Geometry((4, 6), (CenterCrop((4, 3)),)).mask().astype(int)  # offset round(1.5) = 2
            array([[0, 0, 1, 1, 1, 0],
                   [0, 0, 1, 1, 1, 0],
                   [0, 0, 1, 1, 1, 0],
                   [0, 0, 1, 1, 1, 0]])
        """
        top, bottom, left, right = self.mask_bounds
        mask = np.zeros(self.original_size, bool)
        mask[top:bottom, left:right] = True
        return mask

    # -- coordinates -------------------------------------------------------------------------

    def to_input(self, coords: Any) -> Any:
        r"""Original coordinates → the model's input: ``x_in = a_x x_0 + b_x``, ``y_in = a_y y_0 + b_y``.

        Shape:
            ``(..., 2)`` points as (x, y), or ``(..., 4)`` boxes as
            (x0, y0, x1, y1), in continuous pixel coordinates; the output has
            the same shape.

        Args:
            coords: Points or boxes of any framework (NumPy, TensorFlow,
                PyTorch, JAX; lists become NumPy), also inside `tf.function`,
                `jax.jit` and `torch.compile`, and differentiable.

        Returns:
            The same framework; float inputs keep their dtype (float16 and
            bfloat16 are computed and returned in float32), integers become
            float64 (float32 where the framework has no float64).

        Example:
            >>> from keras_deprocess import CenterCrop, Geometry, Resize
            >>> Geometry((300, 420), (Resize(256), CenterCrop(224))).to_input([210.0, 150.0])
            array([112., 112.])
        """
        return self._map(coords, forward=True, clip=False)

    def to_original(self, coords: Any, *, clip: bool = False) -> Any:
        r"""The model's input → original coordinates: ``x_0 = (x_in - b_x) / a_x``, likewise y.

        Shape:
            As for `to_input`.

        Args:
            coords: Points ``(..., 2)`` or boxes ``(..., 4)`` on the model's
                input, of any framework.
            clip: Clip to the original picture, ``[0, W0] x [0, H0]``, as
                ultralytics' ``clip_boxes`` does (a box reaching into the
                padding then stops at the picture's edge).

        Returns:
            The same framework, dtypes as for `to_input`.

        Example:
            >>> from keras_deprocess import Geometry, Letterbox
            >>> g = Geometry((300, 420), (Letterbox(640),))
            >>> g.to_original([[0.0, 0.0, 640.0, 640.0]], clip=True).tolist()
            [[0.0, 0.0, 420.0, 300.0]]
        """
        return self._map(coords, forward=False, clip=clip)

    def _map(self, coords: Any, *, forward: bool, clip: bool) -> Any:
        backend, x = framework_and_array(coords)
        shape = backend.shape(x)
        if not shape or shape[-1] not in (2, 4):
            raise DeprocessError(
                "Expected points of shape (..., 2) as (x, y) or boxes of shape (..., 4) as "
                f"(x0, y0, x1, y1). Received shape {tuple(shape)}. Put the coordinates on the last axis; "
                "for (x, y, w, h) boxes convert to corners first."
            )
        dtype = backend.dtype_name(x)
        if dtype in ("float16", "bfloat16"):
            x, dtype = backend.cast(x, "float32"), "float32"
        elif not dtype.startswith("float"):
            dtype = "float64" if backend.has_float64(x) else "float32"
            x = backend.cast(x, dtype)
        repeat = shape[-1] // 2
        scale = np.tile(np.asarray(self.scale, np.float64), repeat)
        offset = np.tile(np.asarray(self.offset, np.float64), repeat)
        if forward:
            return x * backend.constant(scale, scale.shape, dtype, like=x) + backend.constant(
                offset, offset.shape, dtype, like=x
            )
        out = (x - backend.constant(offset, offset.shape, dtype, like=x)) / backend.constant(
            scale, scale.shape, dtype, like=x
        )
        if clip:
            high = np.tile(np.asarray(self.original_size[::-1], np.float64), repeat)
            zero = backend.constant(np.zeros_like(high), high.shape, dtype, like=x)
            top = backend.constant(high, high.shape, dtype, like=x)
            out = backend.where(out < zero, zero, out)
            out = backend.where(out > top, top, out)
        return out
