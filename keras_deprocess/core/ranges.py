"""Which values restore outside the image: one definition for counts, detection and checks.

A restored value clips when it lies beyond half a level outside [0, 255]:
it would round to -1 or 256. For an affine spec that is a bound on each
stored channel of the preprocessed values themselves, so counting clipped
values needs no restore.
"""

from __future__ import annotations

import numpy as np

from keras_deprocess.core.spec import PreprocessSpec

__all__ = ["RESTORED_HIGH", "RESTORED_LOW", "outside_image", "preprocessed_bounds"]

RESTORED_LOW, RESTORED_HIGH = -0.5, 255.5


def outside_image(restored: np.ndarray) -> np.ndarray:
    """Where restored values round outside [0, 255]."""
    return (restored < RESTORED_LOW) | (restored > RESTORED_HIGH)  # type: ignore[no-any-return]


def preprocessed_bounds(spec: PreprocessSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per stored channel, the preprocessed values that restore to -0.5 and 255.5 (affine specs).

    Returns:
        (low, high), each of shape (channels,): a stored value ``v`` of
        channel ``c`` restores inside the image iff ``low[c] <= v <= high[c]``.
    """
    source, multiplier, offset = spec.inverse_affine()
    channels = max(len(multiplier), len(offset), len(source or ()))
    multipliers = np.broadcast_to(np.asarray(multiplier, np.float64), (channels,))
    offsets = np.broadcast_to(np.asarray(offset, np.float64), (channels,))
    low, high = np.empty(channels), np.empty(channels)
    for restored_channel in range(channels):
        stored = source[restored_channel] if source is not None else restored_channel
        ends = (np.array([RESTORED_LOW, RESTORED_HIGH]) - offsets[restored_channel]) / multipliers[
            restored_channel
        ]
        low[stored], high[stored] = ends.min(), ends.max()
    return low, high
