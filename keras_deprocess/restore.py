"""`restore_original_image_from_array` and `preprocess_input`: arguments → spec → plan → engine.

Arguments are resolved by pure look-ups that import no framework; the
array's own type picks the framework class (`keras_deprocess.frameworks`);
the spec and the layout become a `Plan`; `keras_deprocess.engines.run` picks
the engine that runs it. What can go wrong with the caller's arguments and
data is worded here, in the caller's words.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import numpy as np

from keras_deprocess.checks.lab import check_lab_input
from keras_deprocess.checks.mismatch import MISMATCH_SAMPLE_PIXELS, Mismatch, spec_mismatch
from keras_deprocess.checks.sample import strided_pixels
from keras_deprocess.core.config import floatx
from keras_deprocess.core.dtypes import forward_dtype, output_dtype_name, require_float
from keras_deprocess.core.finite import NonFinite
from keras_deprocess.core.layout import assumption, channel_axis, data_format_for
from keras_deprocess.core.plan import Plan
from keras_deprocess.core.spec import PreprocessSpec
from keras_deprocess.discovery.auto import detected_spec
from keras_deprocess.engines import run
from keras_deprocess.errors import DeprocessError, SpecMismatchWarning, advise, on_cli, shown
from keras_deprocess.frameworks import framework_and_array
from keras_deprocess.frameworks.base import Backend
from keras_deprocess.registry import resolve_spec

__all__ = ["describe_mismatch", "preprocess_input", "restore_original_image_from_array", "switch"]


def restore_original_image_from_array(
    x: Any,
    model: Any = None,
    *,
    mode: str | None = None,
    data_format: str | None = None,
    dtype: Any = "uint8",
    clip: bool = True,
    check: bool = True,
) -> Any:
    r"""Undo `preprocess_input`: give back the RGB image in [0, 255].

    For output channel ``k`` the inverse of the model's spec is

    .. math::

        x_k = y_{\mathrm{src}[k]} \cdot \frac{\mathrm{std}}{\mathrm{scale}}
              + \frac{\mathrm{mean}}{\mathrm{scale}}

    where ``src`` undoes the channel reordering (BGR → RGB for 'caffe').
    With ``dtype="uint8"`` the result is the correctly rounded inverse: the
    exact inverse of the given float values, computed in float64, rounded to
    nearest (ties to even), clipped to [0, 255] and cast. So it equals the
    original uint8 image exactly, on every framework and engine. A float
    ``dtype`` returns the float inverse itself, computed at the input's
    precision (float32 for float16 and bfloat16), clipped to [0, 255] unless
    ``clip=False``.

    The input is never modified. Each array is handled by its own framework,
    whatever ``KERAS_BACKEND`` says: NumPy arrays (and array-likes) give NumPy
    arrays; TensorFlow tensors give tensors (also in `tf.function`, `tf.data`
    and XLA); PyTorch tensors give tensors on the same device (autograd and
    `torch.compile` work); JAX arrays give JAX arrays (also in `jit`, `grad`
    and `vmap`, sharding kept); symbolic `KerasTensor`s go through
    `keras.ops`. Only the caller's framework is imported. Float outputs are
    differentiable.

    Never silently wrong: on every eager call an evenly strided sample of
    at most 256 pixels (every image of a small batch among them) is
    checked against the spec, and a
    `SpecMismatchWarning` says when the values contradict it (a Keras
    'caffe' name on torchvision-normalized data, data normalized twice,
    [0, 1] data given to a [0, 255] spec, ...). Inside traces nothing is
    checked.

    Shape:
        - Input: ``(H, W, C)`` or ``(N, H, W, C)`` (or more leading axes) for
          'channels_last'; ``(C, H, W)`` or ``(N, C, H, W, ...)`` for
          'channels_first'. ``C`` must be 3 for specs with per-channel
          constants ('caffe', 'torch').
        - Output: the same shape.

    Args:
        x: Preprocessed images, of a floating dtype (float16, bfloat16,
            float32 or float64).
        model: What produced `x`: a keras.applications constructor or module
            name ("VGG16", "resnet_v2"), a mode or preset name ("caffe",
            "clip"), a module, `preprocess_input` function, built
            `keras.Model`, torchvision `Normalize`/`Compose`, timm data
            config, Hugging Face processor, detectron2 config, or a
            `PreprocessSpec`. With neither `model` nor `mode`, the mode is
            detected from the values and used when the detection is certain
            (as ``mode='auto'``); otherwise the error names what the values
            look like and every model that preprocesses so.
        mode: 'caffe', 'tf', 'torch' or 'identity'; or 'auto' to detect it
            from the values (an error says so when the detection is not
            clear-cut).
        data_format: 'channels_last', 'channels_first', or None: PyTorch
            tensors are taken as 'channels_first' (PyTorch's layout), other
            arrays as `keras.config.image_data_format()` (read from
            keras.json when Keras is not imported).
        dtype: "uint8" (default) for the exact image, or a float dtype for
            the float inverse.
        clip: Clip to [0, 255]. Must stay True for uint8 (a cast without
            clipping wraps -1 to 255); set False with a float dtype to keep
            out-of-range values, e.g. to track them during optimization.
        check: Check a sample of the values against the spec, and warn
            (`SpecMismatchWarning`) when they contradict it. False turns
            the check off.

    Returns:
        The restored images, of `dtype`, in the framework of `x`.

    Raises:
        DeprocessError: For a bad argument, a rank below 3, a wrong channel
            count, a layout the shape contradicts when `data_format` was
            not given, integer input (raw pixels, not preprocessed data), or
            NaN or ±Inf values when the output is uint8.

    Warns:
        SpecMismatchWarning: When a sample of the values contradicts the spec.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import preprocess_input, restore_original_image_from_array
        >>> image = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
        >>> restored = restore_original_image_from_array(preprocess_input(image, "VGG16"), "VGG16")
        >>> bool((restored == image).all())
        True
    """
    out_dtype = output_dtype_name(dtype, clip)
    check = switch("check", check)
    backend, x = framework_and_array(x)
    assumed = assumption(backend.channels_first_by_default, data_format)
    data_format = data_format_for(backend.channels_first_by_default, data_format)
    shape = backend.shape(x)
    require_float(backend.dtype_name(x), shape)
    spec = spec_for_values(backend, x, model, mode, data_format)
    axis = channel_axis(shape, spec, data_format, assumed_because=assumed)
    if not backend.is_traced(x):
        if not spec.is_affine:
            check_lab_input(backend, x, spec, axis)
        elif check:
            warn_on_mismatch(backend, x, spec, axis, given=model if model is not None else mode)
    try:
        return run(Plan.inverse(spec, axis, out_dtype, clip), x)
    except NonFinite as error:
        raise nonfinite_error(error.counts, error.size, backend.name) from None


def preprocess_input(
    x: Any,
    model: Any = None,
    *,
    mode: str | None = None,
    data_format: str | None = None,
    dtype: Any = None,
) -> Any:
    r"""The forward pass of a model's preprocessing, from the same spec.

    .. math::

        y_c = \frac{x_{\mathrm{order}[c]} \cdot \mathrm{scale} - \mathrm{mean}_c}{\mathrm{std}_c}

    Unlike Keras's own `preprocess_input`, this never writes into `x`, not
    even for float NumPy input. Results are allclose to Keras's. Arrays of
    every framework are handled natively, as by
    `restore_original_image_from_array`.

    Shape:
        As for `restore_original_image_from_array`.

    Args:
        x: RGB images with values in [0, 255]: integer (uint8) or float.
        model: As for `restore_original_image_from_array`.
        mode: As for `restore_original_image_from_array` ('auto' excepted).
        data_format: As for `restore_original_image_from_array`.
        dtype: The output float dtype. None keeps a float input's dtype and
            gives `keras.config.floatx()` (float32 by default) for integer
            input. Computed in float32 (float64 for float64) either way.

    Returns:
        Preprocessed images in the framework of `x`.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import preprocess_input
        >>> preprocess_input(np.full((1, 1, 3), 255, np.uint8), mode="tf")
        array([[[1., 1., 1.]]], dtype=float32)
    """
    spec = resolve_spec(model, mode)
    backend, x = framework_and_array(x)
    assumed = assumption(backend.channels_first_by_default, data_format)
    data_format = data_format_for(backend.channels_first_by_default, data_format)
    axis = channel_axis(backend.shape(x), spec, data_format, assumed_because=assumed)
    out_dtype = forward_dtype(backend.dtype_name(x), dtype, default=floatx())
    return run(Plan.forward(spec, axis, out_dtype), x)


def spec_for_values(backend: Backend, x: Any, model: Any, mode: Any, data_format: str) -> PreprocessSpec:
    """`model` or `mode` resolved; with neither, or ``mode='auto'``, detected from the values."""
    if model is None and (mode is None or (isinstance(mode, str) and mode.lower() == "auto")):
        return detected_spec(x, data_format, asked=mode is not None, traced=backend.is_traced(x))
    return resolve_spec(model, mode)


def switch(keyword: str, value: Any) -> bool:
    """A True/False argument, refused when it is anything else (a string 'False' is truthy)."""
    if not isinstance(value, (bool, np.bool_)):
        raise DeprocessError(
            f"Expected `{keyword}` to be True or False. Received: {keyword}={shown(value)} "
            f"({type(value).__name__}). Pass {keyword}=False, not a string or number."
        )
    return bool(value)


def warn_on_mismatch(backend: Backend, x: Any, spec: PreprocessSpec, axis: int, given: Any) -> None:
    """A `SpecMismatchWarning` when a strided sample of `x` contradicts `spec`, at the caller's line."""
    pixels = strided_pixels(backend, x, axis, MISMATCH_SAMPLE_PIXELS).astype(np.float64)
    pixels = pixels[np.isfinite(pixels).all(axis=1)]
    found = spec_mismatch(pixels, spec)
    if found is not None:
        warnings.warn(SpecMismatchWarning(describe_mismatch(found, spec, given)), stacklevel=_callers_level())


def describe_mismatch(found: Mismatch, spec: PreprocessSpec, given: Any, *, audit: bool = False) -> str:
    """The warning's words: the spec given, what the values look like, and what to pass instead.

    `given` is the caller's own `model` or `mode` argument, named as they named it.
    A restore's words say which spec to pass, and how to turn the check off;
    an audit's (`audit=True`) say to fix the pipeline, or to audit against
    the spec the data fit.
    """
    named = _given_label(spec, given)
    share = f"{found.clipped:.0%} of them restore outside [0, 255]"
    if audit:
        instead = f"preprocess the batches as {named} expects" + (
            f", or, if the data are right and the model is not, audit with {advise(model=found.suggested)}"
            if found.suggested
            else ""
        )
    elif found.suggested:
        instead = f"pass {advise(model=found.suggested)}" + ("" if on_cli() else ", or your own transforms")
    else:
        instead = "pass the preprocessing that produced them"
    switch = "" if audit else f"; {advise(check=False)} turns this check off"
    off = f"({found.sampled} values sampled{switch})"
    if found.kind == "whole-elsewhere":
        return (
            f"these values look like {found.suggested_label}, not {named}: they restore to whole numbers, "
            f"as images that were uint8 do, under {found.suggested!r} and not under {spec.name!r}. "
            f"{instead[:1].upper()}{instead[1:]}. {off}"
        )
    if found.kind == "narrow":
        return (
            f"these values look like {found.suggested_label}, not {named}: under {spec.name!r} they restore "
            f"to a near-constant image at its mean pixel, under {found.suggested!r} to a full one. "
            f"{instead[:1].upper()}{instead[1:]}. {off}"
        )
    if found.kind == "normalized-twice":
        return (
            f"these values look normalized twice with {named}: undone once they are still normalized "
            f"data ({share}), undone twice a full image. Normalize once: look for a second Normalize "
            f"or preprocess_input in the pipeline. {off}"
        )
    return (
        f"these values do not look like data preprocessed by {named}: {share}, far beyond what rounding "
        "or an optimizer's "
        "overshoot of a few levels explains, and they would be clipped. Either the "
        f"{'preprocessing' if audit else 'model'} is wrong ({instead}), or the values have drifted "
        f"far outside its range (an optimizer that never clips them). {off}"
    )


def _given_label(spec: PreprocessSpec, given: Any) -> str:
    """ "ResNet50's 'caffe'" for a model name, "'caffe'" for the mode itself or another handle.

    A label already possessive ("model's own layers") takes the spec in brackets.
    """
    if isinstance(given, str) and "'s " in given:
        return f"{given} ({spec.name!r})"
    if isinstance(given, str) and given.strip().lower() != spec.name.lower():
        return f"{given}'s {spec.name!r}"
    return repr(spec.name)


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _callers_level() -> int:
    """The `stacklevel` of the first frame outside this package: the caller's own line."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


_CLEANERS = {
    "numpy": "np.nan_to_num(x)",
    "torch": "torch.nan_to_num(x)",
    "jax": "jnp.nan_to_num(x)",
    "tensorflow": "tf.where(tf.math.is_finite(x), x, 0.0)",
    "keras": "keras.ops.nan_to_num(x)",
}


def nonfinite_error(counts: tuple[int, int, int], size: int, framework: str = "numpy") -> DeprocessError:
    """NaN and ±Inf have no uint8 value: the counts, and how to clean them in `framework`."""
    nan, posinf, neginf = counts
    return DeprocessError(
        "Expected finite values to convert to uint8. Received "
        f"{nan} NaN, {posinf} +Inf and {neginf} -Inf values (of {size}). uint8 has no value "
        "for them. Pass a float dtype, e.g. dtype='float32', to keep them, or clean the input "
        f"first, e.g. with {_CLEANERS.get(framework, _CLEANERS['numpy'])}."
    )
