"""Image files of every format, whole or row by row, and what each format can hold.

- A whole image, in every format, is encoded by Pillow (its C encoders,
  which release the GIL, so that `export.EncoderPool` encodes on every core).
- A PNG too large for memory streams rows through `PngWriter`, at any size.
- JPEG and WebP have no streaming writer: they are
  limited per image by `WHOLE_IMAGE_MAX_PIXELS` (lossless WebP takes about
  40 bytes a pixel inside libwebp, hence its lower limit), and WebP to
  16383 pixels a side, its own limit. `format_limit` says so from the
  header, before anything is read or written.
"""

from __future__ import annotations

from typing import IO, Any

import numpy as np

from keras_deprocess.cli.io.png import COLOR_TYPES, PngWriter

__all__ = [
    "IMAGE_FORMATS",
    "WHOLE_IMAGE_MAX_PIXELS",
    "encode_with_pillow",
    "format_limit",
    "image_sink",
    "write_image",
]

IMAGE_FORMATS = ("png", "jpg", "webp")
# jpg and webp are encoded whole, by Pillow. Measured peaks for a high-entropy
# image: JPEG 180 MB at 16.8 megapixels; lossless WebP 200 MB at 4.2, 780 MB at 16.8.
WHOLE_IMAGE_MAX_PIXELS = {"jpg": 1 << 24, "webp": 1 << 22}
WEBP_MAX_SIDE = 16383


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
    if channels not in COLOR_TYPES:
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


def write_image(f: IO[bytes], image: np.ndarray, image_format: str) -> None:
    """One whole (H, W, C) uint8 image into `f`, by Pillow."""
    encode_with_pillow(image, image_format, f)
