"""Where the channels are: the one place that places, checks and explains the channel axis.

Every function that takes images takes a `data_format`: 'channels_last'
(``(H, W, C)``, ``(N, H, W, C)``) or 'channels_first' (``(C, H, W)``,
``(N, C, H, W, ...)``). A rank-3 array is one image; with more axes the
channel axis of 'channels_first' is axis 1.
"""

from __future__ import annotations

from typing import Any

from keras_deprocess.core.config import resolve_data_format
from keras_deprocess.core.spec import PreprocessSpec
from keras_deprocess.errors import DeprocessError, advise

__all__ = [
    "assumption",
    "channel_axis",
    "channel_position",
    "check_assumed_layout",
    "data_format_for",
    "layout_name",
    "to_rgb",
    "two_channel_hint",
]

CHANNELS_LAST, CHANNELS_FIRST = "channels_last", "channels_first"


def channel_position(rank: int, data_format: str) -> int:
    """The channel axis of an array of `rank` in `data_format`, as a non-negative index."""
    if data_format == CHANNELS_LAST:
        return rank - 1
    return 0 if rank == 3 else 1


def other_format(data_format: str) -> str:
    return CHANNELS_FIRST if data_format == CHANNELS_LAST else CHANNELS_LAST


def layout_name(data_format: str, batched: bool = False) -> str:
    """ "(H, W, C)", "(N, C, H, W)", ...: the layout in words, for messages."""
    image = "H, W, C" if data_format == CHANNELS_LAST else "C, H, W"
    return f"(N, {image})" if batched else f"({image})"


def where(axis: int, rank: int) -> str:
    """ "the last axis" or "axis 1", for messages."""
    return "the last axis" if axis == rank - 1 else f"axis {axis}"


def data_format_for(channels_first_by_default: bool, data_format: str | None) -> str:
    """None: 'channels_first' for frameworks whose own layout it is (PyTorch), else Keras's setting."""
    if data_format is None and channels_first_by_default:
        return CHANNELS_FIRST
    return resolve_data_format(data_format)


# Channel counts of an image (grey, grey + alpha, RGB, RGBA); anything else is no channel axis.
IMAGE_CHANNELS = (1, 2, 3, 4)


def channel_axis(
    shape: Any, spec: PreprocessSpec, data_format: str, purpose: str = "", *, assumed_because: str = ""
) -> int:
    """The channel axis as a non-negative index, with the rank and the channel count checked.

    `purpose` names what needs the channels in messages ("to detect the
    mode"); by default, the spec's preprocessing. `assumed_because` says why
    `data_format` was assumed rather than given ("PyTorch's layout"); then
    an axis that cannot hold an image's channels is refused when the other
    layout's can, whatever the spec, since a spec for any channel count
    would otherwise restore a transposed picture without a word.

    Raises:
        DeprocessError: For a rank below 3, a channel count the spec does
            not take, or an assumed layout the shape contradicts; the message
            names the other layout when that one fits.
    """
    rank = len(shape)
    shape = tuple(shape)
    if rank < 3:
        raise DeprocessError(
            f"Expected an image of rank 3 {layout_name(data_format)} or a batch of rank 4. Received shape "
            f"{shape} (rank {rank}). For one grayscale image, add a channel axis and repeat it 3 times."
        )
    axis = channel_position(rank, data_format)
    check_assumed_layout(shape, data_format, assumed_because)
    other = other_format(data_format)
    other_axis = channel_position(rank, other)
    if spec.channels is None or shape[axis] in (None, spec.channels):
        return axis
    message = (
        f"Expected {spec.channels} channels on {where(axis, rank)} (data_format={data_format!r}) "
        f"{purpose or f'for the {spec.name!r} preprocessing'}."
    )
    if shape[other_axis] == spec.channels:
        message += (
            f" Received shape {shape}. It has {spec.channels} channels on {where(other_axis, rank)}: "
            f"pass {advise(data_format=other)}."
        )
    elif not spec.is_affine and shape[axis] == 2:
        message += two_channel_hint(shape, data_format)
    else:
        kind = "Lab" if not spec.is_affine else "RGB"
        message += f" Received shape {shape}. Pass {kind} images with {spec.channels} channels."
    raise DeprocessError(message)


def check_assumed_layout(shape: Any, data_format: str, assumed_because: str) -> None:
    """Refuse an assumed layout whose channel axis cannot hold channels while the other one can.

    Raises:
        DeprocessError: Naming both axes and the `data_format` to pass.
    """
    shape = tuple(shape)
    rank = len(shape)
    if not assumed_because or rank < 3:
        return
    axis = channel_position(rank, data_format)
    other = other_format(data_format)
    other_axis = channel_position(rank, other)
    if _no_channels(shape[axis]) and not _no_channels(shape[other_axis]):
        raise DeprocessError(
            f"Expected the channels on {where(axis, rank)}: data_format was not given, so "
            f"{data_format!r} ({assumed_because}) was assumed. Received shape {shape}: "
            f"{where(axis, rank)} has {shape[axis]}, no image's channel count, and "
            f"{where(other_axis, rank)} has {shape[other_axis]}. Pass {advise(data_format=other)}."
        )


def _no_channels(size: int | None) -> bool:
    return size is not None and size not in IMAGE_CHANNELS


def assumption(channels_first_by_default: bool, data_format: str | None) -> str:
    """Why a layout is assumed when `data_format` is None (for messages); '' when it was given."""
    if data_format is not None:
        return ""
    if channels_first_by_default:
        return "PyTorch's own layout"
    return "keras.config.image_data_format()"


def two_channel_hint(shape: tuple[Any, ...], data_format: str) -> str:
    """The advice for an ab array passed on its own where Lab was expected."""
    return (
        f" Received shape {shape} with 2 channels: that is ab alone. Put L in front of it first: "
        f"merge_l_ab(l, ab, {advise(data_format=data_format)}), then restore the result."
    )


def to_rgb(image: Any) -> Any:
    """(H, W) or (H, W, 1|3|4) uint8 NumPy → (H, W, 3): grey repeated, alpha dropped."""
    import numpy as np

    if image.ndim == 2:
        image = image[..., None]
    channels = image.shape[-1]
    if channels == 1:
        return np.repeat(image, 3, axis=-1)
    if channels in (3, 4):
        return image[..., :3]
    raise DeprocessError(
        f"Expected images with 1, 3 or 4 channels (channels last). Received an image of shape "
        f"{image.shape}. Pass data_format='channels_first' if the channels come first."
    )
