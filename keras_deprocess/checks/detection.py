"""How well each registered mode explains a host sample: the scoring behind `detect_mode`.

"Why did 255 become 151.061?" Because 'caffe' subtracts 103.939 from it.
Each candidate spec is inverted on the sample, and the result is scored as
an image:

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
from typing import NamedTuple

import numpy as np

from keras_deprocess.core.plan import Plan
from keras_deprocess.core.ranges import outside_image
from keras_deprocess.core.spec import PreprocessSpec
from keras_deprocess.engines import run
from keras_deprocess.registry import MODES, PRESETS, list_models

__all__ = ["ModeGuess", "candidates", "describe_guess", "score_sample"]

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


def candidates() -> list[tuple[PreprocessSpec, tuple[str, ...]]]:
    """The registered RGB modes and presets, those with the same map merged under the first name."""
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


def score_sample(pixels: np.ndarray) -> list[ModeGuess]:
    """Rank the candidates on `pixels`, a (P, 3) float64 host sample of finite pixels, best first."""
    sample = pixels.reshape(1, 1, -1, pixels.shape[-1])
    scored = []
    for spec, names in candidates():
        restored = run(Plan.inverse(spec, 3, "float64", clip=False), sample)
        with np.errstate(over="ignore", invalid="ignore"):
            out_of_range = float(np.mean(outside_image(restored)))
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


def describe_guess(guess: ModeGuess) -> str:
    """ "'caffe' (99.9% confident; the preprocessing of all 5 of ResNet101, ..., VGG19)", for messages.

    Every model is named: a user looking for theirs must find it.
    """
    names = (guess.name, *guess.aliases)
    models = [e.name for e in list_models("constructor") if e.mode in names]
    users = f"; the preprocessing of all {len(models)} of {', '.join(models)}" if models else ""
    also = f"; also called {', '.join(map(repr, guess.aliases))}" if guess.aliases else ""
    return f"{guess.name!r} ({guess.confidence:.1%} confident{users}{also})"
