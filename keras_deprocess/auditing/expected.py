"""What the model expects to be fed: the spec of its inputs, and their layout, from the model or a handle.

A name, a `PreprocessSpec`, or another library's preprocessing object
(torchvision transforms, a timm config, a Hugging Face processor) names the
spec (`get_spec`). A Keras model built by ``keras.applications`` names it by
its own name. Any other Keras model is read for preprocessing layers of its
own (`spec_from_model`): a model that normalizes inside takes images, and the
layers' scale says which ones: raw pixels in [0, 255] when they map 255 to
a unit-sized range, images in [0, 1] when they map 1 there.
"""

from __future__ import annotations

import sys
from typing import Any, NamedTuple

import numpy as np

from keras_deprocess.checks.mismatch import UNIT
from keras_deprocess.core.spec import PreprocessSpec
from keras_deprocess.discovery.model_spec import spec_from_model
from keras_deprocess.errors import DeprocessError
from keras_deprocess.registry import MODES, get_spec

__all__ = ["Expectation", "expectation_of"]

# A preprocessing stack made for inputs of range R maps R to a span of about this size (normalized data).
_UNIT_SPAN = (0.5, 20.0)


class Expectation(NamedTuple):
    """The spec the model takes (None when nothing says), in words, and its input layout when known."""

    spec: PreprocessSpec | None
    label: str
    note: str
    data_format: str | None
    input_shape: tuple[int | None, ...] | None


def expectation_of(model: Any) -> Expectation:
    """What `model` (a model, name, spec or handle; or None) says the data should look like.

    Raises:
        DeprocessError: For an object no spec can be read from.
    """
    if model is None:
        return Expectation(None, "", "no model given: the values are only described", None, None)
    keras_model = _keras_model(model)
    if keras_model is None:
        spec = get_spec(model)
        label = model if isinstance(model, str) else spec.name
        return Expectation(spec, label, "", None, None)
    shape, data_format = _input_layout(keras_model)
    try:
        spec = get_spec(keras_model)
        return Expectation(spec, keras_model.name, "", data_format, shape)
    except DeprocessError:
        pass
    layers = spec_from_model(keras_model)
    name = keras_model.name
    if layers.description.endswith("none (identity)"):
        note = (
            f"the model {name!r} has no keras.applications name and no preprocessing layers: nothing says "
            "what it takes; pass the preprocessing as model="
        )
        return Expectation(None, "", note, data_format, shape)
    forward = np.abs(np.asarray(layers.forward_affine().multiplier, np.float64))
    composed = layers.description.removeprefix("layers: ")
    if _UNIT_SPAN[0] <= 255.0 * forward.max() <= _UNIT_SPAN[1]:
        note = f"the model's own layers ({composed}) preprocess: it takes raw pixels in [0, 255]"
        return Expectation(MODES["identity"], f"{name}'s own layers", note, data_format, shape)
    if _UNIT_SPAN[0] <= forward.max() <= _UNIT_SPAN[1]:
        note = f"the model's own layers ({composed}) preprocess: it takes images in [0, 1]"
        return Expectation(UNIT, f"{name}'s own layers", note, data_format, shape)
    note = f"the model's own layers ({composed}) preprocess, from an input range they do not make clear"
    return Expectation(None, "", note, data_format, shape)


def _keras_model(model: Any) -> Any:
    keras = sys.modules.get("keras")
    model_class = getattr(keras, "Model", None)
    return model if model_class is not None and isinstance(model, model_class) else None


def _input_layout(model: Any) -> tuple[tuple[int | None, ...] | None, str | None]:
    """The model's image input shape, and its layout when the shape says it."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None, None
    if not inputs or len(inputs) != 1:
        return None, None
    shape = tuple(None if d is None else int(d) for d in inputs[0].shape)
    if len(shape) != 4:
        return shape, None
    channels = (1, 3, 4)
    if shape[-1] in channels and shape[1] not in channels:
        return shape, "channels_last"
    if shape[1] in channels and shape[-1] not in channels:
        return shape, "channels_first"
    return shape, None
