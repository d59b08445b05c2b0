"""The `.npy` header, read by hand: a file from elsewhere is parsed, never trusted or unpickled.

`np.load` would accept what NumPy can express (object arrays through pickle,
huge headers, any dtype); the command line accepts only what it can
restore, and says why in the file's terms:

- the magic bytes, a header of at most 10000 bytes (NumPy's own limit), a
  dict literal with exactly NumPy's three keys, a shape of non-negative
  integers (no bools), and a float16, float32 or float64 dtype;
- object arrays (which need pickle) are refused: no pickle is ever loaded.

Every problem is an `InputFileError`, whose message the caller prefixes
with the file's name and the npz key.
"""

from __future__ import annotations

import ast
import functools
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from keras_deprocess.errors import DeprocessError, shown

__all__ = ["Header", "InputFileError", "check_array", "read_npy_header"]

MAX_HEADER_BYTES = 10000  # NumPy's default max_header_size
MAX_SIDE = 65535  # pixels, per image dimension
MAGIC = b"\x93NUMPY"
SUPPORTED_DTYPES = ("float16", "float32", "float64")


class InputFileError(DeprocessError):
    """A problem with an input file; the message names the file and, for npz, the key."""


class Header(NamedTuple):
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fortran_order: bool
    length: int  # bytes from the start of the .npy to its data


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
