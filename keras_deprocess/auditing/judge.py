"""One batch judged: what it holds, what it looks like, and where it contradicts what the model expects.

Every judgement is one the library already makes elsewhere, reused here:
the layout (`core.layout`, as every restore checks it), the mode
(`detect_mode`), the spec against the values (`checks.mismatch.spec_mismatch`
on the same strided sample a restore checks, worded by `describe_mismatch`)
and the clipped pixels (`checks.clipping`). The audit adds the
description: NaN and ±Inf counts, the range, per-channel means and spreads.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from keras_deprocess.auditing.expected import Expectation
from keras_deprocess.auditing.records import Record
from keras_deprocess.checks.clipping import clipped_pixels
from keras_deprocess.checks.mismatch import MISMATCH_SAMPLE_PIXELS, spec_mismatch
from keras_deprocess.checks.sample import strided_pixels
from keras_deprocess.core.finite import count_nonfinite
from keras_deprocess.core.layout import (
    assumption,
    channel_axis,
    channel_position,
    data_format_for,
    layout_name,
    other_format,
)
from keras_deprocess.core.spec import PreprocessSpec
from keras_deprocess.discovery.auto import AUTO_CONFIDENCE, AUTO_MAX_QUANTIZATION
from keras_deprocess.discovery.detect import detect_mode
from keras_deprocess.errors import DeprocessError
from keras_deprocess.frameworks import framework_and_array
from keras_deprocess.registry import MODES
from keras_deprocess.restore import describe_mismatch

__all__ = ["KEPT_IMAGES", "Judged", "judge_batch"]

# Images of each batch kept (on the host, as fed) for the report's contact sheet.
KEPT_IMAGES = 16


class Judged(NamedTuple):
    """A batch's record, its findings, and its first images as fed, for the sheet."""

    record: Record
    findings: list[Record]
    kept: np.ndarray | None
    data_format: str
    spec: PreprocessSpec | None


def judge_batch(label: str, x: Any, expected: Expectation, data_format: str | None) -> Judged:
    """The record and findings of one batch.

    Raises:
        DeprocessError: For a traced tensor, or a batch that is no images
            (rank below 3, a dtype that is not real).
    """
    backend, x = framework_and_array(x)
    if backend.is_traced(x):
        raise DeprocessError(
            "Expected concrete values to audit. Received a traced array (inside tf.function, jax.jit, "
            "torch.compile or a symbolic Keras model), which has none. Audit the data outside the trace."
        )
    shape = tuple(int(d or 0) for d in backend.shape(x))
    dtype = backend.dtype_name(x)
    if len(shape) < 3 or not (dtype.startswith(("float", "int", "uint")) or dtype == "bfloat16"):
        raise DeprocessError(
            f"Expected images to audit: rank 3 or more, of a real dtype. Received shape {shape} and "
            f"dtype {dtype} (batch {label})."
        )
    host = backend.to_numpy(x)
    findings: list[Record] = []
    layout = _layout(label, shape, backend.channels_first_by_default, data_format, expected, findings)
    record = Record(
        batch=label,
        framework=backend.name,
        shape=list(shape),
        dtype=dtype,
        data_format=layout,
        images=int(np.prod(shape[:-3])) if len(shape) > 3 else 1,
    )
    axis = channel_position(len(shape), layout)
    _describe(record, host, axis)
    if record.nan or record.posinf or record.neginf:
        findings.append(
            Record(
                batch=label,
                kind="nonfinite",
                message=f"{record.nan} NaN, {record.posinf} +Inf and {record.neginf} -Inf values "
                f"(of {host.size}): the model trains on them. Find the step that makes them.",
            )
        )
    spec = expected.spec
    channels = shape[axis]
    judged = _detect(record, host, layout, channels)
    if spec is not None and spec.channels in (None, channels):
        found = _mismatch(host, axis, spec)
        if found is not None:
            findings.append(
                Record(
                    batch=label,
                    kind=found.kind,
                    message=describe_mismatch(found, spec, expected.label or spec, audit=True),
                    suggested=found.suggested or None,
                    clipped=round(found.clipped, 4),
                )
            )
    used = spec if spec is not None and spec.channels in (None, channels) else judged
    record["clipped"] = _clipped_share(host, axis, used)
    record["restored_with"] = used.name if used is not None else None
    kept = np.array(host[:KEPT_IMAGES] if len(shape) > 3 else host[None])
    return Judged(record, findings, kept, layout, used)


def _layout(
    label: str,
    shape: tuple[int, ...],
    channels_first_by_default: bool,
    data_format: str | None,
    expected: Expectation,
    findings: list[Record],
) -> str:
    """The layout to read the batch in; a finding when the data contradict the assumed or the model's."""
    assumed = assumption(channels_first_by_default, data_format)
    layout = data_format_for(channels_first_by_default, data_format)
    spec = expected.spec if expected.spec is not None and expected.spec.channels else MODES["caffe"]
    try:
        channel_axis(shape, spec, layout, "to audit the batch", assumed_because=assumed)
    except DeprocessError as error:
        other = other_format(layout)
        if shape[channel_position(len(shape), other)] != spec.channels:
            raise
        findings.append(Record(batch=label, kind="layout", message=str(error)))
        return other
    model_layout, model_shape = expected.data_format, expected.input_shape
    if model_layout is not None and model_shape is not None and model_layout != layout:
        findings.append(
            Record(
                batch=label,
                kind="layout",
                message=f"the model takes {model_layout} input, {_shape_text(model_shape)}; the batch is "
                f"{layout} ({layout_name(layout, True)}), shape {shape}. Transpose the batch in the pipeline "
                "(or build the model for the other layout).",
            )
        )
    return layout


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _describe(record: Record, host: np.ndarray, axis: int) -> None:
    """Counts of NaN and ±Inf; range, per-channel means and standard deviations of the finite values."""
    nan, posinf, neginf = count_nonfinite(host) if host.dtype.kind == "f" else (0, 0, 0)
    record.update(nan=nan, posinf=posinf, neginf=neginf)
    channels_last = np.moveaxis(host, axis, -1).reshape(-1, host.shape[axis])
    if nan or posinf or neginf:
        channels_last = channels_last[np.isfinite(channels_last).all(axis=1)]
    if channels_last.size == 0:
        record.update(min=None, max=None, mean=None, std=None)
        return
    record.update(
        min=float(channels_last.min()),
        max=float(channels_last.max()),
        mean=[float(v) for v in channels_last.mean(axis=0, dtype=np.float64)],
        std=[float(v) for v in channels_last.std(axis=0, dtype=np.float64)],
    )


def _detect(record: Record, host: np.ndarray, layout: str, channels: int) -> PreprocessSpec | None:
    """The detected mode, with its confidence; its spec when the detection is certain (as mode='auto')."""
    record.update(detected=None, confidence=None, certain=False)
    if channels != 3:
        return None
    try:
        best = detect_mode(host, data_format=layout)[0]
    except DeprocessError:
        return None
    certain = best.quantization < AUTO_MAX_QUANTIZATION and best.confidence >= AUTO_CONFIDENCE
    record.update(detected=best.name, confidence=round(float(best.confidence), 4), certain=certain)
    return best.spec if certain else None


def _mismatch(host: np.ndarray, axis: int, spec: PreprocessSpec) -> Any:
    """`spec_mismatch` on the strided sample every restore checks."""
    backend, array = framework_and_array(host)
    pixels = strided_pixels(backend, array, axis, MISMATCH_SAMPLE_PIXELS).astype(np.float64)
    return spec_mismatch(pixels[np.isfinite(pixels).all(axis=1)], spec)


def _clipped_share(host: np.ndarray, axis: int, spec: PreprocessSpec | None) -> float | None:
    """The share of pixels `spec` restores outside the image (any channel beyond half a level)."""
    if spec is None or (spec.channels is not None and host.shape[axis] != spec.channels):
        return None
    with np.errstate(invalid="ignore"):
        mask = clipped_pixels(np.moveaxis(host, axis, -1), spec).mask
    return round(float(mask.mean()), 6) if mask.size else None
