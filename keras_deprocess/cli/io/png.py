"""A PNG encoder that takes rows, so that an image of any height needs the memory of one band.

Pillow cannot take rows: it needs the whole image. `PngWriter` streams rows
through zlib into IDAT chunks, choosing a PNG filter per row (None, Sub,
Up, Average, Paeth: the smallest sum of absolute values, as libpng does),
so files come out about as small as Pillow's.
"""

from __future__ import annotations

import struct
import zlib
from typing import IO

import numpy as np

__all__ = ["COLOR_TYPES", "PngWriter"]

_IDAT_BYTES = 1 << 18
_FILTER_GROUP_BYTES = 1 << 20
COLOR_TYPES = {1: 0, 3: 2, 4: 6}  # channels → PNG colour type: gray, RGB, RGBA


class PngWriter:
    """An 8-bit gray, RGB or RGBA PNG, written row band by row band.

    Args:
        f: A binary file open for writing.
        height, width, channels: The image; channels 1, 3 or 4.
    """

    def __init__(self, f: IO[bytes], height: int, width: int, channels: int, level: int = 6) -> None:
        self._f, self._height, self._width, self._channels = f, height, width, channels
        self._rows = 0
        self._zlib = zlib.compressobj(level)
        self._pending = bytearray()
        self._previous = np.zeros(width * channels, np.uint8)
        f.write(b"\x89PNG\r\n\x1a\n")
        self._chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, COLOR_TYPES[channels], 0, 0, 0))

    def _chunk(self, kind: bytes, data: bytes | bytearray) -> None:
        self._f.write(struct.pack(">I", len(data)) + kind)
        self._f.write(data)
        self._f.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind))))

    def _emit(self, data: bytes) -> None:
        self._pending += data
        if len(self._pending) >= _IDAT_BYTES:
            self._chunk(b"IDAT", self._pending)
            self._pending = bytearray()

    def write(self, rows: np.ndarray) -> None:
        """Rows (r, W, C) or (r, W) of uint8, in order."""
        flat = np.ascontiguousarray(rows, dtype=np.uint8).reshape(len(rows), self._width * self._channels)
        if self._rows + len(flat) > self._height:
            raise ValueError("more rows than the PNG's height")
        step = max(1, _FILTER_GROUP_BYTES // max(flat.shape[1], 1))
        for start in range(0, len(flat), step):
            group = flat[start : start + step]
            self._emit(self._zlib.compress(_filtered(group, self._previous, self._channels)))
            self._previous = group[-1]
        self._previous = self._previous.copy()  # let go of the caller's buffer
        self._rows += len(flat)

    def close(self) -> None:
        if self._rows != self._height:
            raise ValueError(f"a PNG of {self._height} rows got {self._rows}")
        self._emit(self._zlib.flush())
        self._chunk(b"IDAT", self._pending)
        self._chunk(b"IEND", b"")


def _filtered(rows: np.ndarray, previous: np.ndarray, bpp: int) -> bytes:
    """Each row with its best filter's type byte in front (PNG filters 0-4, uint8 arithmetic)."""
    x = rows
    up = np.empty_like(x)
    up[0], up[1:] = previous, x[:-1]
    left = np.zeros_like(x)
    left[:, bpp:] = x[:, :-bpp]
    corner = np.zeros_like(x)
    corner[:, bpp:] = up[:, :-bpp]
    average = (left >> 1) + (up >> 1) + (left & up & 1)
    # Paeth: the neighbour nearest to left + up - corner; |p - a| = |b - c|, and so on.
    to_up = up.astype(np.int16) - corner
    to_left = left.astype(np.int16) - corner
    distance_a, distance_b, distance_c = np.abs(to_up), np.abs(to_left), np.abs(to_up + to_left)
    paeth = np.where(
        (distance_a <= distance_b) & (distance_a <= distance_c),
        left,
        np.where(distance_b <= distance_c, up, corner),
    )
    candidates = np.stack([x, x - left, x - up, x - average, x - paeth])
    # libpng's heuristic: the smallest sum of the bytes read as signed (|v| is min(v, 256 - v)).
    cost = np.minimum(candidates, 0 - candidates).sum(axis=2, dtype=np.uint32)
    best = np.argmin(cost, axis=0)
    out = np.empty((len(x), x.shape[1] + 1), np.uint8)
    out[:, 0] = best
    out[:, 1:] = candidates[best, np.arange(len(x))]
    return out.tobytes()
