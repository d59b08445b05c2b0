"""Mean/std specs: presets, spec_from_mean_std, Hugging Face processors and configs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import every_value_batch, native, to_numpy

from keras_deprocess import (
    DeprocessError,
    get_spec,
    list_models,
    preprocess_input,
    restore_original_image_from_array,
    spec_from_hf,
    spec_from_mean_std,
)

PRESETS = ["imagenet", "clip", "half", "unit", "inception"]
# Each preset written out as its ecosystem writes it: torchvision's
# Normalize(mean, std) after ToTensor (x / 255), or x / 127.5 - 1.
WRITTEN_OUT = {
    "imagenet": lambda x: (x / 255 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225]),
    "clip": lambda x: (
        (x / 255 - np.array([0.48145466, 0.4578275, 0.40821073]))
        / np.array([0.26862954, 0.26130258, 0.27577711])
    ),
    "half": lambda x: (x / 255 - 0.5) / 0.5,
    "unit": lambda x: x / 255,
    "inception": lambda x: x / 127.5 - 1,
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("preset", PRESETS)
def test_presets_against_their_written_out_formulas(preset, dtype):
    images = every_value_batch()
    reference = WRITTEN_OUT[preset](images.astype(dtype)).astype(dtype)
    ours = preprocess_input(images.astype(dtype), preset, data_format="channels_last")
    np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(
        restore_original_image_from_array(reference, preset, data_format="channels_last"), images
    )
    as_float = restore_original_image_from_array(
        reference, preset, data_format="channels_last", dtype="float64", clip=False
    )
    np.testing.assert_allclose(as_float, images, atol=1e-4)


def test_presets_are_registered_with_their_equivalent_modes():
    rows = {e.name: e.mode for e in list_models("preset")}
    assert rows == {
        "imagenet": "torch",
        "clip": "clip",
        "half": "tf",
        "unit": "unit",
        "inception": "tf",
        "lab": "lab",
        "colorization": "colorization",
        "colorization-caffe": "colorization-caffe",
    }
    assert get_spec("imagenet").same_as(get_spec("torch"))
    assert get_spec("half").same_as(get_spec("tf"))
    assert get_spec("inception").same_as(get_spec("tf"))
    assert not get_spec("clip").same_as(get_spec("torch"))


def test_clip_preset_by_hand():
    spec = get_spec("clip")
    # A white pixel: (1 - mean) / std per channel.
    white = preprocess_input(np.full((1, 1, 3), 255, np.uint8), spec, data_format="channels_last")
    expected = (1 - np.array([0.48145466, 0.4578275, 0.40821073])) / np.array(
        [0.26862954, 0.26130258, 0.27577711]
    )
    np.testing.assert_allclose(white[0, 0], expected, rtol=1e-6)


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_round_trip_with_functions_and_layers(preset):
    import keras_deprocess

    images = every_value_batch()
    preprocessed = preprocess_input(images, preset, data_format="channels_last")
    np.testing.assert_array_equal(
        restore_original_image_from_array(preprocessed, preset, data_format="channels_last"), images
    )
    layer = keras_deprocess.Deprocess(preset, data_format="channels_last")
    np.testing.assert_array_equal(to_numpy(layer(native(preprocessed))), images)


def test_spec_from_mean_std():
    spec = spec_from_mean_std(
        [0.5, 0.4, 0.3], [0.2, 0.2, 0.2], scale=1 / 255, channel_order="BGR", name="mine"
    )
    assert (spec.name, spec.channel_order) == ("mine", "BGR")
    x = preprocess_input(np.array([[[255, 0, 51]]], np.uint8), spec, data_format="channels_last")
    # BGR: (51, 0, 255) / 255 = (0.2, 0, 1), minus mean, over std.
    np.testing.assert_allclose(x[0, 0], [(0.2 - 0.5) / 0.2, (0 - 0.4) / 0.2, (1 - 0.3) / 0.2], rtol=1e-6)
    assert spec_from_mean_std((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)).same_as(get_spec("torch"))


def test_spec_from_mean_std_refuses_pixel_unit_mean_with_the_default_scale():
    with pytest.raises(DeprocessError, match=r"Expected mean in the units of x \* scale.*Pass scale=1"):
        spec_from_mean_std((123.675, 116.28, 103.53), (58.395, 57.12, 57.375))
    pixel_units = spec_from_mean_std((123.675, 116.28, 103.53), (58.395, 57.12, 57.375), scale=1)
    assert pixel_units.same_as(get_spec("torch"))


class FakeImageProcessor:
    """The attributes a transformers image processor has; transformers is not needed."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __call__(self, images):
        raise AssertionError("spec_from_hf must not call the processor")


@pytest.mark.parametrize(
    ("config", "same_as"),
    [
        ({"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}, "torch"),
        ({"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "rescale_factor": 1 / 255}, "tf"),
        ({"image_mean": 0.5, "image_std": 0.5, "do_rescale": True}, "half"),
        ({"do_normalize": False, "do_rescale": False}, "identity"),
        ({"do_normalize": False, "rescale_factor": 1 / 127.5, "image_mean": [9, 9, 9]}, None),
    ],
)
def test_spec_from_hf_config_dicts_and_objects(config, same_as):
    for source in (
        config,
        FakeImageProcessor(**config),
        FakeImageProcessor(image_processor=FakeImageProcessor(**config)),
    ):
        spec = spec_from_hf(source)
        if same_as is not None:
            assert spec.same_as(get_spec(same_as))
        else:
            assert spec.scale == pytest.approx(1 / 127.5)
            assert spec.mean == (0.0,)
        assert get_spec(source).same_as(spec)


def test_hf_processor_works_wherever_a_model_name_does():
    processor = FakeImageProcessor(
        image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711]
    )
    images = every_value_batch()
    preprocessed = preprocess_input(images, processor, data_format="channels_last")
    np.testing.assert_allclose(preprocessed, preprocess_input(images, "clip", data_format="channels_last"))
    np.testing.assert_array_equal(
        restore_original_image_from_array(preprocessed, processor, data_format="channels_last"), images
    )
    assert type(spec_from_hf(processor)).__name__ == "PreprocessSpec"
    assert spec_from_hf(processor).name == "FakeImageProcessor"


def test_hf_without_mean_or_std_is_refused():
    with pytest.raises(DeprocessError, match=r"Expected `image_mean` and `image_std`.*spec_from_mean_std"):
        spec_from_hf({"image_std": [0.5, 0.5, 0.5], "do_normalize": True, "image_processor_type": "X"})
