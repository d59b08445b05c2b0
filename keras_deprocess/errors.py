"""The package's one exception class."""

from __future__ import annotations

__all__ = ["DeprocessError"]


class DeprocessError(ValueError):
    """Raised for any invalid argument or input to keras-deprocess.

    It subclasses `ValueError`, so code that already catches the `ValueError`
    raised by Keras's own `preprocess_input` keeps working. Every message says
    what was expected, what was received, and what to do about it.
    """
