"""webdataset `.tar` shards whose members are `.npy`, `.pt` or `.pth` arrays, streamed.

A shard is read as a plain (uncompressed) tar: its member headers are
walked once, with the data skipped, and only what is needed is kept per
member (its name, offset and size), never tarfile's own list of members,
which grows with the shard. Then:

- a `.npy` member's header is parsed where it lies, and its data streams
  from the shard like a `.npy` file's;
- a `.pt`/`.pth` member is loaded whole (it must fit the budget,
  `DEFAULT_CHUNK_BYTES`) with ``torch.load(weights_only=True)``, once to
  plan and again when its data is read;
- other members (labels, captions, JPEGs) are skipped, as webdataset's
  decoders skip what they do not know.

Keys are member names without their extension (``000123.input`` for
``000123.input.npy``), with a `.pt` member's own keys after a dot.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any, cast

from keras_deprocess.datasets.arrays import (
    DEFAULT_CHUNK_BYTES,
    READ_ERRORS,
    ArrayEntry,
    FileSource,
    SharedFile,
    Stream,
    no_such_key,
    reason,
)
from keras_deprocess.datasets.npy import Header, InputFileError, check_array, read_npy_header
from keras_deprocess.datasets.torch_files import import_torch, load_weights_only, numpy_dtype, torch_tensors
from keras_deprocess.errors import shown

__all__ = ["TarShard"]

ARRAY_SUFFIXES = (".npy", ".pt", ".pth")


class TarShard(FileSource):
    """The arrays of one `.tar` shard, in the order they are stored.

    Args:
        path: The shard.
        key: Read only this key.
    """

    is_npz = True

    def __init__(self, path: str | Path, key: str | None = None) -> None:
        self._open(path)
        self._torch: Any = None
        self._loaded: tuple[int, dict[str, Any]] | None = None  # the last .pt member loaded
        # Per array found: (its member's data offset, the member's size, its key in a .pt member, or
        # None for a .npy member's data, whose offset this is). An entry's data_offset indexes this.
        self._members: list[tuple[int, int, str | None]] = []
        try:
            self.entries = self._entries(key)
        except BaseException:
            self.close()
            raise

    def _entries(self, only: str | None) -> list[ArrayEntry]:
        self._file.seek(0)
        try:
            archive = tarfile.open(fileobj=self._file, mode="r:")  # noqa: SIM115 (closed below)
        except (tarfile.TarError, *READ_ERRORS) as error:
            raise InputFileError(
                f"{self.name}: is not a plain .tar shard ({reason(error)}); webdataset shards are "
                "uncompressed tar files: decompress it first"
            ) from None
        entries: list[ArrayEntry] = []
        keys: list[str] = []
        try:
            while True:
                try:
                    info = archive.next()
                except (tarfile.TarError, *READ_ERRORS) as error:
                    raise InputFileError(f"{self.name}: is a damaged .tar ({reason(error)})") from None
                # tarfile keeps every header it has read; ours are smaller, and kept once.
                cast(Any, archive).members.clear()
                if info is None:
                    break
                if not info.isfile() or not info.name.endswith(ARRAY_SUFFIXES):
                    continue
                stem, _, suffix = info.name.rpartition(".")
                for entry in self._member_entries(info, stem, "." + suffix):
                    keys.append(entry.key)
                    if only is None or entry.key == only:
                        entries.append(entry)
        finally:
            archive.fileobj = None  # type: ignore[assignment]  # our file, closed by close()
        if only is not None and not entries:
            raise no_such_key(self.name, only, keys)
        if not entries:
            raise InputFileError(f"{self.name}: holds no arrays (no .npy, .pt or .pth members)")
        return [
            ArrayEntry(e.key, position, e.shape, e.dtype, e.fortran_order, e.data_offset, None)
            for position, e in enumerate(entries)
        ]

    def _member_entries(self, info: tarfile.TarInfo, stem: str, suffix: str) -> list[ArrayEntry]:
        label = f"{self.name}: member {shown(info.name)}"
        first = len(self._members)
        if suffix == ".npy":
            shared = SharedFile(self._file, info.offset_data)
            try:
                header = read_npy_header(shared.read)
                check_array(header)
            except InputFileError as error:
                raise InputFileError(f"{label}: {error}") from None
            entry = ArrayEntry(stem, first, header.shape, header.dtype, header.fortran_order, 0, None)
            if header.length + entry.nbytes > info.size:
                raise InputFileError(
                    f"{label}: is truncated: shape {entry.shape} of {entry.dtype.name} needs {entry.nbytes} "
                    f"bytes of data, the member has {max(info.size - header.length, 0)}"
                )
            self._members.append((info.offset_data + header.length, info.size, None))
            return [ArrayEntry(stem, first, header.shape, header.dtype, header.fortran_order, first, None)]
        tensors = self._load(info.offset_data, info.size, label)
        entries = []
        for i, (key, (dtype, shape)) in enumerate(tensors.items()):
            try:
                check_array(Header(shape, dtype, False, 0))
            except InputFileError as error:
                raise InputFileError(f"{label}: tensor {shown(key)}: {error}") from None
            self._members.append((info.offset_data, info.size, key))
            full = stem if key == "" else f"{stem}.{key}"
            entries.append(ArrayEntry(full, first + i, shape, dtype, False, first + i, None))
        self._loaded = None  # planning keeps no tensors
        return entries

    def _load(self, offset: int, size: int, label: str) -> dict[str, Any]:
        """A `.pt` member's tensors: {inner key: (dtype, shape)} when planning, loaded at most once."""
        if size > DEFAULT_CHUNK_BYTES:
            raise InputFileError(
                f"{label}: is a .pt member of {size >> 20} MiB; a shard's .pt members are loaded whole, "
                f"and at most {DEFAULT_CHUNK_BYTES >> 20} MiB each: write smaller samples, or .npy members, "
                "which stream"
            )
        if self._torch is None:
            self._torch = import_torch(self.name)
        torch = self._torch
        self._file.seek(offset)
        data = self._file.read(size)
        if len(data) < size:
            raise InputFileError(f"{label}: is truncated")
        loaded = load_weights_only(torch, io.BytesIO(data), label)
        tensors = {}
        for key, tensor in torch_tensors(torch, loaded, "", label):
            dtype = numpy_dtype(torch, tensor, f"{label}: tensor {shown(key)}")
            tensors[key] = (dtype, tuple(int(d) for d in tensor.shape), tensor)
        self._loaded = (offset, {k: v[2] for k, v in tensors.items()})
        return {k: (v[0], v[1]) for k, v in tensors.items()}

    def stream(self, entry: ArrayEntry, offset: int = 0) -> Stream:
        start, size, inner = self._members[entry.data_offset]
        if inner is None:
            shared = SharedFile(self._file, start + offset)
            return Stream(shared.read, self.data_error(entry), shared.jump, shared.read_into)
        if self._loaded is None or self._loaded[0] != start:
            self._load(start, size, f"{self.name}: member {shown(entry.key)}")
        assert self._loaded is not None
        tensor = self._loaded[1][inner]
        data = memoryview(tensor.contiguous().numpy().tobytes())[offset:]
        position = 0

        def read(count: int) -> bytes:
            nonlocal position
            piece = bytes(data[position : position + count])
            position += len(piece)
            return piece

        return Stream(read, self.data_error(entry))
