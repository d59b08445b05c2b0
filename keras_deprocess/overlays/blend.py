"""`overlay`: a heatmap or a label map drawn over the exact image the model saw.

The image is restored exactly (`to_images`), or placed back on the original
picture (`to_original`); the heatmap is resampled to it from its own
resolution, coloured through a table, and blended in float64, rounded once.
"""

from __future__ import annotations

import os
import sys
import warnings
from numbers import Real
from typing import Any

import numpy as np

from keras_deprocess.core.layout import (
    assumption,
    channel_position,
    check_assumed_layout,
    data_format_for,
    to_rgb,
)
from keras_deprocess.errors import DeprocessError, shown
from keras_deprocess.frameworks import Backend, framework_and_array
from keras_deprocess.geometry import Geometry, place_on_original, to_original
from keras_deprocess.geometry.handles import resolve_geometry
from keras_deprocess.images import refuse_traced, to_images
from keras_deprocess.overlays.colormaps import JET, colormap_table, palette_table
from keras_deprocess.overlays.gradcam import show_cam_on_image
from keras_deprocess.overlays.heatmaps import (
    as_float_mask,
    bilinear,
    input_centres,
    maps_of,
    nearest,
    original_centres,
    pairing,
    to_unit,
)
from keras_deprocess.restore import switch

__all__ = ["COMPATS", "overlay"]

PYTORCH_GRAD_CAM = "pytorch-grad-cam"
COMPATS = (PYTORCH_GRAD_CAM,)


def overlay(
    images: Any,
    heatmap: Any,
    model: Any = None,
    *,
    alpha: float = 0.5,
    colormap: Any = JET,
    normalize: bool = True,
    original_size: Any = None,
    data_format: str | None = None,
    compat: str | None = None,
    palette: Any = None,
    geometry: Any = None,
    fill: Any = 0,
    check: bool = True,
) -> np.ndarray:
    r"""Draw a heatmap (Grad-CAM, saliency, attention) or a label map over the exact image.

    With the image ``I`` restored exactly (uint8, from `model`) and the
    heatmap ``h`` scaled to [0, 1] and resampled to the image, each pixel is

    .. math::

        \mathrm{out} = \mathrm{round}\big((1 - \alpha)\, I
            + \alpha\, \mathrm{colormap}[\mathrm{round}(255\, t)]\big)

    computed in float64 and rounded half to even, where ``t`` is the
    heatmap at the pixel:

    - ``normalize=True``: ``t = (h - min h) / (max h - min h)``, each
      heatmap's own min-max, before resampling (0 for a constant heatmap).
      Nothing else is stretched: the image is the exact one.
    - ``normalize=False``: ``t = h`` as given, which should already be in
      [0, 1]; values outside are clipped, and a `UserWarning` says how many.

    The heatmap is resampled bilinearly with half-pixel centres, rows first,
    then columns: output pixel ``i`` of ``H`` samples the heatmap's ``h``
    pixels at ``(i + 1/2) · h / H − 1/2``, clamped to ``[0, h − 1]`` (what
    ``torch.nn.functional.interpolate(..., align_corners=False)`` does). On
    the original picture (`original_size`), the centre of original pixel
    ``i`` goes through the geometry first, ``u = a (i + 1/2) + b`` on the
    model's input of ``H_in`` pixels, and samples at ``u · h / H_in − 1/2``;
    pixels the model never saw keep their colour. So a 7 × 7 Grad-CAM lands
    where the model looked, on the photo, crop and letterbox included.

    **Label maps** (integer heatmaps): each pixel takes the colour of its
    label from `palette` (default: the PASCAL VOC palette, 256 distinct
    colours), sampled at the nearest label (``floor(u)``), blended the same
    way; a label mapped to None is left undrawn.

    **compat="pytorch-grad-cam"** gives bit for bit what
    ``show_cam_on_image(img, mask, use_rgb=True, image_weight=1 - alpha)``
    gives, with ``img`` the exact image as float32 divided by 255 and
    ``mask`` the heatmap at the image size (bilinearly resampled as above if
    it is not, then in the heatmap's own dtype): OpenCV's JET indexed by the
    truncated ``np.uint8(255 * mask)``, a float32 blend divided by its
    maximum, truncated again. It differs from the default by a few levels on
    average (a few tens at most): the truncations, and the stretch of the
    brightest channel to 255.
    pytorch-grad-cam scales its CAMs before (``scale_cam_image``), so the
    heatmap is taken as it is: `normalize` does not apply, and values
    outside [0, 1] (which pytorch-grad-cam's ``np.uint8`` wraps around) are
    refused. Per image of a batch.

    Shape:
        - `images`: ``(H, W, C)`` / ``(N, H, W, C)`` or ``(C, H, W)`` /
          ``(N, C, H, W)`` (`data_format`), preprocessed (float) or uint8.
        - `heatmap`: ``(h, w)``, ``(N, h, w)`` or ``(N, 1, h, w)`` at any
          resolution; one per image, one for all images, or several for one
          image (one overlay each).
        - Output: uint8 ``(H, W, 3)`` for one image and one heatmap,
          ``(N, H, W, 3)`` otherwise; ``(H0, W0, 3)`` per image on the
          original picture.

    Args:
        images: Preprocessed images of any framework (restored exactly with
            `model`, or with the mode detected from the values when `model`
            is None), or uint8 images.
        heatmap: Float heatmaps, or integer label maps, of any framework.
        model: What produced `images`, as for `to_images`: a name, a
            handle (torchvision pipeline, timm config, Hugging Face processor,
            Keras model) or a `PreprocessSpec`. A handle that resizes and
            crops also carries the geometry for `original_size`.
        alpha: The colour's weight, in [0, 1]: 0 gives the image, 1 the colours.
        colormap: "jet" (OpenCV's ``COLORMAP_JET``), any matplotlib
            colormap name (with matplotlib installed) or ``Colormap``, or a
            (256, 3) uint8 table.
        normalize: Min-max each heatmap onto [0, 1] (True), or take it as in
            [0, 1] already, clipping and counting what is outside (False).
        original_size: (height, width) of the picture before preprocessing:
            draw on it (`to_original`), with the heatmap mapped through the
            geometry of `model` or `geometry`.
        data_format: The layout of `images`. None: 'channels_first' for
            PyTorch tensors, else `keras.config.image_data_format()`.
        compat: None, or "pytorch-grad-cam" (see above).
        palette: For label maps: None (the VOC palette), RGB triples (one
            per label), or a mapping label → RGB triple, or → None for a
            label left undrawn.
        geometry: A `Geometry` or the steps (``[Resize(256),
            CenterCrop(224)]``), where `model` carries none.
        fill: On the original picture, outside what the model saw: a grey
            level, an RGB triple, or the original picture itself (uint8
            ``(H0, W0, 3)``), as for `to_original`.
        check: Check a sample of the values against the spec when restoring
            (`SpecMismatchWarning`).

    Returns:
        A uint8 NumPy array, channels last: for `plt.imshow`, `to_pil`,
        `image_grid`.

    Raises:
        DeprocessError: For heatmaps whose shape or count does not fit the
            images, NaN or ±Inf in a heatmap, an `alpha` outside [0, 1], a
            label without a colour, float images that cannot be restored,
            or traced input (the result is NumPy on the host).

    Warns:
        UserWarning: With ``normalize=False``, when heatmap values outside
            [0, 1] were clipped: how many.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import overlay
        >>> black = np.zeros((4, 4, 3), np.uint8)
        >>> heat = np.array([[0.0, 1.0], [0.0, 1.0]])  # 2x2, resampled to 4x4: 0, 1/4, 3/4, 1
        >>> out = overlay(black, heat, data_format="channels_last")  # JET: dark blue to dark red
        >>> out.shape, out[0, 0].tolist(), out[0, 3].tolist()
        ((4, 4, 3), [0, 0, 64], [64, 0, 0])
    """
    alpha = _alpha(alpha)
    normalize = switch("normalize", normalize)
    check = switch("check", check)
    if compat is not None and compat not in COMPATS:
        raise DeprocessError(
            f"Expected `compat` to be None or one of {COMPATS}. Received: compat={shown(compat)}."
        )
    backend, x = framework_and_array(images)
    refuse_traced(backend, x, "overlay")
    map_backend, maps_native = framework_and_array(heatmap)
    refuse_traced(map_backend, maps_native, "overlay")
    host_maps = map_backend.to_numpy(maps_native)
    maps = maps_of(host_maps)
    labels = maps.labels
    if palette is not None and not labels:
        raise DeprocessError(
            f"Expected an integer label map with `palette`. Received a heatmap of dtype {host_maps.dtype}. "
            "Cast class ids to int (e.g. logits.argmax(1)), or drop palette= to colour a heatmap."
        )
    on_original = original_size is not None or geometry is not None
    if compat is not None:
        _check_compat(labels, colormap, on_original, maps.values)
    where = resolve_geometry(model, geometry, original_size) if on_original else None
    pictures = _pictures(backend, x, model, data_format, check, where, fill)
    leading = pictures.shape[:-3]
    flat = pictures.reshape(-1, *pictures.shape[-3:])
    total = pairing(len(flat), len(maps.values))
    if compat is not None:
        out = _grad_cam(flat, maps.values, host_maps.dtype, alpha, total)
    else:
        out = _blend(flat, maps.values, labels, alpha, colormap, normalize, palette, where, total)
    if not leading:  # one image: one overlay for a 2-D heatmap, one per heatmap otherwise
        return out[0] if host_maps.ndim == 2 else out
    if total == len(flat):
        return out.reshape(*leading, *out.shape[1:])
    return out  # one image of a batch, several heatmaps


def _alpha(alpha: Any) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0.0 <= float(alpha) <= 1.0:
        raise DeprocessError(
            f"Expected `alpha` to be a number in [0, 1], the colour's weight. Received: alpha={shown(alpha)}."
        )
    return float(alpha)  # a Python float: NumPy then computes at the arrays' own precision


def _check_compat(labels: bool, colormap: Any, on_original: bool, values: np.ndarray) -> None:
    if labels:
        raise DeprocessError(
            "Expected a float heatmap with compat='pytorch-grad-cam'. Received an integer label map; "
            "pass palette= without compat for label maps."
        )
    if not (isinstance(colormap, str) and colormap.lower() == JET):
        raise DeprocessError(
            "Expected colormap='jet' with compat='pytorch-grad-cam' (show_cam_on_image's default). "
            f"Received: colormap={shown(colormap)}. Drop compat= for other colormaps."
        )
    if on_original:
        raise DeprocessError(
            "Expected no original_size or geometry with compat='pytorch-grad-cam': show_cam_on_image "
            "draws on the model's input. Drop compat= to draw on the original picture."
        )
    outside = int(np.count_nonzero((values < 0.0) | (values > 1.0)))
    if outside:
        raise DeprocessError(
            f"Expected heatmap values in [0, 1] with compat='pytorch-grad-cam'. Received {outside} of "
            f"{values.size} outside (from {values.min():.4g} to {values.max():.4g}), which "
            "pytorch-grad-cam's np.uint8(255 * mask) wraps around (255 × 1.01 becomes 1). Scale the "
            "heatmap first, as its scale_cam_image does, or drop compat= (normalize=True stretches "
            "each heatmap's min-max onto [0, 1])."
        )


def _pictures(
    backend: Backend,
    x: Any,
    model: Any,
    data_format: str | None,
    check: bool,
    where: Geometry | None,
    fill: Any,
) -> np.ndarray:
    """uint8 (..., H, W, 3) on the host: the exact images, on the original picture when `where` is set."""
    dtype = backend.dtype_name(x)
    if dtype.startswith(("int", "uint")) or dtype == "bool":
        if dtype != "uint8":
            raise DeprocessError(
                f"Expected uint8 images or preprocessed float images. Received dtype {dtype} with shape "
                f"{tuple(backend.shape(x))}. Cast pixel values in [0, 255] to uint8 first."
            )
        layout = data_format_for(backend.channels_first_by_default, data_format)
        check_assumed_layout(
            backend.shape(x), layout, assumption(backend.channels_first_by_default, data_format)
        )
        host = backend.to_numpy(x)
        if host.ndim < 3:
            raise DeprocessError(
                "Expected one image (rank 3) or a batch (rank 4). Received uint8 images of shape "
                f"{host.shape}."
            )
        host = np.moveaxis(host, channel_position(host.ndim, layout), -1)
        leading = host.shape[:-3]
        cells = [to_rgb(image) for image in host.reshape(-1, *host.shape[-3:])]
        images = np.stack(cells) if cells else np.zeros((0, *host.shape[-3:-1], 3), np.uint8)
        if where is not None:
            _check_input_size(images, where)
            images = place_on_original(images, where, fill)
        return images.reshape(*leading, *images.shape[1:])
    if where is not None:
        canvas = to_original(x, model, geometry=where, data_format=data_format, fill=fill, check=check)
        return canvas.image
    images = to_images(x, model, data_format=data_format, check=check)
    if images.shape[-1] != 3:
        flat = images.reshape(-1, *images.shape[-3:])
        images = np.stack([to_rgb(image) for image in flat]).reshape(*images.shape[:-1], 3)
    return images


def _check_input_size(images: np.ndarray, where: Geometry) -> None:
    if images.shape[1:3] != where.input_size:
        raise DeprocessError(
            f"Expected images of {where.input_size[0]}x{where.input_size[1]}, the input size of the "
            f"geometry for original_size={where.original_size}. Received images of "
            f"{images.shape[1]}x{images.shape[2]}. Check original_size, the steps, and data_format."
        )


def _grad_cam(
    images: np.ndarray, values: np.ndarray, dtype: np.dtype[Any], alpha: float, total: int
) -> np.ndarray:
    """`show_cam_on_image` per image, with the heatmap at the image size in its own dtype."""
    height, width = images.shape[1:3]
    image_weight = 1 - alpha  # as the caller of show_cam_on_image writes it
    out = np.empty((total, height, width, 3), np.uint8)
    for k in range(total):
        heat = values[k % len(values)][None]
        if heat.shape[1:] != (height, width):
            heat = bilinear(heat, input_centres(heat.shape[1], height), input_centres(heat.shape[2], width))
        mask = as_float_mask(heat[0], dtype)
        out[k] = show_cam_on_image(images[k % len(images)], mask, image_weight)
    return out


def _blend(
    images: np.ndarray,
    values: np.ndarray,
    labels: bool,
    alpha: float,
    colormap: Any,
    normalize: bool,
    palette: Any,
    where: Geometry | None,
    total: int,
) -> np.ndarray:
    """round((1 − α) I + α colour) over the part of each picture the heatmap covers."""
    height, width = images.shape[1:3]
    if labels:
        if values.min() < 0:
            raise DeprocessError(
                f"Expected labels ≥ 0 in the label map. Received a smallest label of {values.min()}."
            )
        table, drawn = palette_table(palette, int(values.max()))
    else:
        table, drawn = colormap_table(colormap), np.ones(256, bool)
        values, clipped = to_unit(values, normalize)
        if clipped:
            warnings.warn(
                f"overlay: {clipped} of {values.size} heatmap values were outside [0, 1] and were clipped. "
                "normalize=False takes the heatmap as already in [0, 1]; normalize=True stretches each "
                "heatmap's min-max onto it.",
                UserWarning,
                stacklevel=_callers_level(),
            )
    top, bottom, left, right = (0, height, 0, width) if where is None else where.mask_bounds
    out = np.empty((total, height, width, 3), np.uint8)
    for k in range(total):
        picture = images[k % len(images)]
        out[k] = picture
        if bottom <= top or right <= left:
            continue
        heat = values[k % len(values)][None]
        rows, columns = _centres(heat.shape[1:], where, (top, bottom, left, right), (height, width))
        if labels:
            index = nearest(heat, rows, columns)[0]
        else:
            index = np.rint(255.0 * bilinear(heat, rows, columns)[0]).astype(np.intp)
        colour = table[index].astype(np.float64)
        base = picture[top:bottom, left:right].astype(np.float64)
        blended = np.clip(np.rint((1 - alpha) * base + alpha * colour), 0, 255).astype(np.uint8)
        out[k, top:bottom, left:right] = np.where(
            drawn[index][..., None], blended, picture[top:bottom, left:right]
        )
    return out


def _centres(
    size: tuple[int, ...], where: Geometry | None, bounds: tuple[int, int, int, int], picture: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Row and column centres of the drawn region, in heatmap pixels."""
    if where is None:
        return input_centres(size[0], picture[0]), input_centres(size[1], picture[1])
    top, bottom, left, right = bounds
    rows = original_centres(
        float(where.rows.scale), float(where.rows.offset), top, bottom, size[0], where.input_size[0]
    )
    columns = original_centres(
        float(where.columns.scale), float(where.columns.offset), left, right, size[1], where.input_size[1]
    )
    return rows, columns


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _callers_level() -> int:
    """The `stacklevel` of the first frame outside this package: the caller's own line."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level
