"""`merge_l_ab`: the predicted ab upsampled to L's resolution, and put behind L."""

from __future__ import annotations

from typing import Any

from keras_deprocess.core.dtypes import require_float
from keras_deprocess.core.layout import channel_position, data_format_for, layout_name
from keras_deprocess.errors import DeprocessError
from keras_deprocess.frameworks import framework_and_array
from keras_deprocess.ops import TensorOps, ops_for

__all__ = ["merge_l_ab"]


def merge_l_ab(l: Any, ab: Any, *, data_format: str | None = None) -> Any:  # noqa: E741
    """Upsample ab to L's resolution, bilinearly, and put L in front: (L, a, b).

    The postprocessing of a colorizer whose ab comes out at a lower
    resolution (e.g. 56×56 for a 224×224 L). Bilinear with half-pixel
    centres, as ``torch.nn.functional.interpolate(..., align_corners=False)``,
    ``tf.image.resize`` and ``jax.image.resize``. Both arrays keep the
    normalization they have; restore the result with the matching spec.

    Shape:
        - l: ``(N, H, W, 1)`` (channels_last) or ``(N, 1, H, W)``
          (channels_first), or one image without the batch axis.
        - ab: ``(N, h, w, 2)`` or ``(N, 2, h, w)``.
        - Output: ``(N, H, W, 3)`` or ``(N, 3, H, W)``, L's dtype.

    Args:
        l: The lightness channel, as the network saw it.
        ab: The predicted ab channels, of the same framework.
        data_format: The layout of both. None: 'channels_first' for PyTorch
            tensors, else `keras.config.image_data_format()`.

    Returns:
        The Lab array, in the framework of `l`.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import merge_l_ab
        >>> merge_l_ab(np.zeros((1, 8, 8, 1)), np.ones((1, 2, 2, 2)), data_format="channels_last").shape
        (1, 8, 8, 3)
    """
    l_backend, l = framework_and_array(l)  # noqa: E741
    ab_backend, ab = framework_and_array(ab)
    if ab_backend is not l_backend:
        raise DeprocessError(
            f"Expected `l` and `ab` from the same framework. Received l from {l_backend.name} and ab "
            f"from {ab_backend.name}. Convert one of them first."
        )
    backend = ops_for(l_backend)
    data_format = data_format_for(backend.channels_first_by_default, data_format)
    l_last, single = _channels_last_batch(backend, l, data_format, "l", 1)
    ab_last, _ = _channels_last_batch(backend, ab, data_format, "ab", 2)
    l_shape, ab_shape = backend.shape(l_last), backend.shape(ab_last)
    if l_shape[0] != ab_shape[0]:
        raise DeprocessError(
            f"Expected as many ab maps as L images. Received {l_shape[0]} L and {ab_shape[0]} ab (shapes "
            f"{tuple(backend.shape(l))} and {tuple(backend.shape(ab))})."
        )
    dtype = backend.dtype_name(l_last)
    ab_last = backend.cast(ab_last, "float64" if dtype == "float64" else "float32")
    if l_shape[1:3] != ab_shape[1:3]:
        ab_last = backend.resize_bilinear(ab_last, int(l_shape[1]), int(l_shape[2]))  # type: ignore[arg-type]
    merged = backend.concat([l_last, backend.cast(ab_last, dtype)], 3)
    return _back_to_layout(backend, merged, data_format, single)


def _channels_last_batch(
    backend: TensorOps, x: Any, data_format: str, name: str, channels: int
) -> tuple[Any, bool]:
    shape = tuple(backend.shape(x))
    require_float(backend.dtype_name(x), shape)
    axis = channel_position(len(shape), data_format)
    if len(shape) not in (3, 4) or shape[axis] != channels:
        raise DeprocessError(
            f"Expected `{name}` with {channels} channel(s), {layout_name(data_format, batched=True)} or "
            "one image without N "
            f"(data_format={data_format!r}). Received shape {shape}."
        )
    single = len(shape) == 3
    if data_format == "channels_first":
        x = backend.moveaxis(x, axis, -1)
    if single:
        x = x[None]
    return x, single


def _back_to_layout(backend: TensorOps, x: Any, data_format: str, single: bool) -> Any:
    if data_format == "channels_first":
        x = backend.moveaxis(x, -1, 1)
    return x[0] if single else x


# -- the ab bins ------------------------------------------------------------------------
