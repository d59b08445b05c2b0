"""Whether the data contradicts the spec the caller named, judged on a small host sample.

Restored with the wrong spec, preprocessed values still give a picture: a
plausible and wrong one. A 'caffe' name on torchvision-normalized data gives a
grey image, 'imagenet' on CLIP data one off by up to 28 levels, data
normalized twice a dark smudge. The values say so, and `spec_mismatch` reads
them:

- **whole numbers**: images that were uint8 restore to whole numbers under
  the right spec, and nowhere near under a wrong one. Values that are whole
  under the named spec acquit it; values whole under another candidate (and
  not under the named one) convict it.
- **normalized twice**: the named spec undone twice fits the image range (a
  second `preprocess_input`, or a second `Normalize` after `ToTensor`).
- **clipped**: more than a tenth of the values restore outside [0, 255].
- **narrow**: the named spec restores a near-constant image sitting on its
  own zero point (what normalized data looks like under a pixel-unit spec),
  while another candidate restores a full image.

Candidates are the registered RGB modes and presets (same maps merged), raw
pixels in [0, 255], and images scaled to [0, 1]. Lab specs are not judged
here (`keras_deprocess.checks.lab` checks their scales). What values cannot
tell: RGB from BGR (both orders restore to valid images), and a nearly flat
image whose colour is the spec's own mean pixel from normalized data.

Everything runs on one (P, 3) float64 array and a stacked (K, 3) table of
coefficients, so the whole judgement is a handful of vectorised NumPy calls.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from keras_deprocess.core.ranges import RESTORED_HIGH, RESTORED_LOW
from keras_deprocess.core.spec import PreprocessSpec
from keras_deprocess.registry import MODES, PRESETS

__all__ = ["MISMATCH_SAMPLE_PIXELS", "Mismatch", "spec_mismatch"]

# Pixels sampled, evenly strided. The signals are coarse (a mean distance to
# whole numbers of about 0 against about 0.25; shares of a few percent), so
# 768 values settle them (the mean's standard error is 0.005), and the whole
# judgement costs a few percent of restoring a batch.
MISMATCH_SAMPLE_PIXELS = 1 << 8
# Fewer values than this decide nothing: chance agreements become likely.
_MIN_VALUES = 48

# Mean distance to the nearest whole number: about 0.25 for values unrelated
# to the integers, about 0 (float error) for uint8-born images under the
# right spec.
_WHOLE = 0.02
_NOT_WHOLE = 0.1
# Shares of values restored outside [0, 255]: a candidate fits below the
# first; the named spec is contradicted beyond the second, counting only
# values further out than `_FAR_LEVELS` (a VAE's or an optimizer's overshoot
# of a few levels is no contradiction).
_FITS = 0.005
_FAR_OUTSIDE = 0.10
_FAR_LEVELS = 16.0
# Spreads, as shares of [0, 255] (the 1st to 99th percentile of restored values).
_FULL = 0.4
_NARROW_LEVELS = 8.0
# A restored sample within this many levels in every channel is flat.
_FLAT_LEVELS = 1.0


@dataclass(frozen=True)
class Mismatch:
    """What the values say about the named spec.

    Attributes:
        kind: "whole-elsewhere" (the values are whole under `suggested`, not
            the named spec), "normalized-twice", "clipped" (far outside the
            spec's range) or "narrow" (a near-constant image under the named
            spec, a full one under `suggested`).
        clipped: The share of sampled values the named spec restores outside
            [0, 255].
        suggested: The name of the candidate that fits, or "" for none.
        suggested_label: That candidate in words, e.g. "torchvision's ImageNet
            normalization ('imagenet')".
        sampled: How many values were judged.
    """

    kind: str
    clipped: float
    suggested: str
    suggested_label: str
    sampled: int


# Candidates in words, for messages; the first name of a merged map labels it.
_LABELS = {
    "caffe": "Keras's 'caffe' preprocessing (BGR minus the ImageNet mean pixel: VGG, ResNet)",
    "tf": "values in [-1, 1] ('tf', 'half', 'inception')",
    "torch": "torchvision's ImageNet normalization ('imagenet')",
    "identity": "raw pixels in [0, 255] ('identity')",
    "clip": "CLIP's normalization ('clip')",
    "unit": "images in [0, 1] (x / 255, no normalization)",
}
_SUGGESTED_NAMES = {"torch": "imagenet"}
UNIT = PRESETS["unit"]


@dataclass(frozen=True)
class _Table:
    """Inverse coefficients of K specs, stacked: restoring under all of them is one broadcast."""

    sources: np.ndarray  # (K, 3): the stored channel each restored channel reads
    multipliers: np.ndarray  # (K, 3)
    offsets: np.ndarray  # (K, 3)

    @classmethod
    def of(cls, specs: tuple[PreprocessSpec, ...]) -> _Table:
        rows = [spec.inverse_affine() for spec in specs]
        return cls(
            np.array([row.source or (0, 1, 2) for row in rows], np.intp),
            np.array([np.broadcast_to(np.asarray(row.multiplier, np.float64), 3) for row in rows]),
            np.array([np.broadcast_to(np.asarray(row.offset, np.float64), 3) for row in rows]),
        )

    def restore(self, pixels: np.ndarray) -> np.ndarray:
        """(P, K, 3) restored values of (P, 3) stored pixels: one gather, one multiply, one add."""
        gathered = pixels[:, self.sources.ravel()].reshape(len(pixels), *self.sources.shape)
        gathered *= self.multipliers
        gathered += self.offsets
        return gathered


@functools.cache
def _candidates() -> tuple[tuple[str, ...], tuple[str, ...], tuple[PreprocessSpec, ...], _Table]:
    """(names, labels, specs, table) of the registered RGB maps, raw pixels and [0, 1] images."""
    named: list[tuple[str, PreprocessSpec]] = []
    for name, spec in (*MODES.items(), *PRESETS.items()):
        if spec.is_affine and not any(known.same_as(spec) for _, known in named):
            named.append((name, spec))
    specs = tuple(spec for _, spec in named)
    return (
        tuple(_SUGGESTED_NAMES.get(name, name) for name, _ in named),
        tuple(_LABELS.get(name, repr(name)) for name, _ in named),
        specs,
        _Table.of(specs),
    )


@functools.lru_cache(maxsize=64)
def _named(spec: PreprocessSpec) -> tuple[_Table, np.ndarray, bool]:
    """The named spec's table, which candidates share its map, and whether undoing it twice differs."""
    table = _Table.of((spec,))
    same = np.array([spec.same_as(other) for other in _candidates()[2]])
    idempotent = bool(np.allclose(table.multipliers, 1.0) and np.allclose(table.offsets, 0.0))
    return table, same, not idempotent


# Signals of restored values laid out (P, K, 3): one value per candidate K.


def _outside(restored: np.ndarray, levels: float = 0.0) -> np.ndarray:
    """Per candidate: the share of values restored beyond `levels` outside [-0.5, 255.5]."""
    outside = (restored < RESTORED_LOW - levels) | (restored > RESTORED_HIGH + levels)
    return np.asarray(outside.mean(axis=(0, 2)))


def _whole(restored: np.ndarray) -> np.ndarray:
    """Per candidate: the mean distance of the values to the nearest whole number."""
    return np.asarray(np.abs(restored - np.rint(restored)).mean(axis=(0, 2)))


def _range(restored: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per candidate and channel: about the 1st, 50th and 99th percentiles (one partition)."""
    last = len(restored) - 1
    ranks = [last // 100, last // 2, last - last // 100]
    ordered = np.partition(restored, ranks, axis=0)
    return ordered[ranks[0]], ordered[ranks[1]], ordered[ranks[2]]


def _spread(restored: np.ndarray) -> np.ndarray:
    """Per candidate: the widest channel's 1st-99th percentile range, as a share of [0, 255]."""
    low, _, high = _range(np.clip(restored, 0.0, 255.0))
    return (high - low).max(axis=-1) / 255.0  # type: ignore[no-any-return]


def spec_mismatch(pixels: np.ndarray, spec: PreprocessSpec) -> Mismatch | None:
    """Judge `spec` against a sample of the data it is said to have produced.

    Each signal is computed only when the ones before it leave the question
    open, so the usual case (the right spec) costs a few vectorised calls.

    Args:
        pixels: (P, 3) float64 finite stored values, channels in the array's
            order (an evenly strided sample; see `keras_deprocess.checks.sample`).
        spec: The spec the caller named.

    Returns:
        A `Mismatch` when the values contradict `spec` beyond doubt, else None.
        None too for Lab specs, non-3-channel data, and samples too small to judge.
    """
    if not spec.is_affine or pixels.ndim != 2 or pixels.shape[1] != 3 or pixels.size < _MIN_VALUES:
        return None
    table, same, twice_differs = _named(spec)
    with np.errstate(over="ignore", invalid="ignore"):
        named = table.restore(pixels)  # (P, 1, 3)
        values = named.ravel()
        outside = float(np.count_nonzero((values < RESTORED_LOW) | (values > RESTORED_HIGH))) / values.size
        beyond = _FAR_LEVELS + RESTORED_HIGH
        far = float(np.count_nonzero((values < RESTORED_LOW - _FAR_LEVELS) | (values > beyond))) / values.size
        whole = float(np.abs(values - np.rint(values)).sum()) / values.size
        if whole < _WHOLE and far <= _FAR_OUTSIDE:
            return None  # uint8 images under the named spec: nothing contradicts it
        names, labels, _, candidates = _candidates()
        others = candidates.restore(pixels)
        fits = (_outside(others) < _FITS) & ~same

        def found(kind: str, index: int | None) -> Mismatch:
            if index is None:
                return Mismatch(kind, outside, "", "", int(pixels.size))
            return Mismatch(kind, outside, names[index], labels[index], int(pixels.size))

        low, middle, high = _range(named)
        narrow = bool(np.all(high - low <= _NARROW_LEVELS))
        # A flat image is whole under many maps by chance (zeros are black under
        # 'identity'): only varied values testify by being whole.
        varied = bool(np.any(high - low > _FLAT_LEVELS))
        whole_elsewhere = np.flatnonzero(fits & (_whole(others) < _WHOLE)) if varied else np.empty(0, int)
        if whole >= _NOT_WHOLE and whole_elsewhere.size:
            return found("whole-elsewhere", int(whole_elsewhere[0]))
        if twice_differs and (outside > _FITS or narrow):
            # Undone once, S(S(x)) gives S(x) (a second preprocess_input); a second
            # torchvision Normalize after ToTensor, N(S(x)), gives S(x) / scale:
            # normalized values times 255, most of them far outside [0, 255]. A
            # VAE's overshoot of a few levels also fits that reading ([-1, 1]
            # data halves into [127.5, 255]), so it must be far outside first.
            undone = [named[:, 0]]
            if spec.scale != 1.0 and far > _FAR_OUTSIDE:
                undone.append(named[:, 0] * spec.scale)
            for once in undone:
                twice = table.restore(once)
                if _outside(twice)[0] < _FITS and _spread(twice)[0] >= _FULL:
                    return found("normalized-twice", None)
        if far > _FAR_OUTSIDE:
            # A suggestion only where the values say so beyond doubt: whole numbers.
            return found("clipped", int(whole_elsewhere[0]) if whole_elsewhere.size else None)
        on_zero_point = bool(np.all(np.abs(middle - table.offsets) <= _NARROW_LEVELS / 2))
        if narrow and on_zero_point and whole >= _NOT_WHOLE:
            spreads = np.where(fits, _spread(others), -1.0)
            best = int(np.argmax(spreads))
            if spreads[best] >= _FULL:
                return found("narrow", best)
    return None
