"""Writing images: a PNG encoder that takes rows, and all-or-nothing output.

- `PngWriter` streams rows through zlib into IDAT chunks, choosing a PNG
  filter per row (None, Sub, Up, Average, Paeth: the smallest sum of
  absolute values, as libpng does), so an image of any height is written
  in the memory of one band of rows. Pillow cannot take rows.
- JPEG and WebP go through Pillow, which needs the whole image: they are
  limited per image by `WHOLE_IMAGE_MAX_PIXELS` (lossless WebP takes about
  40 bytes a pixel inside libwebp, hence its lower limit) and WebP to 16383
  pixels a side, its own limit.
- `Staging` makes a run all-or-nothing: images are written into a hidden
  folder inside the output folder and moved into place only when every
  image of the run is written. An error or an interruption removes the
  folder, so no image appears unless all do; existing files are replaced
  (with --force) only at that last step.
- `write_atomically` writes one file (a contact sheet) beside its target
  and links it into place: whole or absent.

Messages name the target, never the temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from keras_deprocess.cli.terminal import deferred_signals, safe

__all__ = ["PngWriter", "Staging", "WriteError", "image_sink", "write_atomically"]

IMAGE_FORMATS = ("png", "jpg", "webp")
# jpg and webp are encoded whole, by Pillow. Measured peaks for a high-entropy
# image: JPEG 180 MB at 16.8 megapixels; lossless WebP 200 MB at 4.2, 780 MB at 16.8.
WHOLE_IMAGE_MAX_PIXELS = {"jpg": 1 << 24, "webp": 1 << 22}
WEBP_MAX_SIDE = 16383
_IDAT_BYTES = 1 << 18
_FILTER_GROUP_BYTES = 1 << 20
_COLOR_TYPES = {1: 0, 3: 2, 4: 6}  # channels → PNG colour type: gray, RGB, RGBA


class WriteError(Exception):
    """An output could not be written (a full disk, a permission): exit 1, one line."""


def describe_os_error(path: Path | str, error: OSError) -> str:
    return f"{safe(path)}: cannot be written ({error.strerror or type(error).__name__})"


# -- PNG -------------------------------------------------------------------------


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
        self._chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPES[channels], 0, 0, 0))

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


# -- any format --------------------------------------------------------------------


class _WholeImage:
    """A sink for Pillow's formats: rows gather into one uint8 image, encoded on close."""

    def __init__(self, f: IO[bytes], height: int, width: int, channels: int, image_format: str) -> None:
        self._f, self._format = f, image_format
        self._image = np.empty((height, width, channels), np.uint8)
        self._rows = 0

    def write(self, rows: np.ndarray) -> None:
        rows = rows.reshape(len(rows), *self._image.shape[1:])
        self._image[self._rows : self._rows + len(rows)] = rows
        self._rows += len(rows)

    def close(self) -> None:
        encode_with_pillow(self._image, self._format, self._f)


def encode_with_pillow(image: np.ndarray, image_format: str, f: IO[bytes]) -> None:
    """PNG and lossless WebP keep every pixel; JPEG (quality 95) does not."""
    from PIL import Image

    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    picture = Image.fromarray(np.ascontiguousarray(image))
    if image_format == "png":
        picture.save(f, format="PNG")
    elif image_format == "webp":
        picture.save(f, format="WEBP", lossless=True)
    else:
        picture.save(f, format="JPEG", quality=95)


def image_sink(f: IO[bytes], height: int, width: int, channels: int, image_format: str) -> Any:
    """An object with ``write(rows)`` and ``close()`` that encodes one image into `f`."""
    if image_format == "png":
        return PngWriter(f, height, width, channels)
    return _WholeImage(f, height, width, channels, image_format)


def format_limit(image_format: str, height: int, width: int, channels: int) -> str | None:
    """Why `image_format` cannot hold such an image, or None when it can."""
    if channels not in _COLOR_TYPES:
        return f"images with {channels} channels cannot be written; expected 1, 3 or 4"
    if image_format == "png":
        return None
    if image_format == "jpg" and channels == 4:
        return "jpg has no alpha channel for 4-channel images; use --format png or webp"
    if image_format == "webp" and max(height, width) > WEBP_MAX_SIDE:
        return f"webp images are at most {WEBP_MAX_SIDE} pixels a side; use --format png"
    limit = WHOLE_IMAGE_MAX_PIXELS[image_format]
    if height * width > limit:
        return (
            f"{image_format} images are encoded whole in memory and limited to "
            f"{limit / 1e6:.1f} megapixels; use --format png, which streams rows"
        )
    return None


# -- all or nothing ------------------------------------------------------------------


class Staging:
    """A hidden folder inside `out_dir` that holds a run's images until `commit`.

    Leaving the block without `commit` (an error, an interruption) removes
    the hidden folder, and the output folders this run created if they are
    empty. A process killed with SIGKILL leaves the hidden folder
    (``.keras-deprocess-*``) behind.
    """

    def __init__(self, out_dir: Path, *, force: bool) -> None:
        self.out_dir, self.force = out_dir, force
        self._created: list[Path] = []
        self._folder: Path | None = None
        self.committed = False

    def __enter__(self) -> Staging:
        # Every name is known before it exists, so that an interruption at any
        # point leaves nothing that the clean-up cannot find.
        folder = self.out_dir / f".keras-deprocess-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            for parent in reversed([self.out_dir, *self.out_dir.parents]):
                if not parent.exists():
                    self._created.append(parent)
                    parent.mkdir()
            self._folder = folder
            folder.mkdir(mode=0o700)
        except OSError as error:
            self.__exit__()
            raise WriteError(describe_os_error(self.out_dir, error)) from None
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        with deferred_signals():
            self._clean()

    def _clean(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        for folder in reversed(self._created):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty

    def path(self, relative: str) -> Path:
        assert self._folder is not None
        return self._folder / relative

    def make_folder(self, relative: str) -> None:
        if relative:
            try:
                self.path(relative).mkdir(exist_ok=True)
            except OSError as error:
                raise WriteError(describe_os_error(self.out_dir / relative, error)) from None

    @contextlib.contextmanager
    def open(self, relative: str) -> Iterator[IO[bytes]]:
        target = self.path(relative)
        try:
            with open(target, "xb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
        except OSError as error:
            raise WriteError(describe_os_error(self.out_dir / relative, error)) from None

    def commit(self, names: Iterable[str]) -> int:
        """Move every staged name into place; signals wait until it is done. Returns the count."""
        moved = 0
        with deferred_signals():
            made: set[str] = set()
            for relative in names:
                folder = relative.rpartition("/")[0]
                if folder and folder not in made:
                    _make_output_folder(self.out_dir / folder)
                    made.add(folder)
                _move(self.path(relative), self.out_dir / relative, force=self.force)
                moved += 1
            self._created.clear()  # they hold the images now
            self.committed = True
        return moved


def _make_output_folder(folder: Path) -> None:
    try:
        folder.mkdir(exist_ok=True)
    except FileExistsError:
        raise WriteError(f"{safe(folder)}: exists and is not a folder") from None
    except OSError as error:
        raise WriteError(describe_os_error(folder, error)) from None


def _move(source: Path, target: Path, *, force: bool) -> None:
    try:
        if force:
            os.replace(source, target)
            return
        try:
            os.link(source, target)  # refuses to replace an existing file
        except FileExistsError:
            raise WriteError(
                f"{safe(target)}: appeared while the images were written; pass --force to overwrite it"
            ) from None
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            if os.path.lexists(target):  # no hard links here: check, then rename
                raise WriteError(f"{safe(target)}: exists; pass --force to overwrite it") from None
            os.rename(source, target)
            return
        os.unlink(source)
    except OSError as error:
        raise WriteError(describe_os_error(target, error)) from None


def write_atomically(path: Path, write: Callable[[IO[bytes]], None], *, force: bool) -> None:
    """Write one file beside `path` and link it into place; an existing `path` needs `force`.

    The temporary file is named before it is made, so that it is removed
    whatever interrupts the write.
    """
    temporary = path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.part"
    try:
        with open(temporary, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        with deferred_signals():
            _move(temporary, path, force=force)
    except OSError as error:
        raise WriteError(describe_os_error(path, error)) from None
    finally:
        with deferred_signals(), contextlib.suppress(OSError):
            os.unlink(temporary)
