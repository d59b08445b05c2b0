"""The precision contract: float32/float64/float16 exact as uint8; bfloat16 within a stated bound.

The image holds every value 0..255 in every channel, and each channel is
mapped independently, so these checks are exhaustive over pixel values.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import every_value_batch, native, to_numpy

from keras_deprocess import restore_original_image_from_array

MODES = ["caffe", "tf", "torch"]
# Preprocessing computed in bfloat16 end to end (Keras's tensor path on a
# bfloat16 tensor) rounds every intermediate to 8 significant bits. Measured
# over every pixel value: at most 1 level off after our inverse ('tf': 0,
# 'caffe': 0.1% of values, 'torch': 28% of values).
BFLOAT16_MAX_LEVELS = 1


def _keras_imagenet_utils():
    import keras

    return keras.applications.imagenet_utils


@pytest.mark.parametrize("mode", MODES)
def test_float16_numpy_is_exact(mode):
    original = every_value_batch()
    # Keras computes float16 input in float16, in place.
    preprocessed = _keras_imagenet_utils().preprocess_input(original.astype(np.float16), mode=mode)
    assert preprocessed.dtype == np.float16
    restored = restore_original_image_from_array(preprocessed, mode=mode, data_format="channels_last")
    np.testing.assert_array_equal(restored, original)
    as_float = restore_original_image_from_array(
        preprocessed, mode=mode, data_format="channels_last", dtype="float32", clip=False
    )
    assert np.abs(as_float - original).max() < 0.25


@pytest.mark.parametrize("mode", MODES)
def test_float16_tensor_is_exact(mode):
    original = every_value_batch()
    preprocessed = _keras_imagenet_utils().preprocess_input(native(original, "float16"), mode=mode)
    restored = restore_original_image_from_array(preprocessed, mode=mode, data_format="channels_last")
    np.testing.assert_array_equal(to_numpy(restored), original)


@pytest.mark.parametrize("mode", MODES)
def test_float32_result_stored_as_bfloat16_is_exact(mode):
    import ml_dtypes

    original = every_value_batch()
    preprocessed = _keras_imagenet_utils().preprocess_input(original.astype(np.float32), mode=mode)
    stored = preprocessed.astype(ml_dtypes.bfloat16)
    restored = restore_original_image_from_array(stored, mode=mode, data_format="channels_last")
    np.testing.assert_array_equal(restored, original)


@pytest.mark.parametrize("mode", MODES)
def test_bfloat16_end_to_end_stays_within_the_bound(mode):
    original = every_value_batch()
    preprocessed = _keras_imagenet_utils().preprocess_input(native(original, "bfloat16"), mode=mode)
    restored = restore_original_image_from_array(preprocessed, mode=mode, data_format="channels_last")
    levels_off = np.abs(to_numpy(restored).astype(int) - original).max()
    assert levels_off <= BFLOAT16_MAX_LEVELS


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_float_output_dtypes(tf, dtype):
    original = every_value_batch()
    preprocessed = _keras_imagenet_utils().preprocess_input(original.astype(np.float32), mode="torch")
    out = restore_original_image_from_array(
        preprocessed, mode="torch", data_format="channels_last", dtype=dtype
    )
    assert out.dtype.name == dtype
    np.testing.assert_allclose(out.astype(np.float64), original, atol=1.0 if dtype == "bfloat16" else 0.13)
    tensor_out = restore_original_image_from_array(
        tf.constant(preprocessed), mode="torch", data_format="channels_last", dtype=dtype
    )
    assert tensor_out.dtype.name == dtype


def test_float64_inverse_is_exact_to_rounding_error():
    rng = np.random.default_rng(7)
    original = rng.uniform(0, 255, size=(4, 8, 8, 3))
    for mode in MODES:
        preprocessed = _keras_imagenet_utils().preprocess_input(original.copy(), mode=mode)
        restored = restore_original_image_from_array(
            preprocessed, mode=mode, data_format="channels_last", dtype="float64"
        )
        np.testing.assert_allclose(restored, original, rtol=0, atol=1e-10)
