"""Images out, for looking at them: NumPy uint8 on the host, channels last, PIL, grids.

Every function here restores exactly (`restore_original_image_from_array`)
and never stretches the range for display: a preprocessed array shown with a
min-max stretch (what `keras.utils.save_img` and `array_to_img` do by
default, with ``scale=True``) looks plausible and is wrong.
"""

from __future__ import annotations

import math
from importlib import resources
from typing import Any

import numpy as np

from keras_deprocess.core.blocks import flat_blocks
from keras_deprocess.core.layout import (
    assumption,
    channel_position,
    check_assumed_layout,
    data_format_for,
    to_rgb,
)
from keras_deprocess.errors import DeprocessError, shown
from keras_deprocess.frameworks import Backend, framework_and_array
from keras_deprocess.geometry import place_on_original, to_original
from keras_deprocess.geometry.handles import resolve_geometry
from keras_deprocess.restore import restore_original_image_from_array

__all__ = ["GridLayout", "demo_image", "image_grid", "naive_view", "to_images", "to_pil", "to_rgb"]

DEMO_IMAGE = "astronaut.png"


def to_images(
    x: Any,
    model: Any = None,
    *,
    mode: str | None = None,
    data_format: str | None = None,
    check: bool = True,
    original_size: Any = None,
    geometry: Any = None,
) -> np.ndarray:
    """Restore preprocessed images as NumPy uint8 on the host, channels last.

    The exact inverse (as `restore_original_image_from_array` with
    ``dtype="uint8"``), then moved to the host (from any device, detached
    from autograd) and laid out channels last, which is what `plt.imshow`,
    `PIL.Image.fromarray` and image writers take. With `original_size` (or a
    `Geometry`), each image is placed back on the original picture, as
    `to_original` does: RGB of the original size, black outside what the
    model saw.

    Shape:
        - Input: ``(C, H, W)`` / ``(N, C, H, W)`` (channels_first) or
          ``(H, W, C)`` / ``(N, H, W, C)`` (channels_last), or more leading
          axes.
        - Output: ``(H, W, C)`` for one image, ``(N, H, W, C)`` for a batch.

    Args:
        x: Preprocessed images of any framework (NumPy, TensorFlow, PyTorch,
            JAX), on any device.
        model: What produced `x`, as for `restore_original_image_from_array`.
        mode: As for `restore_original_image_from_array`.
        data_format: The layout of `x`. None: 'channels_first' for PyTorch
            tensors, else `keras.config.image_data_format()`.
        check: Check a sample of the values against the spec, and warn
            (`SpecMismatchWarning`) when they contradict it.
        original_size: (height, width) of the picture before preprocessing:
            place the images back on it. `model` must carry the resizing
            and cropping (a torchvision pipeline, a timm config, a Hugging
            Face processor, ...), or `geometry` gives them.
        geometry: A `Geometry`, or the steps (``[Resize(256),
            CenterCrop(224)]``), as for `to_original`.

    Returns:
        A C-contiguous uint8 NumPy array, channels last; with
        `original_size`, ``(H0, W0, 3)`` per image.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import preprocess_input, to_images
        >>> chw = np.zeros((3, 4, 5), np.uint8)  # one image, channels first
        >>> to_images(preprocess_input(chw, "imagenet", data_format="channels_first"), "imagenet",
        ...           data_format="channels_first").shape
        (4, 5, 3)
    """
    backend, x = framework_and_array(x)
    refuse_traced(backend, x, "to_images")
    if original_size is not None or geometry is not None:
        canvas = to_original(
            x,
            model,
            original_size=original_size,
            mode=mode,
            data_format=data_format,
            geometry=geometry,
            check=check,
        )
        return canvas.image
    # data_format as given: restoring checks an assumed layout against the shape.
    restored = restore_original_image_from_array(x, model, mode=mode, data_format=data_format, check=check)
    layout = data_format_for(backend.channels_first_by_default, data_format)
    restored_backend, restored = framework_and_array(restored)
    host = restored_backend.to_numpy(restored)
    return np.ascontiguousarray(np.moveaxis(host, channel_position(host.ndim, layout), -1))


def refuse_traced(backend: Backend, x: Any, function: str) -> None:
    """Images for people live on the host: inside a trace there are no values to bring there."""
    if backend.is_traced(x):
        raise DeprocessError(
            f"Expected concrete values: {function} returns NumPy images on the host. Received a traced "
            f"{backend.name} array (inside tf.function, jax.jit, torch.compile or a symbolic Keras "
            f"model), which has none. Call {function} outside the trace, or inside it use "
            "restore_original_image_from_array, which stays in the framework."
        )


def to_pil(
    x: Any,
    model: Any = None,
    *,
    mode: str | None = None,
    data_format: str | None = None,
    check: bool = True,
) -> Any:
    """Restore preprocessed images as PIL images: one for an image, a list for a batch.

    Shape:
        - Input: as for `to_images`, rank 3 (one image) or 4 (a batch), with
          1 (grayscale), 3 (RGB) or 4 (RGBA) channels.

    Args:
        x: Preprocessed images of any framework, on any device.
        model: As for `to_images`.
        mode: As for `to_images`.
        data_format: As for `to_images`.
        check: As for `to_images`.

    Returns:
        A `PIL.Image.Image`, or a list of them for a batch.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import preprocess_input, to_pil
        >>> to_pil(preprocess_input(np.zeros((4, 5, 3), np.uint8), "VGG16"), "VGG16",
        ...        data_format="channels_last").size
        (5, 4)
    """
    from PIL import Image

    backend, x = framework_and_array(x)
    refuse_traced(backend, x, "to_pil")
    images = to_images(x, model, mode=mode, data_format=data_format, check=check)
    if images.ndim not in (3, 4) or images.shape[-1] not in (1, 3, 4):
        raise DeprocessError(
            "Expected one image (rank 3) or a batch (rank 4) with 1, 3 or 4 channels to make PIL "
            f"images. Received images of shape {images.shape} (channels last). Use to_images for "
            "other shapes."
        )
    single = images.ndim == 3
    if images.shape[-1] == 1:
        images = images[..., 0]
    if single:
        return Image.fromarray(images)
    return [Image.fromarray(image) for image in images]


def image_grid(
    images: Any,
    columns: int | None = None,
    padding: int = 2,
    *,
    model: Any = None,
    mode: str | None = None,
    data_format: str | None = None,
    pad_value: int = 0,
    check: bool = True,
    original_size: Any = None,
    geometry: Any = None,
) -> np.ndarray:
    """Tile a batch into one uint8 RGB picture, after the exact inverse.

    Like torchvision's ``make_grid``, with its defaults (8 columns, 2 pixels
    of padding, black), but it restores first and never stretches: with
    `model` or `mode`, `images` are preprocessed and are restored exactly;
    without them, they are uint8 images already. Images of different sizes
    (a list) are centred in cells of the largest size.

    Shape:
        - Input: ``(N, H, W, C)`` / ``(N, C, H, W)``, one image of rank 3,
          or a list of images or batches (any sizes and frameworks; with
          `model`, each is restored); C is 1, 3 or 4 (alpha is dropped).
        - Output: ``(rows * (H + padding) + padding,
          columns * (W + padding) + padding, 3)``, uint8, with
          ``rows = ceil(N / columns)``.

    Args:
        images: Preprocessed images (with `model` or `mode`) or uint8 images,
            of any framework.
        columns: Images per row; None for ``min(8, N)``, as ``make_grid``.
        padding: Pixels between cells and around the grid.
        model: What produced `images`, as for `to_images`; None for uint8
            images.
        mode: As for `to_images`.
        data_format: The layout of `images`. None: 'channels_first' for
            PyTorch tensors, else `keras.config.image_data_format()`.
        pad_value: The grey level (0 to 255) of the padding.
        check: As for `to_images`.
        original_size: (height, width) of the pictures before preprocessing:
            each image is placed back on its original frame first (as
            `to_original`, black outside what the model saw), for uint8
            model inputs too.
        geometry: A `Geometry` or the steps, as for `to_original`.

    Returns:
        One ``(height, width, 3)`` uint8 NumPy array.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import image_grid
        >>> image_grid(np.zeros((5, 4, 4, 3), np.uint8), columns=3).shape
        (14, 20, 3)
    """
    numeric = (int, float, np.integer, np.floating)
    if columns is not None and not isinstance(columns, numeric) and model is None and mode is None:
        raise DeprocessError(
            "Expected `columns`, the second positional argument, to be an integer or None. "
            f"Received: columns={shown(columns)}, which looks like the model. Pass the model by "
            "keyword: image_grid(batch, model=...)."
        )
    columns = _positive_int("columns", columns, allow_none=True)
    padding = _positive_int("padding", padding, allow_zero=True)
    if (
        isinstance(pad_value, bool)
        or not isinstance(pad_value, (int, np.integer))
        or not 0 <= pad_value <= 255
    ):
        raise DeprocessError(
            f"Expected `pad_value` to be an integer in [0, 255]. Received: pad_value={shown(pad_value)}."
        )
    where = None
    if original_size is not None or geometry is not None:
        where = resolve_geometry(model, geometry, original_size)
    cells = _as_cells(images, model, mode, data_format, check, where)
    if not cells:
        raise DeprocessError("Expected at least one image to tile. Received none.")
    height = max(c.shape[0] for c in cells)
    width = max(c.shape[1] for c in cells)
    layout = GridLayout(len(cells), min(columns or 8, len(cells)), height, width, padding)
    grid = layout.canvas(int(pad_value))
    for i, cell in enumerate(cells):
        y, x = layout.origin(i)
        y, x = y + (height - cell.shape[0]) // 2, x + (width - cell.shape[1]) // 2
        grid[y : y + cell.shape[0], x : x + cell.shape[1]] = cell
    return grid


class GridLayout:
    """Where each cell of a grid goes: one geometry for `image_grid` and the CLI's contact sheets.

    Cells of ``cell_height`` × ``cell_width`` pixels, ``columns`` per row,
    `padding` pixels between cells and around the grid, below a strip of
    ``top`` pixels (a caption).
    """

    def __init__(
        self, count: int, columns: int, cell_height: int, cell_width: int, padding: int, top: int = 0
    ):
        self.columns, self.cell_height, self.cell_width = columns, cell_height, cell_width
        self.padding, self.top = padding, top
        rows = math.ceil(count / columns)
        self.shape = (
            top + rows * (cell_height + padding) + padding,
            columns * (cell_width + padding) + padding,
        )

    def origin(self, index: int) -> tuple[int, int]:
        """The (y, x) of cell `index`'s top-left corner."""
        row, column = divmod(index, self.columns)
        return (
            self.top + self.padding + row * (self.cell_height + self.padding),
            self.padding + column * (self.cell_width + self.padding),
        )

    def canvas(self, background: int) -> np.ndarray:
        return np.full((*self.shape, 3), background, np.uint8)


def _positive_int(name: str, value: Any, *, allow_none: bool = False, allow_zero: bool = False) -> Any:
    if value is None and allow_none:
        return None
    least = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise DeprocessError(
            f"Expected `{name}` to be an integer ≥ {least}{' or None' if allow_none else ''}. "
            f"Received: {name}={shown(value)}."
        )
    return int(value)


def _as_cells(
    images: Any, model: Any, mode: Any, data_format: str | None, check: bool, geometry: Any = None
) -> list[np.ndarray]:
    """Each image as (H, W, 3) uint8 on the host; on its original frame when `geometry` is given."""
    if isinstance(images, (list, tuple)):  # images or batches of any sizes and frameworks
        return [
            cell for image in images for cell in _as_cells(image, model, mode, data_format, check, geometry)
        ]
    backend, array = framework_and_array(images)
    refuse_traced(backend, array, "image_grid")
    if model is not None or mode is not None:
        batch = to_images(array, model, mode=mode, data_format=data_format, check=check, geometry=geometry)
        return [to_rgb(a) for a in (batch[None] if batch.ndim == 3 else batch)]
    layout = data_format_for(backend.channels_first_by_default, data_format)
    check_assumed_layout(
        backend.shape(array), layout, assumption(backend.channels_first_by_default, data_format)
    )
    host = backend.to_numpy(array)
    if host.dtype != np.uint8:
        raise DeprocessError(
            "Expected uint8 images, or preprocessed images with `model` or `mode` to restore them "
            f"first. Received dtype {host.dtype} with shape {host.shape} and neither. Pass the "
            "model, e.g. image_grid(batch, model='VGG16'): a float array is never stretched to fit."
        )
    if host.ndim not in (3, 4):
        raise DeprocessError(f"Expected one image (rank 3) or a batch (rank 4). Received shape {host.shape}.")
    host = np.moveaxis(host, channel_position(host.ndim, layout), -1)
    cells = [to_rgb(a) for a in (host[None] if host.ndim == 3 else host)]
    if geometry is not None:
        return list(place_on_original(np.stack(cells), geometry))
    return cells


def naive_view(preprocessed: Any) -> np.ndarray:
    """What `plt.imshow` shows for a float RGB array: clipped to [0, 1], channels as stored.

    For side-by-side comparisons with the restored image; never use it to
    look at data. Computed in blocks of about a million values, so its
    scratch memory stays small whatever the array's size.
    """
    x = np.asarray(preprocessed)
    if not (x.flags.c_contiguous or x.flags.f_contiguous):
        x = np.ascontiguousarray(x)
    out = np.empty_like(x, dtype=np.uint8)  # same memory order as x
    source, target = x.ravel(order="K"), out.ravel(order="K")
    compute = np.float64 if x.dtype == np.float64 else np.float32
    for part in flat_blocks(source.size, 1 << 20):
        block: np.ndarray = source[part].astype(compute)
        np.clip(block, 0.0, 1.0, out=block)
        np.multiply(block, 255, out=block)
        np.rint(block, out=block)
        target[part] = block
    return out


def demo_image() -> np.ndarray:
    """The shipped photograph as a (128, 128, 3) uint8 RGB array.

    Eileen Collins, NASA, public domain (via scikit-image's sample data).
    """
    from PIL import Image

    with resources.files("keras_deprocess").joinpath("data", DEMO_IMAGE).open("rb") as f:
        return np.asarray(Image.open(f).convert("RGB"))
