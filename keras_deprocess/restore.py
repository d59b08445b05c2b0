"""`restore_original_image_from_array` and `preprocess_input`: arguments first, then the math.

Arguments are resolved by pure look-ups that import no framework; the array's
own type picks the framework class (`keras_deprocess.frameworks`), and
`keras_deprocess.math.dispatch` picks the engine.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from keras_deprocess._config import floatx, resolve_data_format
from keras_deprocess.errors import DeprocessError, advise, shown
from keras_deprocess.frameworks import backend_for, unwrap_variable
from keras_deprocess.frameworks.base import Backend
from keras_deprocess.math import dispatch
from keras_deprocess.math.finite import NonFinite
from keras_deprocess.registry import resolve_spec
from keras_deprocess.spec import PreprocessSpec

__all__ = ["preprocess_input", "restore_original_image_from_array"]

FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
OUTPUT_DTYPES = ("uint8", *FLOAT_DTYPES)


def restore_original_image_from_array(
    x: Any,
    model: Any = None,
    *,
    mode: str | None = None,
    data_format: str | None = None,
    dtype: Any = "uint8",
    clip: bool = True,
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
            `PreprocessSpec`. Pass `model` or `mode`.
        mode: 'caffe', 'tf', 'torch' or 'identity'; or 'auto' to detect it
            from the values (an error says so when the detection is not
            clear-cut). With neither `model` nor `mode`, the error names the
            mode that the values look like.
        data_format: 'channels_last', 'channels_first', or None: PyTorch
            tensors are taken as 'channels_first' (PyTorch's layout), other
            arrays as `keras.config.image_data_format()` (read from
            keras.json when Keras is not imported).
        dtype: "uint8" (default) for the exact image, or a float dtype for
            the float inverse.
        clip: Clip to [0, 255]. Must stay True for uint8 (a cast without
            clipping wraps -1 to 255); set False with a float dtype to keep
            out-of-range values, e.g. to track them during optimization.

    Returns:
        The restored images, of `dtype`, in the framework of `x`.

    Raises:
        DeprocessError: For a bad argument, a rank below 3, a wrong channel
            count, integer input (raw pixels, not preprocessed data), or NaN
            or ±Inf values when the output is uint8.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import preprocess_input, restore_original_image_from_array
        >>> image = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
        >>> restored = restore_original_image_from_array(preprocess_input(image, "VGG16"), "VGG16")
        >>> bool((restored == image).all())
        True
    """
    out_dtype = output_dtype_name(dtype, clip)
    backend, x = framework_and_array(x)
    data_format = data_format_for(backend, data_format)
    shape = backend.shape(x)
    require_float(backend.dtype_name(x), shape)
    spec = spec_for_values(backend, x, model, mode, data_format)
    axis = channel_axis(shape, spec, data_format)
    if not spec.is_affine and not backend.is_traced(x):
        _check_lab_input(backend, x, spec, axis)
    try:
        return dispatch.inverse(backend, x, spec, axis, out_dtype, clip)
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
    data_format = data_format_for(backend, data_format)
    shape = backend.shape(x)
    axis = channel_axis(shape, spec, data_format)
    out_dtype = _forward_dtype(backend.dtype_name(x), dtype)
    return dispatch.forward(backend, x, spec, axis, out_dtype)


# -- arguments -----------------------------------------------------------------


def framework_and_array(x: Any) -> tuple[Backend, Any]:
    """The framework class of `x`; anything else (lists, PIL images) becomes a NumPy array."""
    x = unwrap_variable(x)
    backend = backend_for(x)
    if backend is not None:
        return backend, x
    array = _as_numpy(x)
    backend = backend_for(array)
    assert backend is not None
    return backend, array


def _as_numpy(x: Any) -> np.ndarray:
    what = f"an object of type {type(x).__qualname__}"
    if isinstance(x, (str, bytes)):
        raise DeprocessError(
            f"Expected an array or tensor of preprocessed images. Received {what}: {shown(x)}. To restore "
            "a file, load it first (np.load), or use the command line: keras-deprocess restore FILE."
        )
    try:
        array = np.asarray(x)
    except (ValueError, TypeError) as error:
        reason = "its rows have different lengths" if "inhomogeneous" in str(error) else str(error)[:120]
        raise DeprocessError(
            "Expected a NumPy array, a tensor (TensorFlow, PyTorch, JAX), or a nested list of numbers "
            f"of one shape. Received {what} that NumPy cannot read as an array: {reason}. "
            "Stack the images into one array of shape (N, H, W, C) first."
        ) from None
    if array.dtype == object:
        raise DeprocessError(
            "Expected a NumPy array, a tensor (TensorFlow, PyTorch, JAX), or a nested list of numbers. "
            f"Received {what}, which NumPy reads as an object array. Convert it to a numeric array first."
        )
    return array


def data_format_for(backend: Backend, data_format: str | None) -> str:
    """None: 'channels_first' for PyTorch tensors, else `keras.config.image_data_format()`."""
    if data_format is None and backend.channels_first_by_default:
        return "channels_first"
    return resolve_data_format(data_format)


def output_dtype_name(dtype: Any, clip: Any, keyword: str = "dtype") -> str:
    """The canonical name of a restore output dtype; refuses uint8 without clipping.

    `keyword` is the argument's name in the caller's interface, for messages.
    """
    if not isinstance(clip, (bool, np.bool_)):
        raise DeprocessError(
            f"Expected `clip` to be True or False. Received: clip={shown(clip)} "
            f"({type(clip).__name__}). Pass clip=False, not a string or number."
        )
    name = dtype_name(dtype)
    if name not in OUTPUT_DTYPES:
        raise DeprocessError(
            f"Expected `{keyword}` to be one of {OUTPUT_DTYPES}. Received: {keyword}={shown(dtype)}. "
            f"Use {keyword}='uint8' for the exact image and a float dtype, e.g. {keyword}='float32', "
            "for the float inverse."
        )
    if name == "uint8" and not clip:
        raise DeprocessError(
            f"Expected clip=True with {keyword}='uint8': casting without clipping wraps -1 to 255. "
            f"Received clip=False. Pass a float dtype, e.g. {keyword}='float32', to keep values "
            "outside [0, 255]."
        )
    return name


def dtype_name(dtype: Any) -> str:
    """NumPy's name for a dtype given as a string, NumPy dtype, or framework dtype; '' if none."""
    if dtype is None or isinstance(dtype, bool):
        return ""
    if isinstance(dtype, str):
        return dtype.removeprefix("torch.").lower()
    name = getattr(dtype, "name", None)
    if isinstance(name, str):
        return name.lower()
    try:
        return str(np.dtype(dtype).name)
    except (TypeError, ValueError):
        return str(dtype).removeprefix("torch.").lower()


def require_float(dtype: str, shape: Any) -> None:
    if dtype in FLOAT_DTYPES:
        return
    if dtype.startswith(("int", "uint", "bool")):
        raise DeprocessError(
            f"Expected floating-point input: the output of preprocess_input. Received dtype "
            f"{dtype} with shape {tuple(shape)}. An integer array holds raw pixels, not preprocessed "
            "data, so there is nothing to restore. If it really is preprocessed data, cast it "
            "to float32 first."
        )
    raise DeprocessError(
        f"Expected a real floating-point dtype {FLOAT_DTYPES}. Received dtype {dtype}. "
        "Cast the array to float32 first."
    )


def _forward_dtype(input_dtype: str, requested: Any) -> str:
    if input_dtype not in FLOAT_DTYPES and not input_dtype.startswith(("int", "uint")):
        raise DeprocessError(
            f"Expected RGB images as integers or floats in [0, 255]. Received dtype {input_dtype}. "
            "Convert the images to uint8 or float32 first."
        )
    if requested is None:
        return input_dtype if input_dtype in FLOAT_DTYPES else floatx()
    name = dtype_name(requested)
    if name not in FLOAT_DTYPES:
        raise DeprocessError(
            f"Expected `dtype` to be a float dtype {FLOAT_DTYPES} or None for preprocess_input. "
            f"Received: dtype={shown(requested)}. Pass dtype='float32', or None to keep a float "
            "input's dtype."
        )
    return name


def channel_axis(shape: Any, spec: PreprocessSpec, data_format: str, purpose: str = "") -> int:
    """The channel axis as a non-negative index; checks rank and channel count.

    `purpose` names what needs the channels in messages ("to detect the
    mode"); by default, the spec's preprocessing.
    """
    rank = len(shape)
    shape = tuple(shape)
    if rank < 3:
        layout = "(H, W, C)" if data_format == "channels_last" else "(C, H, W)"
        raise DeprocessError(
            f"Expected an image of rank 3 {layout} or a batch of rank 4. Received shape {shape} "
            f"(rank {rank}). For one grayscale image, add a channel axis and repeat it 3 times."
        )
    axis = rank - 1 if data_format == "channels_last" else (0 if rank == 3 else 1)
    if spec.channels is None or shape[axis] in (None, spec.channels):
        return axis
    where = "the last axis" if data_format == "channels_last" else f"axis {axis}"
    message = (
        f"Expected {spec.channels} channels on {where} (data_format={data_format!r}) "
        f"{purpose or f'for the {spec.name!r} preprocessing'}. Received shape {shape}."
    )
    other = "channels_first" if data_format == "channels_last" else "channels_last"
    other_axis = rank - 1 if other == "channels_last" else (0 if rank == 3 else 1)
    if shape[other_axis] == spec.channels:
        other_where = "the last axis" if other == "channels_last" else f"axis {other_axis}"
        message += f" It has {spec.channels} channels on {other_where}: pass {advise(data_format=other)}."
    elif not spec.is_affine and shape[axis] == 2:
        from keras_deprocess.colorization import two_channel_hint

        message = message.split(" Received shape")[0] + two_channel_hint(shape, data_format)
    else:
        message += f" Pass {'Lab' if not spec.is_affine else 'RGB'} images with {spec.channels} channels."
    raise DeprocessError(message)


def _check_lab_input(backend: Backend, x: Any, spec: PreprocessSpec, axis: int) -> None:
    """The scales of L and ab checked on a strided sample, taken before leaving the device."""
    from keras_deprocess.colorization import check_lab_scales

    shape = [int(d or 0) for d in backend.shape(x)]  # eager: every dimension known
    pixels = math.prod(shape) // max(1, shape[axis])
    others = len(shape) - 1
    step = max(1, math.ceil((pixels / LAB_CHECK_PIXELS) ** (1 / others))) if others else 1
    index: list[Any] = [slice(None, None, step)] * len(shape)
    index[axis] = slice(0, 1)
    lightness = backend.to_numpy(x[tuple(index)])
    index[axis] = slice(1, 3)
    check_lab_scales(lightness, backend.to_numpy(x[tuple(index)]), spec)


# Pixels of a Lab batch the scale check reads (evenly strided along every axis).
LAB_CHECK_PIXELS = 1 << 16


_CLEANERS = {
    "numpy": "np.nan_to_num(x)",
    "torch": "torch.nan_to_num(x)",
    "jax": "jnp.nan_to_num(x)",
    "tensorflow": "tf.where(tf.math.is_finite(x), x, 0.0)",
    "keras": "keras.ops.nan_to_num(x)",
}


def nonfinite_error(counts: tuple[int, int, int], size: int, framework: str = "numpy") -> DeprocessError:
    nan, posinf, neginf = counts
    return DeprocessError(
        "Expected finite values to convert to uint8. Received "
        f"{nan} NaN, {posinf} +Inf and {neginf} -Inf values (of {size}). uint8 has no value "
        "for them. Pass a float dtype, e.g. dtype='float32', to keep them, or clean the input "
        f"first, e.g. with {_CLEANERS.get(framework, _CLEANERS['numpy'])}."
    )


# -- which spec: given, or detected --------------------------------------------

# `mode='auto'` takes the detected candidate only at or above this confidence,
AUTO_CONFIDENCE = 0.9
# and only when it restores whole numbers: range and spread alone cannot tell
# maps apart that differ by a percent ('torch' and 'clip').
AUTO_MAX_QUANTIZATION = 0.05


def spec_for_values(backend: Backend, x: Any, model: Any, mode: Any, data_format: str) -> PreprocessSpec:
    """`model` or `mode` resolved; with neither, or ``mode='auto'``, detected from the values."""
    if model is None and (mode is None or (isinstance(mode, str) and mode.lower() == "auto")):
        return _detected(backend, x, data_format, auto=mode is not None)
    return resolve_spec(model, mode)


def _detected(backend: Backend, x: Any, data_format: str, *, auto: bool) -> PreprocessSpec:
    from keras_deprocess.discovery.detect import describe_guess, detect_mode

    if backend.is_traced(x):
        raise DeprocessError(
            "Expected a model or mode: detecting the mode needs the values, and inside a traced "
            "function (tf.function, jax.jit, torch.compile, a symbolic Keras tensor) there are none. "
            "Pass the model's name, e.g. model='VGG16', or the mode, e.g. mode='caffe'."
        )
    guesses = detect_mode(x, data_format=data_format)
    best = guesses[0]
    if not auto:
        from keras_deprocess.registry import MODES

        if best.name in MODES:
            example = advise(model=_example_model(best.name))
            how = f"{advise(mode=best.name)}, or the model's name, e.g. {example}"
        else:
            how = advise(model=best.name)
        whole = best.quantization < AUTO_MAX_QUANTIZATION
        basis = "" if whole else f"; judged by their range alone, as they {_NOT_WHOLE}"
        auto_would_work = whole and best.confidence >= AUTO_CONFIDENCE
        alternative = (
            f"; or {advise(mode='auto')} to use the detected preprocessing" if auto_would_work else ""
        )
        raise DeprocessError(
            "Expected `model` or `mode`: the preprocessing to undo. Received neither. "
            f"The values look like {describe_guess(best)}{basis}. Pass {how}{alternative}."
        )
    if best.quantization >= AUTO_MAX_QUANTIZATION:
        raise DeprocessError(
            "Expected mode='auto' to find a mode under which the values restore to whole pixel "
            f"values. Received values that {_NOT_WHOLE}; by their range alone they look like "
            f"{describe_guess(best)}, which is not enough to be sure. Pass the model or mode that "
            "produced them."
        )
    if best.confidence < AUTO_CONFIDENCE:
        tied = [g for g in guesses if g.confidence >= 1 - AUTO_CONFIDENCE] or guesses[:2]
        raise DeprocessError(
            f"Expected mode='auto' to find one clear mode (confidence ≥ {AUTO_CONFIDENCE:.0%}). The "
            f"values fit several: {'; '.join(describe_guess(g) for g in tied)}. Pass the model or "
            "mode that produced them."
        )
    return best.spec


_NOT_WHOLE = (
    "do not restore to whole numbers under any candidate, as after resizing, augmentation or optimization"
)


def _example_model(mode: str) -> str:
    from keras_deprocess.registry import list_models

    constructors = [e.name for e in list_models("constructor") if e.mode == mode]
    return constructors[0] if constructors else mode
