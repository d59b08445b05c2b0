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

from keras_deprocess.errors import DeprocessError
from keras_deprocess.math.host import affine_blocked
from keras_deprocess.registry import MODES, PRESETS, list_models
from keras_deprocess.restore import channel_axis, data_format_for, framework_and_array
from keras_deprocess.spec import PreprocessSpec

__all__ = ["ModeGuess", "describe_guess", "detect_mode"]

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

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import detect_mode, preprocess_input
        >>> image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
        >>> best = detect_mode(preprocess_input(image, "DenseNet121"), "channels_last")[0]
        >>> best.name, best.aliases, best.confidence > 0.99
        ('torch', ('imagenet',), True)
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
        if not spec.is_affine:  # Lab data is not an RGB image under any of these
            continue
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
        data_format: 'channels_last', 'channels_first', or None:
            'channels_first' for PyTorch tensors, else
            `keras.config.image_data_format()`.

    Returns:
        A list of `ModeGuess`, best first, confidences summing to 1.

    Raises:
        DeprocessError: For an empty array, one without a finite pixel, a
            non-real dtype, or a wrong channel count.

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
    backend, x = framework_and_array(x)
    data_format = data_format_for(backend, data_format)
    sample = _sample(backend.to_numpy(x), data_format)
    scored = []
    for spec, names in _candidates():
        with np.errstate(over="ignore", invalid="ignore"):
            restored = affine_blocked(sample, spec.inverse_affine(), 3, "float64", rounding=False, clip=False)
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


def _sample(x: np.ndarray, data_format: str) -> np.ndarray:
    """Up to `_MAX_SAMPLES` finite pixels as (1, 1, P, 3) float64, evenly strided."""
    if x.dtype.kind not in "fiu" and x.dtype.name != "bfloat16":
        raise DeprocessError(
            f"Expected a real floating-point array of preprocessed images. Received dtype {x.dtype}. "
            "Cast it to float32 first."
        )
    axis = channel_axis(x.shape, MODES["caffe"], data_format, "to detect the mode (every candidate is RGB)")
    pixels = np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis])
    stride = max(1, len(pixels) // _MAX_SAMPLES)
    pixels = pixels[::stride].astype(np.float64)
    pixels = pixels[np.isfinite(pixels).all(axis=1)]
    if len(pixels) == 0:
        raise DeprocessError(
            f"Expected at least one pixel with finite values to detect the mode from. Received shape "
            f"{x.shape}{' with no finite pixel' if x.size else ''}. Pass a non-empty array of "
            "preprocessed images."
        )
    return np.asarray(pixels.reshape(1, 1, -1, pixels.shape[-1]))


def describe_guess(guess: ModeGuess) -> str:
    """ "'caffe' (99.9% confident; the preprocessing of VGG16, VGG19, ...)", for messages."""
    names = (guess.name, *guess.aliases)
    models = [e.name for e in list_models("constructor") if e.mode in names]
    shown_models = ", ".join(models[:4]) + (f" and {len(models) - 4} more" if len(models) > 4 else "")
    users = f"; the preprocessing of {shown_models}" if models else ""
    also = f"; also called {', '.join(map(repr, guess.aliases))}" if guess.aliases else ""
    return f"{guess.name!r} ({guess.confidence:.1%} confident{users}{also})"
