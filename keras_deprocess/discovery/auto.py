"""When the caller names no model: the policy that takes a detected mode, or says why not.

With ``mode='auto'`` the detected candidate is taken only when it is clear-cut:
at or above `AUTO_CONFIDENCE`, and restoring the values to whole numbers
(range and spread alone cannot tell 'torch' from 'clip', whose maps differ by
about a percent). With neither `model` nor `mode`, the error names what the
values look like and how to pass it.
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


def detected_spec(x: Any, data_format: str, *, auto: bool, traced: bool) -> PreprocessSpec:
    """The spec detected from `x` under ``mode='auto'``; without `auto`, the error that names it.

    Raises:
        DeprocessError: Inside a trace (no values to detect from); without
            `auto`, always, naming the detected mode; with `auto`, when the
            detection is not clear-cut.
    """
    if traced:
        raise DeprocessError(
            "Expected a model or mode: detecting the mode needs the values, and inside a traced "
            "function (tf.function, jax.jit, torch.compile, a symbolic Keras tensor) there are none. "
            "Pass the model's name, e.g. model='VGG16', or the mode, e.g. mode='caffe'."
        )
    guesses = detect_mode(x, data_format=data_format)
    best = guesses[0]
    if not auto:
        if best.name in MODES:
            example = advise(model=_example_model(best.name))
            how = f"{advise(mode=best.name)}, or the model's name, e.g. {example}"
        else:
            how = advise(model=best.name)
        whole = best.quantization < AUTO_MAX_QUANTIZATION
        basis = "" if whole else f"; judged by their range alone, as they {_NOT_WHOLE}"
        auto_would_work = whole and best.confidence >= AUTO_CONFIDENCE
        alternative = (
            f"; or {advise(mode='auto')} to use the detected preprocessing" if auto_would_work else ""
        )
        raise DeprocessError(
            "Expected `model` or `mode`: the preprocessing to undo. Received neither. "
            f"The values look like {describe_guess(best)}{basis}. Pass {how}{alternative}."
        )
    if best.quantization >= AUTO_MAX_QUANTIZATION:
        raise DeprocessError(
            "Expected mode='auto' to find a mode under which the values restore to whole pixel "
            f"values. Received values that {_NOT_WHOLE}; by their range alone they look like "
            f"{describe_guess(best)}, which is not enough to be sure. Pass the model or mode that "
            "produced them."
        )
    if best.confidence < AUTO_CONFIDENCE:
        tied = [g for g in guesses if g.confidence >= 1 - AUTO_CONFIDENCE] or guesses[:2]
        raise DeprocessError(
            f"Expected mode='auto' to find one clear mode (confidence ≥ {AUTO_CONFIDENCE:.0%}). The "
            f"values fit several: {'; '.join(describe_guess(g) for g in tied)}. Pass the model or "
            "mode that produced them."
        )
    return best.spec


def _example_model(mode: str) -> str:
    constructors = [e.name for e in list_models("constructor") if e.mode == mode]
    return constructors[0] if constructors else mode
