"""infer_spec: recover a black-box per-channel affine preprocess function, refuse anything else."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from conftest import ALL_ENTRIES, ENTRY_IDS, keras_preprocess_function

from keras_deprocess import (
    DeprocessError,
    PreprocessSpec,
    get_spec,
    infer_spec,
    preprocess_input,
    restore_original_image_from_array,
)

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("entry", ALL_ENTRIES, ids=ENTRY_IDS)
def test_recovers_keras_preprocess_input(entry, data_format):
    fn = functools.partial(keras_preprocess_function(entry), data_format=data_format)
    spec = infer_spec(fn, data_format=data_format)
    assert spec == get_spec(entry.mode)
    assert spec.name == entry.mode


@pytest.mark.parametrize("bgr", [False, True])
def test_recovers_torchvision_style_normalize(bgr):
    def torchvision_style(x):
        if bgr:
            x = x[..., ::-1]
        return (x / 255.0 - MEAN) / STD

    spec = infer_spec(torchvision_style, data_format="channels_last")
    assert spec.channel_order == ("BGR" if bgr else "RGB")
    if not bgr:
        assert spec is get_spec("torch")
    images = np.random.default_rng(1).integers(0, 256, (2, 6, 6, 3), dtype=np.uint8)
    restored = restore_original_image_from_array(
        torchvision_style(images.astype("float64")), spec, data_format="channels_last"
    )
    np.testing.assert_array_equal(restored, images)


class HuggingFaceStyleProcessor:
    """Behaves as a transformers image processor called with do_resize=False:
    rescale, normalize, channels_first out, a dict with pixel_values."""

    def __init__(self, mean, std, rescale_factor=1 / 255):
        self.image_mean, self.image_std, self.rescale_factor = mean, std, rescale_factor

    def __call__(self, images, do_resize=True, return_tensors="np"):
        assert not do_resize
        x = np.asarray(images, np.float32) * self.rescale_factor
        x = (x - np.asarray(self.image_mean, np.float32)) / np.asarray(self.image_std, np.float32)
        return {"pixel_values": np.transpose(x, (0, 3, 1, 2))}


def test_recovers_a_hugging_face_style_processor_call():
    clip_mean, clip_std = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
    processor = HuggingFaceStyleProcessor(clip_mean, clip_std)
    spec = infer_spec(lambda x: processor(x, do_resize=False), data_format="channels_last")
    assert spec is get_spec("clip")
    images = np.random.default_rng(2).integers(0, 256, (2, 6, 6, 3), dtype=np.uint8)
    pixel_values = processor(images, do_resize=False)["pixel_values"]
    restored = restore_original_image_from_array(pixel_values, spec, data_format="channels_first")
    np.testing.assert_array_equal(restored, images.transpose(0, 3, 1, 2))


def test_unknown_spec_gets_the_given_name():
    spec = infer_spec(lambda x: x * 0.5 - 3.0, data_format="channels_last", name="mine")
    assert spec.name == "mine"
    assert spec.same_as(PreprocessSpec.from_affine(0.5, -3.0))


def test_tensor_outputs_are_accepted(tf):
    spec = infer_spec(lambda x: tf.constant(x) / 127.5 - 1, data_format="channels_last")
    assert spec is get_spec("tf")


def test_the_input_is_copied_for_functions_that_write_into_it():
    def in_place(x):
        x -= 100.0
        return x

    assert infer_spec(in_place, data_format="channels_last").same_as(PreprocessSpec.from_affine(1.0, -100.0))


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (
            lambda x: (x - x.mean(axis=(1, 2, 3), keepdims=True)) / x.std(axis=(1, 2, 3), keepdims=True),
            "sample-wise standardization",
        ),
        (lambda x: x / x.max(axis=(1, 2, 3), keepdims=True).clip(1), "not affine per channel"),
        (lambda x: (x / 255) ** 2.2, "not affine per channel"),
        (lambda x: np.clip(x / 127.5 - 1, -0.5, 0.5), "not affine per channel"),
        (lambda x: x[:, ::2, ::2], "a resize or crop cannot be inverted"),
        (lambda x: np.repeat(x.mean(-1, keepdims=True), 3, -1), "mixes channels"),
        (lambda x: (x + np.roll(x, 1, axis=1)) / 2, "not affine per channel"),
        (lambda x: x[..., [0, 0, 1]], "mixes channels \\(or drops one\\)"),
        (lambda x: "not an array", "to return a numeric array"),
    ],
    ids=[
        "samplewise",
        "max-scaling",
        "gamma",
        "clipping",
        "resize",
        "grayscale",
        "blur",
        "dropped",
        "string",
    ],
)
def test_refuses_what_is_not_a_fixed_per_channel_affine_map(fn, message):
    with np.errstate(all="ignore"), pytest.raises(DeprocessError, match=message):
        infer_spec(fn, data_format="channels_last")


def test_round_trip_through_an_inferred_spec():
    spec = infer_spec(lambda x: (x[..., ::-1] - 50.0) / 7.0, data_format="channels_last")
    images = np.random.default_rng(3).integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
    # float32 probes: coefficients good to about 1e-7 relative.
    expected = (images[..., ::-1] - 50.0) / 7.0
    np.testing.assert_allclose(
        preprocess_input(images, spec, data_format="channels_last"), expected, atol=1e-5
    )
    restored = restore_original_image_from_array(expected, spec, data_format="channels_last")
    np.testing.assert_array_equal(restored, images)
