"""The package's one exception class, and advice worded for the interface in use.

A message tells the caller what to do in the words of the interface they are
using: keywords in Python (``data_format='channels_first'``), flags on the
command line (``--data-format channels_first``). Library code writes its
advice through `advise` and `listing`; the command line switches the wording
with `speaking_cli` for the duration of a command.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

__all__ = ["DeprocessError", "SpecMismatchWarning", "advise", "listing", "setting", "shown", "speaking_cli"]


class DeprocessError(ValueError):
    """Raised for any invalid argument or input to keras-deprocess.

    It subclasses `ValueError`, so code that already catches the `ValueError`
    raised by Keras's own `preprocess_input` keeps working. Every message says
    what was expected, what was received, and what to do about it.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import DeprocessError, restore_original_image_from_array
        >>> try:
        ...     restore_original_image_from_array(np.zeros((2, 3, 8, 8), np.float32), "VGG16",
        ...                                       data_format="channels_last")
        ... except DeprocessError as error:
        ...     print(str(error).split(". ", 2)[-1])
        It has 3 channels on axis 1: pass data_format='channels_first'.
    """

    # TensorFlow's AutoGraph re-raises errors from a traced function as its
    # own StagingError unless they ask to pass through: callers inside
    # tf.function catch DeprocessError (and ValueError) as everywhere else.
    ag_pass_through = True


class SpecMismatchWarning(UserWarning):
    """Warned when the values contradict the spec the caller named: the picture would be wrong.

    Restoring with the wrong spec still gives a picture, a plausible and wrong
    one, so every eager restore checks a small strided sample of its input
    against the spec it was given (see the docs' "Never silently wrong").
    The message names the spec given, what the values look like, and the
    fix. Turn the check off with ``check=False`` (``--no-check`` on the
    command line); turn the warning into an error with
    ``warnings.simplefilter("error", SpecMismatchWarning)``.

    Example:
        >>> import warnings
        >>> import numpy as np
        >>> from keras_deprocess import SpecMismatchWarning, preprocess_input, to_images
        >>> photo = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
        >>> batch = preprocess_input(photo, "imagenet", data_format="channels_last")
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     _ = to_images(batch, "ResNet50", data_format="channels_last")
        >>> caught[0].category is SpecMismatchWarning
        True
    """


_CLI: ContextVar[bool] = ContextVar("keras_deprocess_cli", default=False)

# Keyword → the command line's flag for the same setting.
CLI_FLAGS = {
    "check": "--no-check",
    "model": "--model",
    "mode": "--model",
    "data_format": "--data-format",
    "key": "--key",
    "feature": "--feature",
    "chunk_mb": "--chunk-mb",
    "naming": "--naming",
    "force": "--force",
    "out": "--out",
    "l_key": "--l-key",
    "ab_key": "--ab-key",
}


@contextlib.contextmanager
def speaking_cli() -> Iterator[None]:
    """Word advice as command-line flags while the block runs."""
    token = _CLI.set(True)
    try:
        yield
    finally:
        _CLI.reset(token)


def on_cli() -> bool:
    return _CLI.get()


def advise(**settings: Any) -> str:
    """``data_format='channels_first'`` in Python; ``--data-format channels_first`` on the CLI.

    Keywords the command line has no flag for stay as keywords.
    """
    if on_cli() and all(key in CLI_FLAGS for key in settings):
        return " ".join(_flag(CLI_FLAGS[key], value) for key, value in settings.items())
    return ", ".join(f"{key}={value!r}" for key, value in settings.items())


def setting(name: str) -> str:
    """A setting's name as the interface in use spells it: ``key`` in Python, ``--key`` on the CLI."""
    return CLI_FLAGS[name] if on_cli() and name in CLI_FLAGS else name


def _flag(flag: str, value: Any) -> str:
    """A switch such as ``--no-check`` stands alone; other flags take their value."""
    return flag if flag.startswith("--no-") and value is False else f"{flag} {value}"


def listing() -> str:
    """Where the registry is listed, for the interface in use."""
    return "`keras-deprocess models`" if on_cli() else "keras_deprocess.list_models()"


def shown(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to `limit` characters so that a huge argument gives a short message."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text)} characters)"
