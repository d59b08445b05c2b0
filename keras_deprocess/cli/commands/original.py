"""`restore --original-size HxW --geometry STEPS [--mask]`: images put back on the original picture.

The library does the work (`Geometry`, `place_on_original`); this module
reads the flags, checks them against each array before anything is
written, and names the mask files: ``NAME_mask.png`` beside ``NAME.png``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from keras_deprocess.cli.commands.common import Layout
from keras_deprocess.cli.io.atomic import Staging
from keras_deprocess.cli.io.images import write_image
from keras_deprocess.cli.library import (
    ArrayEntry,
    ArrayOutputs,
    ArraySource,
    DeprocessError,
    Geometry,
    place_on_original,
    steps_from_text,
)
from keras_deprocess.cli.terminal import safe

__all__ = ["Placement", "add_original_size"]


def add_original_size(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--original-size",
        type=original_size,
        metavar="HxW",
        help="put each image back on the original picture of this size (e.g. 300x420), with the steps "
        "of --geometry undone; black outside what the model saw",
    )
    parser.add_argument(
        "--geometry",
        metavar="STEPS",
        help="the spatial steps the pipeline ran, in order: resize=N (shorter side) or resize=HxW, "
        "crop=N or crop=HxW (centre), pad=N (every side) or pad=HxW (H rows above and below, W columns "
        "left and right), letterbox=N or letterbox=HxW; e.g. resize=256,crop=224",
    )
    parser.add_argument(
        "--mask",
        action="store_true",
        help="with --original-size: also write NAME_mask.png, white where the model saw the picture",
    )


def original_size(text: str) -> tuple[int, int]:
    height, _, width = text.strip().lower().partition("x")
    if not (height.isdigit() and width.isdigit() and int(height) > 0 and int(width) > 0):
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH in pixels, e.g. 300x420; got {text!r}")
    return (int(height), int(width))


def mask_name(name: str) -> str:
    return name.rsplit(".", 1)[0] + "_mask.png"


class Placement:
    """What --original-size, --geometry and --mask ask for; nothing at all without them."""

    def __init__(self, geometry: Geometry | None, mask: bool, steps_text: str = "") -> None:
        self.geometry, self.mask, self.steps_text = geometry, mask, steps_text
        self._mask_image = geometry.mask().astype(np.uint8)[..., None] * 255 if geometry is not None else None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Placement:
        if args.original_size is None:
            for flag, given in (("--geometry", args.geometry), ("--mask", args.mask)):
                if given:
                    raise DeprocessError(
                        f"{flag} needs --original-size: the size of the picture to put the images back "
                        "on. Pass --original-size HxW, e.g. --original-size 300x420."
                    )
            return cls(None, False)
        if args.geometry is None:
            raise DeprocessError(
                f"--original-size needs --geometry: --model {safe(args.model)} names the value "
                "preprocessing only, not the resizing and cropping. Pass the steps the pipeline ran, "
                "e.g. --geometry resize=256,crop=224 (or letterbox=640)."
            )
        return cls(
            Geometry(args.original_size, steps_from_text(args.geometry)), bool(args.mask), args.geometry
        )

    def output_size(self, layout: Layout) -> tuple[int, int]:
        return self.geometry.original_size if self.geometry is not None else (layout.height, layout.width)

    def check(self, source: ArraySource, entry: ArrayEntry, layout: Layout, budget: int) -> None:
        """Images of the geometry's input size, whole within the budget (they are resampled whole)."""
        if self.geometry is None:
            return
        if (layout.height, layout.width) != self.geometry.input_size:
            height, width = self.geometry.input_size
            raise source.error(
                entry,
                f"has images of {layout.height}x{layout.width}; --geometry {self._steps()} on "
                f"--original-size {'x'.join(map(str, self.geometry.original_size))} gives {height}x{width}. "
                "Check --geometry and --original-size.",
            )
        if entry.image_bytes > budget and not entry.fortran_order:
            raise source.error(
                entry,
                "has images larger than --chunk-mb; --original-size resamples whole images: "
                "pass a larger --chunk-mb.",
            )

    def _steps(self) -> str:
        """The steps as the user wrote them on the command line."""
        return safe(self.steps_text)

    def names(self, plans: list[ArrayOutputs]) -> Iterator[str]:
        """Every file the run writes: the images, and their masks."""
        for plan in plans:
            for name in plan.names():
                yield name
                if self.mask:
                    yield mask_name(name)

    def check_outputs(self, out_dir: Path, plans: list[ArrayOutputs], *, force: bool) -> None:
        """No mask file may be another output, or exist already without --force."""
        if not self.mask:
            return
        for plan in plans:
            for name in plan.names():
                masked = mask_name(name)
                folder, _, file = masked.rpartition("/")
                if any(other.folder == folder and other.owns(file) for other in plans):
                    raise DeprocessError(
                        f"--mask would write {safe(masked)}, which is also an image's name; drop --mask or "
                        "pick another --naming."
                    )
                if not force and (out_dir / masked).exists():
                    raise DeprocessError(f"{safe(out_dir / masked)}: exists; pass --force to overwrite it.")

    def image(self, image: np.ndarray) -> np.ndarray:
        """One (H, W, C) uint8 input image → (H0, W0, 3) on the original picture."""
        if self.geometry is None:
            return image
        placed: np.ndarray = place_on_original(image[None], self.geometry)[0]
        return placed

    def write_mask(self, staging: Staging, name: str) -> None:
        if self.mask and self._mask_image is not None:
            with staging.open(mask_name(name)) as f:
                write_image(f, self._mask_image, "png")

    def summary(self) -> dict[str, Any]:
        if self.geometry is None:
            return {}
        return {"original_size": list(self.geometry.original_size), "masks": self.mask}
