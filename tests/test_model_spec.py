"""spec_from_model: the inverse of what the first convolution actually sees."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import every_value_batch, native, to_numpy

from keras_deprocess import (
    DeprocessError,
    PreprocessSpec,
    get_spec,
    restore_original_image_from_array,
    spec_from_model,
)

# What EfficientNet's pretrained Normalization layer carries: the ImageNet
# mean, and the ImageNet *std* stored as the variance (tensorflow#49930).
EFFICIENTNET_MEAN = [0.485, 0.456, 0.406]
EFFICIENTNET_VARIANCE = [0.229, 0.224, 0.225]


def _set_imagenet_statistics(model):
    for layer in model.layers:
        if type(layer).__name__ == "Normalization" and layer.input_mean is None:
            layer.adapt_mean.assign(EFFICIENTNET_MEAN)
            layer.adapt_variance.assign(EFFICIENTNET_VARIANCE)
            layer.finalize_state()  # what loading pretrained weights does


def _stem_output(keras, model, images):
    """What the first non-preprocessing layer receives."""
    preprocessing = (keras.layers.InputLayer, keras.layers.Rescaling, keras.layers.Normalization)
    first = next(layer for layer in model.layers if not isinstance(layer, preprocessing))
    return to_numpy(keras.Model(model.inputs, first.input)(native(images, "float32")))


FAMILIES = {
    "ConvNeXtTiny": "torch",
    "EfficientNetB0": None,  # torch-like numbers, but sqrt(std) in place of std
    "EfficientNetV2B0": "torch",
    "EfficientNetV2S": None,  # x / 128 - 1
    "MobileNetV3Small": "tf",
    "MobileNetV3Large": "tf",
}


@pytest.mark.parametrize("constructor", sorted(FAMILIES))
def test_keras_applications_with_built_in_preprocessing_round_trip_exactly(keras_module, constructor):
    keras = keras_module
    model = getattr(keras.applications, constructor)(weights=None, include_top=False, input_shape=(32, 32, 3))
    _set_imagenet_statistics(model)
    spec = spec_from_model(model)
    if FAMILIES[constructor]:
        assert spec.same_as(get_spec(FAMILIES[constructor]), rtol=1e-6)
    images = np.tile(every_value_batch(), (1, 2, 2, 1))  # these models take 32x32 at least
    stem = _stem_output(keras, model, images)
    np.testing.assert_array_equal(
        restore_original_image_from_array(stem, spec, data_format="channels_last"), images
    )
    as_float = restore_original_image_from_array(
        stem, spec, data_format="channels_last", dtype="float64", clip=False
    )
    np.testing.assert_allclose(as_float, images, atol=1e-3)


def test_efficientnet_imagenet_stem_with_the_sqrt_std_quirk(keras_module):
    """EfficientNet's weights='imagenet' stem.

    Rescaling, Normalization (the std stored as variance), Rescaling(1/sqrt(std)).
    """
    keras = keras_module
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Rescaling(1.0 / 255.0)(inputs)
    x = keras.layers.Normalization(mean=EFFICIENTNET_MEAN, variance=EFFICIENTNET_VARIANCE)(x)
    x = keras.layers.Rescaling([1.0 / math.sqrt(s) for s in EFFICIENTNET_VARIANCE])(x)
    outputs = keras.layers.Conv2D(4, 3)(x)
    model = keras.Model(inputs, outputs)
    spec = spec_from_model(model)
    # The three layers together are exactly torchvision's (x / 255 - mean) / std.
    assert spec.same_as(get_spec("torch"), rtol=1e-6)
    images = every_value_batch()
    stem = to_numpy(keras.Model(inputs, x)(native(images, "float32")))
    np.testing.assert_array_equal(
        restore_original_image_from_array(stem, spec, data_format="channels_last"), images
    )


@pytest.mark.parametrize("constructor", ["ConvNeXtTiny", "EfficientNetV2B0", "MobileNetV3Small"])
def test_include_preprocessing_false_is_identity(keras_module, constructor):
    model = getattr(keras_module.applications, constructor)(
        weights=None, include_top=False, input_shape=(32, 32, 3), include_preprocessing=False
    )
    assert spec_from_model(model).is_identity


def test_model_without_preprocessing_is_identity(keras_module):
    model = keras_module.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    spec = spec_from_model(model)
    assert spec.is_identity
    assert "none (identity)" in spec.description


def _sequential(keras, *layers):
    return keras.Sequential([keras.Input((8, 8, 3)), *layers, keras.layers.Conv2D(2, 3)])


def test_user_model_with_adapted_normalization(keras_module):
    keras = keras_module
    normalization = keras.layers.Normalization()
    rng = np.random.default_rng(0)
    normalization.adapt(rng.uniform(0, 255, (16, 8, 8, 3)).astype("float32"))
    model = _sequential(keras, normalization)
    spec = spec_from_model(model)
    images = every_value_batch()[:, :8, :8]
    stem = to_numpy(normalization(native(images, "float32")))
    np.testing.assert_array_equal(
        restore_original_image_from_array(stem, spec, data_format="channels_last"), images
    )


def test_user_model_with_per_channel_rescaling_and_inverted_normalization(keras_module):
    keras = keras_module
    rescale = keras.layers.Rescaling(scale=[0.01, 0.02, 0.03], offset=[-1.0, 0.5, 2.0])
    invert = keras.layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 9.0, 16.0], invert=True)
    model = _sequential(keras, rescale, invert)
    spec = spec_from_model(model)
    expected_multiplier = np.array([0.01 * 2, 0.02 * 3, 0.03 * 4])
    expected_offset = np.array([-1.0 * 2 + 1, 0.5 * 3 + 2, 2.0 * 4 + 3])
    forward = spec.forward_affine()
    np.testing.assert_allclose(forward.multiplier, expected_multiplier)
    np.testing.assert_allclose(forward.offset, expected_offset)
    images = every_value_batch()[:, :8, :8]
    stem = to_numpy(invert(rescale(native(images, "float32"))))
    np.testing.assert_array_equal(
        restore_original_image_from_array(stem, spec, data_format="channels_last"), images
    )


def test_nested_preprocessing_model(keras_module):
    keras = keras_module
    preprocessing = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 127.5, offset=-1)])
    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.Conv2D(2, 3)(preprocessing(inputs))
    assert spec_from_model(keras.Model(inputs, outputs)).same_as(get_spec("tf"))


def test_the_walk_stops_at_the_first_other_layer(keras_module):
    keras = keras_module
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(3, 1),
            keras.layers.Rescaling(1000.0),  # after the stem: not preprocessing
        ]
    )
    assert spec_from_model(model).same_as(PreprocessSpec("s", scale=1 / 255))


@pytest.mark.parametrize(
    "make_layer",
    [
        lambda k: k.layers.RandomFlip(),
        lambda k: k.layers.Lambda(lambda x: x / 255.0),
    ],
    ids=["RandomFlip", "Lambda"],
)
def test_non_invertible_leading_layers_raise_naming_the_layer(keras_module, make_layer):
    keras = keras_module
    layer = make_layer(keras)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255), layer])
    with pytest.raises(
        DeprocessError, match=rf"Cannot invert the leading layer '{layer.name}' \({type(layer).__name__}\)"
    ):
        spec_from_model(model)


@pytest.mark.parametrize(
    "make_layer",
    [lambda k: k.layers.Resizing(4, 6, crop_to_aspect_ratio=True), lambda k: k.layers.CenterCrop(4, 4)],
    ids=["Resizing", "CenterCrop"],
)
def test_spatial_layers_are_passed_over(keras_module, make_layer):
    """Resizing and CenterCrop move pixels, not values: the map around them is composed."""
    keras = keras_module
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Rescaling(1 / 255),
            make_layer(keras),
            keras.layers.Rescaling(2.0),
        ]
    )
    assert spec_from_model(model).same_as(PreprocessSpec("s", scale=2 / 255))


def test_per_pixel_normalization_is_refused(keras_module):
    keras = keras_module
    normalization = keras.layers.Normalization(axis=(1, 2, 3))
    model = _sequential(keras, normalization)
    with pytest.raises(DeprocessError, match=r"Received 192 values: it does not act per channel"):
        spec_from_model(model)


def test_not_a_model_and_unbuilt_models(keras_module):
    with pytest.raises(DeprocessError, match=r"Expected a keras.Model.*infer_spec"):
        spec_from_model(lambda x: x)

    class Subclassed(keras_module.Model):
        def call(self, x):
            return x

    with pytest.raises(DeprocessError, match=r"cannot be walked"):
        spec_from_model(Subclassed())


def test_keras_hub_image_converter(keras_module):
    keras_hub = pytest.importorskip("keras_hub")
    keras = keras_module
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    converter = keras_hub.layers.ImageConverter(scale=list(1 / (255 * std)), offset=list(-mean / std))
    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.Conv2D(2, 3)(converter(inputs))
    assert spec_from_model(keras.Model(inputs, outputs)).same_as(get_spec("torch"))

    class Task(keras.Model):
        """A keras_hub task keeps its converter on .preprocessor, outside the graph."""

        def __init__(self):
            super().__init__()
            self.preprocessor = type(
                "Preprocessor", (), {"image_converter": keras_hub.layers.ImageConverter(scale=1 / 255)}
            )()

    assert spec_from_model(Task()).same_as(PreprocessSpec("s", scale=1 / 255))
