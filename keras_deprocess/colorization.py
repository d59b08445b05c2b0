r"""Colorization in CIE Lab, in the manner of Zhang et al., "Colorful Image Colorization".

A colorizer sees L (normalized, e.g. ``(L - 50) / 100``) and predicts ab,
either directly (normalized, e.g. ``ab / 110``) or as a distribution over
quantized ab bins. This module holds the steps around the 'lab' specs:

- `merge_l_ab`: upsample the predicted ab to L's resolution and concatenate;
- `ab_bins`: the in-gamut ab bin centres of a grid;
- `decode_ab` / `encode_ab`: the annealed-mean decoding of a distribution
  over the bins, and the soft-encoding of ab into one (training targets);
- `out_of_gamut`: which pixels the inverse clips, and how many.

Every function works on NumPy, TensorFlow, PyTorch and JAX arrays, in both
layouts, and stays differentiable where it is (`merge_l_ab`, `decode_ab`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from keras_deprocess.errors import DeprocessError, advise, shown
from keras_deprocess.frameworks.base import Backend
from keras_deprocess.math.affine import apply_affine
from keras_deprocess.math.colour import negative_z, rgb_from_lab
from keras_deprocess.registry import get_spec
from keras_deprocess.restore import channel_axis, data_format_for, framework_and_array, require_float
from keras_deprocess.spec import Affine, PreprocessSpec

__all__ = ["Gamut", "ab_bins", "decode_ab", "encode_ab", "merge_l_ab", "out_of_gamut"]

ZHANG_TEMPERATURE = 0.38


# -- merging L and ab -------------------------------------------------------------------


def merge_l_ab(l: Any, ab: Any, *, data_format: str | None = None) -> Any:  # noqa: E741
    """Upsample ab to L's resolution, bilinearly, and put L in front: (L, a, b).

    The postprocessing of a colorizer whose ab comes out at a lower
    resolution (e.g. 56×56 for a 224×224 L). Bilinear with half-pixel
    centres, as ``torch.nn.functional.interpolate(..., align_corners=False)``,
    ``tf.image.resize`` and ``jax.image.resize``. Both arrays keep the
    normalization they have; restore the result with the matching spec.

    Shape:
        - l: ``(N, H, W, 1)`` (channels_last) or ``(N, 1, H, W)``
          (channels_first), or one image without the batch axis.
        - ab: ``(N, h, w, 2)`` or ``(N, 2, h, w)``.
        - Output: ``(N, H, W, 3)`` or ``(N, 3, H, W)``, L's dtype.

    Args:
        l: The lightness channel, as the network saw it.
        ab: The predicted ab channels, of the same framework.
        data_format: The layout of both. None: 'channels_first' for PyTorch
            tensors, else `keras.config.image_data_format()`.

    Returns:
        The Lab array, in the framework of `l`.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import merge_l_ab
        >>> merge_l_ab(np.zeros((1, 8, 8, 1)), np.ones((1, 2, 2, 2)), data_format="channels_last").shape
        (1, 8, 8, 3)
    """
    backend, l = framework_and_array(l)  # noqa: E741
    ab_backend, ab = framework_and_array(ab)
    if ab_backend is not backend:
        raise DeprocessError(
            f"Expected `l` and `ab` from the same framework. Received l from {backend.name} and ab from "
            f"{ab_backend.name}. Convert one of them first."
        )
    data_format = data_format_for(backend, data_format)
    l_last, single = _channels_last_batch(backend, l, data_format, "l", 1)
    ab_last, _ = _channels_last_batch(backend, ab, data_format, "ab", 2)
    l_shape, ab_shape = backend.shape(l_last), backend.shape(ab_last)
    if l_shape[0] != ab_shape[0]:
        raise DeprocessError(
            f"Expected as many ab maps as L images. Received {l_shape[0]} L and {ab_shape[0]} ab (shapes "
            f"{tuple(backend.shape(l))} and {tuple(backend.shape(ab))})."
        )
    dtype = backend.dtype_name(l_last)
    ab_last = backend.cast(ab_last, "float64" if dtype == "float64" else "float32")
    if l_shape[1:3] != ab_shape[1:3]:
        ab_last = backend.resize_bilinear(ab_last, int(l_shape[1]), int(l_shape[2]))  # type: ignore[arg-type]
    merged = backend.concat([l_last, backend.cast(ab_last, dtype)], 3)
    return _back_to_layout(backend, merged, data_format, single)


def _channels_last_batch(
    backend: Backend, x: Any, data_format: str, name: str, channels: int
) -> tuple[Any, bool]:
    shape = tuple(backend.shape(x))
    require_float(backend.dtype_name(x), shape)
    axis = (len(shape) - 1) if data_format == "channels_last" else (0 if len(shape) == 3 else 1)
    if len(shape) not in (3, 4) or shape[axis] != channels:
        layout = "(N, H, W, C)" if data_format == "channels_last" else "(N, C, H, W)"
        raise DeprocessError(
            f"Expected `{name}` with {channels} channel(s), {layout} or one image without N "
            f"(data_format={data_format!r}). Received shape {shape}."
        )
    single = len(shape) == 3
    if data_format == "channels_first":
        x = backend.moveaxis(x, axis, -1)
    if single:
        x = x[None]
    return x, single


def _back_to_layout(backend: Backend, x: Any, data_format: str, single: bool) -> Any:
    if data_format == "channels_first":
        x = backend.moveaxis(x, -1, 1)
    return x[0] if single else x


# -- the ab bins ------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _bins(grid: float) -> np.ndarray:
    from keras_deprocess.restore import preprocess_input

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


def _positive(name: str, value: Any, usual: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not (math.isfinite(number) and number > 0):
        raise DeprocessError(f"Expected `{name}` > 0 ({usual}). Received: {name}={shown(value)}.")
    return number


def _bins_table(bins: Any) -> np.ndarray:
    if bins is None:
        return ab_bins(10)
    backend, array = framework_and_array(bins)
    table = np.asarray(backend.to_numpy(array), dtype=np.float64)
    if table.ndim != 2 or table.shape[1] != 2 or len(table) < 2 or not np.isfinite(table).all():
        raise DeprocessError(
            "Expected `bins` to be a (K, 2) array of finite ab centres, K ≥ 2, such as Zhang et al.'s "
            f"pts_in_hull.npy (313, 2). Received shape {table.shape}."
        )
    return table


# -- decoding and encoding --------------------------------------------------------------


def _ab_affine(spec: Any, direction: str) -> tuple[PreprocessSpec, Affine]:
    """The spec, and its per-channel map restricted to a and b, in `direction`."""
    resolved = get_spec(spec)
    if resolved.is_affine:
        raise DeprocessError(
            f"Expected a CIE Lab spec for ab ('colorization', 'colorization-caffe', 'lab', or "
            f"spec_from_lab(...)). Received {resolved.name!r}, an RGB spec."
        )
    affine = resolved.inverse_affine() if direction == "inverse" else resolved.forward_affine()
    multipliers = np.broadcast_to(affine.multiplier, 3)[1:]
    offsets = np.broadcast_to(affine.offset, 3)[1:]
    return resolved, Affine(None, tuple(map(float, multipliers)), tuple(map(float, offsets)))


def _bin_axis_last(backend: Backend, x: Any, data_format: str, name: str, channels: int | None) -> Any:
    shape = tuple(backend.shape(x))
    if len(shape) < 2:
        raise DeprocessError(f"Expected `{name}` of rank 3 or 4. Received shape {shape}.")
    axis = len(shape) - 1 if data_format == "channels_last" else (0 if len(shape) == 3 else 1)
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
    table = _bins_table(bins)
    temperature = _positive("temperature", temperature, "0.38 in Zhang et al.; 1 for the mean")
    backend, probabilities = framework_and_array(probabilities)
    data_format = data_format_for(backend, data_format)
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
    table = _bins_table(bins)
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
    backend, ab = framework_and_array(ab)
    data_format = data_format_for(backend, data_format)
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


@dataclass(frozen=True, eq=False)
class Gamut:
    """Which pixels of a restore fall outside the sRGB gamut, as `out_of_gamut` reports them.

    Attributes:
        mask: Boolean NumPy array, the input's shape without the channel
            axis: True where a channel of the exact inverse lies outside
            [0, 255] by more than half a level, so that restoring clips it.
        count: The number of True pixels in `mask`.
        negative_z: Pixels whose f(Z) was negative and set to 0, as
            skimage's ``lab2rgb`` does (always 0 for RGB specs).
        pixels: The number of pixels checked.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import out_of_gamut
        >>> report = out_of_gamut(np.array([[[50.0, 0.0, 0.0], [50.0, 120.0, 0.0]]]), "lab",
        ...                       data_format="channels_last")
        >>> report.mask.tolist(), report.count, report.pixels
        ([[False, True]], 1, 2)
    """

    mask: np.ndarray
    count: int
    negative_z: int
    pixels: int

    def __repr__(self) -> str:
        # The mask can hold millions of pixels: its shape is what a repr can show.
        share = f"{self.count / self.pixels:.2%}" if self.pixels else "0%"
        return (
            f"Gamut(count={self.count} of {self.pixels} pixels ({share}), "
            f"negative_z={self.negative_z}, mask=<bool array of shape {self.mask.shape}>)"
        )


def out_of_gamut(x: Any, model: Any, *, data_format: str | None = None) -> Gamut:
    """Count and locate the pixels that restoring `x` clips: colours outside sRGB.

    Predicted Lab often lies outside the sRGB gamut. Restoring clips such
    colours channel by channel, as `skimage.color.lab2rgb` does; this says
    where and how often, so that the clipping is never silent. It also works
    for RGB specs, where it finds the values outside [0, 255].

    Shape:
        - x: as for `restore_original_image_from_array`.
        - mask: x's shape without the channel axis.

    Args:
        x: Preprocessed images, of any framework (read on the host).
        model: The spec that produced `x`, as for
            `restore_original_image_from_array`.
        data_format: The layout of `x`.

    Returns:
        A `Gamut` report.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import out_of_gamut
        >>> lab = np.array([[[50.0, 0.0, 0.0], [50.0, 120.0, 0.0]]])  # grey; a red beyond sRGB
        >>> out_of_gamut(lab, "lab", data_format="channels_last").count
        1
    """
    spec = get_spec(model)
    backend, x = framework_and_array(x)
    data_format = data_format_for(backend, data_format)
    shape = tuple(backend.shape(x))
    axis = channel_axis(shape, spec, data_format)
    require_float(backend.dtype_name(x), shape)
    host = np.moveaxis(backend.to_numpy(x), axis, -1).astype(np.float64)
    from keras_deprocess.frameworks import backend_for

    numpy_backend = backend_for(host)
    assert numpy_backend is not None
    mask = np.zeros(host.shape[:-1], bool)
    below_z = 0
    flat, flat_mask = host.reshape(-1, host.shape[-1]), mask.reshape(-1)
    step = 1 << 16
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, len(flat), step):
            chunk = flat[start : start + step]
            values = apply_affine(numpy_backend, chunk, spec.inverse_affine(), 1, "float64")
            if not spec.is_affine:
                below_z += int(np.count_nonzero(negative_z(numpy_backend, values, 1)))
                values = rgb_from_lab(numpy_backend, values, 1)
            flat_mask[start : start + step] = ((values < -0.5) | (values > 255.5)).any(axis=1)
    return Gamut(mask, int(mask.sum()), below_z, int(mask.size))


# -- checks of Lab input ----------------------------------------------------------------

# (name, the range of the L channel under that convention, the spec to use)
_L_CONVENTIONS = (
    ("normalized (L - 50) / 100, in [-0.5, 0.5]", (-0.5, 0.5), "the spec 'colorization'"),
    ("L / 100, in [0, 1]", (0.0, 1.0), "spec_from_lab(l_scale=100)"),
    ("L - 50, in [-50, 50]", (-50.0, 50.0), "the spec 'colorization-caffe'"),
    ("raw L, in [0, 100]", (0.0, 100.0), "the spec 'lab'"),
    ("8-bit L, in [0, 255] (OpenCV's 8-bit Lab: L * 255 / 100, a + 128, b + 128)", (0.0, 255.0), None),
)

# Values sampled, evenly strided, to judge the scales of L and ab.
_LAB_SAMPLE = 1 << 16
# Implied L may overshoot [0, 100] this far (predicted L, float error) before it is refused.
_L_SLACK = 5.0
# Implied |a|, |b| beyond this is no colour: the sRGB gamut reaches about 108.
_AB_LIMIT = 300.0


def check_lab_scales(lightness: np.ndarray, ab: np.ndarray, spec: PreprocessSpec) -> None:
    """Refuse L or ab clearly on another scale than `spec` says, naming the likely scale.

    Judged on the 0.5th to 99.5th percentiles of samples, so that a few
    outlying predictions (which restoring clips) are no reason to refuse.
    Refused: implied L beyond [-5, 105]; implied L below 0 within a narrow
    band (normalized L given to a raw spec); implied |a| or |b| beyond 300
    (raw ab given to a spec that divides ab).

    Args:
        lightness: A sample of the stored L channel, any shape.
        ab: A sample of the stored a and b channels, any shape.
        spec: The Lab spec the caller named.

    Raises:
        DeprocessError: Naming the spec's formula, the values received and,
            where one fits, the convention they look like.
    """
    inverse = spec.inverse_affine()
    l_multiplier, l_offset = (float(np.broadcast_to(v, 3)[0]) for v in (inverse.multiplier, inverse.offset))
    ab_multiplier = float(np.broadcast_to(inverse.multiplier, 3)[1])
    l_range = _central_range(lightness)
    if l_range is not None:
        low, high = l_range
        implied = sorted((low * l_multiplier + l_offset, high * l_multiplier + l_offset))
        out = implied[0] < -_L_SLACK or implied[1] > 100 + _L_SLACK
        normalized_given_raw = implied[0] < -0.05 and implied[1] - implied[0] < _L_SLACK
        if out or normalized_given_raw:
            raise DeprocessError(
                f"Expected the L channel as the {spec.name!r} spec stores it, so that "
                f"{_formula('L', l_multiplier, l_offset)} lies in [0, 100]. Received L values from "
                f"{low:.4g} to {high:.4g}, which give L from {implied[0]:.4g} to {implied[1]:.4g}."
                f"{_l_hint(low, high)}"
            )
    ab_range = _central_range(np.abs(ab))
    if ab_range is not None and ab_range[1] * abs(ab_multiplier) > _AB_LIMIT:
        high = ab_range[1]
        raise DeprocessError(
            f"Expected a and b as the {spec.name!r} spec stores them, so that "
            f"{_formula('a', ab_multiplier, 0.0)} (and b alike) lies within about ±110. Received "
            f"|a|, |b| up to {high:.4g}, which give up to {high * abs(ab_multiplier):.4g}. They look "
            "like raw a and b: use a spec that keeps them raw, such as 'lab' or 'colorization-caffe', or "
            "spec_from_lab(..., ab_scale=1)."
        )


def _central_range(values: np.ndarray) -> tuple[float, float] | None:
    flat = values.reshape(-1)
    sample = flat[:: max(1, flat.size // _LAB_SAMPLE)].astype(np.float64)
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return None
    low, high = np.percentile(sample, [0.5, 99.5])
    return float(low), float(high)


def _formula(symbol: str, multiplier: float, offset: float) -> str:
    """'L = y * 100 + 50', 'L = y - 50', 'L = y': the stored value y mapped back."""
    text = f"{symbol} = y" + ("" if multiplier == 1 else f" * {multiplier:g}")
    if offset:
        text += f" {'+' if offset > 0 else '-'} {abs(offset):g}"
    return text


def _l_hint(low: float, high: float) -> str:
    """The conventions the L values fit, those they fill most first."""
    fitting = []
    for name, (c_low, c_high), use in _L_CONVENTIONS:
        margin = 0.05 * (c_high - c_low)
        if c_low - margin <= low and high <= c_high + margin:
            fitting.append(((high - low) / (c_high - c_low), name, use))
    if not fitting:
        return " Check the model's Lab convention, and build its spec with spec_from_lab(...)."
    fitting.sort(key=lambda f: -f[0])
    _, name, use = fitting[0]
    advice = f"use {use}" if use else "convert it to L in [0, 100] first"
    close_second = len(fitting) > 1 and fitting[1][0] >= fitting[0][0] / 2
    also = f" (or {fitting[1][1]})" if close_second else ""
    return f" It looks like {name}{also}: {advice}."


def two_channel_hint(shape: tuple[Any, ...], data_format: str) -> str:
    """The advice for an ab array passed to restore alone."""
    return (
        f" Received shape {shape} with 2 channels: that is ab alone. Put L in front of it first: "
        f"merge_l_ab(l, ab, {advise(data_format=data_format)}), then restore the result."
    )
