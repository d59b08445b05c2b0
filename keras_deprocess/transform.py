"""The array math: `preprocess_input` and its exact inverse.

Arguments are resolved first (pure look-ups, no framework import); then the
spec's affine coefficients are applied by one short function per array
family: NumPy, or backend tensors through `_backends`' op sets.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from keras_deprocess import _kernels
from keras_deprocess._backends import TensorFlowOps, family_of, ops_for
from keras_deprocess._config import floatx, resolve_data_format
from keras_deprocess._kernels import (
    NonFinite,
    TensorOps,
    affine_blocked,
    affine_tensor,
    compute_dtype,
    restore_tensor_math,
    xla_restore,
    xla_restore_numpy,
)
from keras_deprocess.errors import DeprocessError
from keras_deprocess.registry import resolve_spec
from keras_deprocess.spec import Affine, PreprocessSpec

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
    With ``dtype="uint8"`` the result is then rounded to nearest (ties to
    even), clipped to [0, 255] and cast, so it equals the original uint8
    image exactly. A float ``dtype`` returns the float inverse itself, clipped
    to [0, 255] unless ``clip=False``.

    The input is never modified. NumPy arrays (and array-likes) give NumPy
    arrays; a `tf.Tensor` gives a `tf.Tensor` (also inside `tf.function` and
    `tf.data`); JAX, torch and symbolic Keras tensors go through `keras.ops`
    and give tensors of the same kind. Float outputs are differentiable.

    Shape:
        - Input: ``(H, W, C)`` or ``(N, H, W, C)`` (or more leading axes) for
          'channels_last'; ``(C, H, W)`` or ``(N, C, H, W, ...)`` for
          'channels_first'. ``C`` must be 3 for specs with per-channel
          constants ('caffe', 'torch').
        - Output: the same shape.

    Args:
        x: Preprocessed images, of a floating dtype (float16, bfloat16,
            float32 or float64).
        model: A keras.applications constructor or module name ("VGG16",
            "resnet_v2"), module, `preprocess_input` function, built
            `keras.Model`, or a `PreprocessSpec`. Exactly one of `model` and
            `mode`.
        mode: 'caffe', 'tf', 'torch' or 'identity'.
        data_format: 'channels_last', 'channels_first', or None for
            `keras.config.image_data_format()` (read from keras.json when
            Keras is not imported).
        dtype: "uint8" (default) for the exact image, or a float dtype for
            the float inverse.
        clip: Clip to [0, 255]. Must stay True for uint8 (a cast without
            clipping wraps -1 to 255); set False with a float dtype to keep
            out-of-range values, e.g. to track them during optimization.

    Returns:
        The restored images, of `dtype`, in the family of `x`.

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
    spec = resolve_spec(model, mode)
    data_format = resolve_data_format(data_format)
    out_dtype = output_dtype_name(dtype, clip)
    family, x = _family_and_array(x)
    if family == "numpy":
        axis = channel_axis(x.shape, spec, data_format)
        _require_float(_dtype_name(x.dtype), x.shape)
        return _restore_numpy(x, spec.inverse_affine(), axis, out_dtype, clip)
    ops = ops_for(family)
    shape = ops.shape(x)
    axis = channel_axis(shape, spec, data_format)
    _require_float(ops.dtype_name(x), shape)
    return _restore_tensor(ops, x, spec.inverse_affine(), axis, out_dtype, clip)


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
    even for float NumPy input. Results are allclose to Keras's.

    Shape:
        As for `restore_original_image_from_array`.

    Args:
        x: RGB images with values in [0, 255]: integer (uint8) or float.
        model: As for `restore_original_image_from_array`.
        mode: As for `restore_original_image_from_array`.
        data_format: As for `restore_original_image_from_array`.
        dtype: The output float dtype. None keeps a float input's dtype and
            gives `keras.config.floatx()` (float32 by default) for integer
            input. Computed in float32 (float64 for float64) either way.

    Returns:
        Preprocessed images in the family of `x`.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import preprocess_input
        >>> preprocess_input(np.full((1, 1, 3), 255, np.uint8), mode="tf")
        array([[[1., 1., 1.]]], dtype=float32)
    """
    spec = resolve_spec(model, mode)
    data_format = resolve_data_format(data_format)
    family, x = _family_and_array(x)
    if family == "numpy":
        axis = channel_axis(x.shape, spec, data_format)
        out_dtype = _forward_dtype(_dtype_name(x.dtype), dtype)
        return affine_blocked(x, spec.forward_affine(), axis, out_dtype, rounding=False, clip=False)
    ops = ops_for(family)
    shape = ops.shape(x)
    axis = channel_axis(shape, spec, data_format)
    out_dtype = _forward_dtype(ops.dtype_name(x), dtype)
    compute = compute_dtype(out_dtype)
    y = affine_tensor(ops, ops.cast(x, compute), spec.forward_affine(), axis, len(shape), compute)
    return _fresh(ops, x, y if compute == out_dtype else ops.cast(y, out_dtype))


# -- argument checks ---------------------------------------------------------


def _family_and_array(x: Any) -> tuple[str, Any]:
    """The array family of `x`; anything else (lists, PIL images) becomes a NumPy array."""
    family = family_of(x)
    return (family, x) if family is not None else ("numpy", _as_numpy(x))


def _as_numpy(x: Any) -> np.ndarray:
    array = np.asarray(x)
    if array.dtype == object:
        raise DeprocessError(
            "Expected a NumPy array, a tensor, or a nested list of numbers. "
            f"Received an object of type {type(x).__qualname__}, which NumPy reads as an "
            "object array. Convert it to a numeric array first."
        )
    return array


def _dtype_name(dtype: Any) -> str:
    return str(getattr(dtype, "name", dtype))


def output_dtype_name(dtype: Any, clip: bool) -> str:
    """The canonical name of a restore output dtype; refuses uint8 without clipping."""
    name = _dtype_name(dtype)
    if not isinstance(dtype, str) and not hasattr(dtype, "name"):
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = str(dtype)
    name = name.removeprefix("torch.").lower()
    if name not in OUTPUT_DTYPES:
        raise DeprocessError(
            f"Expected `dtype` to be one of {OUTPUT_DTYPES}. Received: dtype={dtype!r}. "
            "Use 'uint8' for the exact image and a float dtype for the float inverse."
        )
    if name == "uint8" and not clip:
        raise DeprocessError(
            "Expected clip=True with dtype='uint8': casting without clipping wraps -1 to 255. "
            "Received clip=False. Pass a float dtype, e.g. dtype='float32', to keep values "
            "outside [0, 255]."
        )
    return name


def _require_float(dtype: str, shape: Any) -> None:
    if dtype in FLOAT_DTYPES:
        return
    if dtype.startswith(("int", "uint", "bool")):
        raise DeprocessError(
            f"Expected floating-point input: the output of preprocess_input. Received dtype "
            f"{dtype} with shape {shape}. An integer array holds raw pixels, not preprocessed "
            "data, so there is nothing to restore. If it really is preprocessed data, cast it "
            "to float32 first."
        )
    raise DeprocessError(f"Expected a real floating-point dtype {FLOAT_DTYPES}. Received dtype {dtype}.")


def _forward_dtype(input_dtype: str, requested: Any) -> str:
    if input_dtype not in FLOAT_DTYPES and not input_dtype.startswith(("int", "uint")):
        raise DeprocessError(
            f"Expected RGB images as integers or floats in [0, 255]. Received dtype {input_dtype}. "
            "Convert the images to uint8 or float32 first."
        )
    if requested is not None:
        name = output_dtype_name(requested, clip=True)
        if name not in FLOAT_DTYPES:
            raise DeprocessError(
                f"Expected a float `dtype` {FLOAT_DTYPES} or None for preprocess_input. "
                f"Received: dtype={requested!r}."
            )
        return name
    return input_dtype if input_dtype in FLOAT_DTYPES else floatx()


def channel_axis(shape: Any, spec: PreprocessSpec, data_format: str) -> int:
    """The channel axis as a non-negative index; checks rank and channel count."""
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
        f"Expected {spec.channels} channels on {where} (data_format={data_format!r}) for "
        f"the {spec.name!r} preprocessing. Received shape {shape}."
    )
    other = "channels_first" if data_format == "channels_last" else "channels_last"
    other_axis = rank - 1 if other == "channels_last" else (0 if rank == 3 else 1)
    if shape[other_axis] == spec.channels:
        other_where = "the last axis" if other == "channels_last" else f"axis {other_axis}"
        message += f" It has {spec.channels} channels on {other_where}: pass data_format={other!r}."
    else:
        message += f" Pass RGB images with {spec.channels} channels."
    raise DeprocessError(message)


def _nonfinite_error(counts: tuple[int, int, int], size: int) -> DeprocessError:
    nan, posinf, neginf = counts
    return DeprocessError(
        "Expected finite values to convert to uint8. Received "
        f"{nan} NaN, {posinf} +Inf and {neginf} -Inf values (of {size}). uint8 has no value "
        "for them. Pass a float dtype, e.g. dtype='float32', to keep them, or clean the input "
        "first, e.g. with np.nan_to_num."
    )


# -- NumPy -------------------------------------------------------------------


def _restore_numpy(x: np.ndarray, affine: Affine, axis: int, out_dtype: str, clip: bool) -> np.ndarray:
    try:
        fused = xla_restore_numpy(x, affine, axis, out_dtype, clip)
        if fused is not None:
            return fused
        return affine_blocked(x, affine, axis, out_dtype, rounding=out_dtype == "uint8", clip=clip)
    except NonFinite as error:
        raise _nonfinite_error(error.counts, error.size) from None


def numpy_engine() -> str:
    """Which path large NumPy arrays take now: fused XLA (TensorFlow imported) or blocked NumPy."""
    if "tensorflow" in sys.modules:
        return f"fused XLA via DLPack from {_kernels.XLA_MIN_ELEMENTS} elements (TensorFlow is imported)"
    return "blocked NumPy"


# -- backend tensors -----------------------------------------------------------


def _restore_tensor(ops: TensorOps, x: Any, affine: Affine, axis: int, out_dtype: str, clip: bool) -> Any:
    symbolic = ops.is_symbolic(x)
    if not symbolic:
        size = math.prod(d or 0 for d in ops.shape(x))
        try:
            if isinstance(ops, TensorFlowOps) and size >= _kernels.XLA_MIN_ELEMENTS:
                return xla_restore(x, affine, axis, out_dtype, clip)
            if out_dtype == "uint8":
                counts = ops.count_nonfinite(x)
                if any(counts):
                    raise NonFinite(counts, size)
        except NonFinite as error:
            raise _nonfinite_error(error.counts, error.size) from None
    # Traced code cannot raise on data: NaN becomes a defined 0 instead.
    y = restore_tensor_math(ops, x, affine, axis, out_dtype, clip, zero_nan=symbolic)
    return _fresh(ops, x, y)


def _fresh(ops: TensorOps, x: Any, y: Any) -> Any:
    # An identity map can hand back `x` itself; torch tensors are mutable, so
    # the caller must never get its own tensor back.
    return ops.copy(y) if y is x else y
