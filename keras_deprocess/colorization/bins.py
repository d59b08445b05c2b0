"""`ab_bins`: the centres of the ab bins that 8-bit sRGB colours reach, for a grid size."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from keras_deprocess.errors import DeprocessError, shown
from keras_deprocess.frameworks import framework_and_array
from keras_deprocess.restore import preprocess_input

__all__ = ["ab_bins", "bins_table"]


@functools.lru_cache(maxsize=8)
def _bins(grid: float) -> np.ndarray:
    # |a|, |b| < 128 over sRGB: a square of cells, marked as colours land in them.
    reach = math.ceil(128 / grid)
    hit = np.zeros((2 * reach + 1, 2 * reach + 1), bool)
    levels = np.arange(256, dtype=np.uint8)
    rest = np.stack(np.meshgrid(levels, levels, indexing="ij"), -1).reshape(-1, 2)
    for red in range(256):
        colours = np.concatenate([np.full((len(rest), 1), red, np.uint8), rest], 1)
        lab = preprocess_input(colours[:, None, None, :], "lab", data_format="channels_last", dtype="float64")
        cells = np.rint(lab[:, 0, 0, 1:] / grid).astype(np.intp) + reach
        hit[cells[:, 0], cells[:, 1]] = True
    centres = (np.argwhere(hit) - reach).astype(np.float64) * grid
    centres.setflags(write=False)
    return centres


def ab_bins(grid: float = 10) -> np.ndarray:
    r"""The centres of the in-gamut ab bins of a square grid, as a ``(K, 2)`` array.

    Every one of the 2^24 8-bit sRGB colours is converted to Lab (as
    `skimage.color.rgb2lab`), and its (a, b) is assigned to the nearest grid
    centre (multiples of `grid`); the bins that receive at least one colour
    are kept, sorted by a then b. For ``grid=10`` that gives **K = 261**
    bins, with a from -90 to 100 and b from -110 to 90. The result is
    computed once per grid and process (about 2 s) and cached.

    Zhang et al.'s colorizers use 313 bins (their ``pts_in_hull.npy``), 52
    more than the 8-bit sRGB gamut reaches under this definition; their
    table's construction is not published. For a pretrained model of theirs,
    pass its own table to `decode_ab` and `encode_ab` (``bins=``).

    Args:
        grid: The bin size, in ab units.

    Returns:
        A read-only float64 array of shape ``(K, 2)``.

    Example:
        >>> from keras_deprocess import ab_bins
        >>> ab_bins(10).shape
        (261, 2)
    """
    try:
        size = float(grid)
    except (TypeError, ValueError):
        size = math.nan
    if isinstance(grid, bool) or not math.isfinite(size) or not 1 <= size <= 128:
        raise DeprocessError(
            f"Expected `grid` to be a bin size in ab units between 1 and 128. Received: grid={shown(grid)}. "
            "Zhang et al. use grid=10."
        )
    return _bins(size)


def bins_table(bins: Any, *, traced: bool = False) -> np.ndarray:
    """`bins` as a checked (K, 2) float64 NumPy table; None gives ``ab_bins(10)``.

    Inside a trace (`traced`) only the shape is checked: torch.compile turns
    NumPy into traced ops, where a check of the values could not branch.
    """
    if bins is None:
        return ab_bins(10)
    backend, array = framework_and_array(bins)
    table = np.asarray(backend.to_numpy(array), dtype=np.float64)
    bad_values = False if traced else not np.isfinite(table).all()
    if table.ndim != 2 or table.shape[1] != 2 or len(table) < 2 or bad_values:
        raise DeprocessError(
            "Expected `bins` to be a (K, 2) array of finite ab centres, K ≥ 2, such as Zhang et al.'s "
            f"pts_in_hull.npy (313, 2). Received shape {table.shape}."
        )
    return table


# -- decoding and encoding --------------------------------------------------------------
