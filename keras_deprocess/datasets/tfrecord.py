"""TFRecord files of `tf.train.Example`, one image (or batch) a record, read through TensorFlow.

The records are framed here (a length, its CRC, the bytes, their CRC) and
their offsets kept (8 bytes a record), so that planning reads only the
lengths and the first record, and any record can be read again. Each
record is parsed by TensorFlow's own `tf.train.Example` and tensor protos.
The image comes from one feature (`feature`, or the only one that holds an
image):

- a float feature with its shape in an int64 feature named
  ``NAME/shape``, ``NAME_shape`` or ``shape``; or
- a bytes feature holding ``tf.io.serialize_tensor`` output.

Every record must give the shape of the first. A record's length is
checked against what is left of the file before it is read, and a record
is read only when its image is: memory holds one record at a time.
"""

from __future__ import annotations

import math
import os
import struct
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from keras_deprocess.datasets.arrays import (
    ArrayEntry,
    FileSource,
    Stream,
    listed,
    printable,
    reason,
)
from keras_deprocess.datasets.npy import Header, InputFileError, check_array
from keras_deprocess.errors import advise, setting, shown

__all__ = ["TFRECORD_SUFFIXES", "TFRecordFile"]

TFRECORD_SUFFIXES = (".tfrecord", ".tfrecords", ".tfrec")
_FRAME = struct.Struct("<QI")
# A record holds one image: its size is bounded by the images we accept (65,535 a side) long before this.
MAX_RECORD_BYTES = 1 << 31


def import_tensorflow(name: str) -> Any:
    try:
        import tensorflow as tf
    except ImportError:
        raise InputFileError(
            f"{name}: is a TFRecord file; reading it needs TensorFlow, which is not installed. "
            "Install it with pip install 'keras-deprocess[keras]'."
        ) from None
    return tf


class TFRecordFile(FileSource):
    """The images of one TFRecord file of `tf.train.Example`, as one array named by the file's stem.

    Args:
        path: The file (uncompressed).
        feature: The feature that holds the image; None to take the only one.
        key: Must be None or the file's stem (a TFRecord file is one array).
    """

    def __init__(self, path: str | Path, key: str | None = None, feature: str | None = None) -> None:
        self._tf = import_tensorflow(printable(path))
        self._open(path)
        try:
            self._offsets = self._frame()
            self.entries = [self._entry(key, feature)]
        except BaseException:
            self.close()
            raise

    # -- framing ---------------------------------------------------------------

    def _frame(self) -> array[int]:
        """The offset of every record's bytes, from the lengths alone (the data is skipped)."""
        size = os.fstat(self._file.fileno()).st_size
        offsets: array[int] = array("q")
        position = 0
        while position < size:
            self._file.seek(position)
            frame = self._file.read(_FRAME.size)
            if len(frame) < _FRAME.size:
                raise InputFileError(f"{self.name}: is truncated: record {len(offsets)} ends in its length")
            length, _ = _FRAME.unpack(frame)
            start = position + _FRAME.size
            if length > min(size - start - 4, MAX_RECORD_BYTES):
                raise InputFileError(
                    f"{self.name}: record {len(offsets)} declares {length} bytes, and the file has "
                    f"{max(size - start - 4, 0)} after it: it is truncated, or not a TFRecord file"
                )
            offsets.append(start)
            position = start + length + 4
        if not offsets:
            raise InputFileError(f"{self.name}: holds no records")
        return offsets

    def _record(self, index: int) -> bytes:
        start = self._offsets[index]
        self._file.seek(start - _FRAME.size)
        length, _ = _FRAME.unpack(self._file.read(_FRAME.size))
        data = self._file.read(length)
        if len(data) < length:
            raise InputFileError(
                f"{self.name}: record {index} ends early: the file changed while it was read"
            )
        return data

    # -- the image feature -------------------------------------------------------

    def _example(self, index: int) -> Any:
        try:
            return self._tf.train.Example.FromString(self._record(index))
        except InputFileError:
            raise
        except Exception as error:  # protobuf's DecodeError, among others
            raise InputFileError(
                f"{self.name}: record {index} is not a tf.train.Example ({reason(error)})"
            ) from None

    def _entry(self, key: str | None, feature: str | None) -> ArrayEntry:
        stem = self.path.stem
        if key is not None and key != stem:
            raise InputFileError(
                f"{self.name}: is a TFRecord file, one array named {shown(stem)}; drop {advise(key=key)}"
                f", and pass {setting('feature')} to choose the feature that holds the image"
            )
        example = self._example(0)
        features = example.features.feature
        self._feature = feature if feature is not None else self._only_image_feature(features)
        if self._feature not in features:
            raise InputFileError(
                f"{self.name}: has no feature {shown(self._feature)} for {setting('feature')}; "
                f"record 0 holds {_listed(features)}"
            )
        self._decode = self._decoder(features)
        first = self._decode(example, 0)
        shape = first.shape
        label = f"{self.name}: feature {shown(self._feature)}"
        if first.ndim not in (3, 4):
            raise InputFileError(
                f"{label}: record 0 holds shape {shape}; expected one image (H, W, C) or a batch "
                "(N, H, W, C) per record. Save a channel axis with each image."
            )
        images = len(self._offsets) * (shape[0] if first.ndim == 4 else 1)
        full = (images, *shape[-3:])
        try:
            check_array(Header(full, first.dtype, False, 0))
        except InputFileError as error:
            raise InputFileError(f"{label}: {error}") from None
        self._record_shape, self._record_dtype = shape, first.dtype
        return ArrayEntry(stem, 0, full, first.dtype, False, 0, None)

    def _only_image_feature(self, features: Any) -> str:
        candidates = [name for name in features if self._holds_image(features, name)]
        if len(candidates) == 1:
            return str(candidates[0])
        what = "no feature" if not candidates else f"{len(candidates)} features ({_listed(candidates)})"
        raise InputFileError(
            f"{self.name}: record 0 has {what} that holds an image (floats with a NAME/shape feature, or "
            f"tf.io.serialize_tensor bytes); it holds {_listed(features)}. Pass {setting('feature')} "
            "to choose one."
        )

    def _holds_image(self, features: Any, name: str) -> bool:
        kind = features[name].WhichOneof("kind")
        if kind == "float_list":
            return _shape_feature(features, name) is not None
        if kind == "bytes_list" and len(features[name].bytes_list.value) == 1:
            try:
                return self._tensor_proto(features[name].bytes_list.value[0]) is not None
            except Exception:  # not a TensorProto: an encoded JPEG, a label
                return False
        return False

    def _tensor_proto(self, data: bytes) -> Any:
        from tensorflow.core.framework import tensor_pb2

        proto = tensor_pb2.TensorProto.FromString(data)
        if not proto.tensor_shape.dim or proto.dtype == 0:
            return None
        return proto

    def _decoder(self, features: Any) -> Callable[[Any, int], np.ndarray]:
        name = self._feature
        kind = features[name].WhichOneof("kind")
        label = f"{self.name}: feature {shown(name)}"
        if kind == "float_list":
            shape_name = _shape_feature(features, name)
            if shape_name is None:
                raise InputFileError(
                    f"{label}: holds floats without their shape; expected an int64 feature "
                    f"{shown(name + '/shape')}, {shown(name + '_shape')} or 'shape' beside it"
                )

            def floats(example: Any, index: int) -> np.ndarray:
                fields = example.features.feature
                if name not in fields or shape_name not in fields:
                    raise InputFileError(f"{self.name}: record {index} lacks feature {shown(name)}")
                values = np.asarray(fields[name].float_list.value, np.float32)
                shape = tuple(int(d) for d in fields[shape_name].int64_list.value)
                if any(d < 0 for d in shape) or math.prod(shape) != values.size:
                    raise InputFileError(
                        f"{self.name}: record {index}: feature {shown(name)} has {values.size} values, and "
                        f"its shape {shape} needs {math.prod(shape) if all(d >= 0 for d in shape) else '?'}"
                    )
                return values.reshape(shape)

            return floats
        if kind == "bytes_list":

            def tensor(example: Any, index: int) -> np.ndarray:
                fields = example.features.feature
                if name not in fields or len(fields[name].bytes_list.value) != 1:
                    raise InputFileError(f"{self.name}: record {index} lacks feature {shown(name)}")
                try:
                    proto = self._tensor_proto(fields[name].bytes_list.value[0])
                    if proto is None:
                        raise ValueError("no shape or dtype")
                    return np.asarray(self._tf.make_ndarray(proto))
                except Exception as error:
                    raise InputFileError(
                        f"{self.name}: record {index}: feature {shown(name)} is not tf.io.serialize_tensor "
                        f"output ({reason(error)})"
                    ) from None

            return tensor
        raise InputFileError(
            f"{label}: holds {kind or 'nothing'}; expected floats with a shape feature, or "
            "tf.io.serialize_tensor bytes"
        )

    # -- data --------------------------------------------------------------------

    def stream(self, entry: ArrayEntry, offset: int = 0) -> Stream:
        record_bytes = math.prod(self._record_shape) * self._record_dtype.itemsize
        records = _Records(self, offset // record_bytes)

        stream = Stream(records.read, self.data_error(entry))
        stream.skip(offset % record_bytes)
        return stream

    def decoded(self, index: int) -> bytes:
        """Record `index`'s image bytes, checked against the first record's shape and dtype."""
        values = self._decode(self._example(index), index)
        if values.shape != self._record_shape or values.dtype != self._record_dtype:
            raise InputFileError(
                f"{self.name}: record {index}: feature {shown(self._feature)} has shape {values.shape} of "
                f"{values.dtype}; record 0 has {self._record_shape} of {self._record_dtype}, and every "
                "record must match it"
            )
        return np.ascontiguousarray(values).tobytes()

    @property
    def records(self) -> int:
        return len(self._offsets)


class _Records:
    """The decoded bytes of records `first`, `first + 1`, ..., one record in memory at a time."""

    def __init__(self, source: TFRecordFile, first: int) -> None:
        self._source, self._next = source, first
        self._buffer, self._at = b"", 0

    def read(self, count: int) -> bytes:
        if self._at >= len(self._buffer):
            if self._next >= self._source.records:
                return b""
            self._buffer, self._at = self._source.decoded(self._next), 0
            self._next += 1
        data = self._buffer[self._at : self._at + count]
        self._at += len(data)
        return data


def _shape_feature(features: Any, name: str) -> str | None:
    for candidate in (f"{name}/shape", f"{name}_shape", "shape"):
        if (
            candidate != name
            and candidate in features
            and features[candidate].WhichOneof("kind") == "int64_list"
        ):
            return candidate
    return None


def _listed(names: Any) -> str:
    return listed(sorted(str(n) for n in names), 12) or "none"
