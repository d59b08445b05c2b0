"""`log_inputs`: the exact images of a training batch, to a ``torch.utils.tensorboard.SummaryWriter``."""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from keras_deprocess.auditing import audit
from keras_deprocess.errors import DeprocessError
from keras_deprocess.logging.summary import EXTRA, audit_markdown, image_in, logged_images, positive
from keras_deprocess.restore import switch

__all__ = ["log_inputs"]

# The tags each writer has written an audit for: the audit is logged the first time only.
_AUDITED: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def log_inputs(
    writer: Any,
    tag: str,
    batch: Any,
    model: Any,
    step: int,
    *,
    max_images: int = 8,
    key: Any = None,
    data_format: str | None = None,
    check: bool = True,
) -> np.ndarray:
    """Log the exact images of a batch to a ``torch.utils.tensorboard.SummaryWriter``.

    The first `max_images` images of `batch` are restored exactly
    (`to_images`: uint8, never stretched; uint8 batches are logged as they
    are) and written with ``writer.add_images(tag, images, step,
    dataformats="NHWC")``: one picture per step, the images side by side, 8
    to a row, with no padding between them. The first time a writer sees
    `tag`, the batch's `audit` is written too, as text under ``tag +
    "/audit"`` (``add_text``).

    Call it in the training loop, e.g. every 100 steps:
    ``if step % 100 == 0: log_inputs(writer, "inputs", batch, preprocess, step)``.

    Args:
        writer: A ``torch.utils.tensorboard.SummaryWriter`` (TensorBoard
            installed: ``pip install 'keras-deprocess[tensorboard]'``), or
            anything with its ``add_images`` and ``add_text``.
        tag: The summary's name.
        batch: What the loader yields: a tensor, an ``(x, y)`` tuple or a
            dict holding the images (`key`), as for `audit`.
        model: What produced the images: the torchvision pipeline, a name
            ("imagenet"), a handle or a `PreprocessSpec`, as for `to_images`;
            None detects the mode from the values.
        step: The global step.
        max_images: Images logged.
        key: Where the images are in a dict batch.
        data_format: The layout. None: 'channels_first' for PyTorch tensors.
        check: Check the values against the spec as they are restored
            (`SpecMismatchWarning`).

    Returns:
        The logged images, uint8 ``(k, H, W, 3)``.

    Example:
        >>> import tempfile, torch
        >>> from torch.utils.tensorboard import SummaryWriter
        >>> from keras_deprocess import log_inputs
        >>> images = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
        >>> batch = ((images / 255 - 0.5) / 0.5, torch.zeros(4))  # Normalize(0.5, 0.5) after ToTensor
        >>> with SummaryWriter(tempfile.mkdtemp()) as writer:
        ...     logged = log_inputs(writer, "inputs", batch, "half", step=0)
        >>> bool((torch.from_numpy(logged).permute(0, 3, 1, 2) == images).all())
        True
    """
    if not (callable(getattr(writer, "add_images", None)) and callable(getattr(writer, "add_text", None))):
        raise DeprocessError(
            "Expected a torch.utils.tensorboard.SummaryWriter (with add_images and add_text). Received an "
            f"object of type {type(writer).__qualname__}. Make one with SummaryWriter(log_dir) ({EXTRA})."
        )
    if not isinstance(tag, str) or not tag:
        raise DeprocessError(f"Expected `tag` to be a non-empty string. Received: tag={tag!r}.")
    max_images = positive("max_images", max_images)
    check = switch("check", check)
    x = image_in(batch, key)
    images = logged_images(x, model, max_images, data_format, check)
    writer.add_images(tag, images, global_step=step, dataformats="NHWC")
    tags = _tags_audited(writer)
    if tag not in tags:
        tags.add(tag)
        writer.add_text(
            f"{tag}/audit", audit_markdown(audit(x, model, data_format=data_format)), global_step=step
        )
    return images


_BY_ID: dict[int, set[str]] = {}


def _tags_audited(writer: Any) -> set[str]:
    try:
        return _AUDITED.setdefault(writer, set())
    except TypeError:  # a writer that cannot be weakly referenced
        return _BY_ID.setdefault(id(writer), set())
