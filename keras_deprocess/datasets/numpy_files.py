"""`.npy` and `.npz` files, read as NumPy writes them and parsed by hand.

- The file is opened once, and an `.npz` archive's member table is read
  once: time is linear in members.
- Every header is checked (`npy.read_npy_header`, `npy.check_array`)
  before any data is read.
- Only what NumPy writes is read from an archive: stored or deflated
  members, unencrypted. The declared sizes are checked against the header;
  the data itself is checked as it streams (it may still end early).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from keras_deprocess.datasets.arrays import (
    READ_ERRORS,
    ArrayEntry,
    FileSource,
    Stream,
    no_such_key,
    reason,
)
from keras_deprocess.datasets.npy import InputFileError, check_array, read_npy_header
from keras_deprocess.errors import advise, shown

__all__ = ["NumpyFile"]

NUMPY_COMPRESSIONS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
ZIP_METHODS = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "deflate64", 93: "zstandard"}


class NumpyFile(FileSource):
    """A validated `.npy` or `.npz` file whose arrays can be streamed within a budget.

    Args:
        path: The file. `.npz` is recognised by its zip signature, not its name.
        key: For `.npz`, read only this key.

    Use it as a context manager; it holds the file open.
    """

    def __init__(self, path: str | Path, key: str | None = None) -> None:
        self._open(path)
        self._archive: zipfile.ZipFile | None = None
        try:
            signature = self._file.read(4)
            self.is_npz = signature in (b"PK\x03\x04", b"PK\x05\x06")
            self.entries = self._npz_entries(key) if self.is_npz else [self._npy_entry(key)]
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()
        self._file.close()

    # -- headers -------------------------------------------------------------------

    def _npy_entry(self, key: str | None) -> ArrayEntry:
        if key is not None:
            raise InputFileError(f"{self.name}: is a .npy file, which has no keys; drop {advise(key=key)}")
        self._file.seek(0)
        try:
            header = read_npy_header(self._file.read)
            check_array(header)
        except InputFileError as error:
            raise InputFileError(f"{self.name}: {error}") from None
        except OSError as error:
            raise InputFileError(f"{self.name}: cannot be read ({reason(error)})") from None
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
            raise InputFileError(f"{self.name}: is not a valid .npz archive ({reason(error)})") from None
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
            raise no_such_key(self.name, only, keys)
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
            raise InputFileError(f"{label}: cannot be read ({reason(error)})") from None
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
        if entry.member is None:
            return super().stream(entry, offset)
        fail = self.data_error(entry)
        assert self._archive is not None
        try:
            member = self._archive.open(entry.member)
        except READ_ERRORS as error:
            raise fail(f"cannot be read ({reason(error)})") from None
        stream = Stream(member.read, fail)
        stream.skip(entry.data_offset + offset)
        return stream


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
