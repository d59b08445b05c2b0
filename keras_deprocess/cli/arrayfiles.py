"""Reading `.npy`/`.npz` files from elsewhere, within a memory budget the file cannot inflate.

- The file is opened once, and an `.npz` archive's member table is read
  once: time is linear in members.
- Headers are parsed here, not by `np.load`: the magic bytes, a header of at
  most 10000 bytes (NumPy's own limit), a dict literal with exactly NumPy's
  three keys, a shape of non-negative integers (no bools), and a float16,
  float32 or float64 dtype. Object arrays (which need pickle) are refused;
  no pickle is ever loaded. Every problem is an `InputFileError` naming the
  file and the npz key.
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
  the budget; `sample` reads them as a stream at any size.
"""

from __future__ import annotations

import ast
import functools
import math
import os
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple, cast

import numpy as np

from keras_deprocess.cli.terminal import safe
from keras_deprocess.errors import DeprocessError, shown

__all__ = ["ArrayEntry", "ArrayFile", "InputFileError", "Piece", "read_npy_header"]

DEFAULT_CHUNK_BYTES = 64 << 20
MAX_HEADER_BYTES = 10000  # NumPy's default max_header_size
MAX_SIDE = 65535  # pixels, per image dimension
MAGIC = b"\x93NUMPY"
SUPPORTED_DTYPES = ("float16", "float32", "float64")
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


class InputFileError(DeprocessError):
    """A problem with an input file; the message names the file and, for npz, the key."""


class Header(NamedTuple):
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fortran_order: bool
    length: int  # bytes from the start of the .npy to its data


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


# -- headers -------------------------------------------------------------------


def read_npy_header(read: Callable[[int], bytes]) -> Header:
    """Parse a `.npy` header from `read(n)` (which returns at most n bytes).

    Raises:
        InputFileError: With a message that does not name the file; the
            caller adds it. Nothing else, whatever the bytes.
    """
    magic = read(8)
    if not magic:
        raise InputFileError("is empty, not a .npy array")
    if len(magic) < 8 or magic[:6] != MAGIC:
        raise InputFileError(f"is not a .npy array (it does not start with NumPy's magic bytes {MAGIC!r})")
    version = (magic[6], magic[7])
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise InputFileError(
            f"is a .npy of format version {version[0]}.{version[1]}; expected 1.0, 2.0 or 3.0"
        )
    size_field = read(2 if version == (1, 0) else 4)
    if len(size_field) < (2 if version == (1, 0) else 4):
        raise InputFileError("is not a valid .npy array: it ends inside its header")
    length = int.from_bytes(size_field, "little")
    if length > MAX_HEADER_BYTES:
        raise InputFileError(
            f"has a {length}-byte .npy header; NumPy writes about 128 bytes for an array, and "
            f"headers over {MAX_HEADER_BYTES} bytes are refused"
        )
    raw = read(length)
    if len(raw) < length:
        raise InputFileError("is not a valid .npy array: it ends inside its header")
    shape, dtype, fortran_order = _parse_header(raw, version == (3, 0))
    return Header(shape, dtype, fortran_order, 6 + 2 + len(size_field) + length)


@functools.lru_cache(maxsize=256)
def _parse_header(raw: bytes, utf8: bool) -> tuple[tuple[int, ...], np.dtype[Any], bool]:
    """The header dict's fields, checked. Cached: the arrays of an archive often share one header."""
    try:
        fields = ast.literal_eval(raw.decode("utf-8" if utf8 else "latin1"))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError, OverflowError):
        raise InputFileError("is not a valid .npy array: its header is not a Python dict literal") from None
    if not isinstance(fields, dict) or set(fields) != {"descr", "fortran_order", "shape"}:
        raise InputFileError(
            "is not a valid .npy array: its header must be a dict with exactly the keys "
            "'descr', 'fortran_order' and 'shape'"
        )
    shape = fields["shape"]
    if not isinstance(shape, tuple) or not all(type(d) is int for d in shape):
        raise InputFileError(
            f"has an invalid shape {shown(shape)} in its header; expected a tuple of integers"
        )
    if any(d < 0 for d in shape):
        raise InputFileError(f"has a negative dimension in its shape {shown(shape)}")
    if type(fields["fortran_order"]) is not bool:
        raise InputFileError(f"has an invalid fortran_order {shown(fields['fortran_order'])} in its header")
    return shape, _dtype(fields["descr"]), fields["fortran_order"]


def _dtype(descr: Any) -> np.dtype[Any]:
    if isinstance(descr, list):
        raise InputFileError(
            "holds a structured array (a dtype with fields); expected float16, float32 or float64 "
            "preprocessed data"
        )
    if not isinstance(descr, str) or len(descr) > 64:
        raise InputFileError(f"has an invalid dtype {shown(descr)} in its header")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return np.dtype(descr)
    except (TypeError, ValueError, KeyError, SyntaxError, OverflowError, MemoryError, Warning):
        raise InputFileError(f"has an unknown dtype {shown(descr)} in its header") from None


def check_array(header: Header) -> None:
    """What the command line can restore: a float image or batch of a sane size."""
    dtype, shape = header.dtype, header.shape
    if dtype.hasobject:
        raise InputFileError(
            "holds Python objects, which only pickle can load; keras-deprocess never unpickles "
            "(refusing to unpickle an untrusted file). Save plain float arrays with numpy.save."
        )
    if dtype.kind != "f" or dtype.name not in SUPPORTED_DTYPES:
        name = dtype.name if dtype.kind != "V" else "a structured or sub-array dtype"
        hint = " (raw pixels: nothing to restore)" if dtype.kind in "iub" else ""
        raise InputFileError(
            f"has dtype {name}{hint}; expected float16, float32 or float64 preprocessed data"
        )
    if len(shape) not in (3, 4):
        raise InputFileError(
            f"has shape {shown(shape)}; expected one image (rank 3) or a batch of images (rank 4)"
        )
    image = shape[-3:]
    if 0 in image:
        raise InputFileError(
            f"has shape {shape}: an image needs at least one row, one column and one channel"
        )
    if max(image) > MAX_SIDE:
        raise InputFileError(f"has shape {shown(shape)}: image dimensions above {MAX_SIDE} are refused")


# -- the file ------------------------------------------------------------------


class _Stream:
    """Forward reads from one array's data, in a file shared with other streams."""

    def __init__(
        self,
        read: Callable[[int], bytes],
        fail: Callable[[str], InputFileError],
        jump: Callable[[int], None] | None = None,
    ) -> None:
        self._read, self._fail, self._jump = read, fail, jump

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

    def fill(self, target: memoryview) -> None:
        filled = 0
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
        for position, info in enumerate(infos):
            # orig_filename: zipfile cuts `filename` at a NUL, which would drop
            # the ".npy" and hide the member.
            name = info.orig_filename
            if not name.endswith(".npy") or name.endswith("/"):
                continue
            key = name[: -len(".npy")]
            if only is not None and key != only:
                continue
            entries.append(self._member_entry(info, key, position))
        if only is not None and not entries:
            raise InputFileError(f"{self.name}: has no array named {shown(only)}")
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

    def _stream(self, entry: ArrayEntry, offset: int = 0) -> _Stream:
        """A forward reader of `entry`'s data from byte `offset` of the data."""

        def fail(message: str) -> InputFileError:
            return self.error(entry, f"data {message}")

        if entry.member is None:
            shared = _SharedFile(self._file, entry.data_offset + offset)
            return _Stream(shared.read, fail, shared.jump)
        assert self._archive is not None
        try:
            member = self._archive.open(entry.member)
        except READ_ERRORS as error:
            raise fail(f"cannot be read ({_reason(error)})") from None
        stream = _Stream(member.read, fail)
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

    def _native(self, raw: np.ndarray, entry: ArrayEntry, shape: tuple[int, ...]) -> np.ndarray:
        data = raw.view(entry.dtype).reshape(shape)
        if not entry.dtype.isnative:
            data.byteswap(inplace=True)
            data = data.view(entry.dtype.newbyteorder("="))
        return data

    def _image_chunks(self, entry: ArrayEntry, budget: int, images: int) -> Iterator[Piece]:
        per_chunk = max(1, min(images, budget // entry.image_bytes))
        raw = np.empty(per_chunk * entry.image_bytes, np.uint8)
        stream = self._stream(entry)
        for first in range(0, images, per_chunk):
            count = min(per_chunk, images - first)
            view = raw[: count * entry.image_bytes]
            stream.fill(_bytes(view))
            yield Piece(first, self._native(view, entry, (count, *entry.image_shape)))

    def _bands(self, entry: ArrayEntry, image: int, budget: int, row_axis: int) -> Iterator[Piece]:
        shape = entry.image_shape
        height = shape[row_axis]
        planes = math.prod(shape[:row_axis])  # channel planes read side by side (channels_first)
        row_bytes = math.prod(shape[row_axis + 1 :]) * entry.dtype.itemsize
        rows_per_band = max(1, min(height, budget // (row_bytes * planes)))
        start = image * entry.image_bytes
        plane_bytes = height * row_bytes
        streams = [self._stream(entry, start + p * plane_bytes) for p in range(planes)]
        raw = np.empty(planes * rows_per_band * row_bytes, np.uint8)
        for top in range(0, height, rows_per_band):
            rows = min(rows_per_band, height - top)
            view = raw[: planes * rows * row_bytes].reshape(planes, rows * row_bytes)
            for plane, stream in enumerate(streams):
                stream.fill(_bytes(view[plane]))
            band_shape = (1, *shape[:row_axis], rows, *shape[row_axis + 1 :])
            yield Piece(image, self._native(view, entry, band_shape), (top, top + rows))

    def _whole_fortran(self, entry: ArrayEntry) -> np.ndarray:
        data = np.empty(entry.shape, entry.dtype, order="F")
        # Column-major bytes are the transpose's row-major bytes.
        self._stream(entry).fill(_bytes(data.T.reshape(-1).view(np.uint8)))
        if not entry.dtype.isnative:
            data.byteswap(inplace=True)
            data = data.view(entry.dtype.newbyteorder("="))
        return data if entry.batched else data[None]

    def sample(
        self, entry: ArrayEntry, channel_axis: int, limit: int, pixels: int, budget: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Up to `pixels` pixels, evenly spread over the first `limit` images, read as a stream.

        Memory is bounded by the sample and the budget, whatever the array's
        size or order. `channel_axis` is the channel axis of one image.

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
        values = self._gather(entry, offsets, budget).reshape(len(chosen), channels)
        return values, np.asarray(image, np.int64)

    def _gather(self, entry: ArrayEntry, offsets: np.ndarray, budget: int) -> np.ndarray:
        """The elements at `offsets` (in elements), reading the data once from the start."""
        order = np.argsort(offsets, kind="stable")
        wanted = offsets[order]
        out = np.empty(len(offsets), np.float64)
        if len(offsets) == 0:
            return out
        itemsize = entry.dtype.itemsize
        per_read = max(1, min(budget // itemsize, int(wanted[-1]) + 1))
        buffer = np.empty(per_read * itemsize, np.uint8)
        stream = self._stream(entry)
        done, position = 0, 0
        while done < len(wanted):
            if wanted[done] >= position + per_read:  # nothing wanted here: skip it unread
                skip = int(wanted[done] - position) // per_read * per_read
                stream.skip(skip * itemsize)
                position += skip
                continue
            count = min(per_read, int(wanted[-1]) + 1 - position)
            view = buffer[: count * itemsize]
            stream.fill(_bytes(view))
            values = self._native(view, entry, (count,))
            stop = int(np.searchsorted(wanted, position + count, side="left"))
            out[order[done:stop]] = values[wanted[done:stop] - position]
            done, position = stop, position + count
        return out


def _reason(error: BaseException) -> str:
    """An exception's own words, short and terminal-safe (never a temporary file's name)."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = safe(str(error) or type(error).__name__)
    return text if len(text) <= 100 else text[:99] + "…"
