"""`infer_spec`: recover the spec of a black-box preprocessing function by probing it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from keras_deprocess.core.config import resolve_data_format
from keras_deprocess.core.plan import Plan
from keras_deprocess.core.spec import RGB, PreprocessSpec
from keras_deprocess.engines import run
from keras_deprocess.errors import DeprocessError, shown
from keras_deprocess.frameworks import backend_for
from keras_deprocess.registry import MODES, PRESETS

__all__ = ["infer_spec"]

# (N, H, W): H != W, so a transposed output cannot pass for the input layout.
_PROBE_SHAPE = (2, 5, 7)
_CHANNELS = 3
# float32 probes; a correct fit agrees to ~1e-6 relative.
_RTOL = 1e-4


def infer_spec(
    fn: Callable[[Any], Any], *, data_format: str | None = None, name: str = "inferred"
) -> PreprocessSpec:
    r"""Recover the spec of a per-channel affine preprocessing function.

    Probes `fn` with synthetic RGB batches in [0, 255] (float32, shape
    ``(2, 5, 7, 3)`` or its channels_first twin): a black image gives the
    offsets, and one bright channel at a time gives the multipliers and the
    channel permutation, so that

    .. math::

        \mathrm{fn}(x)_c = x_{\mathrm{src}[c]} \cdot m_c + o_c

    The fit is then checked on a fresh random batch. When it matches a
    registered mode or preset, that spec is returned ('caffe', 'clip', ...).

    A function that returns channels_first from channels_last input (as
    Hugging Face image processors do) is understood; restore its outputs
    with ``data_format='channels_first'``.

    Args:
        fn: Takes a float32 NumPy batch, returns an array or tensor of the
            same shape (or with the channel axis moved). It is called with
            copies, so functions that write into their input are fine.
        data_format: The layout `fn` takes; None for
            `keras.config.image_data_format()`.
        name: The name of a spec that matches no registered one.

    Returns:
        The `PreprocessSpec`.

    Raises:
        DeprocessError: When `fn` is not a fixed per-channel affine map:
            sample-wise standardization, gamma, clipping, resizing, channel
            mixing (grayscale), or output that is not finite.

    Example:
        >>> import keras
        >>> from keras_deprocess import infer_spec
        >>> infer_spec(keras.applications.vgg16.preprocess_input, data_format="channels_last").name
        'caffe'
    """
    if not callable(fn):
        raise DeprocessError(
            "Expected `fn` to be a preprocessing function that takes a batch of images and returns "
            f"the preprocessed batch. Received: fn={shown(fn)} ({type(fn).__name__}). Pass the "
            "function itself, e.g. infer_spec(keras.applications.vgg16.preprocess_input)."
        )
    data_format = resolve_data_format(data_format)
    axis = -1 if data_format == "channels_last" else 1

    def probe(channels_last: np.ndarray) -> np.ndarray:
        x = np.moveaxis(channels_last, -1, axis).astype(np.float32)
        try:
            output = fn(x.copy())
        except Exception as error:
            raise DeprocessError(
                f"Expected {_describe(fn)} to accept a float32 batch of shape {x.shape} "
                f"({data_format}). Calling it raised {type(error).__name__}: {str(error)[:200]}. "
                "Pass data_format to match the layout it takes, or wrap it to accept NumPy arrays."
            ) from error
        y = _as_numpy(output, fn)
        return _as_channels_last(y, x.shape, axis, fn)

    black = np.zeros((*_PROBE_SHAPE, _CHANNELS), np.float32)
    offset = _per_channel(probe(black), "a black image")
    linear = np.empty((_CHANNELS, _CHANNELS))  # linear[c, k]: output c per unit of input k
    for k in range(_CHANNELS):
        bright = black.copy()
        bright[..., k] = 255.0
        only_k = _per_channel(probe(bright), f"an image with only channel {RGB[k]} at 255")
        linear[:, k] = (only_k - offset) / 255
    source, multiplier = _permutation(linear)
    order = "".join(RGB[k] for k in source)
    fitted = PreprocessSpec.from_affine(multiplier, offset, channel_order=order, name=name)

    check = np.random.default_rng(0).uniform(0, 255, (*_PROBE_SHAPE, _CHANNELS)).astype(np.float32)
    got = probe(check)
    want = run(Plan.forward(fitted, 3, "float64"), check.astype(np.float64))
    tolerance = _RTOL * max(1.0, float(np.abs(want).max()))
    error = float(np.abs(got - want).max())
    if not error <= tolerance:
        raise DeprocessError(
            f"Expected {_describe(fn)} to be a fixed per-channel affine map (x * m + o per channel, "
            f"optionally reordered). On a random batch it differs from the best such map by up to "
            f"{error:.3g} (tolerance {tolerance:.3g}): it is not affine per channel, e.g. sample-wise "
            "standardization, gamma, clipping or spatial filtering. Restore its outputs another "
            "way, or describe it with a PreprocessSpec if part of it is affine."
        )
    return _known_spec(fitted) or fitted


def _as_numpy(y: Any, fn: Callable[[Any], Any]) -> np.ndarray:
    if isinstance(y, dict) and "pixel_values" in y:  # a Hugging Face BatchFeature
        y = y["pixel_values"]
    backend = backend_for(y)
    try:
        array = backend.to_numpy(y) if backend is not None else np.asarray(y)
    except (TypeError, ValueError):
        array = np.asarray(None)
    if array.dtype.kind not in "fiu" and array.dtype.name != "bfloat16":
        raise DeprocessError(
            f"Expected {_describe(fn)} to return a numeric array or tensor. Received {type(y).__qualname__}."
        )
    return array.astype(np.float64)


def _as_channels_last(
    y: np.ndarray, shape: tuple[int, ...], axis: int, fn: Callable[[Any], Any]
) -> np.ndarray:
    if y.shape == shape:
        return np.moveaxis(y, axis, -1)
    other_axis = 1 if axis == -1 else -1
    if y.shape == np.moveaxis(np.empty(shape, np.bool_), axis, other_axis).shape:
        return np.moveaxis(y, other_axis, -1)
    raise DeprocessError(
        f"Expected {_describe(fn)} to keep the image shape. It turned shape {shape} into "
        f"{y.shape}: a resize or crop cannot be inverted. Call it with resizing off (for Hugging "
        "Face processors: do_resize=False, do_center_crop=False)."
    )


def _per_channel(y: np.ndarray, what: str) -> np.ndarray:
    """The one value per channel of a spatially constant output."""
    if not np.isfinite(y).all():
        raise DeprocessError(
            f"Expected finite output for {what}. Received NaN or Inf: the function likely divides "
            "by a per-image statistic (sample-wise standardization), which no fixed spec inverts."
        )
    values = y.reshape(-1, _CHANNELS)
    spread = np.abs(values - values[0]).max(axis=0)
    if np.any(spread > _RTOL * max(1.0, float(np.abs(values).max()))):
        raise DeprocessError(
            f"Expected the same output at every pixel for {what}; it varies by up to "
            f"{spread.max():.3g} across pixels and images: the function is not per-pixel."
        )
    return np.asarray(values[0])


def _permutation(linear: np.ndarray) -> tuple[tuple[int, ...], np.ndarray]:
    """Each output channel must depend on exactly one input channel, a different one each."""
    significant = np.abs(linear) > 1e-6 * np.abs(linear).max(initial=0.0)
    if not np.all(significant.sum(axis=1) == 1) or sorted(np.argmax(significant, axis=1)) != [0, 1, 2]:
        raise DeprocessError(
            "Expected each output channel to depend on exactly one input channel. Received a map "
            f"that mixes channels (or drops one): output-per-input matrix\n{np.round(linear, 6)}.\n"
            "Channel mixing, such as a grayscale conversion, cannot be inverted per channel."
        )
    source = tuple(int(k) for k in np.argmax(significant, axis=1))
    return source, np.array([linear[c, k] for c, k in enumerate(source)])


def _known_spec(fitted: PreprocessSpec) -> PreprocessSpec | None:
    for spec in (*MODES.values(), *PRESETS.values()):
        if fitted.same_as(spec, rtol=1e-5):
            return spec
    return None


def _describe(fn: Callable[[Any], Any]) -> str:
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"function {name}"
