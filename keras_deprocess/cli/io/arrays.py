"""Reading `.npy`/`.npz` files from elsewhere, within a memory budget the file cannot inflate.

- The file is opened once, and an `.npz` archive's member table is read
  once: time is linear in members.
- Every header is checked (`npy.read_npy_header`, `npy.check_array`)
  before any data is read, so a command can refuse a file, or plan all
  its outputs, from the headers alone.
- Only what NumPy writes is read from an archive: stored or deflated
  members, unencrypted. The declared sizes are checked against the header;
  the data itself is checked as it streams (it may still end early).
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
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import numpy as np

from keras_deprocess.cli.io.npy import InputFileError, check_array, read_npy_header
from keras_deprocess.cli.library import shown
from keras_deprocess.cli.terminal import safe

__all__ = ["DEFAULT_CHUNK_BYTES", "ArrayEntry", "ArrayFile", "Piece", "Stream", "native"]

DEFAULT_CHUNK_BYTES = 64 << 20
READ_PIECE = 1 << 20  # zip members are read in pieces: ZipExtFile.read allocates what it returns
NUMPY_COMPRESSIONS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
ZIP_METHODS = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "deflate64", 93: "zstandard"}

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
    """One array of an input file: the whole `.npy`, or one npz member."""

    key: str
    position: int  # the member's position in the archive (0 for a .npy)
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
        except READ_ERRORS as error:
            raise self._fail(f"cannot be read ({_reason(error)})") from None
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
                except READ_ERRORS as error:
                    raise self._fail(f"cannot be read ({_reason(error)})") from None
                if not got:
                    raise self._fail("ends early: the file is truncated, or changed while it was read")
                filled += got
            return
        while filled < len(target):
            data = self._read_some(min(len(target) - filled, READ_PIECE))
            target[filled : filled + len(data)] = data
            filled += len(data)


class _SharedFile:
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


class ArrayFile:
    """A validated `.npy` or `.npz` file whose arrays can be streamed within a budget.

    Args:
        path: The file. `.npz` is recognised by its zip signature, not its name.
        key: For `.npz`, read only this key.

    Use it as a context manager; it holds the file open.
    """

    def __init__(self, path: str | Path, key: str | None = None) -> None:
        self.path = Path(path)
        self.name = safe(path)
        try:
            self._file: IO[bytes] = open(self.path, "rb")  # noqa: SIM115 (closed by close())
        except OSError as error:
            raise InputFileError(f"{self.name}: cannot be read ({_reason(error)})") from None
        self._archive: zipfile.ZipFile | None = None
        try:
            signature = self._file.read(4)
            self.is_npz = signature in (b"PK\x03\x04", b"PK\x05\x06")
            self.entries = self._npz_entries(key) if self.is_npz else [self._npy_entry(key)]
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> ArrayFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()
        self._file.close()

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

    # -- headers -------------------------------------------------------------------

    def _npy_entry(self, key: str | None) -> ArrayEntry:
        if key is not None:
            raise InputFileError(f"{self.name}: is a .npy file, which has no keys; drop --key {shown(key)}")
        self._file.seek(0)
        try:
            header = read_npy_header(self._file.read)
            check_array(header)
        except InputFileError as error:
            raise InputFileError(f"{self.name}: {error}") from None
        except OSError as error:
            raise InputFileError(f"{self.name}: cannot be read ({_reason(error)})") from None
        entry = ArrayEntry(
            self.path.stem, 0, header.shape, header.dtype, header.fortran_order, header.length, None
        )
        available = os.fstat(self._file.fileno()).st_size - header.length
        if available < entry.nbytes:
            raise self.error(
                None,
                f"is truncated: shape {entry.shape} of {entry.dtype.name} needs {entry.nbytes} bytes "
                f"of data, the file has {available}",
            )
        return entry

    def _npz_entries(self, only: str | None) -> list[ArrayEntry]:
        self._file.seek(0)
        try:
            self._archive = zipfile.ZipFile(self._file)
            infos = self._archive.infolist()
        except (*READ_ERRORS, MemoryError) as error:
            raise InputFileError(f"{self.name}: is not a valid .npz archive ({_reason(error)})") from None
        entries = []
        keys: list[str] = []
        for position, info in enumerate(infos):
            key = _npy_key(info)
            if key is None:
                continue
            keys.append(key)
            if only is not None and key != only:
                continue
            entries.append(self._member_entry(info, key, position))
        if only is not None and not entries:
            listed = ", ".join(shown(k) for k in keys[:20]) + (
                f" and {len(keys) - 20} more" if len(keys) > 20 else ""
            )
            holds = f"it holds {len(keys)}: {listed}" if keys else "it holds none"
            raise InputFileError(f"{self.name}: has no array named {shown(only)} for --key; {holds}")
        if not entries:
            raise InputFileError(f"{self.name}: holds no arrays (no .npy members)")
        return entries

    def _member_entry(self, info: zipfile.ZipInfo, key: str, position: int) -> ArrayEntry:
        label = f"{self.name}: array {shown(key)}"
        if info.flag_bits & 0x1:
            raise InputFileError(f"{label}: is encrypted; keras-deprocess reads unencrypted .npz files")
        if info.compress_type not in NUMPY_COMPRESSIONS:
            method = ZIP_METHODS.get(info.compress_type, f"method {info.compress_type}")
            raise InputFileError(
                f"{label}: is compressed with {method}; keras-deprocess reads stored or deflated "
                "members, as numpy.savez and numpy.savez_compressed write them"
            )
        assert self._archive is not None
        try:
            with self._archive.open(info) as f:
                header = read_npy_header(f.read)
        except InputFileError as error:
            raise InputFileError(f"{label}: {error}") from None
        except READ_ERRORS as error:
            raise InputFileError(f"{label}: cannot be read ({_reason(error)})") from None
        try:
            check_array(header)
        except InputFileError as error:
            raise InputFileError(f"{label}: {error}") from None
        entry = ArrayEntry(
            key, position, header.shape, header.dtype, header.fortran_order, header.length, info
        )
        available = info.file_size - header.length
        if available < entry.nbytes:
            raise InputFileError(
                f"{label}: is truncated: shape {entry.shape} of {entry.dtype.name} needs {entry.nbytes} "
                f"bytes of data, the archive declares {max(available, 0)}"
            )
        return entry

    # -- data ----------------------------------------------------------------------

    def stream(self, entry: ArrayEntry, offset: int = 0) -> Stream:
        """A forward reader of `entry`'s data from byte `offset` of the data."""

        def fail(message: str) -> InputFileError:
            return self.error(entry, f"data {message}")

        if entry.member is None:
            shared = _SharedFile(self._file, entry.data_offset + offset)
            return Stream(shared.read, fail, shared.jump, shared.read_into)
        assert self._archive is not None
        try:
            member = self._archive.open(entry.member)
        except READ_ERRORS as error:
            raise fail(f"cannot be read ({_reason(error)})") from None
        stream = Stream(member.read, fail)
        stream.skip(entry.data_offset + offset)
        return stream

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


def _npy_key(info: zipfile.ZipInfo) -> str | None:
    """The key of a .npy member, or None for any other member.

    zipfile cuts `filename` at a NUL. A name whose ".npy" comes before the
    NUL ("a.npy\\x00junk") is read as NumPy reads it, by the cut name ("a");
    one whose ".npy" comes after it keeps the whole name, NUL escaped in
    messages, so that the member is not hidden.
    """
    for name in (info.orig_filename, info.filename):
        if name.endswith(".npy") and not name.endswith("/"):
            return name[: -len(".npy")]
    return None


def _reason(error: BaseException) -> str:
    """An exception's own words, short and terminal-safe (never a temporary file's name)."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = safe(str(error) or type(error).__name__)
    return text if len(text) <= 100 else text[:99] + "…"
