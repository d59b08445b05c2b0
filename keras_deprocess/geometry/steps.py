"""The spatial steps of preprocessing pipelines, as frozen data, each with its library's integer rules.

A step knows what it does to an image of a given size: the size it gives,
and, per axis, the affine map of continuous pixel coordinates
``u_out = scale * u_in + offset`` (pixel ``i`` covers ``[i, i + 1)``, its
centre is ``i + 0.5``). Resizing samples with half-pixel centres in every
library read here (PIL, ``torch.nn.functional.interpolate`` with
``align_corners=False``, ``tf.image.resize``, ``jax.image.resize``, OpenCV's
linear modes), so a resize from ``n`` to ``m`` pixels is exactly
``u_out = u_in * m / n``; a crop or a pad shifts by whole pixels. The maps
are exact fractions: the sizes and offsets are the libraries' own integers,
computed with their own arithmetic (truncation, half-to-even ``round``,
floor division, float32 where they use it).

Which library each rule was read from is written beside it.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from keras_deprocess.errors import DeprocessError, shown

__all__ = ["CenterCrop", "Crop", "Letterbox", "Pad", "Resize", "Step", "StepMap", "TrimBorder"]

CONVENTIONS = ("torchvision", "huggingface", "huggingface-fast", "keras")


class StepMap(NamedTuple):
    """One axis of one step: the size it gives, and ``u_out = scale * u_in + offset``."""

    size: int
    scale: Fraction
    offset: Fraction


def _positive(value: Any, what: str, step: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise DeprocessError(
            f"Expected `{what}` of {step} to be a positive integer. Received: {what}={shown(value)}. "
            f"Pass the size in pixels, e.g. {step}({what}=224)."
        )
    return int(value)


def _size(value: Any, step: str, *, allow_int: bool = True) -> int | tuple[int, int]:
    """An int, or a (height, width) pair of positive ints; a 1-sequence is an int (torchvision's rule)."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise DeprocessError(
                f"Expected `size` of {step} to be an integer or a (height, width) pair. Received: "
                f"size={shown(value)} with {len(value)} entries."
            )
        return (_positive(value[0], "size", step), _positive(value[1], "size", step))
    if not allow_int:
        raise DeprocessError(
            f"Expected `size` of {step} to be a (height, width) pair here. Received: size={shown(value)}. "
            f"Pass size=({value}, {value}) for a square."
        )
    return _positive(value, "size", step)


def _pair(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else size


def _resized(scale_to: int, size_in: int) -> StepMap:
    return StepMap(scale_to, Fraction(scale_to, size_in), Fraction(0))


class Step:
    """A spatial step: `place` says what it does to an image of (height, width) pixels."""

    def __repr__(self) -> str:
        """The fields that differ from their defaults: ``Resize(size=256)``."""
        shown_fields = [
            f"{field.name}={getattr(self, field.name)!r}"
            for field in dataclasses.fields(self)  # type: ignore[arg-type]
            if field.default is dataclasses.MISSING or getattr(self, field.name) != field.default
        ]
        return f"{type(self).__name__}({', '.join(shown_fields)})"

    def place(self, height: int, width: int) -> tuple[StepMap, StepMap]:
        """(rows, columns): each axis's output size and map."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True, repr=False)
class Resize(Step):
    r"""Resize, with the size rule of the library that wrote the pipeline.

    .. math::

        u_{\mathrm{out}} = u_{\mathrm{in}} \cdot \frac{n_{\mathrm{out}}}{n_{\mathrm{in}}}

    per axis, in continuous pixel coordinates (half-pixel centres, as every
    library here resamples); the Keras aspect-ratio options crop or pad
    first, so their map also shifts.

    - ``Resize(s)`` (an int): the shorter side becomes ``s``, the longer
      ``int(s * long / short)`` (truncated), as torchvision's ``Resize(int)``
      and ``_compute_resized_output_size`` do (pytorch/vision
      ``torchvision/transforms/functional.py``); Hugging Face's
      ``{"shortest_edge": s}`` and timm's square 'center' mode compute the
      same. With ``max_size``, a longer side beyond it is capped and the
      shorter becomes ``int(max_size * short / long)`` of the truncated
      sizes, as torchvision does. ``Resize(None, max_size=m)`` is
      torchvision v2's longer side to ``m``.
    - ``Resize((h, w))``: exactly (h, w), the aspect ratio not kept
      (torchvision, Hugging Face ``{"height", "width"}``, Keras
      ``Resizing``, timm 'squash', ``keras.utils.load_img(target_size=...)``).
    - ``Resize((h, w), longest=f)``: timm's and open_clip's
      ``ResizeKeepRatio``: ``ratio = max(H/h, W/w) * f + min(H/h, W/w) *
      (1 - f)``, sizes ``round(H / ratio)`` (Python's round, half to even);
      ``f = 0`` covers (h, w), ``f = 1`` fits inside it
      (huggingface/pytorch-image-models ``timm/data/transforms.py``).
    - ``Resize((h, w), crop_to_aspect_ratio=True)`` /
      ``pad_to_aspect_ratio=True``: Keras's ``Resizing`` options (and
      ``load_img(keep_aspect_ratio=True)``, whose integer floor divisions
      give the same box): the crop is ``int(W * h / w)`` rows, centred at
      ``int((H - crop) / 2)``; the pad is ``int((pad - H) / 2)`` rows on both
      sides, so an odd difference leaves the canvas one row short (Keras's
      own arithmetic, ``keras/src/backend/*/image.py``); ``float32=True``
      does these divisions in float32, as Keras's TensorFlow backend does.

    The interpolation does not change where pixels go, except torch's legacy
    ``mode="nearest"`` (torchvision's ``InterpolationMode.NEAREST`` on
    tensors, OpenCV's ``INTER_NEAREST``), which is shifted by half an output
    pixel and is not modelled.

    Args:
        size: An int (the shorter side), a (height, width) pair, or None with
            `max_size`.
        max_size: torchvision's cap on the longer side (with an int or None size).
        longest: timm's ``ResizeKeepRatio`` blend, in [0, 1] (with a pair).
        crop_to_aspect_ratio: Keras: crop to the target's aspect ratio first.
        pad_to_aspect_ratio: Keras: pad to the target's aspect ratio first.
        float32: Keras on TensorFlow: the aspect-ratio arithmetic in float32.

    Example:
        >>> from keras_deprocess import Resize
        >>> rows, columns = Resize(256).place(300, 420)  # shorter side 256, longer int(256 * 420 / 300)
        >>> rows.size, columns.size
        (256, 358)
    """

    size: int | tuple[int, int] | None
    max_size: int | None = None
    longest: float | None = None
    crop_to_aspect_ratio: bool = False
    pad_to_aspect_ratio: bool = False
    float32: bool = False

    def __post_init__(self) -> None:
        if self.size is None:
            if self.max_size is None:
                raise DeprocessError(
                    "Expected `size` of Resize, or `max_size` with size=None (torchvision v2's longer "
                    "side). Received neither. Pass Resize(256) for the shorter side or Resize((h, w))."
                )
        else:
            object.__setattr__(self, "size", _size(self.size, "Resize"))
        if self.max_size is not None:
            object.__setattr__(self, "max_size", _positive(self.max_size, "max_size", "Resize"))
            if not (self.size is None or isinstance(self.size, int)):
                raise DeprocessError(
                    f"Expected an int `size` (the shorter side) with `max_size`, as torchvision requires. "
                    f"Received: size={self.size}, max_size={self.max_size}. Drop max_size, or pass one int."
                )
            if isinstance(self.size, int) and self.max_size <= self.size:
                raise DeprocessError(
                    f"Expected `max_size` greater than `size`, as torchvision requires. Received: "
                    f"size={self.size}, max_size={self.max_size}."
                )
        options = [
            name
            for name, on in (
                ("longest", self.longest is not None),
                ("crop_to_aspect_ratio", self.crop_to_aspect_ratio),
                ("pad_to_aspect_ratio", self.pad_to_aspect_ratio),
            )
            if on
        ]
        if len(options) > 1:
            raise DeprocessError(
                f"Expected at most one of `longest`, `crop_to_aspect_ratio` and `pad_to_aspect_ratio`. "
                f"Received {', '.join(options)}. Keep the one your pipeline used."
            )
        if options:
            if self.max_size is not None or self.size is None:
                raise DeprocessError(
                    f"Expected a (height, width) `size` with {options[0]}. Received: size={self.size}, "
                    f"max_size={self.max_size}."
                )
            object.__setattr__(self, "size", _pair(_size(self.size, "Resize")))
        if self.longest is not None:
            longest = float(self.longest)
            if not 0.0 <= longest <= 1.0:
                raise DeprocessError(
                    "Expected `longest` in [0, 1] (timm's ResizeKeepRatio). Received: "
                    f"longest={self.longest!r}."
                )
            object.__setattr__(self, "longest", longest)

    def place(self, height: int, width: int) -> tuple[StepMap, StepMap]:
        if self.longest is not None and isinstance(self.size, tuple):
            new_h, new_w = _keep_ratio(height, width, self.size, self.longest)
            return _resized(new_h, height), _resized(new_w, width)
        if (self.crop_to_aspect_ratio or self.pad_to_aspect_ratio) and isinstance(self.size, tuple):
            return _keras_aspect(height, width, self.size, crop=self.crop_to_aspect_ratio, f32=self.float32)
        if isinstance(self.size, tuple):
            new_h, new_w = self.size
        else:
            new_h, new_w = _shorter_side(height, width, self.size, self.max_size)
        return _resized(new_h, height), _resized(new_w, width)


def _shorter_side(height: int, width: int, size: int | None, max_size: int | None) -> tuple[int, int]:
    """torchvision's ``_compute_resized_output_size`` for one int (or None) size, as (h, w)."""
    short, long = (width, height) if width <= height else (height, width)
    if size is None:
        assert max_size is not None
        new_short, new_long = int(max_size * short / long), max_size
    else:
        new_short, new_long = size, int(size * long / short)
        if max_size is not None and new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
    return new_h, new_w


def _keep_ratio(height: int, width: int, target: tuple[int, int], longest: float) -> tuple[int, int]:
    """timm's ``ResizeKeepRatio.get_params`` (no randomness): Python floats, half-to-even round."""
    ratio_h = height / target[0]
    ratio_w = width / target[1]
    ratio = max(ratio_h, ratio_w) * longest + min(ratio_h, ratio_w) * (1.0 - longest)
    return round(height * 1.0 / ratio), round(width * 1.0 / ratio)


def _keras_divide(numerator: int, denominator: int, f32: bool) -> int:
    """``int(float(n) / d)``: Keras's NumPy, JAX and torch backends in float64, TensorFlow's in float32."""
    if f32:
        return int(np.float32(numerator) / np.float32(denominator))
    return int(float(numerator) / denominator)


def _keras_aspect(
    height: int, width: int, target: tuple[int, int], *, crop: bool, f32: bool
) -> tuple[StepMap, StepMap]:
    """Keras ``image.resize`` with ``crop_to_aspect_ratio`` or ``pad_to_aspect_ratio``, then the resize."""
    target_h, target_w = target
    if crop:
        crop_h = max(min(height, _keras_divide(width * target_h, target_w, f32)), 1)
        crop_w = max(min(width, _keras_divide(height * target_w, target_h, f32)), 1)
        start_h = _keras_divide(height - crop_h, 2, f32)
        start_w = _keras_divide(width - crop_w, 2, f32)
        # u_out = (u_in - start) * target / crop
        return (
            StepMap(target_h, Fraction(target_h, crop_h), Fraction(-start_h * target_h, crop_h)),
            StepMap(target_w, Fraction(target_w, crop_w), Fraction(-start_w * target_w, crop_w)),
        )
    pad_h = max(height, _keras_divide(width * target_h, target_w, f32))
    pad_w = max(width, _keras_divide(height * target_w, target_h, f32))
    start_h = _keras_divide(pad_h - height, 2, f32)
    start_w = _keras_divide(pad_w - width, 2, f32)
    # Both sides get `start` rows: the canvas is height + 2 * start, one short of pad_h when odd.
    canvas_h, canvas_w = height + 2 * start_h, width + 2 * start_w
    return (
        StepMap(target_h, Fraction(target_h, canvas_h), Fraction(start_h * target_h, canvas_h)),
        StepMap(target_w, Fraction(target_w, canvas_w), Fraction(start_w * target_w, canvas_w)),
    )


@dataclasses.dataclass(frozen=True, repr=False)
class CenterCrop(Step):
    r"""Crop the centre, with the offsets and padding of the library that wrote the pipeline.

    .. math::

        u_{\mathrm{out}} = u_{\mathrm{in}} - \mathrm{left}

    where ``left`` is the library's integer offset (negative when it pads).
    Per axis, for a crop of ``c`` from ``n`` pixels:

    - 'torchvision' (also timm's and open_clip's ``CenterCropOrPad``, and
      Hugging Face fast processors before transformers 4.57):
      ``left = int(round((n - c) / 2))``, Python's round (half to even:
      differences 1, 3, 5 give 0, 2, 2); a crop larger than the image pads
      first with ``(c - n) // 2`` before and the odd pixel after
      (pytorch/vision ``torchvision/transforms/functional.py``
      ``center_crop``).
    - 'huggingface' (slow and PIL processors): ``left = (n - c) // 2``; a
      larger crop places the image at ``ceil((c - n) / 2)``, the odd pixel
      before (huggingface/transformers ``image_transforms.py``
      ``center_crop``).
    - 'huggingface-fast' (fast and torchvision-backend processors from
      transformers 4.57, PR #40856): ``left = int((n - c) / 2)``, padding as
      torchvision.
    - 'keras' (``keras.layers.CenterCrop``): ``left = (n - c) // 2``; an
      input smaller than the crop on either axis is not padded but cropped
      to the target's aspect ratio and resized (``smart_resize``), as Keras
      does (``keras/src/layers/preprocessing/image_preprocessing/center_crop.py``).

    Args:
        size: An int for a square, or (height, width).
        convention: 'torchvision' (default), 'huggingface',
            'huggingface-fast' or 'keras'.

    Example:
        >>> from keras_deprocess import CenterCrop
        >>> [CenterCrop(224).place(256, n)[1].offset for n in (225, 227, 229)]  # half to even
        [Fraction(0, 1), Fraction(-2, 1), Fraction(-2, 1)]
    """

    size: int | tuple[int, int]
    convention: str = "torchvision"

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", _pair(_size(self.size, "CenterCrop")))  # an int is a square
        if self.convention not in CONVENTIONS:
            raise DeprocessError(
                f"Expected `convention` of CenterCrop to be one of {CONVENTIONS}. Received: "
                f"convention={shown(self.convention)}. Pick the library whose pipeline cropped."
            )

    def place(self, height: int, width: int) -> tuple[StepMap, StepMap]:
        crop_h, crop_w = self.size  # type: ignore[misc]
        if self.convention == "keras" and (crop_h > height or crop_w > width):
            return _keras_aspect(height, width, (crop_h, crop_w), crop=True, f32=False)
        return self._axis(height, crop_h), self._axis(width, crop_w)

    def _axis(self, size_in: int, crop: int) -> StepMap:
        if crop > size_in:
            before = -(-(crop - size_in) // 2) if self.convention == "huggingface" else (crop - size_in) // 2
            if self.convention == "keras":  # unreachable: Keras resizes instead (place)
                before = 0
            return StepMap(crop, Fraction(1), Fraction(before))
        difference = size_in - crop
        # Python's round is half to even; the others floor.
        left = round(difference / 2.0) if self.convention == "torchvision" else difference // 2
        return StepMap(crop, Fraction(1), Fraction(-left))


@dataclasses.dataclass(frozen=True, repr=False)
class Pad(Step):
    r"""Pad with constant borders: torchvision's ``Pad``, or Hugging Face's ``do_pad`` to a size.

    .. math::

        u_{\mathrm{out}} = u_{\mathrm{in}} + \mathrm{left}

    - ``Pad(p)``: torchvision's ``padding``: an int for every side, (left
      and right, top and bottom), or (left, top, right, bottom).
    - ``Pad(size=(h, w))``: Hugging Face processors' ``pad_size``: the
      bottom and right are padded up to (h, w).

    The padded borders are not the picture: `Geometry.mask` and
    `to_original` leave them out, whatever the fill or padding mode.

    Args:
        padding: torchvision's padding (non-negative).
        size: The (height, width) to pad to at the bottom and right.

    Example:
        >>> from keras_deprocess import Pad
        >>> Pad((4, 2)).padding  # (left, top, right, bottom)
        (4, 2, 4, 2)
    """

    padding: int | tuple[int, ...] = 0
    size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        padding = self.padding
        values = list(padding) if isinstance(padding, (list, tuple)) else [padding]
        if len(values) not in (1, 2, 4) or any(
            isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0 for v in values
        ):
            raise DeprocessError(
                "Expected `padding` of Pad to be a non-negative int, (left/right, top/bottom) or "
                f"(left, top, right, bottom), as torchvision's Pad. Received: padding={shown(padding)}."
            )
        values = [int(v) for v in values]
        if len(values) == 1:
            values *= 4
        elif len(values) == 2:
            values = [values[0], values[1], values[0], values[1]]
        object.__setattr__(self, "padding", tuple(values))
        if self.size is not None:
            if any(values):
                raise DeprocessError(
                    f"Expected `padding` or `size` for Pad, not both. Received: padding={shown(padding)}, "
                    f"size={shown(self.size)}."
                )
            object.__setattr__(self, "size", _pair(_size(self.size, "Pad", allow_int=False)))

    def place(self, height: int, width: int) -> tuple[StepMap, StepMap]:
        if self.size is not None:
            target_h, target_w = self.size
            if target_h < height or target_w < width:
                raise DeprocessError(
                    f"Expected an image no larger than Pad(size={self.size}) pads to. Received an image "
                    f"of {height}x{width} at that step. Check the steps before it, or the pad size."
                )
            return StepMap(target_h, Fraction(1), Fraction(0)), StepMap(target_w, Fraction(1), Fraction(0))
        left, top, right, bottom = self.padding  # type: ignore[misc]
        return (
            StepMap(height + top + bottom, Fraction(1), Fraction(top)),
            StepMap(width + left + right, Fraction(1), Fraction(left)),
        )


@dataclasses.dataclass(frozen=True, repr=False)
class Letterbox(Step):
    r"""Ultralytics' ``LetterBox``: resize to fit, then pad with the ±0.1 rounding.

    .. math::

        u_{\mathrm{out}} = u_{\mathrm{in}} \cdot \frac{\mathrm{round}(W r)}{W} + \mathrm{left}

    with ``r = min(h / H, w / W)`` (at most 1 unless `scaleup`), the image
    resized to ``round(W r) x round(H r)`` (half to even), and the padding
    ``d = w - round(W r)`` (modulo `stride` with `auto`) split as ``left =
    round(d / 2 - 0.1)``, ``right = round(d / 2 + 0.1)``: the odd pixel goes
    right and bottom (ultralytics ``ultralytics/data/augment.py``
    ``LetterBox.__call__``). `scale_fill` stretches to the new shape without
    padding. The image map uses the real resized size, not the continuous
    ``r`` that ultralytics' own ``scale_boxes`` divides by.

    Args:
        new_shape: An int, or (height, width).
        stride: The stride that `auto` pads to a multiple of.
        auto: The smallest rectangle padded to a multiple of `stride`.
        scaleup: Allow enlarging; False only shrinks.
        center: Split the padding; False pads the bottom and right only.
        scale_fill: Stretch to `new_shape`, no padding.

    Example:
        >>> from keras_deprocess import Letterbox
        >>> rows, columns = Letterbox(640).place(300, 420)
        >>> rows.size, columns.size, rows.offset  # 457 rows of picture, 91 above, 92 below
        (640, 640, Fraction(91, 1))
    """

    new_shape: int | tuple[int, int] = 640
    stride: int = 32
    auto: bool = False
    scaleup: bool = True
    center: bool = True
    scale_fill: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "new_shape", _pair(_size(self.new_shape, "Letterbox")))
        object.__setattr__(self, "stride", _positive(self.stride, "stride", "Letterbox"))

    def place(self, height: int, width: int) -> tuple[StepMap, StepMap]:
        new_h, new_w = self.new_shape  # type: ignore[misc]
        r = min(new_h / height, new_w / width)
        if not self.scaleup:
            r = min(r, 1.0)
        unpad_w, unpad_h = round(width * r), round(height * r)
        dw: float = new_w - unpad_w
        dh: float = new_h - unpad_h
        if self.auto:
            dw, dh = dw % self.stride, dh % self.stride
        elif self.scale_fill:
            dw, dh = 0.0, 0.0
            unpad_w, unpad_h = new_w, new_h
        if self.center:
            dw, dh = dw / 2, dh / 2
        top, bottom = (round(dh - 0.1) if self.center else 0), round(dh + 0.1)
        left, right = (round(dw - 0.1) if self.center else 0), round(dw + 0.1)
        return (
            StepMap(unpad_h + top + bottom, Fraction(unpad_h, height), Fraction(top)),
            StepMap(unpad_w + left + right, Fraction(unpad_w, width), Fraction(left)),
        )


@dataclasses.dataclass(frozen=True, repr=False)
class Crop(Step):
    """A fixed crop box, as torchvision's ``F.crop(img, top, left, height, width)``.

    A box beyond the image pads with zeros there, as torchvision does.

    Example:
        >>> from keras_deprocess.geometry.steps import Crop
        >>> Crop(10, 20, 100, 100).place(300, 420)[1].offset
        Fraction(-20, 1)
    """

    top: int
    left: int
    height: int
    width: int

    def place(self, height: int, width: int) -> tuple[StepMap, StepMap]:
        return (
            StepMap(self.height, Fraction(1), Fraction(-self.top)),
            StepMap(self.width, Fraction(1), Fraction(-self.left)),
        )


@dataclasses.dataclass(frozen=True, repr=False)
class TrimBorder(Step):
    """timm's ``TrimBorder(border_size)``: a border cut off, its left clipped with the height (sic).

    Example:
        >>> from keras_deprocess.geometry.steps import TrimBorder
        >>> rows, columns = TrimBorder(4).place(300, 420)
        >>> rows.size, columns.size
        (292, 412)
    """

    border_size: int

    def place(self, height: int, width: int) -> tuple[StepMap, StepMap]:
        border = self.border_size
        top = left = border
        top, left = min(top, height), min(left, height)  # timm clips left with h
        return (
            StepMap(max(0, height - 2 * border), Fraction(1), Fraction(-top)),
            StepMap(max(0, width - 2 * border), Fraction(1), Fraction(-left)),
        )
