"""`audit`: what a pipeline actually feeds a model, compared with what the model expects."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from keras_deprocess.auditing.batches import SAMPLES_PER_BATCH, batches_of
from keras_deprocess.auditing.expected import expectation_of
from keras_deprocess.auditing.judge import Judged, judge_batch
from keras_deprocess.auditing.records import Record
from keras_deprocess.auditing.report import AuditReport
from keras_deprocess.errors import DeprocessError, shown

__all__ = ["audit", "audit_batches"]


def audit(
    data: Any,
    model: Any = None,
    *,
    batches: int = 1,
    key: Any = None,
    data_format: str | None = None,
) -> AuditReport:
    """Look at what a pipeline feeds a model, and compare it with what the model expects.

    For each of the first `batches` batches, the report gives the detected
    mode with its confidence (`detect_mode`), NaN and ±Inf counts, the value
    range and per-channel means and standard deviations, and the share of
    pixels that restore outside [0, 255]. With `model`, it judges the values
    against the model's spec with the checks every restore makes (a
    `SpecMismatchWarning` there, a finding here): a Keras 'caffe' name on
    torchvision-normalized data, data normalized twice, [0, 1] data for a
    [0, 255] model and the reverse, CLIP against ImageNet statistics, and a
    layout the data or the model contradicts. Without `model`, batches whose
    certain detections differ are a finding. Correct pipelines give none:
    the checks do not fire on data that fits.

    Data:
        - one batch: an array or tensor (NumPy, TensorFlow, PyTorch, JAX),
          or an ``(x, y)`` tuple or a dict holding one;
        - a ``tf.data.Dataset``, a Keras ``PyDataset``, a torch
          ``DataLoader`` or ``Dataset``, a Hugging Face
          ``datasets.Dataset``, any iterable of batches;
        - the images are ``x`` of ``(x, y[, sample_weight])`` records, or a
          dict's ``pixel_values``, ``image``, ``images``, ``img``,
          ``input``, ``inputs`` or ``x`` (the one image-like entry
          otherwise); `key` chooses (a dict key, or a position in tuples).
        - Datasets of single images (rank 3: a torch ``Dataset``, an
          unbatched ``tf.data.Dataset``, Hugging Face rows, PIL images) are
          taken 32 images to a batch.

    Args:
        data: What the pipeline yields, as above.
        model: What the model expects: a keras.applications name, mode or
            preset ("ResNet50", "imagenet"), a `PreprocessSpec`, a
            torchvision pipeline, timm config or Hugging Face processor, or
            a Keras model (its keras.applications name, or its own
            Rescaling/Normalization layers, `spec_from_model`; its input
            shape gives the layout). None: describe the data only.
        batches: How many batches to look at (≥ 1).
        key: Where the images are in each record, when not found alone.
        data_format: The layout of the batches. None: 'channels_first' for
            PyTorch tensors, else `keras.config.image_data_format()`.

    Returns:
        An `AuditReport`: printed, a table; ``.ok``, ``.findings``,
        ``.batches``, ``.to_dict()``, ``.sheet()``.

    Raises:
        DeprocessError: For data with no images to find, a model no spec
            can be read from, or `batches` below 1.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import audit, preprocess_input
        >>> photo = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
        >>> batch = preprocess_input(photo, "imagenet", data_format="channels_last")
        >>> audit(batch, "imagenet", data_format="channels_last").ok
        True
        >>> report = audit(batch, "ResNet50", data_format="channels_last")  # a Keras 'caffe' model
        >>> report.findings[0].kind, report.findings[0].suggested
        ('whole-elsewhere', 'imagenet')
    """
    if isinstance(batches, bool) or not isinstance(batches, int) or batches < 1:
        raise DeprocessError(f"Expected `batches` to be an integer ≥ 1. Received: batches={shown(batches)}.")
    labelled = ((str(i), x) for i, x in enumerate(batches_of(data, key, batches)))
    return audit_batches(labelled, model, data_format=data_format, limit=batches)


def audit_batches(
    labelled: Iterable[tuple[str, Any]], model: Any, *, data_format: str | None, limit: int | None = None
) -> AuditReport:
    """Audit batches given with their labels (the command line's npz keys): `audit`'s engine.

    Raises:
        DeprocessError: As `audit`; and when there is no batch at all.
    """
    expected = expectation_of(model)
    judged: list[Judged] = []
    findings: list[Record] = []
    for label, x in labelled:
        result = judge_batch(label, x, expected, data_format)
        judged.append(result)
        findings.extend(result.findings)
        if expected.spec is None:
            findings.extend(_inconsistent(judged))
        if limit is not None and len(judged) >= limit:
            break
    if not judged:
        raise DeprocessError(
            "Expected at least one batch to audit. Received an empty pipeline (it yielded nothing, or "
            f"fewer than one sample; samples are taken {SAMPLES_PER_BATCH} to a batch)."
        )
    return AuditReport(judged, findings, expected)


def _inconsistent(judged: list[Judged]) -> list[Record]:
    """The last batch's certain detection, when it differs from an earlier batch's."""
    last = judged[-1].record
    if not last.certain:
        return []
    for earlier in judged[:-1]:
        record = earlier.record
        last_spec = judged[-1].spec
        if (
            record.certain
            and earlier.spec is not None
            and last_spec is not None
            and not earlier.spec.same_as(last_spec)
        ):
            return [
                Record(
                    batch=last.batch,
                    kind="inconsistent",
                    message=f"batch {last.batch} looks preprocessed as {last.detected!r}, batch "
                    f"{record.batch} as {record.detected!r}: the pipeline does not preprocess every "
                    "batch the same way.",
                )
            ]
    return []
