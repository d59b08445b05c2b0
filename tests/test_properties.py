"""Property-based round trips over shapes, layouts and modes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from keras_deprocess import PreprocessSpec, preprocess_input, restore_original_image_from_array

MODES = st.sampled_from(["caffe", "tf", "torch", "identity"])


@st.composite
def images(draw):
    """uint8 images of rank 3 to 5 with the channel axis where the layout wants it."""
    data_format = draw(st.sampled_from(["channels_last", "channels_first"]))
    max_rank = 5
    rank = draw(st.integers(3, max_rank))
    spatial = draw(st.lists(st.integers(0, 5), min_size=rank - 1, max_size=rank - 1))
    if data_format == "channels_last":
        shape = (*spatial, 3)
    else:
        axis = 0 if rank == 3 else 1
        shape = (*spatial[:axis], 3, *spatial[axis:])
    return draw(arrays(np.uint8, shape)), data_format


@settings(max_examples=150, deadline=None)
@given(images(), MODES, st.sampled_from(["float32", "float64"]))
def test_uint8_round_trip(image_and_layout, mode, dtype):
    image, data_format = image_and_layout
    preprocessed = preprocess_input(image.astype(dtype), mode=mode, data_format=data_format)
    restored = restore_original_image_from_array(preprocessed, mode=mode, data_format=data_format)
    assert restored.shape == image.shape
    np.testing.assert_array_equal(restored, image)


@settings(max_examples=150, deadline=None)
@given(images(), MODES)
def test_round_trip_against_keras(image_and_layout, mode):
    import keras

    image, data_format = image_and_layout
    if mode == "identity":
        preprocessed = keras.applications.convnext.preprocess_input(image.astype("float32"))
    else:
        preprocessed = keras.applications.imagenet_utils.preprocess_input(
            image.astype("float32"), data_format=data_format, mode=mode
        )
    restored = restore_original_image_from_array(preprocessed, mode=mode, data_format=data_format)
    np.testing.assert_array_equal(restored, image)


@settings(max_examples=150, deadline=None)
@given(
    arrays(
        np.float64, st.tuples(st.integers(1, 3), st.integers(1, 4), st.just(3)), elements=st.floats(0, 255)
    ),
    st.floats(1e-3, 10),
    st.tuples(*[st.floats(-200, 200)] * 3),
    st.tuples(*[st.floats(0.01, 100)] * 3),
    st.sampled_from(["RGB", "BGR", "GBR", "BRG"]),
)
def test_float_inverse_of_any_spec(image, scale, mean, std, order):
    spec = PreprocessSpec("custom", scale=scale, mean=mean, std=std, channel_order=order)
    preprocessed = preprocess_input(image, spec, data_format="channels_last")
    restored = restore_original_image_from_array(
        preprocessed, spec, data_format="channels_last", dtype="float64", clip=False
    )
    np.testing.assert_allclose(restored, image, rtol=1e-9, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    arrays(
        np.float32,
        st.tuples(st.integers(1, 4), st.integers(1, 4), st.just(3)),
        elements=st.floats(-300, 300, width=32),
    )
)
def test_uint8_output_is_always_the_clipped_rounded_float_inverse(preprocessed):
    as_uint8 = restore_original_image_from_array(preprocessed, mode="caffe", data_format="channels_last")
    as_float = restore_original_image_from_array(
        preprocessed, mode="caffe", data_format="channels_last", dtype="float32", clip=False
    )
    np.testing.assert_array_equal(as_uint8, np.clip(np.rint(as_float), 0, 255).astype(np.uint8))
