"""`detect_mode`: which preprocessing most likely produced an array.

"Why did 255 become 151.061?" Because 'caffe' subtracts 103.939 from it.
Each candidate spec is inverted on (a sample of) the array, and the result
is scored as an image:

- **range**: a correct inverse lands in [0, 255]; the share of values
  outside it (beyond half a level) counts heavily against a candidate;
- **quantization**: images that started as uint8 come back within float
  error of whole numbers under the right spec, and nowhere near under a
  wrong one (fractional parts spread evenly, mean distance 0.25);
- **spread**: natural images use most of [0, 255]; between candidates
  that both fit, the one giving the wider range wins.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from keras_deprocess._backends import family_of
from keras_deprocess._config import resolve_data_format
from keras_deprocess.presets import PRESETS
from keras_deprocess.registry import MODES
from keras_deprocess.spec import PreprocessSpec
from keras_deprocess.transform import restore_original_image_from_array

__all__ = ["ModeGuess", "detect_mode"]

_MAX_SAMPLES = 1 << 18
# Log-odds weights of the three signals; see the module docstring.
_RANGE_WEIGHT = 40.0
_QUANTIZATION_WEIGHT = 16.0
_SPREAD_WEIGHT = 3.0


class ModeGuess(NamedTuple):
    """One candidate of `detect_mode`, best first.

    Attributes:
        name: The mode or preset name; candidates with the same map are
            merged ("tf" also stands for the 'inception' and 'half' presets).
        spec: Its `PreprocessSpec`.
        confidence: In [0, 1]; the confidences of all candidates sum to 1.
        out_of_range: Share of values restored outside [-0.5, 255.5].
        quantization: Mean distance of restored values to whole numbers:
            about 0 for uint8-born images under the right spec, 0.25 at random.
        aliases: Other names with the same map.
    """

    name: str
    spec: PreprocessSpec
    confidence: float
    out_of_range: float
    quantization: float
    aliases: tuple[str, ...]


def _candidates() -> list[tuple[PreprocessSpec, tuple[str, ...]]]:
    unique: list[tuple[PreprocessSpec, list[str]]] = []
    for name, spec in (*MODES.items(), *PRESETS.items()):
        for known, names in unique:
            if known.same_as(spec):
                names.append(name)
                break
        else:
            unique.append((spec, [name]))
    return [(spec, tuple(names)) for spec, names in unique]


def detect_mode(x: Any, data_format: str | None = None) -> list[ModeGuess]:
    """Rank the registered modes and presets by how well they explain `x`.

    Args:
        x: A preprocessed array or tensor (NumPy, TensorFlow, JAX, torch),
            rank 3 or more, with 3 channels.
        data_format: 'channels_last', 'channels_first', or None for
            `keras.config.image_data_format()`.

    Returns:
        A list of `ModeGuess`, best first, confidences summing to 1.

    Limits:
        - Specs with the same map cannot be told apart: 'tf', 'inception'
          and 'half' are one candidate, and so are 'torch' and 'imagenet'.
        - Quantization is the strongest signal. Arrays from resized,
          blurred, augmented or optimized images (not whole numbers in
          pixel space) leave range and spread: 'torch' and 'clip', whose
          maps differ by about 1%, then stay close.
        - A flat or very dark image fits several candidates; confidence
          says so.
        - Only the registered modes and presets are candidates: a custom
          spec is recovered by `infer_spec` from the function instead.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import detect_mode, preprocess_input
        >>> image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
        >>> detect_mode(preprocess_input(image, "VGG16"), "channels_last")[0].name
        'caffe'
    """
    data_format = resolve_data_format(data_format)
    sample = _sample(_to_numpy(x), data_format)
    scored = []
    for spec, names in _candidates():
        restored = np.asarray(
            restore_original_image_from_array(
                sample, spec, data_format="channels_last", dtype="float64", clip=False
            )
        )
        out_of_range = float(np.mean((restored < -0.5) | (restored > 255.5)))
        quantization = float(np.mean(np.abs(restored - np.rint(restored))))
        low, high = np.percentile(restored, [0.5, 99.5])
        spread = float(np.clip(min(high, 255.0) - max(low, 0.0), 0.0, 255.0) / 255.0)
        logit = -_RANGE_WEIGHT * out_of_range - _QUANTIZATION_WEIGHT * quantization + _SPREAD_WEIGHT * spread
        scored.append((logit, spec, names, out_of_range, quantization))
    top = max(s[0] for s in scored)
    weights = [math.exp(s[0] - top) for s in scored]
    total = sum(weights)
    guesses = [
        ModeGuess(names[0], spec, w / total, out_of_range, quantization, names[1:])
        for (_, spec, names, out_of_range, quantization), w in zip(scored, weights, strict=True)
    ]
    return sorted(guesses, key=lambda g: -g.confidence)


def _to_numpy(x: Any) -> np.ndarray:
    family = family_of(x)
    if family in (None, "numpy"):
        return np.asarray(x)
    if family == "tensorflow":
        return np.asarray(x.numpy())
    import keras

    return np.asarray(keras.ops.convert_to_numpy(x))


def _sample(x: np.ndarray, data_format: str) -> np.ndarray:
    """Up to `_MAX_SAMPLES` pixels as (1, 1, P, 3) float64, evenly strided."""
    if x.ndim < 3:
        # Let restore raise its rank error, with its wording.
        restore_original_image_from_array(x, mode="caffe", data_format=data_format)
    axis = -1 if data_format == "channels_last" else (0 if x.ndim == 3 else 1)
    pixels = np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis])
    stride = max(1, len(pixels) // _MAX_SAMPLES)
    pixels = pixels[::stride].astype(np.float64)
    if pixels.shape[-1] != 3 or len(pixels) == 0:
        restore_original_image_from_array(x, mode="caffe", data_format=data_format)
    return pixels.reshape(1, 1, -1, pixels.shape[-1])
