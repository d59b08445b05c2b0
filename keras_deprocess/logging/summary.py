"""What both loggers write: a batch's first images restored exactly, and the first batch's audit as text."""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_deprocess.auditing import AuditReport
from keras_deprocess.auditing.batches import image_in
from keras_deprocess.core.layout import channel_position, data_format_for
from keras_deprocess.errors import DeprocessError, shown
from keras_deprocess.frameworks import framework_and_array
from keras_deprocess.images import to_images

__all__ = ["EXTRA", "audit_markdown", "image_in", "logged_images", "positive"]

EXTRA = "pip install 'keras-deprocess[tensorboard]'"


def logged_images(x: Any, model: Any, max_images: int, data_format: str | None, check: bool) -> np.ndarray:
    """The first `max_images` images of `x`, restored exactly: uint8 ``(k, H, W, 3)`` on the host."""
    backend, x = framework_and_array(x)
    if len(backend.shape(x)) >= 4:
        x = x[:max_images]
    if backend.dtype_name(x) == "uint8":  # raw pixels, as fed to a model that preprocesses inside
        layout = data_format_for(backend.channels_first_by_default, data_format)
        host = backend.to_numpy(x)
        images = np.ascontiguousarray(np.moveaxis(host, channel_position(host.ndim, layout), -1))
    else:
        images = to_images(x, model, data_format=data_format, check=check)
    images = images.reshape(-1, *images.shape[-3:])
    if images.shape[-1] not in (1, 3, 4):
        raise DeprocessError(
            "Expected images with 1, 3 or 4 channels to log. Received restored images of shape "
            f"{images.shape}."
        )
    return images


def audit_markdown(report: AuditReport) -> str:
    """The report's table as a Markdown code block, which TensorBoard's text dashboard shows as is."""
    return "\n".join("    " + line for line in str(report).splitlines())


def positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise DeprocessError(f"Expected `{name}` to be an integer ≥ 1. Received: {name}={shown(value)}.")
    return int(value)
