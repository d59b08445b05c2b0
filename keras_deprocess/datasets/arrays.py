"""Arrays in files from elsewhere, streamed within a memory budget the file cannot inflate.

Every format (`.npy`/`.npz`, `.pt`, `.safetensors`, TFRecord, `.tar`
shards) is read by an `ArraySource`: its headers give `ArrayEntry` records
(key, shape, dtype) before any data is read, so that a caller can refuse a
file, or plan all its outputs, from the headers alone; then each entry's
C-order bytes are read forward through a `Stream`.

- Data streams through one reused buffer of at most the chunk budget:
  chunks of whole images, or bands of rows of one image larger than the
  budget (channels_first images read their channel planes side by side).
  We stream rather than memory-map: reading every page of a memory map
  counts the whole file against the process's resident memory.
- Fortran-order arrays are not contiguous per image: they are read whole,
  straight into one Fortran-ordered buffer (no second copy), and must fit
  the budget (`sampling` reads them as a stream at any size).
"""

from __future__ import annotations

import math
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import numpy as np

from keras_deprocess.datasets.npy import InputFileError
from keras_deprocess.errors import setting, shown

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "READ_ERRORS",
    "ArrayEntry",
    "ArraySource",
    "FileSource",
    "Piece",
    "SharedFile",
    "Stream",
    "choose_key",
    "listed",
    "native",
    "no_such_key",
    "printable",
    "reason",
]

DEFAULT_CHUNK_BYTES = 64 << 20
READ_PIECE = 1 << 20  # zip members are read in pieces: ZipExtFile.read allocates what it returns

# What reading a zip member can raise besides our own errors: the zip layer,
# the decompressors, and short or malformed structures.
READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    zlib.error,
    struct.error,
    ValueError,
    NotImplementedError,
    RuntimeError,
    OverflowError,
)


def _bytes(array: np.ndarray) -> memoryview:
    """The writable bytes of a contiguous array."""
    return memoryview(cast(Any, array)).cast("B")


def native(raw: np.ndarray, entry: ArrayEntry, shape: tuple[int, ...]) -> np.ndarray:
    """`raw` bytes of `entry` as its values of `shape`, swapped in place to native byte order."""
    data = raw.view(entry.dtype).reshape(shape)
    if not entry.dtype.isnative:
        data.byteswap(inplace=True)
        data = data.view(entry.dtype.newbyteorder("="))
    return data


@dataclass(frozen=True)
class ArrayEntry:
    """One array of an input: the whole `.npy`, an npz member, a tensor of a `.pt`, ...

    `position` numbers the arrays of one input (0, 1, ...), so that two
    arrays with one key stay apart; `data_offset` and `member` say where a
    format that stores plain bytes keeps them (others ignore them).
    """

    key: str
    position: int
    shape: tuple[int, ...]
    dtype: np.dtype[Any]  # as stored, byte order included
    fortran_order: bool
    data_offset: int  # from the start of the member (npz) or of the file
    member: zipfile.ZipInfo | None

    @property
    def batched(self) -> bool:
        return len(self.shape) == 4

    @property
    def images(self) -> int:
        return self.shape[0] if self.batched else 1

    @property
    def image_shape(self) -> tuple[int, ...]:
        return self.shape[1:] if self.batched else self.shape

    @property
    def image_bytes(self) -> int:
        return math.prod(self.image_shape) * self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


@dataclass
class Piece:
    """Images `first`, `first + 1`, … as `data` (N, …) in the file's layout, native byte order.

    With `rows`, `data` holds the band of rows ``rows[0]:rows[1]`` of image
    `first` only. `data` is a view of a reused buffer: copy what you keep.
    """

    first: int
    data: np.ndarray
    rows: tuple[int, int] | None = None


# -- the file ------------------------------------------------------------------


class Stream:
    """Forward reads from one array's data, in a file shared with other streams."""

    def __init__(
        self,
        read: Callable[[int], bytes],
        fail: Callable[[str], InputFileError],
        jump: Callable[[int], None] | None = None,
        read_into: Callable[[memoryview], int] | None = None,
    ) -> None:
        self._read, self._fail, self._jump, self._read_into = read, fail, jump, read_into

    def skip(self, count: int) -> None:
        if self._jump is not None:
            self._jump(count)
            return
        while count > 0:
            got = self._read_some(min(count, READ_PIECE))
            count -= len(got)

    def _read_some(self, count: int) -> bytes:
        try:
            data = self._read(count)
        except InputFileError:
            raise  # a reader's own words: the record, the member
        except READ_ERRORS as error:
            raise self._fail(f"cannot be read ({reason(error)})") from None
        if not data:
            raise self._fail("ends early: the file is truncated, or changed while it was read")
        return data

    def fill(self, array: np.ndarray) -> None:
        """Read exactly the bytes of `array` (contiguous) into it."""
        target = _bytes(array)
        filled = 0
        if self._read_into is not None:  # straight into the buffer: no bytes object, no second copy
            while filled < len(target):
                try:
                    got = self._read_into(target[filled:])
                except InputFileError:
                    raise
                except READ_ERRORS as error:
                    raise self._fail(f"cannot be read ({reason(error)})") from None
                if not got:
                    raise self._fail("ends early: the file is truncated, or changed while it was read")
                filled += got
            return
        while filled < len(target):
            data = self._read_some(min(len(target) - filled, READ_PIECE))
            target[filled : filled + len(data)] = data
            filled += len(data)


class SharedFile:
    """A position of its own in a file object that several streams share."""

    def __init__(self, f: IO[bytes], position: int) -> None:
        self._f, self._position = f, position

    def jump(self, count: int) -> None:
        self._position += count

    def read(self, count: int) -> bytes:
        self._f.seek(self._position)
        data = self._f.read(count)
        self._position += len(data)
        return data

    def read_into(self, target: memoryview) -> int:
        self._f.seek(self._position)
        got = cast(Any, self._f).readinto(target) or 0
        self._position += got
        return got


class ArraySource:
    """Arrays of one input (a file, or a set of files), whose data streams within a budget.

    Subclasses read their format's headers into `entries` and give each
    entry's bytes through `stream`. Use a source as a context manager: it
    holds its files open.

    Attributes:
        name: The input as it is shown in messages (terminal-safe).
        entries: One `ArrayEntry` per array, in the order they are stored.
        is_npz: Whether the input names its arrays by key (messages then
            say which array).
    """

    name: str
    entries: list[ArrayEntry]
    is_npz: bool = False

    def __enter__(self) -> ArraySource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close what the source holds open."""

    def stream(self, entry: ArrayEntry, offset: int = 0) -> Stream:
        """A forward reader of `entry`'s bytes, in its stored order and byte order, from byte `offset`."""
        raise NotImplementedError

    def own(self, entry: ArrayEntry) -> ArrayEntry:
        """`entry` as its own file knows it (an input of many files renames and renumbers)."""
        return entry

    def locate(self, entry: ArrayEntry) -> tuple[str, str]:
        """(the file `entry` is in, as given; its key in that file), for a manifest."""
        return self.path_text, entry.key

    @property
    def path_text(self) -> str:
        return str(getattr(self, "path", self.name))

    # -- messages ----------------------------------------------------------------

    def where(self, entry: ArrayEntry | None = None, image: int | None = None) -> str:
        """``file: array 'key', image 3`` (the parts that apply)."""
        parts = []
        if entry is not None and self.is_npz:
            parts.append(f"array {shown(entry.key)}")
        if image is not None and entry is not None and entry.batched:
            parts.append(f"image {image}")
        return self.name + (": " + ", ".join(parts) if parts else "")

    def error(self, entry: ArrayEntry | None, message: str, image: int | None = None) -> InputFileError:
        return InputFileError(f"{self.where(entry, image)}: {message}")

    def pieces(
        self, entry: ArrayEntry, budget: int, row_axis: int, stop: int | None = None
    ) -> Iterator[Piece]:
        """The first `stop` (default: all) images of `entry` in order, in pieces of at most `budget` bytes.

        Whole images are grouped as many as fit. An image larger than the
        budget comes in bands of rows; `row_axis` is the rows' axis in one
        image (0 for channels_last (H, W, C), 1 for channels_first (C, H, W)).
        A Fortran-order array comes whole (the caller checks that it fits).
        Every piece's data has rank 4, a single image included.
        """
        count = entry.images if stop is None else min(stop, entry.images)
        if entry.fortran_order:
            yield Piece(0, self._whole_fortran(entry)[:count])
        elif entry.image_bytes <= budget:
            yield from self._image_chunks(entry, budget, count)
        else:
            for image in range(count):
                yield from self._bands(entry, image, budget, row_axis)

    def _image_chunks(self, entry: ArrayEntry, budget: int, images: int) -> Iterator[Piece]:
        per_chunk = max(1, min(images, budget // entry.image_bytes))
        raw = np.empty(per_chunk * entry.image_bytes, np.uint8)
        stream = self.stream(entry)
        for first in range(0, images, per_chunk):
            count = min(per_chunk, images - first)
            view = raw[: count * entry.image_bytes]
            stream.fill(view)
            yield Piece(first, native(view, entry, (count, *entry.image_shape)))

    def _bands(self, entry: ArrayEntry, image: int, budget: int, row_axis: int) -> Iterator[Piece]:
        shape = entry.image_shape
        height = shape[row_axis]
        planes = math.prod(shape[:row_axis])  # channel planes read side by side (channels_first)
        row_bytes = math.prod(shape[row_axis + 1 :]) * entry.dtype.itemsize
        rows_per_band = max(1, min(height, budget // (row_bytes * planes)))
        start = image * entry.image_bytes
        plane_bytes = height * row_bytes
        streams = [self.stream(entry, start + p * plane_bytes) for p in range(planes)]
        raw = np.empty(planes * rows_per_band * row_bytes, np.uint8)
        for top in range(0, height, rows_per_band):
            rows = min(rows_per_band, height - top)
            view = raw[: planes * rows * row_bytes].reshape(planes, rows * row_bytes)
            for plane, stream in enumerate(streams):
                stream.fill(view[plane])
            band_shape = (1, *shape[:row_axis], rows, *shape[row_axis + 1 :])
            yield Piece(image, native(view, entry, band_shape), (top, top + rows))

    def _whole_fortran(self, entry: ArrayEntry) -> np.ndarray:
        data = np.empty(entry.shape, entry.dtype, order="F")
        # Column-major bytes are the transpose's row-major bytes.
        self.stream(entry).fill(data.T.reshape(-1).view(np.uint8))
        if not entry.dtype.isnative:
            data.byteswap(inplace=True)
            data = data.view(entry.dtype.newbyteorder("="))
        return data if entry.batched else data[None]


class FileSource(ArraySource):
    """An `ArraySource` of one file, held open; by default its arrays' bytes lie at their offsets.

    Subclasses call `_open` first, and override `stream` where the bytes
    are not plain (zip members, records, tensors in memory).
    """

    path: Path
    _file: IO[bytes]

    def _open(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = printable(path)
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115 (closed by close())
        except OSError as error:
            raise InputFileError(f"{self.name}: cannot be read ({reason(error)})") from None

    def close(self) -> None:
        self._file.close()

    def stream(self, entry: ArrayEntry, offset: int = 0) -> Stream:
        """A forward reader of `entry`'s bytes, which start at ``entry.data_offset`` in the file."""
        shared = SharedFile(self._file, entry.data_offset + offset)
        return Stream(shared.read, self.data_error(entry), shared.jump, shared.read_into)

    def data_error(self, entry: ArrayEntry) -> Callable[[str], InputFileError]:
        """How a stream of `entry` reports what went wrong in its data."""

        def fail(message: str) -> InputFileError:
            return self.error(entry, f"data {message}")

        return fail


def listed(names: list[str], limit: int = 20) -> str:
    """``'a', 'b' and 3 more``: names for a message, terminal-safe and short."""
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(shown(name) for name in names[:limit]) + more


def no_such_key(name: str, only: str, keys: list[str], what: str = "array") -> InputFileError:
    """The refusal of a key the file does not hold, with the keys it does."""
    holds = f"it holds {len(keys)}: {listed(keys)}" if keys else "it holds none"
    return InputFileError(f"{name}: has no {what} named {shown(only)} for {setting('key')}; {holds}")


def choose_key(keys: list[str], only: str | None) -> str:
    """Advice for a file of several arrays, one of which cannot be read: take the others by key."""
    if only is not None or len(keys) < 2:
        return ""
    return f". It holds {len(keys)} arrays ({listed(keys, 8)}): pass {setting('key')} to read one alone"


def printable(text: object) -> str:
    """`text` with every non-printable character escaped as Python's repr does (``\\x1b``, ``\\r``)."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def reason(error: BaseException) -> str:
    """An exception's own words, short and terminal-safe (never a temporary file's name)."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = printable(str(error) or type(error).__name__)
    return text if len(text) <= 100 else text[:99] + "…"
