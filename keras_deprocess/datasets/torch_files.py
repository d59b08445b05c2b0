"""`.pt`/`.pth` files of `torch.save`: found by ``torch.load(weights_only=True)``, read by offset.

- Only ``torch.load(weights_only=True)`` unpickles the file: tensors, and
  dicts, lists and tuples of them. Anything else is refused by PyTorch's
  own restricted unpickler, and nothing else is ever unpickled.
- A file is loaded with ``mmap=True``, which maps it without reading a
  byte of tensor data. Each tensor's storage is one stored member of the
  zip archive ``torch.save`` writes; its place in the file is found from
  the mapping (each storage's address, less the mapping's start, is its
  member's offset, checked for every storage), and the data is then read
  as a stream from that offset, like a `.npy`'s: memory stays bounded
  whatever the file, where touching the mapped tensors would count every
  page against the process's memory.
- Keys: a tensor alone is named by the file's stem; a dict's tensors by
  their keys, a list's or tuple's by their index, nested ones joined by
  dots (``'images'``, ``'0'``, ``'batch.pixels'``). Values that are not
  tensors (an epoch number, a string) are skipped.
- `torch_tensors` also serves `.pt` members of `.tar` shards, loaded from
  memory.
"""

from __future__ import annotations

import re
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from keras_deprocess.datasets.arrays import (
    READ_ERRORS,
    ArrayEntry,
    FileSource,
    choose_key,
    no_such_key,
    printable,
    reason,
)
from keras_deprocess.datasets.npy import Header, InputFileError, check_array
from keras_deprocess.errors import shown

__all__ = ["TorchFile", "import_torch", "numpy_dtype", "torch_tensors"]

_RECORD = re.compile(r"[^/]+/data/[0-9]+")
MAX_DEPTH = 32
MAX_VALUES = 1_000_000
_LOCAL_HEADER = struct.Struct("<4s22xHH")


def import_torch(name: str) -> Any:
    try:
        import torch
    except ImportError:
        raise InputFileError(
            f"{name}: is a PyTorch file; reading it needs PyTorch, which is not installed. Install it "
            "(pip install torch), or save the batch with numpy.save."
        ) from None
    return torch


def numpy_dtype(torch: Any, tensor: Any, label: str) -> np.dtype[Any]:
    """The NumPy dtype of `tensor`'s elements, or a refusal for those NumPy has no type for."""
    if tensor.dtype == torch.bfloat16:
        raise InputFileError(
            f"{label}: holds bfloat16, which NumPy has no type for; save tensor.float() instead"
        )
    try:
        dtype: np.dtype[Any] = np.dtype(torch.empty(0, dtype=tensor.dtype).numpy().dtype)
        return dtype
    except (TypeError, RuntimeError):
        raise InputFileError(
            f"{label}: holds {tensor.dtype}; expected float16, float32 or float64 preprocessed data"
        ) from None


def torch_tensors(torch: Any, loaded: Any, stem: str, label: str = "") -> Iterator[tuple[str, Any]]:
    """(key, tensor) for every tensor in what ``torch.load`` gave, in its order.

    A pickle can nest containers deeply, share one container many times
    (2^50 paths from a few hundred bytes) or hold itself: containers are
    visited once each, at most `MAX_DEPTH` deep and `MAX_VALUES` in all.
    """
    seen: set[int] = set()
    stack: list[tuple[Any, str, int]] = [(loaded, "", 0)]
    visited = 0
    while stack:
        value, key, depth = stack.pop()
        visited += 1
        if visited > MAX_VALUES or depth > MAX_DEPTH:
            raise InputFileError(
                f"{label or stem}: nests more than {MAX_DEPTH} containers deep or holds more than "
                f"{MAX_VALUES:,} values; save the tensors in one dict: torch.save({{'images': batch}}, path)"
            )
        if isinstance(value, torch.Tensor):
            yield key or stem, value
            continue
        if not isinstance(value, (dict, list, tuple)) or id(value) in seen:
            continue
        seen.add(id(value))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        children = [(item, f"{key}.{name}" if key else str(name), depth + 1) for name, item in items]
        stack.extend(reversed(children))  # popped in their own order


def load_weights_only(torch: Any, source: Any, label: str, **options: Any) -> Any:
    """``torch.load(source, weights_only=True)``, its refusals in our words."""
    try:
        return torch.load(source, weights_only=True, map_location="cpu", **options)
    except Exception as error:  # torch raises many types: UnpicklingError, RuntimeError, ...
        text = reason(error)
        if "weights_only" in text or "Unsupported global" in text or "Unpickl" in type(error).__name__:
            raise InputFileError(
                f"{label}: holds objects other than tensors and dicts, lists or tuples of them, which "
                "torch.load(weights_only=True) refuses to unpickle; keras-deprocess unpickles nothing "
                "else. Save only the tensors: torch.save({'images': batch}, path)."
            ) from None
        raise InputFileError(
            f"{label}: is not a file torch.load can read ({text}); save it with torch.save"
        ) from None


class TorchFile(FileSource):
    """The tensors of one `.pt`/`.pth` file, streamed from their place in the file.

    Args:
        path: The file, as written by ``torch.save`` (the zip format, the
            default since PyTorch 1.6).
        key: Read only this tensor.
    """

    is_npz = True

    def __init__(self, path: str | Path, key: str | None = None) -> None:
        torch = import_torch(printable(path))
        self._open(path)
        try:
            self.entries = self._entries(torch, key)
        except BaseException:
            self.close()
            raise

    def _entries(self, torch: Any, only: str | None) -> list[ArrayEntry]:
        if not zipfile.is_zipfile(self._file):
            raise InputFileError(
                f"{self.name}: is not in the zip format of torch.save (it was saved by PyTorch before "
                "1.6, or with _use_new_zipfile_serialization=False); load it and torch.save it again"
            )
        records = self._records()
        loaded = load_weights_only(torch, str(self.path), self.name, mmap=True)
        tensors = list(torch_tensors(torch, loaded, self.path.stem, self.name))
        del loaded
        if not tensors:
            raise InputFileError(f"{self.name}: holds no tensors")
        keys = [key for key, _ in tensors]
        if only is not None:
            tensors = [(key, tensor) for key, tensor in tensors if key == only]
            if not tensors:
                raise no_such_key(self.name, only, keys, "tensor")
        base = _mapping_start(tensors, records, self.name)
        big_endian = self._big_endian()
        entries = []
        for position, (key, tensor) in enumerate(tensors):
            label = f"{self.name}: tensor {shown(key)}"
            dtype = numpy_dtype(torch, tensor, label)
            if big_endian:
                dtype = dtype.newbyteorder(">")
            shape = tuple(int(d) for d in tensor.shape)
            try:
                check_array(Header(shape, dtype, False, 0))
            except InputFileError as error:
                raise InputFileError(f"{label}: {error}{choose_key(keys, only)}") from None
            if not tensor.is_contiguous():
                raise InputFileError(
                    f"{label}: is not contiguous (a transposed or channels_last view), so its images "
                    "are not stored one after another; save tensor.contiguous() instead"
                )
            start = 0
            if tensor.numel():
                storage = tensor.untyped_storage()
                start = storage.data_ptr() - base + tensor.storage_offset() * dtype.itemsize
            entries.append(ArrayEntry(key, position, shape, dtype, False, start, None))
        del tensors
        return entries

    def _records(self) -> dict[int, int]:
        """Each storage member's data offset in the file → its size; stored members only."""
        try:
            with zipfile.ZipFile(self._file) as archive:
                infos = [info for info in archive.infolist() if _RECORD.fullmatch(info.filename)]
        except (*READ_ERRORS, MemoryError):
            return {}
        records = {}
        for info in infos:
            if info.compress_type != zipfile.ZIP_STORED:
                raise InputFileError(
                    f"{self.name}: stores tensor data compressed ({info.filename}); torch.save stores it "
                    "as is: save the tensors with torch.save"
                )
            self._file.seek(info.header_offset)
            header = self._file.read(_LOCAL_HEADER.size)
            if len(header) < _LOCAL_HEADER.size:
                raise InputFileError(f"{self.name}: is truncated (a zip member's header is cut)")
            signature, name_length, extra_length = _LOCAL_HEADER.unpack(header)
            if signature != b"PK\x03\x04":
                raise InputFileError(
                    f"{self.name}: is not a valid zip archive (a member's header is damaged)"
                )
            records[info.header_offset + _LOCAL_HEADER.size + name_length + extra_length] = info.file_size
        return records

    def _big_endian(self) -> bool:
        try:
            with zipfile.ZipFile(self._file) as archive:
                names = [n for n in archive.namelist() if n.endswith("/byteorder")]
                return bool(names) and archive.read(names[0]).strip() == b"big"
        except (*READ_ERRORS, KeyError):
            return False


def _mapping_start(tensors: list[tuple[str, Any]], records: dict[int, int], name: str) -> int:
    """The address at which ``torch.load(mmap=True)`` mapped the file, from the storages it made.

    Each storage is a slice of one mapping of the whole file, at its
    member's offset: the start is the one address that puts every storage
    on a member of its own size.
    """
    storages = {}
    for _, tensor in tensors:
        if tensor.numel():
            storage = tensor.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
    if not storages:
        return 0
    lowest = min(storages)
    for offset in sorted(records):
        base = lowest - offset
        if all(records.get(pointer - base) == size for pointer, size in storages.items()):
            return int(base)
    raise InputFileError(
        f"{name}: its tensors could not be found in the file's members; load it with torch.load and "
        "save the tensors with numpy.save"
    )
