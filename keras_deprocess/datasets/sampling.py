"""A strided pixel sample of an array, read as one forward pass over its data.

`detect` needs a few hundred thousand pixels spread over many images, not
the images themselves. Their element offsets are computed from the header
alone (in the array's own order, C or Fortran), sorted, and read in one pass
that skips what it does not need, so memory is bounded by the sample and the
budget whatever the array's size or order: a Fortran-order array, which
`ArraySource.pieces` must read whole, is sampled at any size.
"""

from __future__ import annotations

import numpy as np

from keras_deprocess.datasets.arrays import ArrayEntry, ArraySource, native

__all__ = ["sample"]


def sample(
    source: ArraySource, entry: ArrayEntry, channel_axis: int, limit: int, pixels: int, budget: int
) -> tuple[np.ndarray, np.ndarray]:
    """Up to `pixels` pixels, evenly spread over the first `limit` images, read as a stream.

    `channel_axis` is the channel axis of one image; `budget` bounds the bytes
    read at a time.

    Returns:
        (values, image): values (P, C) float64, and each pixel's image index.
    """
    image_shape = entry.image_shape
    channels = image_shape[channel_axis]
    plane = tuple(d for i, d in enumerate(image_shape) if i != channel_axis)  # (H, W)
    used = min(limit, entry.images)
    total = used * plane[0] * plane[1]
    step = max(1, -(-total // pixels))
    chosen = np.arange(0, total, step, dtype=np.int64)
    image, row, column = np.unravel_index(chosen, (used, *plane))
    # Element strides of the stored array, in its own order.
    shape = entry.shape
    if entry.fortran_order:
        strides = np.cumprod((1, *shape[:-1]), dtype=np.int64)
    else:
        strides = np.cumprod((1, *shape[::-1][:-1]), dtype=np.int64)[::-1]
    image_stride = strides[0] if entry.batched else 0
    axes = list(strides[1:] if entry.batched else strides)
    channel_stride = axes.pop(channel_axis)
    base = image * image_stride + row * axes[0] + column * axes[1]
    offsets = (base[:, None] + np.arange(channels, dtype=np.int64)[None, :] * channel_stride).reshape(-1)
    values = _gather(source, entry, offsets, budget).reshape(len(chosen), channels)
    return values, np.asarray(image, np.int64)


def _gather(source: ArraySource, entry: ArrayEntry, offsets: np.ndarray, budget: int) -> np.ndarray:
    """The elements at `offsets` (in elements), reading the data once from the start."""
    order = np.argsort(offsets, kind="stable")
    wanted = offsets[order]
    out = np.empty(len(offsets), np.float64)
    if len(offsets) == 0:
        return out
    itemsize = entry.dtype.itemsize
    per_read = max(1, min(budget // itemsize, int(wanted[-1]) + 1))
    buffer = np.empty(per_read * itemsize, np.uint8)
    stream = source.stream(entry)
    done, position = 0, 0
    while done < len(wanted):
        if wanted[done] >= position + per_read:  # nothing wanted here: skip it unread
            skip = int(wanted[done] - position) // per_read * per_read
            stream.skip(skip * itemsize)
            position += skip
            continue
        count = min(per_read, int(wanted[-1]) + 1 - position)
        view = buffer[: count * itemsize]
        stream.fill(view)
        values = native(view, entry, (count,))
        stop = int(np.searchsorted(wanted, position + count, side="left"))
        out[order[done:stop]] = values[wanted[done:stop] - position]
        done, position = stop, position + count
    return out
