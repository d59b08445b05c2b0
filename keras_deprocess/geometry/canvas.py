"""`to_original`: the model's input, exactly restored, placed back on the original picture.

The values are undone exactly (`restore_original_image_from_array`); the
geometry is undone by resampling, which is where the only loss is: a
picture shrunk to 224 pixels comes back with 224 pixels' worth of detail.
The resampling is bilinear with half-pixel centres, in float64 on the host,
and never reaches into padding: samples near the edge of the picture are
clamped to the picture's own pixels.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from keras_deprocess.core.blocks import flat_blocks
from keras_deprocess.core.layout import channel_position, data_format_for, to_rgb
from keras_deprocess.errors import DeprocessError, shown
from keras_deprocess.frameworks import framework_and_array
from keras_deprocess.geometry.handles import resolve_geometry, value_model
from keras_deprocess.geometry.map import Axis, Geometry
from keras_deprocess.geometry.steps import Step
from keras_deprocess.restore import restore_original_image_from_array

__all__ = ["Canvas", "place_on_original", "to_original"]

# Output rows resampled at a time, so that the float64 scratch stays small for large pictures.
_ROWS_PER_BLOCK = 256


@dataclasses.dataclass(frozen=True, eq=False)
class Canvas:
    """The model's input on the original picture.

    Attributes:
        image: uint8 ``(H0, W0, 3)`` for one image, ``(N, H0, W0, 3)`` for a
            batch: the exactly restored input resampled into the region it
            covers; elsewhere the fill, or the given original picture.
        mask: bool ``(H0, W0)``: True for exactly the original pixels whose
            centres land on picture (not padding) in the model's input.
        geometry: The `Geometry` used.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import CenterCrop, to_original
        >>> x = np.zeros((1, 2, 2, 3), np.float32)  # 'tf' preprocessing of mid-grey
        >>> canvas = to_original(x, mode="tf", original_size=(2, 4), geometry=[CenterCrop(2)],
        ...                      data_format="channels_last", fill=255)
        >>> canvas.image[0, :, :, 0], canvas.mask.sum()
        (array([[255, 128, 128, 255],
               [255, 128, 128, 255]], dtype=uint8), np.int64(4))
    """

    image: np.ndarray
    mask: np.ndarray
    geometry: Geometry


def to_original(
    x: Any,
    model: Any = None,
    *,
    original_size: Any = None,
    mode: str | None = None,
    data_format: str | None = None,
    fill: Any = 0,
    geometry: Any = None,
    check: bool = True,
) -> Canvas:
    r"""Put a preprocessed model input back on the original picture, with a mask of what it shows.

    The values are restored exactly (`restore_original_image_from_array`,
    uint8), then each original pixel ``(i, j)`` whose centre lands on
    picture in the input takes the input's value at

    .. math::

        x_{\mathrm{in}} = a_x (j + \tfrac12) + b_x, \qquad y_{\mathrm{in}} = a_y (i + \tfrac12) + b_y

    sampled bilinearly (half-pixel centres, clamped to the picture's pixels,
    never to padding), rounded to nearest. Other pixels get `fill`.
    Resampling is the only loss: inside the mask the result is as close to
    the original as the model's resolution allows; outside it, it is exactly
    `fill`.

    Shape:
        - Input: as for `restore_original_image_from_array`, one image or a
          batch, of the geometry's input size.
        - Output: a `Canvas`: ``.image`` uint8 ``(H0, W0, 3)`` (or
          ``(N, H0, W0, 3)``), ``.mask`` bool ``(H0, W0)``.

    Args:
        x: Preprocessed images of any framework, on any device.
        model: What produced `x`. A handle that carries both the value map
            and the geometry (a torchvision pipeline or
            ``weights.transforms()``, a timm data config, a Hugging Face
            processor, a keras_hub ``ImageConverter``, a Keras model with
            ``Resizing``/``CenterCrop`` and ``Rescaling`` layers) needs
            nothing else; a name such as "VGG16" needs `geometry`. The steps
            alone (a list, or a `Geometry`) are taken as `geometry`, with the
            values given by `mode`.
        original_size: (height, width) of the picture before preprocessing;
            optional when `geometry` is a `Geometry`.
        mode: As for `restore_original_image_from_array`.
        data_format: The layout of `x`, as for `restore_original_image_from_array`.
        fill: Outside the mask: a grey level (0 to 255), an RGB triple, or
            the original picture itself, uint8 ``(H0, W0, 3)`` (or a batch
            ``(N, H0, W0, 3)``, one per image).
        geometry: A `Geometry`, or the steps the pipeline ran
            (``[Resize(256), CenterCrop(224)]``), when `model` carries none.
        check: Check a sample of the values against the spec, and warn
            (`SpecMismatchWarning`) when they contradict it.

    Returns:
        The `Canvas`.

    Raises:
        DeprocessError: For a model with no geometry and no `geometry`,
            images of another size than the geometry's input, a bad `fill`,
            or traced input (the result is NumPy on the host).

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import CenterCrop, Resize, preprocess_input, to_original
        >>> photo = np.random.default_rng(0).integers(0, 256, (30, 42, 3), dtype=np.uint8)
        >>> crop = photo[:, 6:36]  # what Resize(30) then CenterCrop(30) give: no resampling
        >>> x = preprocess_input(crop, "VGG16", data_format="channels_last")
        >>> canvas = to_original(x, "VGG16", original_size=(30, 42), data_format="channels_last",
        ...                      geometry=[Resize(30), CenterCrop(30)], fill=photo)
        >>> bool((canvas.image == photo).all()), canvas.mask[0, 5:7].tolist()
        (True, [False, True])
    """
    backend, x = framework_and_array(x)
    if backend.is_traced(x):
        raise DeprocessError(
            "Expected concrete values: to_original returns NumPy images on the host. Received a traced "
            f"{backend.name} array (inside tf.function, jax.jit, torch.compile or a symbolic Keras model), "
            "which has none. Call it outside the trace; inside, Geometry.to_input and to_original map "
            "coordinates."
        )
    if geometry is None and _is_steps(model):  # to_original(x, [Resize(256), ...], mode=...)
        model, geometry = None, model
    where = resolve_geometry(model, geometry, original_size)
    spec_model = value_model(model) if model is not None else None
    # data_format as given: restoring checks an assumed layout against the shape.
    restored = restore_original_image_from_array(
        x, spec_model, mode=mode, data_format=data_format, check=check
    )
    data_format = data_format_for(backend.channels_first_by_default, data_format)
    restored_backend, restored = framework_and_array(restored)
    host = restored_backend.to_numpy(restored)
    host = np.moveaxis(host, channel_position(host.ndim, data_format), -1)
    leading = host.shape[:-3]
    images = host.reshape(-1, *host.shape[-3:])
    if images.shape[1:3] != where.input_size:
        raise DeprocessError(
            f"Expected images of {where.input_size[0]}x{where.input_size[1]}, the input size of the "
            f"geometry for original_size={where.original_size} ({_steps_text(where)}). Received "
            f"shape {tuple(backend.shape(x))} (data_format={data_format!r}): images of "
            f"{images.shape[1]}x{images.shape[2]}. Check original_size, the steps, and data_format."
        )
    placed = place_on_original(images, where, fill)
    return Canvas(placed.reshape(*leading, *placed.shape[1:]), where.mask(), where)


def _is_steps(model: Any) -> bool:
    if isinstance(model, (Step, Geometry)):
        return True
    return isinstance(model, (list, tuple)) and bool(model) and all(isinstance(m, Step) for m in model)


def _steps_text(geometry: Geometry) -> str:
    return ", ".join(repr(step) for step in geometry.steps) or "no steps"


def place_on_original(images: np.ndarray, geometry: Geometry, fill: Any = 0) -> np.ndarray:
    """uint8 ``(N, H, W, C)`` model inputs on the host → uint8 ``(N, H0, W0, 3)`` on the original.

    The resampling of `to_original`, for images that are uint8 already.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import Geometry, Pad
        >>> from keras_deprocess.geometry.canvas import place_on_original
        >>> padded = np.full((1, 3, 3, 3), 9, np.uint8)  # a 1x1 picture padded by 1
        >>> place_on_original(padded, Geometry((1, 1), (Pad(1),)))[0, :, :, 0]
        array([[9]], dtype=uint8)
    """
    images = np.stack([to_rgb(image) for image in images]) if images.shape[-1] != 3 else images
    count = len(images)
    out = _background(fill, geometry, count)
    top, bottom, left, right = geometry.mask_bounds
    if bottom <= top or right <= left:
        return out
    rows = _taps(geometry.rows, top, bottom)
    columns = _taps(geometry.columns, left, right)
    for block in flat_blocks(bottom - top, _ROWS_PER_BLOCK):
        below, above, weight = (t[block] for t in rows)
        # Rows first, then columns: separable bilinear, in float64.
        mixed = images[:, below].astype(np.float64) * (1 - weight)[None, :, None, None]
        mixed += images[:, above].astype(np.float64) * weight[None, :, None, None]
        c_below, c_above, c_weight = columns
        values = mixed[:, :, c_below] * (1 - c_weight)[None, None, :, None]
        values += mixed[:, :, c_above] * c_weight[None, None, :, None]
        np.rint(values, out=values)
        out[:, top + block.start : top + block.stop, left:right] = values
    return out


def _taps(axis: Axis, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per original pixel start..stop-1: the input pixels below and above its sample, and the weight above."""
    first, end = axis.picture()
    if end <= first:  # picture narrower than a pixel centre: its nearest pixel
        first = min(max(int(np.floor(float(axis.low + axis.high) / 2)), 0), axis.size - 1)
        end = first + 1
    centres = np.arange(start, stop, dtype=np.float64) + 0.5
    position = centres * float(axis.scale) + float(axis.offset) - 0.5
    position = np.clip(position, first, end - 1)
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, end - 1)
    return below, above, position - below


def _background(fill: Any, geometry: Geometry, count: int) -> np.ndarray:
    """(count, H0, W0, 3) uint8: `fill` as a grey level, an RGB triple, or the original picture(s)."""
    height, width = geometry.original_size
    if isinstance(fill, (int, np.integer)) and not isinstance(fill, bool) and 0 <= fill <= 255:
        return np.full((count, height, width, 3), int(fill), np.uint8)
    triple = isinstance(fill, (list, tuple)) and len(fill) == 3
    if triple and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v <= 255 for v in fill
    ):
        return np.broadcast_to(np.asarray(fill, np.uint8), (count, height, width, 3)).copy()
    array = None
    if not isinstance(fill, (int, float, str, list, tuple)):
        backend, native = framework_and_array(fill)
        array = backend.to_numpy(native)
    if array is not None and array.dtype == np.uint8 and array.shape[-3:] == (height, width, 3):
        if array.ndim == 3:
            return np.broadcast_to(array, (count, height, width, 3)).copy()
        if array.ndim == 4 and len(array) == count:
            return array.copy()
    described = (
        f"an array of shape {array.shape} and dtype {array.dtype}" if array is not None else shown(fill)
    )
    raise DeprocessError(
        "Expected `fill` to be a grey level (0 to 255), an RGB triple, or the original picture as uint8 "
        f"({height}, {width}, 3) (or {count} of them, ({count}, {height}, {width}, 3)). "
        f"Received {described}. "
        "Pass the original picture as loaded, channels last, or a colour."
    )
