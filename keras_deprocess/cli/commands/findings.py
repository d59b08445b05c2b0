"""What `restore` and `sheet` say about the data besides the images: clipping, and a wrong --model.

A wrong spec still gives pictures, plausible and wrong ones, so neither
command is silent about it:

- clipped pixels are counted: values restored outside [0, 255] for an RGB
  spec, colours outside sRGB for a Lab one;
- each array's first piece is checked against --model (the library's
  `spec_mismatch`, on a strided sample of what is already in memory), and a
  contradiction is one warning line on stderr and a record in the JSON;
- ``--model auto`` (the default) detects the spec from a strided sample of
  each array, and takes it only when the detection is certain.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from keras_deprocess.cli.commands.common import Layout
from keras_deprocess.cli.library import (
    MISMATCH_SAMPLE_PIXELS,
    ArrayEntry,
    ArraySource,
    DeprocessError,
    PreprocessSpec,
    describe_mismatch,
    detected_spec,
    get_spec,
    out_of_gamut,
    sample,
    shown,
    spec_mismatch,
)
from keras_deprocess.cli.terminal import warning_line

__all__ = ["AUTO", "Findings", "resolve_model"]

AUTO = "auto"
# Pixels of each array that --model auto reads, evenly spread over its images.
AUTO_SAMPLE_PIXELS = 1 << 16


def resolve_model(
    args: argparse.Namespace,
    source: ArraySource,
    entries: list[ArrayEntry],
    layouts: list[Layout],
    budget: int,
) -> PreprocessSpec:
    """--model's spec; for ``auto``, the one every array's values settle beyond doubt.

    Raises:
        DeprocessError: When the detection is not certain, or two arrays look
            preprocessed differently; the message names what they look like.
    """
    if args.model.strip().lower() != AUTO:
        return get_spec(args.model)
    found: list[tuple[ArrayEntry, PreprocessSpec]] = []
    for entry, layout in zip(entries, layouts, strict=True):
        if entry.images == 0:
            continue
        values, _ = sample(source, entry, layout.channel_axis, entry.images, AUTO_SAMPLE_PIXELS, budget)
        values = values[np.isfinite(values).all(axis=1)]
        if len(values) == 0:
            raise source.error(entry, "has no finite pixel to detect the preprocessing from; pass --model")
        try:
            spec = detected_spec(values.reshape(1, 1, -1, 3), "channels_last", asked=True, traced=False)
        except DeprocessError as error:
            raise source.error(entry, f"--model auto: {error}") from None
        found.append((entry, spec))
    if not found:
        raise source.error(None, "holds no images to detect the preprocessing from; pass --model")
    first_entry, first = found[0]
    for entry, spec in found[1:]:
        if not spec.same_as(first):
            raise DeprocessError(
                f"--model auto: arrays {shown(first_entry.key)} and {shown(entry.key)} look preprocessed "
                f"differently ({first.name!r} and {spec.name!r}); pass --key to take one, or --model."
            )
    return first


class Findings:
    """Clipped pixels counted, and each array checked against the spec, for one run."""

    def __init__(self, spec: PreprocessSpec, data_format: str, model: str, *, check: bool) -> None:
        self.spec, self.data_format, self.model, self.check = spec, data_format, model, check
        self.lab = not spec.is_affine
        self.outside = self.pixels = 0
        self.mismatches: list[dict[str, Any]] = []
        self._checked: set[int] = set()
        self._kinds: dict[int, str] = {}
        self._lines: list[str] = []

    def add(
        self, source: ArraySource, entry: ArrayEntry, preprocessed: np.ndarray, layout: Layout
    ) -> np.ndarray:
        """Count `preprocessed`'s clipped pixels; check the spec on the array's first piece.

        Returns:
            The clipped pixels of each image of `preprocessed` (N,), int64.
        """
        report = out_of_gamut(preprocessed, self.spec, data_format=self.data_format)
        self.outside += report.count
        self.pixels += report.pixels
        if self.check and not self.lab and entry.position not in self._checked:
            self._checked.add(entry.position)
            self._judge(source, entry, preprocessed, layout)
        counts: np.ndarray = np.count_nonzero(report.mask.reshape(len(preprocessed), -1), axis=1)
        return counts.astype(np.int64)

    def kind(self, entry: ArrayEntry) -> str | None:
        """What the spec check found in `entry` ('narrow', 'clipped', ...), or None."""
        return self._kinds.get(entry.position)

    def _judge(
        self, source: ArraySource, entry: ArrayEntry, preprocessed: np.ndarray, layout: Layout
    ) -> None:
        axis = layout.channel_axis + 1  # the batch's axis
        pixels = np.moveaxis(preprocessed, axis, -1).reshape(-1, preprocessed.shape[axis])
        step = max(1, len(pixels) // MISMATCH_SAMPLE_PIXELS)
        sampled = pixels[::step].astype(np.float64)
        found = spec_mismatch(sampled[np.isfinite(sampled).all(axis=1)], self.spec)
        if found is None:
            return
        message = describe_mismatch(found, self.spec, self.model)
        self._kinds[entry.position] = found.kind
        self._lines.append(warning_line(f"{source.where(entry)}: {message}"))
        self.mismatches.append(
            {
                "key": entry.key,
                "kind": found.kind,
                "suggested": found.suggested or None,
                "clipped": round(found.clipped, 4),
                "message": message,
            }
        )

    def warn(self) -> None:
        """The warnings, one line each on stderr, once the progress bar has gone."""
        for line in self._lines:
            print(line, file=sys.stderr)

    def sentence(self) -> str:
        if self.lab:
            return f"; {self.outside} of {self.pixels} pixels were outside the sRGB gamut and were clipped"
        if self.outside:
            return (
                f"; {self.outside} of {self.pixels} pixels had values outside [0, 255] and were clipped "
                "(is --model right?)"
            )
        return ""

    def summary(self) -> dict[str, Any]:
        counted = "out_of_gamut" if self.lab else "clipped"
        return {counted: self.outside, "pixels": self.pixels, "mismatch": self.mismatches}
