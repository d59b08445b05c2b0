"""Every registry entry × data_format × rank × dtype × NumPy/TF: Keras forward, our inverse.

The reference forward pass is Keras's real `preprocess_input`, on an image
that holds every value 0..255 in every channel, so the uint8 checks are
exhaustive over pixel values.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import (
    ALL_ENTRIES,
    ENTRY_IDS,
    backend,
    every_value_batch,
    every_value_image,
    keras_forward,
    native,
    native_dtype,
    to_layout,
    to_numpy,
)

from keras_deprocess import preprocess_input, restore_original_image_from_array
from keras_deprocess.frameworks import backend_for


def family_of(x):
    found = backend_for(x)
    return None if found is None else found.name


DATA_FORMATS = ["channels_last", "channels_first"]
RANKS = [3, 4]
DTYPES = ["float32", "float64"]
# Pixel units: float32 carries ~7 significant digits, so |error| stays near 3e-5.
FLOAT_ATOL = 1e-4


def _source(rank: int, data_format: str) -> np.ndarray:
    image = every_value_image() if rank == 3 else every_value_batch()
    return to_layout(image, data_format)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rank", RANKS)
@pytest.mark.parametrize("data_format", DATA_FORMATS)
@pytest.mark.parametrize("entry", ALL_ENTRIES, ids=ENTRY_IDS)
def test_numpy_round_trip_against_keras(entry, data_format, rank, dtype):
    original = _source(rank, data_format)
    preprocessed = np.asarray(keras_forward(entry, original.astype(dtype), data_format))
    before = preprocessed.copy()

    restored = restore_original_image_from_array(preprocessed, entry.name, data_format=data_format)
    assert isinstance(restored, np.ndarray)
    assert restored.dtype == np.uint8
    assert restored.shape == original.shape
    np.testing.assert_array_equal(restored, original)

    as_float = restore_original_image_from_array(
        preprocessed, entry.name, data_format=data_format, dtype=dtype, clip=False
    )
    assert as_float.dtype == dtype
    np.testing.assert_allclose(as_float, original, rtol=0, atol=FLOAT_ATOL)
    np.testing.assert_array_equal(preprocessed, before)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rank", RANKS)
@pytest.mark.parametrize("data_format", DATA_FORMATS)
@pytest.mark.parametrize("entry", ALL_ENTRIES, ids=ENTRY_IDS)
def test_backend_tensor_round_trip_against_keras(entry, data_format, rank, dtype):
    """Native tensors of the active Keras backend (tf.Tensor, jax.Array, torch.Tensor)."""
    original = _source(rank, data_format)
    tensor = native(original, dtype)
    dtype = native_dtype(tensor)  # JAX without x64 keeps float64 as float32
    preprocessed = keras_forward(entry, tensor, data_format)

    restored = restore_original_image_from_array(preprocessed, entry.name, data_format=data_format)
    assert family_of(restored) == backend()
    assert native_dtype(restored) == "uint8"
    np.testing.assert_array_equal(to_numpy(restored), original)

    as_float = restore_original_image_from_array(
        preprocessed, entry.name, data_format=data_format, dtype=dtype, clip=False
    )
    assert family_of(as_float) == backend()
    assert native_dtype(as_float) == dtype
    np.testing.assert_allclose(to_numpy(as_float), original, rtol=0, atol=FLOAT_ATOL)


@pytest.mark.parametrize("rank", RANKS)
@pytest.mark.parametrize("data_format", DATA_FORMATS)
@pytest.mark.parametrize("entry", ALL_ENTRIES, ids=ENTRY_IDS)
def test_forward_matches_keras(entry, data_format, rank):
    original = _source(rank, data_format).astype("float32")
    ours = preprocess_input(original, entry.name, data_format=data_format)
    theirs = np.asarray(keras_forward(entry, original, data_format))
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("data_format", DATA_FORMATS)
@pytest.mark.parametrize("entry", ALL_ENTRIES, ids=ENTRY_IDS)
def test_backend_tensor_forward_matches_keras(entry, data_format):
    source = _source(4, data_format)
    ours = preprocess_input(native(source, "float32"), entry.name, data_format=data_format)
    assert family_of(ours) == backend()
    theirs = keras_forward(entry, native(source, "float32"), data_format)
    np.testing.assert_allclose(to_numpy(ours), to_numpy(theirs), rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("entry", ALL_ENTRIES, ids=ENTRY_IDS)
def test_tf_tensor_round_trip_under_any_backend(tf, entry):
    """tf.Tensors take the native TensorFlow path whatever KERAS_BACKEND is (tf.data)."""
    original = every_value_batch()
    preprocessed = tf.constant(preprocess_input(original, entry.name, data_format="channels_last"))
    restored = restore_original_image_from_array(preprocessed, entry.name, data_format="channels_last")
    assert isinstance(restored, tf.Tensor)
    np.testing.assert_array_equal(restored.numpy(), original)


@pytest.mark.parametrize("entry", ALL_ENTRIES, ids=ENTRY_IDS)
def test_our_forward_then_inverse_is_exact_on_uint8(entry):
    original = every_value_batch()
    restored = restore_original_image_from_array(preprocess_input(original, entry.name), entry.name)
    np.testing.assert_array_equal(restored, original)


def test_video_batches_rank_5_channels_last(keras_module):
    rng = np.random.default_rng(5)
    video = rng.integers(0, 256, size=(2, 3, 8, 8, 3), dtype=np.uint8)
    for model, module in (("VGG16", "vgg16"), ("DenseNet121", "densenet"), ("Xception", "xception")):
        keras_preprocess = getattr(keras_module.applications, module).preprocess_input
        preprocessed = keras_preprocess(video.astype("float32"), data_format="channels_last")
        restored = restore_original_image_from_array(preprocessed, model, data_format="channels_last")
        np.testing.assert_array_equal(restored, video)


def test_rank_5_channels_first_uses_axis_1_as_keras_does(keras_module):
    rng = np.random.default_rng(6)
    video = rng.integers(0, 256, size=(2, 3, 4, 8, 8), dtype=np.uint8)
    preprocessed = keras_module.applications.vgg16.preprocess_input(
        video.astype("float32"), data_format="channels_first"
    )
    restored = restore_original_image_from_array(preprocessed, "VGG16", data_format="channels_first")
    np.testing.assert_array_equal(restored, video)
