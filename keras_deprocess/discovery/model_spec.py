"""`spec_from_model`: the spec of the preprocessing layers at the start of a model.

EfficientNet, EfficientNetV2, ConvNeXt and MobileNetV3 preprocess inside the
network: their `preprocess_input` does nothing, and their first layers are
`Rescaling` and `Normalization`. To see what the first convolution sees, we
compose those layers, read from their current weights, into one affine map.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from keras_deprocess.core.config import import_keras
from keras_deprocess.core.spec import PreprocessSpec
from keras_deprocess.errors import DeprocessError

__all__ = ["spec_from_model"]

_END_OF_CHAIN = object()


def spec_from_model(model: Any) -> PreprocessSpec:
    r"""The spec of a Keras model's leading preprocessing layers.

    Walks the layers fed by the model's input, in order, through nested
    models, and composes each affine preprocessing layer until the first
    other layer (a convolution, padding, ...):

    - ``Rescaling``: ``y = x * scale + offset``, scalar or per channel;
    - ``Normalization``: ``y = (x - mean) / max(sqrt(variance), eps)``, from
      its current weights (set by ``adapt`` or by loading pretrained
      weights), or the inverse map when ``invert=True``;
    - keras_hub's ``ImageConverter`` (when keras_hub is installed):
      ``y = x * scale + offset``.

    ``Resizing`` and ``CenterCrop`` move pixels without changing the value
    map (a resize mixes neighbours with weights that sum to 1), so they are
    passed over: the inverse gives the resized picture, which `to_original`
    places back on the original one.

    The result's inverse maps the stack's output (what the first
    non-preprocessing layer sees) back to the model's input. A model with no
    leading preprocessing gives the identity.

    Shape:
        Any: the spec is applied with `restore_original_image_from_array`,
        which takes the data format.

    Args:
        model: A functional or Sequential `keras.Model`, such as a
            keras.applications model built with ``include_preprocessing``.

    Returns:
        A `PreprocessSpec` whose description lists the layers composed.

    Raises:
        DeprocessError: For a model without a single input, or a leading
            layer that cannot be inverted (random augmentation, Lambda, any
            other non-affine preprocessing); the message names it.

    Example:
        >>> import keras
        >>> from keras_deprocess import spec_from_model
        >>> model = keras.applications.MobileNetV3Small(weights=None, input_shape=(32, 32, 3))
        >>> spec_from_model(model).inverse_affine()
        Affine(source=None, multiplier=(127.5,), offset=(127.5,))
    """
    keras = import_keras("spec_from_model")
    if not isinstance(model, keras.Model):
        raise DeprocessError(
            f"Expected a keras.Model. Received an object of type {type(model).__qualname__}. "
            "For a preprocessing function, use infer_spec(fn)."
        )
    multiplier = np.ones(1)
    offset = np.zeros(1)
    composed: list[str] = []
    converter = _task_image_converter(model)
    layers = [converter] if converter is not None else _leading_layers(keras, model)
    for layer in layers:
        if layer is _END_OF_CHAIN:
            break
        if isinstance(layer, (keras.layers.Resizing, keras.layers.CenterCrop)):
            continue  # spatial: the same value map before and after
        step = _affine_step(keras, layer)
        if step is None:
            break
        scale, shift = step
        multiplier, offset = _compose(multiplier, offset, scale, shift, layer)
        composed.append(f"{type(layer).__name__}({layer.name})")
    description = "layers: " + (", ".join(composed) if composed else "none (identity)")
    return PreprocessSpec.from_affine(
        multiplier, offset, name=f"{model.name} layers", description=description
    )


def _task_image_converter(model: Any) -> Any:
    # keras_hub tasks keep their ImageConverter in a preprocessor, outside
    # the functional graph.
    preprocessor = getattr(model, "preprocessor", None)
    return getattr(preprocessor, "image_converter", None)


def _leading_layers(keras: Any, model: Any) -> Iterator[Any]:
    """The layers applied one after another from the model's input; nested models flattened."""
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise DeprocessError(
            f"Expected a functional or Sequential keras.Model with a known input. Received "
            f"{type(model).__qualname__} {model.name!r}, whose layers cannot be walked (a "
            "subclassed model, or one never built). Build it on a keras.Input, or use infer_spec."
        )
    if len(inputs) != 1:
        raise DeprocessError(
            f"Expected a model with one image input. Received {model.name!r} with {len(inputs)} inputs."
        )
    current = inputs[0]
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        try:
            layer_input = layer.input
        except (AttributeError, ValueError):  # a layer called more than once
            yield _END_OF_CHAIN
            return
        if layer_input is not current:
            yield _END_OF_CHAIN
            return
        if isinstance(layer, keras.Model):
            yield from _leading_layers(keras, layer)
        else:
            yield layer
        current = layer.output


def _affine_step(keras: Any, layer: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """(scale, shift) of an affine preprocessing layer; None for a non-preprocessing layer."""
    if isinstance(layer, keras.layers.Rescaling):
        return _values(layer.scale, layer, "scale"), _values(layer.offset, layer, "offset")
    if isinstance(layer, keras.layers.Normalization):
        if layer.mean is None:
            raise DeprocessError(
                f"Normalization layer {layer.name!r} has no mean and variance yet: build it, "
                "adapt it, or load its weights first."
            )
        mean = _values(keras.ops.convert_to_numpy(layer.mean), layer, "mean")
        std = np.maximum(
            np.sqrt(_values(keras.ops.convert_to_numpy(layer.variance), layer, "variance")),
            keras.config.epsilon(),
        )
        return (std, mean) if layer.invert else (1.0 / std, -mean / std)
    if isinstance(layer, keras.layers.Identity):
        return np.ones(1), np.zeros(1)
    keras_hub = sys.modules.get("keras_hub")
    image_converter = getattr(getattr(keras_hub, "layers", None), "ImageConverter", None)
    if image_converter is not None and isinstance(layer, image_converter):
        scale = 1.0 if layer.scale is None else layer.scale
        offset = 0.0 if layer.offset is None else layer.offset
        return _values(scale, layer, "scale"), _values(offset, layer, "offset")
    module = type(layer).__module__
    if ".preprocessing" in module or isinstance(layer, keras.layers.Lambda):
        raise DeprocessError(
            f"Cannot invert the leading layer {layer.name!r} ({type(layer).__name__}): "
            "only Rescaling, Normalization and ImageConverter (per-channel affine maps) can be "
            "inverted, and Resizing and CenterCrop passed over; this one augments or is opaque. "
            "Restore the output of the layers before it instead, or pass a PreprocessSpec."
        )
    return None


def _values(value: Any, layer: Any, what: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    if array.size not in (1, 3):
        raise DeprocessError(
            f"Expected the {what} of {type(layer).__name__} layer {layer.name!r} to hold 1 value or "
            f"3 (one per channel). Received {array.size} values: it does not act per channel."
        )
    return array


def _compose(
    multiplier: np.ndarray, offset: np.ndarray, scale: np.ndarray, shift: np.ndarray, layer: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Follow ``y = x * multiplier + offset`` by ``z = y * scale + shift``."""
    new_multiplier = multiplier * scale
    if np.any(new_multiplier == 0):
        raise DeprocessError(
            f"Cannot invert layer {layer.name!r} ({type(layer).__name__}): it multiplies a channel by 0."
        )
    return new_multiplier, offset * scale + shift
