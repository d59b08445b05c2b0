"""detect_mode on synthetic images (the held-out photo accuracy lives in benchmarks/detect_accuracy.py)."""

from __future__ import annotations

import numpy as np
import pytest

from keras_deprocess import DeprocessError, detect_mode, preprocess_input

EXPECTED = {
    "caffe": "caffe",
    "tf": "tf",
    "torch": "torch",
    "identity": "identity",
    "imagenet": "torch",
    "clip": "clip",
    "half": "tf",
    "inception": "tf",
}


def synthetic_images(seed: int) -> np.ndarray:
    """Smooth gradients plus noise, spanning most of [0, 255], as uint8."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:24, 0:24] / 23.0
    channels = [255 * (a * yy + (1 - a) * xx) + rng.normal(0, 12, (24, 24)) for a in rng.uniform(0, 1, 3)]
    return np.clip(np.stack(channels, -1), 0, 255).round().astype(np.uint8)[None]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_top_guess_on_uint8_born_images(name, seed):
    x = preprocess_input(synthetic_images(seed), name, data_format="channels_last").astype(np.float32)
    guesses = detect_mode(x, data_format="channels_last")
    assert guesses[0].name == EXPECTED[name]
    assert guesses[0].confidence > 0.9
    assert guesses[0].quantization < 0.01
    assert sum(g.confidence for g in guesses) == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["caffe", "tf", "torch", "identity"])
def test_top_guess_on_float_images_with_full_range(name):
    rng = np.random.default_rng(9)
    images = np.clip(synthetic_images(9).astype(np.float64) + rng.uniform(-0.5, 0.5, (1, 24, 24, 3)), 0, 255)
    images[0, 0, 0], images[0, -1, -1] = 0.0, 255.0  # dark and bright pixels present
    x = preprocess_input(images, name, data_format="channels_last")
    assert detect_mode(x, data_format="channels_last")[0].name == EXPECTED[name]


def test_the_classic_question():
    """Why did 255 become 151.061? Because 'caffe' subtracts 103.939 from it."""
    x = preprocess_input(synthetic_images(1), "VGG16", data_format="channels_last")
    assert np.isclose(x.max(), 255 - 103.939, atol=1e-4)
    best = detect_mode(x, data_format="channels_last")[0]
    assert best.name == "caffe"
    assert best.out_of_range == 0.0


def test_aliases_are_merged():
    guesses = detect_mode(
        preprocess_input(synthetic_images(2), "tf", data_format="channels_last"), "channels_last"
    )
    by_name = {g.name: g for g in guesses}
    assert set(by_name) == {"caffe", "tf", "torch", "identity", "clip", "unit"}
    assert by_name["tf"].aliases == ("half", "inception")
    assert by_name["torch"].aliases == ("imagenet",)


def test_large_arrays_are_sampled():
    x = preprocess_input(np.tile(synthetic_images(4), (64, 8, 8, 1)), "caffe", data_format="channels_last")
    assert x.size // 3 > 1 << 18
    assert detect_mode(x, "channels_last")[0].name == "caffe"


def test_errors():
    with pytest.raises(DeprocessError, match=r"rank 3"):
        detect_mode(np.zeros((4, 3), np.float32), "channels_last")
    with pytest.raises(DeprocessError, match=r"Expected 3 channels"):
        detect_mode(np.zeros((4, 4, 5), np.float32), "channels_last")


# -- the asker's call: no model, no mode; and mode='auto' -------------------------------


def test_the_askers_own_call_restores_when_the_detection_is_certain():
    """The Stack Overflow asker's call: VGG19's preprocess_input, then no model at all."""
    from keras.applications.vgg19 import preprocess_input as vgg19_preprocess_input

    from keras_deprocess import restore_original_image_from_array
    from keras_deprocess.cli import load_demo_image

    img = load_demo_image()
    x = np.expand_dims(img.astype("float32"), axis=0)
    scaled_img = vgg19_preprocess_input(x.copy())
    assert (restore_original_image_from_array(scaled_img) == np.array(img)).all()


def test_neither_model_nor_mode_names_every_model_when_unsure():
    from keras_deprocess import restore_original_image_from_array

    images = synthetic_images(0).astype(np.float64)
    drifted = images + np.random.default_rng(0).uniform(-0.5, 0.5, images.shape)  # no longer whole
    x = preprocess_input(drifted, "VGG19", data_format="channels_last")
    with pytest.raises(DeprocessError) as raised:
        restore_original_image_from_array(x, data_format="channels_last")
    message = str(raised.value)
    assert "Expected `model` or `mode`" in message
    assert "look like 'caffe' (" in message
    assert "% confident" in message
    for model in ("VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152"):
        assert model in message
    assert "and 1 more" not in message
    assert "Pass mode='caffe'" in message
    assert "model='VGG16'" in message


def test_neither_for_a_preset_advises_model_not_mode():
    from keras_deprocess import restore_original_image_from_array

    images = synthetic_images(1).astype(np.float64)
    drifted = images + np.random.default_rng(1).uniform(-0.5, 0.5, images.shape)
    x = preprocess_input(drifted, "clip", data_format="channels_last")
    with pytest.raises(DeprocessError, match=r"look like 'clip' .*Pass model='clip'"):
        restore_original_image_from_array(x, data_format="channels_last")


@pytest.mark.parametrize("name", ["VGG16", "clip", "DenseNet121", "Xception"])
def test_mode_auto_restores_exactly(name):
    from keras_deprocess import restore_original_image_from_array

    images = synthetic_images(2)
    x = preprocess_input(images, name, data_format="channels_last")
    restored = restore_original_image_from_array(x, mode="auto", data_format="channels_last")
    np.testing.assert_array_equal(restored, images)


def test_mode_auto_refuses_a_tie_naming_the_candidates():
    from keras_deprocess import restore_original_image_from_array

    flat = np.zeros((1, 8, 8, 3), np.float32)  # fits several maps equally well
    with pytest.raises(
        DeprocessError, match=r"mode='auto' to find one clear mode .* The values fit several: '"
    ):
        restore_original_image_from_array(flat, mode="auto", data_format="channels_last")


def _float_images(seed):
    """Images that were never uint8: no whole numbers to find under any spec."""
    rng = np.random.default_rng(seed)
    images = synthetic_images(seed).astype(np.float32)
    return images + rng.uniform(0.2, 0.8, images.shape).astype(np.float32)


@pytest.mark.parametrize("name", ["torch", "clip"])
def test_mode_auto_refuses_a_guess_from_range_alone(name):
    from keras_deprocess import restore_original_image_from_array

    x = preprocess_input(_float_images(3), name, data_format="channels_last")
    with pytest.raises(DeprocessError, match=r"whole pixel values.*by their range alone.*Pass the model"):
        restore_original_image_from_array(x, mode="auto", data_format="channels_last")


def test_neither_for_float_images_says_range_alone_and_does_not_offer_auto():
    from keras_deprocess import restore_original_image_from_array

    x = preprocess_input(_float_images(4), "VGG16", data_format="channels_last")
    with pytest.raises(DeprocessError) as raised:
        restore_original_image_from_array(x, data_format="channels_last")
    message = str(raised.value)
    assert "look like 'caffe' (" in message
    assert "judged by their range alone" in message
    assert "mode='auto'" not in message


def test_without_a_model_errors_speak_of_detection_not_of_a_mode_never_named():
    from keras_deprocess import restore_original_image_from_array

    with pytest.raises(DeprocessError, match=r"Expected 3 channels .* to detect the mode") as raised:
        restore_original_image_from_array(np.zeros((1, 4, 4, 5), np.float32), data_format="channels_last")
    assert "caffe" not in str(raised.value)
    with pytest.raises(DeprocessError, match=r"Expected floating-point input.*raw pixels"):
        restore_original_image_from_array(np.zeros((1, 4, 4, 3), np.uint8), data_format="channels_last")


def test_mode_auto_inside_a_trace_asks_for_the_mode():
    jax = pytest.importorskip("jax")
    from keras_deprocess import restore_original_image_from_array

    def restore(t):
        return restore_original_image_from_array(t, mode="auto", data_format="channels_last")

    with pytest.raises(DeprocessError, match="inside a traced function"):
        jax.jit(restore)(jax.numpy.zeros((1, 2, 2, 3)))


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros((0, 4, 4, 3), np.float32), "at least one pixel"),
        (np.full((1, 4, 4, 3), np.nan, np.float32), "no finite pixel"),
        (np.zeros((1, 4, 4, 3), np.complex64), "real floating-point"),
    ],
    ids=["empty", "all-nan", "complex"],
)
def test_detect_mode_refuses_what_it_cannot_rank(array, match):
    with pytest.raises(DeprocessError, match=match):
        detect_mode(array, data_format="channels_last")


def test_detect_mode_refuses_object_arrays():
    with pytest.raises(DeprocessError, match="Received dtype object"):
        detect_mode(np.array([[[[1.0, "a", None]]]], dtype=object), data_format="channels_last")
