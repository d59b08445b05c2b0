"""Batches saved to disk, read back within a memory budget: every format training loops save in.

`open_arrays` opens a `.npy`/`.npz`, `.pt`/`.pth`, `.safetensors`,
TFRecord or webdataset `.tar` file, a folder of them, or a glob, and checks
every header before any data is read; `iter_batches` then gives the arrays'
images in chunks of at most `chunk_mb`. Nothing is unpickled except by
``torch.load(weights_only=True)``, and no file, however hostile, makes the
reader hold more than one chunk (a `.pt` member of a shard, or one
TFRecord record, at most 64 MiB) in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from keras_deprocess.datasets.arrays import ArrayEntry, ArraySource, native
from keras_deprocess.datasets.npy import InputFileError
from keras_deprocess.datasets.sources import FORMATS, open_arrays
from keras_deprocess.errors import DeprocessError, setting

__all__ = [
    "FORMATS",
    "ArrayEntry",
    "ArraySource",
    "Batch",
    "InputFileError",
    "iter_batches",
    "open_arrays",
    "read_images",
]


class Batch(NamedTuple):
    """Images ``first``, ``first + 1``, ... of the array `key` of the file `source`.

    `images` is (N, ...) in the file's layout, a batch axis added to a
    single image, and owned by the caller.
    """

    source: str
    key: str
    first: int
    images: np.ndarray


def iter_batches(
    path: str | Path, *, key: str | None = None, feature: str | None = None, chunk_mb: float = 64
) -> Iterator[Batch]:
    """Every image of `path`'s arrays, in chunks of at most `chunk_mb` MiB (one image at least).

    Args:
        path: A file (``.npy``, ``.npz``, ``.pt``, ``.pth``, ``.safetensors``,
            ``.tfrecord``, ``.tar``), a folder of them, or a glob.
        key: Only the arrays with this key.
        feature: For TFRecord files, the feature that holds the image.
        chunk_mb: The most each batch takes, in MiB.

    Yields:
        `Batch` records, in the order the arrays and images are stored.

    Raises:
        DeprocessError: For a file that cannot be read (its name, what was
            expected and what to do), or a non-positive `chunk_mb`.

    Example:
        >>> import numpy as np, tempfile, os
        >>> from keras_deprocess.datasets import iter_batches
        >>> folder = tempfile.mkdtemp()
        >>> np.save(os.path.join(folder, "batch.npy"), np.zeros((5, 4, 4, 3), np.float32))
        >>> [(b.key, b.first, b.images.shape) for b in iter_batches(folder, chunk_mb=0.0005)]
        [('batch', 0, (2, 4, 4, 3)), ('batch', 2, (2, 4, 4, 3)), ('batch', 4, (1, 4, 4, 3))]
    """
    if not chunk_mb > 0:
        raise DeprocessError(f"Expected {setting('chunk_mb')} above 0. Received {chunk_mb!r}.")
    budget = max(1, int(chunk_mb * (1 << 20)))
    with open_arrays(path, key=key, feature=feature) as source:
        for entry in source.entries:
            file, own_key = source.locate(entry)
            whole = max(budget, entry.image_bytes)
            for piece in source.pieces(entry, whole, 0):
                yield Batch(file, own_key, piece.first, piece.data.copy())


def read_images(source: ArraySource, entry: ArrayEntry, first: int, count: int) -> np.ndarray:
    """Images ``first`` to ``first + count - 1`` of `entry`, (count, ...) in the file's layout, owned.

    Reads only those images' bytes (a Fortran-order array is read whole:
    its images are not stored one after another).

    Example::

        with open_arrays("batch.pt") as source:
            entry = source.entries[0]
            middle = read_images(source, entry, 10, 4)  # images 10..13, (4, ...) as stored
    """
    count = max(0, min(count, entry.images - first))
    if entry.fortran_order:
        whole = next(iter(source.pieces(entry, entry.nbytes, 0))).data
        return np.array(whole[first : first + count])
    raw = np.empty(count * entry.image_bytes, np.uint8)
    source.stream(entry, first * entry.image_bytes).fill(raw)
    return native(raw, entry, (count, *entry.image_shape))
