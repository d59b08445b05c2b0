"""Bad input gets a clear error, and no input is ever written to."""

from __future__ import annotations

import re

import numpy as np
import pytest

from keras_deprocess import (
    DeprocessError,
    PreprocessSpec,
    preprocess_input,
    restore_original_image_from_array,
)

FUNCTIONS = [preprocess_input, restore_original_image_from_array]


def _preprocessed(shape=(2, 4, 4, 3)):
    return np.random.default_rng(0).uniform(-120, 150, size=shape).astype(np.float32)


def test_error_is_a_value_error():
    assert issubclass(DeprocessError, ValueError)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_unknown_model_lists_closest_matches(function):
    with pytest.raises(DeprocessError, match=r"Unknown model or mode 'VGG61'\. Did you mean [^?]*'VGG16'"):
        function(_preprocessed(), "VGG61")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_unknown_mode(function):
    with pytest.raises(DeprocessError, match=r"Expected `mode` to be one of .*Received: mode='cafe'"):
        function(_preprocessed(), mode="cafe")


def test_model_name_passed_as_mode_gets_a_hint():
    with pytest.raises(DeprocessError, match=r"'vgg16' is a model name: pass model='vgg16'"):
        restore_original_image_from_array(_preprocessed(), mode="vgg16")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_both_model_and_mode(function):
    with pytest.raises(DeprocessError, match=r"exactly one of `model` and `mode`. Received both"):
        function(_preprocessed(), "VGG16", mode="caffe")


def test_neither_model_nor_mode_in_the_forward_pass():
    with pytest.raises(DeprocessError, match=r"exactly one of `model` and `mode`. Received neither"):
        preprocess_input(_preprocessed())


@pytest.mark.parametrize("function", FUNCTIONS)
def test_invalid_data_format(function):
    with pytest.raises(DeprocessError, match=r"Received: data_format='NHWC'"):
        function(_preprocessed(), "VGG16", data_format="NHWC")


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("shape", [(), (3,), (224, 3)])
def test_rank_below_3(function, shape):
    with pytest.raises(DeprocessError, match=r"Expected an image of rank 3 .*Received shape .*rank \d"):
        function(np.zeros(shape, np.float32), "VGG16", data_format="channels_last")


def test_channels_first_input_with_channels_last_suggests_the_fix():
    x = _preprocessed((2, 3, 224, 224))
    expected = (
        r"Expected 3 channels on the last axis \(data_format='channels_last'\) for the 'caffe' "
        r"preprocessing. Received shape \(2, 3, 224, 224\). It has 3 channels on axis 1: pass "
        r"data_format='channels_first'."
    )
    with pytest.raises(DeprocessError, match=expected):
        restore_original_image_from_array(x, "VGG16", data_format="channels_last")


def test_channels_last_input_with_channels_first_suggests_the_fix():
    x = _preprocessed((8, 8, 3))
    with pytest.raises(DeprocessError, match=r"on axis 0 .*It has 3 channels on the last axis: pass "):
        restore_original_image_from_array(x, "DenseNet121", data_format="channels_first")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_wrong_channel_count_without_a_fix(function):
    with pytest.raises(DeprocessError, match=r"Received shape \(4, 4, 4\)\. Pass RGB images with 3 channels"):
        function(_preprocessed((4, 4, 4)), "ResNet50", data_format="channels_last")


def test_channel_agnostic_modes_accept_any_channel_count():
    x = _preprocessed((4, 4, 1)) / 150
    restored = restore_original_image_from_array(x, mode="tf", data_format="channels_last", dtype="float64")
    np.testing.assert_allclose(restored, np.clip((x.astype(np.float64) + 1) * 127.5, 0, 255), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["uint8", "int32", "int64", "bool"])
def test_integer_input_is_raw_pixels(dtype):
    with pytest.raises(DeprocessError, match=rf"Received dtype {dtype} .*raw pixels, not preprocessed"):
        restore_original_image_from_array(np.zeros((4, 4, 3), dtype), "VGG16")


def test_nan_and_inf_are_counted_when_output_is_uint8():
    x = _preprocessed((1, 4, 4, 3))
    x[0, 0, 0, 0] = np.nan
    x[0, 0, 1, 0] = np.nan
    x[0, 1, 0, 1] = np.inf
    x[0, 2, 0, 2] = -np.inf
    before = x.copy()
    with pytest.raises(DeprocessError, match=r"Received 2 NaN, 1 \+Inf and 1 -Inf values \(of 48\)"):
        restore_original_image_from_array(x, "VGG16", data_format="channels_last")
    np.testing.assert_array_equal(x, before)
    as_float = restore_original_image_from_array(
        x, "VGG16", data_format="channels_last", dtype="float32", clip=False
    )
    assert np.isnan(as_float).sum() == 2


def test_nan_check_in_tf_eager(tf):
    x = tf.constant(np.full((2, 2, 3), np.nan, np.float32))
    with pytest.raises(DeprocessError, match=r"Received 12 NaN, 0 \+Inf and 0 -Inf"):
        restore_original_image_from_array(x, "VGG16", data_format="channels_last")


def test_uint8_without_clip_is_refused():
    with pytest.raises(DeprocessError, match=r"Expected clip=True with dtype='uint8'.*Pass a float dtype"):
        restore_original_image_from_array(_preprocessed(), "VGG16", clip=False)


@pytest.mark.parametrize("dtype", ["int32", "complex64", "float8", np.int16])
def test_unsupported_output_dtype(dtype):
    with pytest.raises(DeprocessError, match=r"Expected `dtype` to be one of"):
        restore_original_image_from_array(_preprocessed(), "VGG16", dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.dtype("float64"), "float16", np.uint8])
def test_output_dtype_accepts_numpy_spellings(dtype):
    out = restore_original_image_from_array(_preprocessed(), "VGG16", dtype=dtype)
    assert out.dtype == np.dtype(dtype)


def test_object_input_is_refused():
    with pytest.raises(DeprocessError, match=r"Expected a NumPy array, a tensor"):
        restore_original_image_from_array([[object()]], "VGG16")


def test_forward_refuses_complex_input():
    with pytest.raises(DeprocessError, match=r"Received dtype complex64"):
        preprocess_input(np.zeros((4, 4, 3), np.complex64), "VGG16")


@pytest.mark.parametrize("shape", [(0, 8, 8, 3), (0, 0, 3), (2, 0, 5, 3)])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_empty_arrays_give_empty_results(shape, dtype):
    x = np.zeros(shape, np.float32)
    out = restore_original_image_from_array(x, "VGG16", data_format="channels_last", dtype=dtype)
    assert out.shape == shape
    assert out.dtype == dtype
    forward = preprocess_input(x.astype(np.uint8), "VGG16", data_format="channels_last")
    assert forward.shape == shape


def test_empty_tf_tensor(tf):
    out = restore_original_image_from_array(tf.zeros((0, 4, 4, 3)), "VGG16", data_format="channels_last")
    assert out.shape == (0, 4, 4, 3)
    assert out.dtype == tf.uint8


def test_lists_are_accepted_as_arrays():
    out = restore_original_image_from_array([[[0.0, 0.0, 0.0]]], mode="tf", data_format="channels_last")
    np.testing.assert_array_equal(out, [[[128, 128, 128]]])


def test_bad_spec_values():
    with pytest.raises(DeprocessError, match=r"non-zero.*Received: std=\(1.0, 0.0, 1.0\)"):
        PreprocessSpec("bad", std=(1, 0, 1))
    with pytest.raises(DeprocessError, match=r"permutation of 'RGB'.*Received: channel_order='RGBA'"):
        PreprocessSpec("bad", channel_order="RGBA")
    with pytest.raises(DeprocessError, match=r"1 value .* or 3 values .*Received 2 values"):
        PreprocessSpec("bad", mean=(1, 2))
    with pytest.raises(DeprocessError, match=r"finite, non-zero.*scale=0.0"):
        PreprocessSpec("bad", scale=0)


# -- never mutate the caller's input -----------------------------------------

MODELS = ["VGG16", "InceptionV3", "DenseNet121", "EfficientNetB0"]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_writable_numpy_input_is_not_mutated(function, model, dtype):
    x = _preprocessed().astype(dtype)
    before = x.copy()
    out = function(x, model, data_format="channels_last")
    np.testing.assert_array_equal(x, before)
    assert not np.shares_memory(out, x)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_read_only_numpy_input_works(function, model):
    x = _preprocessed()
    x.setflags(write=False)
    out = function(x, model, data_format="channels_last")
    assert out.flags.writeable


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_tf_variable_is_not_mutated(tf, function, model):
    values = _preprocessed()
    variable = tf.Variable(values)
    function(variable, model, data_format="channels_last")
    np.testing.assert_array_equal(variable.numpy(), values)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_input_is_untouched_when_an_error_is_raised(function):
    x = _preprocessed((2, 3, 8, 8))
    before = x.copy()
    with pytest.raises(DeprocessError):
        function(x, "VGG16", data_format="channels_last")
    np.testing.assert_array_equal(x, before)


def test_keras_itself_mutates_float_numpy_input_and_we_do_not(keras_module):
    image = np.random.default_rng(1).uniform(0, 255, (4, 4, 3)).astype(np.float32)
    keras_copy, our_copy = image.copy(), image.copy()
    keras_module.applications.vgg16.preprocess_input(keras_copy)
    preprocess_input(our_copy, "VGG16", data_format="channels_last")
    assert not np.array_equal(keras_copy, image)
    np.testing.assert_array_equal(our_copy, image)


# -- arguments that used to escape as bare NumPy or internal errors ----------------------


def test_ragged_list_is_refused_clearly():
    with pytest.raises(DeprocessError, match="rows have different lengths"):
        restore_original_image_from_array([[[0.0, 0.0, 0.0]], [[0.0, 0.0]]], "VGG16")


def test_spec_configs_missing_and_unknown_keys():
    from keras_deprocess import get_spec

    assert get_spec({"name": "mine", "scale": 1}).is_identity  # other fields take their defaults
    with pytest.raises(DeprocessError, match=r"unknown keys \['colour'\]"):
        get_spec({"name": "mine", "scale": 1, "colour": "red"})
    # A config that names nothing, or says nothing of the map, is not silently the identity.
    for empty in ({}, {"scale": 1}, {"name": "mine"}):
        with pytest.raises(DeprocessError, match="with a name and at least one of scale, mean and std"):
            PreprocessSpec.from_config(empty)
    with pytest.raises(DeprocessError, match="no name"):
        get_spec({"scale": 1})
    with pytest.raises(DeprocessError, match="Expected a spec config"):
        PreprocessSpec.from_config(["scale", 1])


def test_infer_spec_of_something_not_callable():
    from keras_deprocess import infer_spec

    with pytest.raises(DeprocessError, match=r"Expected `fn` to be a preprocessing function.*Received: fn=5"):
        infer_spec(5)


def test_infer_spec_wraps_the_functions_own_error():
    from keras_deprocess import infer_spec

    def broken(x):
        raise RuntimeError("boom")

    with pytest.raises(DeprocessError, match="Calling it raised RuntimeError: boom"):
        infer_spec(broken, data_format="channels_last")


def test_same_as_takes_specs_and_points_names_to_get_spec():
    from keras_deprocess import get_spec

    assert get_spec("imagenet").same_as(get_spec("torch"))
    with pytest.raises(DeprocessError, match=r"Expected a PreprocessSpec.*same_as\(get_spec\('torch'\)\)"):
        get_spec("imagenet").same_as("torch")


@pytest.mark.parametrize("clip", ["False", 0, None])
def test_clip_must_be_a_bool(clip):
    with pytest.raises(DeprocessError, match=r"Expected `clip` to be True or False"):
        restore_original_image_from_array(_preprocessed(), "VGG16", dtype="float32", clip=clip)


def test_dtype_none_is_refused_with_advice():
    with pytest.raises(DeprocessError, match=r"Received: dtype=None. Use dtype='uint8'"):
        restore_original_image_from_array(_preprocessed(), "VGG16", dtype=None)


def test_forward_integer_dtype_advice_is_a_float():
    with pytest.raises(DeprocessError, match=r"Pass dtype='float32'") as raised:
        preprocess_input(np.zeros((2, 2, 3), np.uint8), "VGG16", dtype="int32")
    assert "uint8" not in str(raised.value).split("Received")[1]


def test_huge_arguments_are_truncated_in_messages():
    with pytest.raises(DeprocessError) as raised:
        restore_original_image_from_array(_preprocessed(), "x" * 10**6)
    assert len(str(raised.value)) < 1000
    assert "characters)" in str(raised.value)


def test_no_warning_leaks_on_valid_extreme_input():
    import warnings

    from keras_deprocess import SpecMismatchWarning

    x = np.full((2, 4, 4, 3), 65000.0, np.float16)
    x[0] = -65000.0
    big = np.full((2, 4, 4, 3), 3e38, np.float32)
    huge = np.full((1, 4, 4, 3), 1e308)
    for check in (True, False):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = restore_original_image_from_array(x, "VGG16", data_format="channels_last", check=check)
            restore_original_image_from_array(big, "DenseNet121", data_format="channels_last", check=check)
            restore_original_image_from_array(huge, "tf", data_format="channels_last", check=check)
        # No NumPy overflow warning; only the check's own word that everything is clipped.
        assert all(issubclass(w.category, SpecMismatchWarning) for w in caught), caught
        assert all("100% of them restore outside [0, 255]" in str(w.message) for w in caught)
        assert len(caught) == (3 if check else 0)
    assert out[0].max() == 0
    assert out[1].min() == 255


def test_the_nan_advice_is_in_the_callers_framework(framework):
    x = _preprocessed((1, 4, 4, 3))
    x[0, 0, 0, 0] = np.nan
    cleaner = {
        "numpy": "np.nan_to_num(x)",
        "torch": "torch.nan_to_num(x)",
        "jax": "jnp.nan_to_num(x)",
        "tensorflow": "tf.where(tf.math.is_finite(x), x, 0.0)",
    }[framework.name]
    with pytest.raises(DeprocessError, match=re.escape(f"clean the input first, e.g. with {cleaner}.")):
        restore_original_image_from_array(framework.tensor(x), "VGG16", data_format="channels_last")
