"""`AuditReport`: what an audit found, as a table, as plain data, and as a labelled contact sheet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_deprocess.auditing.expected import Expectation
from keras_deprocess.auditing.judge import Judged
from keras_deprocess.auditing.records import Record
from keras_deprocess.core.layout import channel_position, to_rgb
from keras_deprocess.errors import DeprocessError
from keras_deprocess.images import GridLayout, to_images

__all__ = ["AuditReport"]

CAPTION_HEIGHT = 14
_COLUMNS = ("batch", "shape", "dtype", "detected", "clipped", "NaN/Inf", "range", "mean", "std")


class AuditReport:
    """What `audit` found: one record per batch, the findings, and the first images of each batch.

    Printed, it is a table: one row per batch (shape, dtype, the detected
    mode with its confidence, marked "?" when it is not certain enough for
    ``mode='auto'``; the share of pixels clipped when restored; NaN/±Inf
    counts; the value range; the mean and standard deviation of each
    channel, in the stored order), then the findings, worded as the
    restore warnings are.

    Attributes:
        ok: True when nothing was found.
        findings: Plain records (dicts whose keys also read as attributes):
            ``batch``, ``kind`` ("whole-elsewhere", "normalized-twice",
            "clipped" and "narrow", as `restore_original_image_from_array`
            judges a spec; "layout", "nonfinite", "inconsistent"),
            ``message``, and for a spec, ``suggested`` and ``clipped``.
        batches: One plain record per batch: ``batch``, ``framework``,
            ``shape``, ``dtype``, ``data_format``, ``images``, ``nan``,
            ``posinf``, ``neginf``, ``min``, ``max``, ``mean``, ``std``
            (per channel, as stored), ``detected``, ``confidence``,
            ``certain``, ``clipped`` (the share of pixels restored outside
            [0, 255] with ``restored_with``).
        expected: The `PreprocessSpec` the model expects, or None.
        note: What the model said about its input, in words.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import audit, preprocess_input
        >>> photo = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
        >>> twice = preprocess_input(preprocess_input(photo, "tf"), "tf")  # normalized twice
        >>> report = audit(twice, "MobileNetV2", data_format="channels_last")
        >>> report.ok, [f.kind for f in report.findings]
        (False, ['normalized-twice'])
    """

    def __init__(self, judged: Sequence[Judged], findings: list[Record], expected: Expectation) -> None:
        self.batches = [j.record for j in judged]
        self.findings = findings
        self.expected = expected.spec
        self.label = expected.label
        self.note = expected.note
        self._judged = list(judged)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        """Plain data, JSON-ready: ``ok``, ``expected``, ``batches`` and ``findings``."""
        expected = None
        if self.expected is not None:
            expected = {
                "name": self.expected.name,
                "given": self.label,
                "description": self.expected.description,
            }
        return {
            "ok": self.ok,
            "expected": expected,
            "note": self.note,
            "batches": [dict(record) for record in self.batches],
            "findings": [dict(finding) for finding in self.findings],
        }

    # -- the table ----------------------------------------------------------------------

    def __str__(self) -> str:
        rows = [[_cell(record, name) for name in _COLUMNS] for record in self.batches]
        widths = [max(len(name), *(len(row[i]) for row in rows)) for i, name in enumerate(_COLUMNS)]
        lines = [self._title()]
        for row in [list(_COLUMNS), *rows]:
            lines.append(
                "  ".join(f"{cell:<{width}}" for cell, width in zip(row, widths, strict=True)).rstrip()
            )
        if self.ok:
            lines.append("nothing found")
        else:
            lines.append(f"{len(self.findings)} finding{'s' if len(self.findings) != 1 else ''}:")
            lines.extend(f"- batch {f.batch}, {f.kind}: {f.message}" for f in self.findings)
        return "\n".join(lines)

    __repr__ = __str__

    def _title(self) -> str:
        count = len(self.batches)
        head = f"audit of {count} batch{'es' if count != 1 else ''}"
        if self.expected is not None:
            given = (
                f"{self.label} ({self.expected.name!r})"
                if self.label != self.expected.name
                else repr(self.label)
            )
            head += f", expected: {given}"
        return head + (f"; {self.note}" if self.note else "")

    # -- the contact sheet ----------------------------------------------------------------

    def sheet(self, limit: int = 8, columns: int | None = None, padding: int = 2) -> np.ndarray:
        """The first images of each batch, restored exactly, one captioned grid per batch.

        Each batch is restored with the spec the model expects (so a wrong
        pipeline shows as the wrong picture), or with the detected mode when
        nothing is expected and the detection is certain; a batch with
        neither is a grey strip. Nothing is stretched.

        Args:
            limit: At most this many images per batch (up to 16 are kept).
            columns: Images per row; None for all `limit` in one row.
            padding: Pixels between cells.

        Returns:
            One uint8 ``(height, width, 3)`` picture.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise DeprocessError(f"Expected `limit` to be an integer ≥ 1. Received: limit={limit!r}.")
        blocks = [self._block(judged, limit, columns, padding) for judged in self._judged]
        if not blocks:
            raise DeprocessError("Expected at least one batch to draw. Received an audit of none.")
        width = max(b.shape[1] for b in blocks)
        padded = [np.pad(b, ((0, 0), (0, width - b.shape[1]), (0, 0))) for b in blocks]
        return np.concatenate(padded, axis=0)

    def _block(self, judged: Judged, limit: int, columns: int | None, padding: int) -> np.ndarray:
        record, kept = judged.record, judged.kept
        found = [f.kind for f in self.findings if f.batch == record.batch]
        if judged.spec is None or kept is None:
            caption = f"batch {record.batch}: no spec to restore with"
            cells = [np.full((32, 32, 3), 64, np.uint8)]
        else:
            images = _restored(kept[:limit], judged)
            cells = [to_rgb(image) for image in images.reshape(-1, *images.shape[-3:])]
            caption = f"batch {record.batch}: restored with {judged.spec.name!r}"
        if record.detected is not None:
            caption += f"; looks like {record.detected!r} ({record.confidence:.0%})"
        caption += f"; {', '.join(found)}" if found else "; nothing found"
        height, width = max(c.shape[0] for c in cells), max(c.shape[1] for c in cells)
        layout = GridLayout(
            len(cells), min(columns or len(cells), len(cells)), height, width, padding, CAPTION_HEIGHT
        )
        canvas = layout.canvas(0)
        for i, cell in enumerate(cells):
            y, x = layout.origin(i)
            canvas[y : y + cell.shape[0], x : x + cell.shape[1]] = cell
        _draw_caption(canvas, caption)
        return canvas


def _restored(kept: np.ndarray, judged: Judged) -> np.ndarray:
    """The kept images restored exactly, channels last; uint8 ones (raw pixels) as they are."""
    if kept.dtype == np.uint8:
        return np.moveaxis(kept, channel_position(kept.ndim, judged.data_format), -1)
    return to_images(kept, judged.spec, data_format=judged.data_format, check=False)


def _draw_caption(canvas: np.ndarray, caption: str) -> None:
    from PIL import Image, ImageDraw

    strip = Image.fromarray(canvas[:CAPTION_HEIGHT])
    ImageDraw.Draw(strip).text((2, 1), caption, fill=(230, 230, 230))
    canvas[:CAPTION_HEIGHT] = np.asarray(strip)


def _cell(record: Record, column: str) -> str:
    if column == "batch":
        return str(record.batch)
    if column == "shape":
        return "(" + ", ".join(str(d) for d in record.shape) + ")"
    if column == "dtype":
        return str(record.dtype)
    if column == "detected":
        return _detected(record)
    if column == "clipped":
        return "-" if record.clipped is None else f"{record.clipped:.1%}"
    if column == "NaN/Inf":
        return f"{record.nan}/{record.posinf + record.neginf}"
    if column == "range":
        return "-" if record.min is None else f"[{_number(record.min)}, {_number(record.max)}]"
    return _per_channel(record[column])


def _detected(record: Record) -> str:
    if record.detected is None:
        return "-"
    text = f"{record.detected} {record.confidence:.0%}"
    return text if record.certain else text + " ?"


def _number(value: float) -> str:
    return f"{value:.4g}"


def _per_channel(values: list[float] | None) -> str:
    return "-" if values is None else " ".join(_number(v) for v in values)
