"""`.safetensors` files, one tensor at a time, read as the format's specification lays them out.

A safetensors file is an 8-byte little-endian header length, a JSON
header (each tensor's dtype, shape and byte range) and the tensors' bytes,
little-endian and C-ordered, one after another. The header is parsed here,
within a size limit, and each tensor streams from its byte range like a
`.npy`'s data: the `safetensors` package maps the whole file, which counts
every page read against the process's memory, and it is not needed to read
what its writers wrote (the tests write every file with it).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from keras_deprocess.datasets.arrays import (
    ArrayEntry,
    FileSource,
    choose_key,
    no_such_key,
)
from keras_deprocess.datasets.npy import Header, InputFileError, check_array
from keras_deprocess.errors import shown

__all__ = ["MAX_HEADER_BYTES", "SafetensorsFile"]

# The safetensors package refuses headers over 100 MB; a JSON header parsed
# into Python objects costs many times its size, so ours is smaller. 16 MiB
# holds the names, shapes and offsets of some 100,000 tensors.
MAX_HEADER_BYTES = 16 << 20
DTYPES = {
    "F16": "<f2",
    "F32": "<f4",
    "F64": "<f8",
    "U8": "u1",
    "I8": "i1",
    "U16": "<u2",
    "I16": "<i2",
    "U32": "<u4",
    "I32": "<i4",
    "U64": "<u8",
    "I64": "<i8",
    "BOOL": "?",
}


class SafetensorsFile(FileSource):
    """The tensors of one `.safetensors` file, in the order their bytes are stored.

    Args:
        path: The file.
        key: Read only this tensor.
    """

    is_npz = True

    def __init__(self, path: str | Path, key: str | None = None) -> None:
        self._open(path)
        try:
            self.entries = self._entries(key)
        except BaseException:
            self.close()
            raise

    def _bad(self, why: str) -> InputFileError:
        return InputFileError(f"{self.name}: is not a valid .safetensors file ({why})")

    def _entries(self, only: str | None) -> list[ArrayEntry]:
        size = os.fstat(self._file.fileno()).st_size
        prefix = self._file.read(8)
        if len(prefix) < 8:
            raise self._bad("it is shorter than its 8-byte header length")
        length = int.from_bytes(prefix, "little")
        if length > MAX_HEADER_BYTES:
            raise self._bad(
                f"its header declares {length} bytes; headers over {MAX_HEADER_BYTES >> 20} MiB are refused"
            )
        if 8 + length > size:
            raise self._bad(f"its header declares {length} bytes, and the file has {size - 8} after it")
        try:
            header = json.loads(self._file.read(length))
        except (ValueError, RecursionError, MemoryError):
            raise self._bad("its header is not JSON") from None
        if not isinstance(header, dict):
            raise self._bad("its header is not a JSON object")
        data_start, data_size = 8 + length, size - 8 - length
        found: list[tuple[int, str, tuple[int, ...], np.dtype[Any]]] = []
        for key, field in header.items():
            if key == "__metadata__":
                continue
            found.append(self._tensor(str(key), field, data_size))
        if not found:
            raise InputFileError(f"{self.name}: holds no tensors")
        found.sort(key=lambda item: item[0])
        keys = [key for _, key, _, _ in found]
        if only is not None:
            found = [item for item in found if item[1] == only]
            if not found:
                raise no_such_key(self.name, only, keys, "tensor")
        entries = []
        for position, (begin, key, shape, dtype) in enumerate(found):
            try:
                check_array(Header(shape, dtype, False, 0))
            except InputFileError as error:
                advice = choose_key(keys, only)
                raise InputFileError(f"{self.name}: tensor {shown(key)}: {error}{advice}") from None
            entries.append(ArrayEntry(key, position, shape, dtype, False, data_start + begin, None))
        return entries

    def _tensor(
        self, key: str, field: Any, data_size: int
    ) -> tuple[int, str, tuple[int, ...], np.dtype[Any]]:
        label = f"tensor {shown(key)}"
        if not isinstance(field, dict) or not {"dtype", "shape", "data_offsets"} <= set(field):
            raise self._bad(f"{label} lacks dtype, shape or data_offsets")
        code, shape, offsets = field["dtype"], field["shape"], field["data_offsets"]
        if code == "BF16":
            raise InputFileError(
                f"{self.name}: {label}: holds bfloat16, which NumPy has no type for; save it as float32"
            )
        if code not in DTYPES:
            raise InputFileError(
                f"{self.name}: {label}: has dtype {shown(code)}; expected F16, F32 or F64 preprocessed data"
            )
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise self._bad(f"{label} has shape {shown(shape)}; expected a list of non-negative integers")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(type(o) is int for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_size
        ):
            raise self._bad(f"{label} has data_offsets {shown(offsets)} outside the file's {data_size} bytes")
        dtype = np.dtype(DTYPES[code])
        needed = math.prod(shape) * dtype.itemsize
        if offsets[1] - offsets[0] != needed:
            raise self._bad(
                f"{label} has shape {tuple(shape)} of {code}, which needs {needed} bytes; its offsets "
                f"span {offsets[1] - offsets[0]}"
            )
        return offsets[0], key, tuple(shape), dtype
