"""What the data commands check the same way: layouts from headers, chunk budgets, NaN per piece.

`restore`, `sheet` and `detect` each refuse a file before they read its data
when its headers already say it cannot work (a channel count on the wrong
axis, a Fortran-order array over the budget), and refuse NaN or ±Inf as the
data streams. Those checks, and their messages, are written once here, so
that every command says the same thing about the same file.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

import numpy as np

from keras_deprocess.cli.library import ArrayEntry, ArraySource, Piece, advise

__all__ = [
    "Layout",
    "check_finite",
    "check_fortran",
    "chunk_budget",
    "image_layout",
    "mib",
    "to_channels_last",
]


@dataclass(frozen=True)
class Layout:
    """Where an image's axes are, for one array and data format."""

    channel_axis: int  # in one image: 2 for channels_last (H, W, C), 0 for channels_first (C, H, W)
    row_axis: int
    height: int
    width: int
    channels: int


def image_layout(
    source: ArraySource,
    entry: ArrayEntry,
    data_format: str,
    channels: int | None,
    why: str,
    lab: bool = False,
) -> Layout:
    """The image layout, with the channel count checked (`channels` None: any)."""
    image = entry.image_shape
    last = data_format == "channels_last"
    found = Layout(
        2 if last else 0,
        0 if last else 1,
        image[0 if last else 1],
        image[1 if last else 2],
        image[2 if last else 0],
    )
    if channels is None or found.channels == channels:
        return found
    first_axis = f"axis {1 if entry.batched else 0}"
    where, other_where = ("the last axis", first_axis) if last else (first_axis, "the last axis")
    message = (
        f"has shape {entry.shape}; {why} needs {channels} channels on {where} "
        f"({advise(data_format=data_format)})."
    )
    other = "channels_first" if last else "channels_last"
    if image[0 if last else 2] == channels:
        message += f" It has {channels} on {other_where}: pass {advise(data_format=other)}."
    elif lab and found.channels in (1, 2):
        alone = "One channel is L alone" if found.channels == 1 else "Two channels are ab alone"
        if source.is_npz:
            message += f" {alone}: pass --l-key and --ab-key to merge L with its ab."
        else:
            message += (
                f" {alone}: save L and ab in one .npz (numpy.savez('pred.npz', L=L, ab=ab)) and pass "
                "--l-key L --ab-key ab to merge them."
            )
    raise source.error(entry, message)


def chunk_budget(args: argparse.Namespace) -> int:
    """--chunk-mb in bytes: what one piece of an array may take."""
    return max(1, int(args.chunk_mb * (1 << 20)))


def check_fortran(source: ArraySource, entry: ArrayEntry, budget: int) -> None:
    """A Fortran-order array is read whole, so it must fit the budget."""
    if entry.fortran_order and entry.nbytes > budget:
        raise source.error(
            entry,
            f"is stored in Fortran order, which is not contiguous per image, so it is read whole; its "
            f"{mib(entry.nbytes)} exceed --chunk-mb {mib(budget, unit=False)}. Pass a larger --chunk-mb "
            "if you trust the file, or save it in C order (numpy.ascontiguousarray).",
        )


def mib(count: int, unit: bool = True) -> str:
    text = f"{count / 2**20:.4g}"
    return f"{text} MiB" if unit else text


def check_finite(source: ArraySource, entry: ArrayEntry, piece: Piece, nothing_written: bool = True) -> None:
    """Refuse NaN and ±Inf, naming the image; cheap for finite data (one sum, 3.5x faster in float32).

    A sum that overflows only sends finite data to the exact search below.
    """
    data = piece.data
    with np.errstate(all="ignore"):
        total = float(data.sum(dtype=np.float64 if data.dtype.itemsize > 4 else np.float32))
    if math.isfinite(total):
        return
    finite = np.isfinite(data).reshape(len(data), -1)
    bad_images = np.flatnonzero(~finite.all(axis=1))
    if len(bad_images) == 0:
        return  # finite values whose sum overflowed
    i = int(bad_images[0])
    values = data[i]
    nan = int(np.isnan(values).sum())
    positive = int(np.isposinf(values).sum())
    negative = int(np.isneginf(values).sum())
    counts = ", ".join(
        f"{n} {what}" for n, what in ((nan, "NaN"), (positive, "+Inf"), (negative, "-Inf")) if n
    )
    rows = f" (in rows {piece.rows[0]}-{piece.rows[1] - 1})" if piece.rows else ""
    written = " Nothing was written." if nothing_written else ""
    raise source.error(
        entry,
        f"holds {counts} values{rows}; a uint8 image has no value for them.{written} Replace them "
        "before saving the array (e.g. with numpy.nan_to_num).",
        image=piece.first + i,
    )


def to_channels_last(images: np.ndarray, layout: Layout) -> np.ndarray:
    """(N, C, H, W) → (N, H, W, C) as a view; (N, H, W, C) as is."""
    return images if layout.channel_axis == 2 else np.moveaxis(images, 1, -1)
