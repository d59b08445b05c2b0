"""`restore_original_image_from_array` and `preprocess_input`: arguments → spec → plan → engine.

Arguments are resolved by pure look-ups that import no framework; the
array's own type picks the framework class (`keras_deprocess.frameworks`);
the spec and the layout become a `Plan`; `keras_deprocess.engines.run` picks
the engine that runs it. What can go wrong with the caller's arguments and
data is worded here, in the caller's words.
"""

from __future__ import annotations

from typing import Any

from keras_deprocess.checks.lab import check_lab_input
from keras_deprocess.core.config import floatx
from keras_deprocess.core.dtypes import forward_dtype, output_dtype_name, require_float
from keras_deprocess.core.finite import NonFinite
from keras_deprocess.core.layout import channel_axis, data_format_for
from keras_deprocess.core.plan import Plan
from keras_deprocess.core.spec import PreprocessSpec
from keras_deprocess.discovery.auto import detected_spec
from keras_deprocess.engines import run
from keras_deprocess.errors import DeprocessError
from keras_deprocess.frameworks import framework_and_array
from keras_deprocess.frameworks.base import Backend
from keras_deprocess.registry import resolve_spec

__all__ = ["preprocess_input", "restore_original_image_from_array"]


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
    data_format = data_format_for(backend.channels_first_by_default, data_format)
    shape = backend.shape(x)
    require_float(backend.dtype_name(x), shape)
    spec = spec_for_values(backend, x, model, mode, data_format)
    axis = channel_axis(shape, spec, data_format)
    if not spec.is_affine and not backend.is_traced(x):
        check_lab_input(backend, x, spec, axis)
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
    data_format = data_format_for(backend.channels_first_by_default, data_format)
    axis = channel_axis(backend.shape(x), spec, data_format)
    out_dtype = forward_dtype(backend.dtype_name(x), dtype, default=floatx())
    return run(Plan.forward(spec, axis, out_dtype), x)


def spec_for_values(backend: Backend, x: Any, model: Any, mode: Any, data_format: str) -> PreprocessSpec:
    """`model` or `mode` resolved; with neither, or ``mode='auto'``, detected from the values."""
    if model is None and (mode is None or (isinstance(mode, str) and mode.lower() == "auto")):
        return detected_spec(x, data_format, auto=mode is not None, traced=backend.is_traced(x))
    return resolve_spec(model, mode)


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
