"""Hand-computed pixels per mode, and the classic hand-written mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from keras_deprocess import get_spec, preprocess_input, restore_original_image_from_array

# One RGB pixel, (R, G, B) = (255, 0, 128), and its preprocessed value by hand.
PIXEL = np.array([[[255.0, 0.0, 128.0]]])
GOLDEN = {
    # RGB→BGR gives (128, 0, 255); minus the BGR mean (103.939, 116.779, 123.68).
    "caffe": [128 - 103.939, 0 - 116.779, 255 - 123.68],
    # x / 127.5 - 1
    "tf": [1.0, -1.0, 128 / 127.5 - 1],
    # (x / 255 - mean) / std with mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225)
    "torch": [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (128 / 255 - 0.406) / 0.225],
    "identity": [255.0, 0.0, 128.0],
}


@pytest.mark.parametrize("mode", sorted(GOLDEN))
def test_forward_golden_pixel(mode):
    ours = preprocess_input(PIXEL, mode=mode, data_format="channels_last")
    np.testing.assert_allclose(ours[0, 0], GOLDEN[mode], rtol=0, atol=1e-12)


@pytest.mark.parametrize("mode", sorted(GOLDEN))
def test_inverse_golden_pixel(mode):
    preprocessed = np.array([[GOLDEN[mode]]], dtype=np.float64)
    restored = restore_original_image_from_array(preprocessed, mode=mode, data_format="channels_last")
    np.testing.assert_array_equal(restored[0, 0], [255, 0, 128])
    exact = restore_original_image_from_array(
        preprocessed, mode=mode, data_format="channels_last", dtype="float64"
    )
    np.testing.assert_allclose(exact[0, 0], [255, 0, 128], rtol=0, atol=1e-10)


def test_caffe_golden_pixel_channels_first():
    preprocessed = np.array(GOLDEN["caffe"]).reshape(3, 1, 1)
    restored = restore_original_image_from_array(preprocessed, "VGG16", data_format="channels_first")
    np.testing.assert_array_equal(restored[:, 0, 0], [255, 0, 128])


def test_rounds_instead_of_truncating():
    # A float error of -1e-5 on 255 truncates to 254 with a bare astype.
    almost = np.full((1, 1, 3), 254.99999 - 127.5, dtype=np.float32) / np.float32(127.5)
    restored = restore_original_image_from_array(almost, mode="tf", data_format="channels_last")
    assert almost.astype(np.float64).max() < 1.0
    np.testing.assert_array_equal(restored, 255)


def test_clips_instead_of_wrapping():
    # Values outside [0, 255] after the inverse: -1 and 300 pixel units.
    preprocessed = np.array([[[-1.0, 300.0, 0.0]]]) / 127.5 - 1
    restored = restore_original_image_from_array(preprocessed, mode="tf", data_format="channels_last")
    np.testing.assert_array_equal(restored[0, 0], [0, 255, 0])
    unclipped = restore_original_image_from_array(
        preprocessed, mode="tf", data_format="channels_last", dtype="float32", clip=False
    )
    np.testing.assert_allclose(unclipped[0, 0], [-1, 300, 0], atol=1e-4)
    clipped = restore_original_image_from_array(
        preprocessed, mode="tf", data_format="channels_last", dtype="float32"
    )
    np.testing.assert_allclose(clipped[0, 0], [0, 255, 0], atol=1e-4)


def test_ties_round_to_even_like_numpy_and_tensorflow():
    halves = np.array([[[0.5, 1.5, 2.5]]])
    restored = restore_original_image_from_array(halves, mode="identity", data_format="channels_last")
    np.testing.assert_array_equal(restored[0, 0], [0, 2, 2])


def test_spec_coefficients_by_hand():
    caffe = get_spec("caffe").inverse_affine()
    assert caffe.source == (2, 1, 0)
    assert caffe.multiplier == (1.0, 1.0, 1.0)
    # RGB output channel 0 (R) comes from BGR input channel 2, whose mean is 123.68.
    assert caffe.offset == (123.68, 116.779, 103.939)
    torch = get_spec("torch").inverse_affine()
    np.testing.assert_allclose(torch.multiplier, [0.229 * 255, 0.224 * 255, 0.225 * 255])
    np.testing.assert_allclose(torch.offset, [0.485 * 255, 0.456 * 255, 0.406 * 255])
    tf_mode = get_spec("tf").inverse_affine()
    assert tf_mode.source is None
    np.testing.assert_allclose(tf_mode.multiplier + tf_mode.offset, [127.5, 127.5])
