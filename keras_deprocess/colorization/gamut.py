"""`out_of_gamut`: which pixels restoring clips, and how many, so that clipping is never silent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from keras_deprocess.checks.clipping import clipped_pixels
from keras_deprocess.core.dtypes import require_float
from keras_deprocess.core.layout import assumption, channel_axis, data_format_for
from keras_deprocess.errors import DeprocessError
from keras_deprocess.frameworks import framework_and_array
from keras_deprocess.registry import get_spec

__all__ = ["Gamut", "out_of_gamut"]


@dataclass(frozen=True, eq=False)
class Gamut:
    """Which pixels of a restore fall outside the sRGB gamut, as `out_of_gamut` reports them.

    Attributes:
        mask: Boolean NumPy array, the input's shape without the channel
            axis: True where a channel of the exact inverse lies outside
            [0, 255] by more than half a level, so that restoring clips it.
        count: The number of True pixels in `mask`.
        negative_z: Pixels whose f(Z) was negative and set to 0, as
            skimage's ``lab2rgb`` does (always 0 for RGB specs).
        pixels: The number of pixels checked.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import out_of_gamut
        >>> report = out_of_gamut(np.array([[[50.0, 0.0, 0.0], [50.0, 120.0, 0.0]]]), "lab",
        ...                       data_format="channels_last")
        >>> report.mask.tolist(), report.count, report.pixels
        ([[False, True]], 1, 2)
    """

    mask: np.ndarray
    count: int
    negative_z: int
    pixels: int

    def __repr__(self) -> str:
        # The mask can hold millions of pixels: its shape is what a repr can show.
        share = f"{self.count / self.pixels:.2%}" if self.pixels else "0%"
        return (
            f"Gamut(count={self.count} of {self.pixels} pixels ({share}), "
            f"negative_z={self.negative_z}, mask=<bool array of shape {self.mask.shape}>)"
        )


def out_of_gamut(x: Any, model: Any, *, data_format: str | None = None) -> Gamut:
    """Count and locate the pixels that restoring `x` clips: colours outside sRGB.

    Predicted Lab often lies outside the sRGB gamut. Restoring clips such
    colours channel by channel, as `skimage.color.lab2rgb` does; this says
    where and how often, so that the clipping is never silent. It also works
    for RGB specs, where it finds the values outside [0, 255].

    Shape:
        - x: as for `restore_original_image_from_array`.
        - mask: x's shape without the channel axis.

    Args:
        x: Preprocessed images, of any framework (read on the host).
        model: The spec that produced `x`, as for
            `restore_original_image_from_array`.
        data_format: The layout of `x`.

    Returns:
        A `Gamut` report.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import out_of_gamut
        >>> lab = np.array([[[50.0, 0.0, 0.0], [50.0, 120.0, 0.0]]])  # grey; a red beyond sRGB
        >>> out_of_gamut(lab, "lab", data_format="channels_last").count
        1
    """
    spec = get_spec(model)
    backend, x = framework_and_array(x)
    assumed = assumption(backend.channels_first_by_default, data_format)
    data_format = data_format_for(backend.channels_first_by_default, data_format)
    shape = tuple(backend.shape(x))
    axis = channel_axis(shape, spec, data_format, assumed_because=assumed)
    require_float(backend.dtype_name(x), shape)
    if backend.is_traced(x):
        raise DeprocessError(
            "Expected concrete values to find the pixels outside the gamut. Received a traced array "
            "(inside tf.function, jax.jit, torch.compile or a symbolic Keras model), which has none. "
            "Call out_of_gamut outside the trace."
        )
    clipped = clipped_pixels(np.moveaxis(backend.to_numpy(x), axis, -1), spec)
    return Gamut(
        clipped.mask, int(np.count_nonzero(clipped.mask)), clipped.negative_z, int(clipped.mask.size)
    )
