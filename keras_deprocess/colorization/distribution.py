r"""`decode_ab` and `encode_ab`: ab as a distribution over bins, and back (Zhang et al.'s heads)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from keras_deprocess.colorization.bins import bins_table
from keras_deprocess.core.dtypes import require_float
from keras_deprocess.core.layout import channel_position, data_format_for
from keras_deprocess.core.spec import Affine, PreprocessSpec
from keras_deprocess.errors import DeprocessError, shown
from keras_deprocess.frameworks import framework_and_array
from keras_deprocess.kernels.affine import apply_affine, per_channel
from keras_deprocess.ops import TensorOps, ops_for
from keras_deprocess.registry import get_spec

__all__ = ["ZHANG_TEMPERATURE", "decode_ab", "encode_ab"]

ZHANG_TEMPERATURE = 0.38


def _positive(name: str, value: Any, usual: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not (math.isfinite(number) and number > 0):
        raise DeprocessError(f"Expected `{name}` > 0 ({usual}). Received: {name}={shown(value)}.")
    return number


def _ab_affine(spec: Any, direction: str) -> tuple[PreprocessSpec, Affine]:
    """The spec, and its per-channel map restricted to a and b, in `direction`."""
    resolved = get_spec(spec)
    if resolved.is_affine:
        raise DeprocessError(
            f"Expected a CIE Lab spec for ab ('colorization', 'colorization-caffe', 'lab', or "
            f"spec_from_lab(...)). Received {resolved.name!r}, an RGB spec."
        )
    affine = resolved.inverse_affine() if direction == "inverse" else resolved.forward_affine()
    # Plain tuples, not NumPy: torch.compile traces this, and its NumPy support is partial.
    return resolved, Affine(None, per_channel(affine.multiplier, 3)[1:], per_channel(affine.offset, 3)[1:])


def _bin_axis_last(backend: TensorOps, x: Any, data_format: str, name: str, channels: int | None) -> Any:
    shape = tuple(backend.shape(x))
    if len(shape) < 2:
        raise DeprocessError(f"Expected `{name}` of rank 3 or 4. Received shape {shape}.")
    axis = channel_position(len(shape), data_format)
    if channels is not None and shape[axis] != channels:
        raise DeprocessError(
            f"Expected {channels} values per pixel on axis {axis} of `{name}` "
            f"(data_format={data_format!r}). Received shape {shape}."
        )
    return backend.moveaxis(x, axis, -1) if data_format == "channels_first" else x, axis


def decode_ab(
    probabilities: Any,
    spec: Any = "colorization",
    *,
    bins: Any = None,
    temperature: float = ZHANG_TEMPERATURE,
    data_format: str | None = None,
) -> Any:
    r"""The annealed mean of a distribution over ab bins: ab, in the spec's normalization.

    For a pixel's probabilities :math:`z_q` over the bin centres :math:`c_q`,

    .. math::

        f_T(z)_q = \frac{\exp(\log z_q / T)}{\sum_{q'} \exp(\log z_{q'} / T)},
        \qquad \mathrm{ab} = \sum_q f_T(z)_q \, c_q

    ``T = 1`` gives the mean, ``T → 0`` the mode (the most probable bin);
    Zhang et al. use ``T = 0.38``. The result is then normalized as `spec`
    normalizes ab (``ab / 110`` for 'colorization'), ready for `merge_l_ab`.
    Differentiable in `probabilities`.

    Shape:
        - probabilities: ``(N, H, W, K)`` (channels_last) or ``(N, K, H, W)``
          (channels_first), or one image without N.
        - Output: ``(N, H, W, 2)`` or ``(N, 2, H, W)``.

    Args:
        probabilities: Softmax outputs, ≥ 0, over the K bins.
        spec: The Lab spec whose ab normalization the output takes.
        bins: The ``(K, 2)`` bin centres, in ab units; None for
            ``ab_bins(10)`` (K = 261). Pass a pretrained model's own table
            (Zhang et al.'s ``pts_in_hull.npy`` has K = 313).
        temperature: T > 0.
        data_format: The layout. None: 'channels_first' for PyTorch tensors,
            else `keras.config.image_data_format()`.

    Returns:
        ab in the framework of `probabilities`.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import decode_ab
        >>> bins = np.array([[0.0, 0.0], [110.0, -55.0]])
        >>> decode_ab(np.array([[[[0.0, 1.0]]]]), bins=bins, data_format="channels_last").tolist()
        [[[[1.0, -0.5]]]]
    """
    _, normalize = _ab_affine(spec, "forward")
    temperature = _positive("temperature", temperature, "0.38 in Zhang et al.; 1 for the mean")
    found, probabilities = framework_and_array(probabilities)
    backend = ops_for(found)
    table = bins_table(bins, traced=backend.is_traced(probabilities))
    data_format = data_format_for(backend.channels_first_by_default, data_format)
    require_float(backend.dtype_name(probabilities), backend.shape(probabilities))
    try:
        p, axis = _bin_axis_last(backend, probabilities, data_format, "probabilities", len(table))
    except DeprocessError as error:
        if bins is not None:
            raise
        raise DeprocessError(
            f"{error} The default bins are ab_bins(10), K = {len(table)}; for a pretrained model, pass its "
            "own table, e.g. bins=np.load('pts_in_hull.npy') (K = 313)."
        ) from None
    if not backend.is_traced(p):
        low = float(np.min(backend.to_numpy(p))) if math.prod(backend.shape(p)) else 0.0  # type: ignore[arg-type]
        if low < 0:
            raise DeprocessError(
                f"Expected probabilities (softmax outputs, ≥ 0). Received values down to {low:.3g}: if "
                "these are logits, apply a softmax over the bins first."
            )
    compute = "float64" if backend.dtype_name(p) == "float64" else "float32"
    p = backend.cast(p, compute)
    tiny = float(np.finfo(compute).tiny)
    logits = backend.log(backend.maximum(p, tiny)) * (1.0 / temperature)
    weights = backend.exp(logits - backend.max(logits, -1))
    weights = weights / backend.sum(weights, -1)
    ab = backend.matmul(weights, table.astype(compute))
    ab = apply_affine(backend, ab, normalize, len(backend.shape(ab)) - 1, compute)
    return backend.moveaxis(ab, -1, axis) if data_format == "channels_first" else ab


def encode_ab(
    ab: Any,
    spec: Any = "colorization",
    *,
    bins: Any = None,
    neighbors: int = 5,
    sigma: float = 5.0,
    data_format: str | None = None,
) -> Any:
    r"""Soft-encode ab over the bins: the training target whose annealed mean is ab.

    Each pixel's ab (in the spec's normalization, turned back into ab units)
    spreads over its `neighbors` nearest bin centres, with Gaussian weights
    :math:`\exp(-d^2 / 2\sigma^2)` normalized to sum to 1; every other bin
    gets 0. This is Zhang et al.'s encoding (5 neighbours, σ = 5), the
    forward of `decode_ab`: the mode of the encoding is the nearest bin, and
    its mean (``decode_ab(..., temperature=1)``) is within a few ab units of
    the original for in-gamut colours.

    Shape:
        - ab: ``(N, H, W, 2)`` or ``(N, 2, H, W)``, or one image without N.
        - Output: ``(N, H, W, K)`` or ``(N, K, H, W)``.

    Args:
        ab: The ab channels, normalized as `spec` normalizes them.
        spec: The Lab spec of `ab`.
        bins: As for `decode_ab`.
        neighbors: How many nearest bins share each pixel.
        sigma: The Gaussian's width, in ab units.
        data_format: As for `decode_ab`.

    Returns:
        Probabilities over the bins, in the framework of `ab`.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import encode_ab
        >>> bins = np.array([[0.0, 0.0], [10.0, 0.0], [40.0, 0.0]])
        >>> zero = np.zeros((1, 1, 1, 2))
        >>> encode_ab(zero, "lab", bins=bins, neighbors=1, data_format="channels_last").tolist()
        [[[[1.0, 0.0, 0.0]]]]
    """
    _, to_ab_units = _ab_affine(spec, "inverse")
    found, ab = framework_and_array(ab)
    backend = ops_for(found)
    table = bins_table(bins, traced=backend.is_traced(ab))
    if (
        isinstance(neighbors, bool)
        or not isinstance(neighbors, (int, np.integer))
        or not 1 <= neighbors <= len(table)
    ):
        raise DeprocessError(
            f"Expected `neighbors` to be an integer from 1 to the number of bins ({len(table)}). "
            f"Received: neighbors={shown(neighbors)}. Zhang et al. use 5."
        )
    try:
        sigma = float(sigma)
    except (TypeError, ValueError):
        sigma = math.nan
    if not (math.isfinite(sigma) and sigma > 0):
        raise DeprocessError(
            f"Expected `sigma` > 0, in ab units (5 in Zhang et al.). Received: sigma={shown(sigma)}."
        )
    data_format = data_format_for(backend.channels_first_by_default, data_format)
    require_float(backend.dtype_name(ab), backend.shape(ab))
    values, axis = _bin_axis_last(backend, ab, data_format, "ab", 2)
    compute = "float64" if backend.dtype_name(values) == "float64" else "float32"
    values = apply_affine(
        backend, backend.cast(values, compute), to_ab_units, len(backend.shape(values)) - 1, compute
    )
    # |ab - c|^2 = |ab|^2 - 2 ab.c + |c|^2, for every bin at once.
    squared = (
        backend.sum(values * values, -1)
        - backend.matmul(values, 2.0 * table.T.astype(compute))
        + backend.constant((table * table).sum(1), [len(table)], compute, like=values)
    )
    nearest = backend.kth_smallest(squared, 1)
    kept = squared <= backend.kth_smallest(squared, int(neighbors))
    weights = backend.where(kept, backend.exp((nearest - squared) * (1.0 / (2.0 * sigma * sigma))), 0.0)
    weights = weights / backend.sum(weights, -1)
    return backend.moveaxis(weights, -1, axis) if data_format == "channels_first" else weights


# -- the gamut --------------------------------------------------------------------------
