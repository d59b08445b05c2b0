"""Reading `.npy`/`.npz` files from elsewhere, and writing images, safely.

- Headers are parsed by NumPy's own format readers and checked before any
  data is read or any file is written: float dtype, rank 3 or 4, a size the
  file actually holds. Object arrays (which need pickle) are refused; no
  pickle is ever loaded.
- Data is streamed in chunks of whole images through one reused buffer, for
  `.npy` files and for `.npz` members (stored or deflated) alike. We stream
  rather than memory-map: reading every page of a memory map counts the whole
  file against the process's resident memory, while a reused buffer keeps the
  peak at about one chunk whatever the file's size.
- Output names come from sanitized npz keys and are checked to stay inside
  the output folder. Each image is written to a temporary file in that
  folder and linked into place, so a file is either whole or absent, and an
  existing file is never replaced unless asked.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.lib import format as npy_format

from keras_deprocess.errors import DeprocessError

__all__ = ["ArrayEntry", "ArrayFile", "atomic_write_image", "safe_stem"]

DEFAULT_CHUNK_BYTES = 64 << 20
IMAGE_FORMATS = ("png", "jpg", "webp")


class InputFileError(DeprocessError):
    """A problem with an input file; its message starts with the file's name."""


@dataclass(frozen=True)
class ArrayEntry:
    """One array in an input file: the whole `.npy`, or one npz key."""

    key: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fortran_order: bool
    data_offset: int
    member: str | None  # the zip member name for npz entries

    @property
    def images(self) -> int:
        return self.shape[0] if len(self.shape) == 4 else 1

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


class ArrayFile:
    """A validated `.npy` or `.npz` file whose arrays can be streamed in chunks of images.

    Args:
        path: The file. `.npz` is recognised by its zip signature, not its name.
        key: For `.npz`, read only this key.
    """

    def __init__(self, path: str | os.PathLike[str], key: str | None = None) -> None:
        self.path = Path(path)
        self.name = str(path)
        try:
            with open(self.path, "rb") as f:
                signature = f.read(6)
        except OSError as error:
            raise self._error(f"cannot be read: {error.strerror or error}") from None
        self.is_npz = signature.startswith(b"PK")
        if self.is_npz:
            self.entries = self._npz_entries(key)
        else:
            if key is not None:
                raise self._error(f"is a .npy file, which has no keys; drop --key {key!r}")
            self.entries = [self._npy_entry()]

    def _error(self, message: str) -> InputFileError:
        return InputFileError(f"{self.name}: {message}")

    # -- headers -------------------------------------------------------------

    def _read_header(self, f: IO[bytes], where: str) -> tuple[tuple[int, ...], np.dtype[Any], bool]:
        try:
            version = npy_format.read_magic(f)
            if version == (1, 0):
                shape, fortran_order, dtype = npy_format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran_order, dtype = npy_format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
        except (ValueError, OSError, EOFError, SyntaxError) as error:
            raise self._error(f"{where} is not a valid .npy array ({error})") from None
        return tuple(shape), np.dtype(dtype), bool(fortran_order)

    def _check(self, key: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        label = f"array {key!r}" if self.is_npz else "the array"
        if dtype.hasobject:
            raise self._error(
                f"{label} holds Python objects, which only pickle can load; refusing to unpickle "
                "a file (allow_pickle=False). Save plain float arrays with np.save."
            )
        if dtype.kind != "f":
            hint = " (raw pixels: nothing to restore)" if dtype.kind in "iub" else ""
            raise self._error(
                f"{label} has dtype {dtype}{hint}; expected float16, float32 or float64 preprocessed data."
            )
        if len(shape) not in (3, 4):
            raise self._error(
                f"{label} has shape {shape}; expected one image (rank 3) or a batch of images (rank 4)."
            )

    def _npy_entry(self) -> ArrayEntry:
        with open(self.path, "rb") as f:
            shape, dtype, fortran_order = self._read_header(f, "the file")
            offset = f.tell()
        self._check("", shape, dtype)
        entry = ArrayEntry(self.path.stem, shape, dtype, fortran_order, offset, None)
        available = self.path.stat().st_size - offset
        if available < entry.nbytes:
            raise self._error(
                f"is truncated: shape {shape} of {dtype} needs {entry.nbytes} bytes of data, "
                f"the file has {available}."
            )
        return entry

    def _npz_entries(self, only: str | None) -> list[ArrayEntry]:
        try:
            archive = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as error:
            raise self._error(f"is not a valid .npz archive ({error})") from None
        entries = []
        with archive:
            for info in archive.infolist():
                if info.is_dir() or not info.filename.endswith(".npy"):
                    continue
                key = info.filename[: -len(".npy")]
                if only is not None and key != only:
                    continue
                try:
                    with archive.open(info) as f:
                        shape, dtype, fortran_order = self._read_header(f, f"array {key!r}")
                        offset = f.tell()
                except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
                    raise self._error(f"array {key!r} cannot be read ({error})") from None
                self._check(key, shape, dtype)
                entry = ArrayEntry(key, shape, dtype, fortran_order, offset, info.filename)
                if info.file_size - offset < entry.nbytes:
                    raise self._error(
                        f"array {key!r} is truncated: shape {shape} of {dtype} needs {entry.nbytes} "
                        f"bytes, the archive holds {info.file_size - offset}."
                    )
                entries.append(entry)
        if only is not None and not entries:
            raise self._error(f"has no array named {only!r}.")
        if not entries:
            raise self._error("holds no arrays.")
        return entries

    # -- data ----------------------------------------------------------------

    def chunks(self, entry: ArrayEntry, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[np.ndarray]:
        """Consecutive chunks of whole images, as a (views of one reused) buffer.

        A rank-3 entry is one chunk of one image. Each yielded array is
        overwritten by the next: copy what you keep.
        """
        if entry.fortran_order:
            # Column-major data is not contiguous per image: read it whole.
            yield from self._whole(entry)
            return
        per_image = entry.nbytes // max(entry.images, 1)
        count = max(1, chunk_bytes // max(per_image, 1))
        image_shape = entry.shape[1:] if len(entry.shape) == 4 else entry.shape
        buffer = np.empty((min(count, max(entry.images, 1)), *image_shape), entry.dtype)
        with self._open_data(entry) as f:
            done = 0
            while done < entry.images:
                n = min(count, entry.images - done)
                view = buffer[:n]
                self._fill(f, view, entry)
                done += n
                yield view if len(entry.shape) == 4 else view[0]

    def _fill(self, f: IO[bytes], view: np.ndarray, entry: ArrayEntry) -> None:
        target = memoryview(view.reshape(-1).view(np.uint8))  # type: ignore[arg-type]
        filled = 0
        try:
            while filled < len(target):
                got = f.readinto(target[filled:])  # type: ignore[attr-defined]
                if not got:
                    break
                filled += got
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise self._error(f"data of {entry.key!r} cannot be read ({error})") from None
        if filled < len(target):
            raise self._error(f"data of {entry.key!r} ends early: truncated or changed while reading.")

    @contextlib.contextmanager
    def _open_data(self, entry: ArrayEntry) -> Iterator[IO[bytes]]:
        if entry.member is None:
            with open(self.path, "rb") as f:
                f.seek(entry.data_offset)
                yield f
            return
        with zipfile.ZipFile(self.path) as archive, archive.open(entry.member) as f:
            f.read(entry.data_offset)  # the header, already parsed
            yield f

    def _whole(self, entry: ArrayEntry) -> Iterator[np.ndarray]:
        with self._open_data(entry) as f:
            data = np.empty(entry.shape, entry.dtype, order="F")
            self._fill(f, data.T, entry)  # column-major bytes are the transpose's row-major bytes
        yield data


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+|\.{2,}")


def safe_stem(key: str) -> str:
    """A file-name stem from an npz key: no separators, no "..", no leading dot, no NUL.

    Keys that sanitize to the same stem get a short hash of the original key,
    so two arrays never share files.
    """
    stem = _UNSAFE.sub("_", key).lstrip(".")[:100] or "array"
    if stem != key:
        stem += "-" + hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return stem


def output_path(out_dir: Path, stem: str, index: int | None, width: int, image_format: str) -> Path:
    name = f"{stem}.{image_format}" if index is None else f"{stem}_{index:0{width}d}.{image_format}"
    path = out_dir / name
    # Belt and braces: the stem is already sanitized.
    if path.resolve().parent != out_dir.resolve():
        raise DeprocessError(f"Refusing to write {name!r} outside {out_dir}.")
    return path


def encode_image(image: np.ndarray, image_format: str) -> bytes:
    """PNG and lossless WebP keep every pixel; JPEG (quality 95) does not."""
    from PIL import Image

    buffer = io.BytesIO()
    picture = Image.fromarray(np.ascontiguousarray(image))
    if image_format == "png":
        picture.save(buffer, format="PNG")
    elif image_format == "webp":
        picture.save(buffer, format="WEBP", lossless=True)
    else:
        picture.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def atomic_write_image(path: Path, data: bytes, *, force: bool) -> None:
    """Write to a temporary file beside `path`, then link it into place.

    Without `force`, an existing `path` is an error and is left untouched
    (`os.link` refuses to replace it). The temporary file is removed whatever
    happens, so an interrupted run leaves whole images or none.
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        # mkstemp makes the file private (0600); give it the permissions open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        with os.fdopen(handle, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if force:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)
            except FileExistsError:
                raise DeprocessError(f"{path} exists; pass --force to overwrite it.") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
