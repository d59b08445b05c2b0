"""When the caller names no model: the policy that takes a detected mode, or says why not.

With ``mode='auto'``, or with neither `model` nor `mode`, the detected
candidate is taken only when it is clear-cut: at or above `AUTO_CONFIDENCE`,
and restoring the values to whole numbers (range and spread alone cannot tell
'torch' from 'clip', whose maps differ by about a percent). Otherwise the
error names what the values look like, every model that preprocesses so,
and how to pass it.
"""

from __future__ import annotations

from typing import Any

from keras_deprocess.checks.detection import describe_guess
from keras_deprocess.core.spec import PreprocessSpec
from keras_deprocess.discovery.detect import detect_mode
from keras_deprocess.errors import DeprocessError, advise
from keras_deprocess.registry import MODES, list_models

__all__ = ["AUTO_CONFIDENCE", "AUTO_MAX_QUANTIZATION", "detected_spec"]

# `mode='auto'` takes the detected candidate only at or above this confidence,
AUTO_CONFIDENCE = 0.9
# and only when it restores whole numbers: range and spread alone cannot tell
# maps apart that differ by a percent ('torch' and 'clip').
AUTO_MAX_QUANTIZATION = 0.05

_NOT_WHOLE = (
    "do not restore to whole numbers under any candidate, as after resizing, augmentation or optimization"
)


def detected_spec(x: Any, data_format: str, *, asked: bool, traced: bool) -> PreprocessSpec:
    """The spec detected from `x`, when the detection is certain; else the error that says why not.

    Certain means at or above `AUTO_CONFIDENCE`, and restoring to whole numbers.
    `asked` is True for ``mode='auto'`` and False when the caller named
    neither `model` nor `mode`: the criteria are the same, the words differ.

    Raises:
        DeprocessError: Inside a trace (no values to detect from), or when the
            detection is not certain; the message names the detected mode and
            every model that preprocesses so.
    """
    if traced:
        raise DeprocessError(
            "Expected a model or mode: detecting the mode needs the values, and inside a traced "
            "function (tf.function, jax.jit, torch.compile, a symbolic Keras tensor) there are none. "
            "Pass the model's name, e.g. model='VGG16', or the mode, e.g. mode='caffe'."
        )
    guesses = detect_mode(x, data_format=data_format)
    best = guesses[0]
    whole = best.quantization < AUTO_MAX_QUANTIZATION
    if whole and best.confidence >= AUTO_CONFIDENCE:
        return best.spec
    if not asked:
        basis = "" if whole else f"; judged by their range alone, as they {_NOT_WHOLE}"
        raise DeprocessError(
            "Expected `model` or `mode`: the preprocessing to undo, which the values do not settle "
            f"beyond doubt. The values look like {describe_guess(best)}{basis}. Pass {_how(best.name)}."
        )
    if not whole:
        raise DeprocessError(
            f"Expected {advise(mode='auto')} to find a mode under which the values restore to whole pixel "
            f"values. Received values that {_NOT_WHOLE}; by their range alone they look like "
            f"{describe_guess(best)}, which is not enough to be sure. Pass the model or mode that "
            "produced them."
        )
    tied = [g for g in guesses if g.confidence >= 1 - AUTO_CONFIDENCE] or guesses[:2]
    raise DeprocessError(
        f"Expected {advise(mode='auto')} to find one clear mode (confidence ≥ {AUTO_CONFIDENCE:.0%}). The "
        f"values fit several: {'; '.join(describe_guess(g) for g in tied)}. Pass the model or "
        "mode that produced them."
    )


def _how(name: str) -> str:
    """How to pass the detected preprocessing: the mode, or a model's own name."""
    if name in MODES:
        return f"{advise(mode=name)}, or the model's name, e.g. {advise(model=_example_model(name))}"
    return advise(model=name)


def _example_model(mode: str) -> str:
    """A well-known model of `mode` (the most used first), for examples in messages."""
    constructors = [e.name for e in list_models("constructor") if e.mode == mode]
    for known in _WELL_KNOWN:
        if known in constructors:
            return known
    return constructors[0] if constructors else mode


_WELL_KNOWN = ("VGG16", "ResNet50V2", "DenseNet121", "EfficientNetB0")
