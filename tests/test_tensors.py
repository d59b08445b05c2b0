"""TensorFlow tensors: same results as NumPy, graph mode, symbolic Keras tensors.

Gradients, on every framework, are the template's: test_operations.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import (
    every_value_batch,
    native,
    to_numpy,
)

from keras_deprocess import preprocess_input, restore_original_image_from_array


@pytest.mark.parametrize("model", ["VGG16", "InceptionV3", "DenseNet121", "ConvNeXtTiny"])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_tensor_equals_numpy(tf, model, dtype):
    preprocessed = preprocess_input(every_value_batch(), model, data_format="channels_last")
    from_numpy = restore_original_image_from_array(
        preprocessed, model, data_format="channels_last", dtype=dtype
    )
    from_tensor = restore_original_image_from_array(
        tf.constant(preprocessed), model, data_format="channels_last", dtype=dtype
    )
    np.testing.assert_allclose(from_tensor.numpy(), from_numpy, atol=1e-5)


def test_inside_tf_function(tf):
    original = every_value_batch()
    preprocessed = tf.constant(preprocess_input(original, "ResNet50", data_format="channels_last"))

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    def restore(x):
        return restore_original_image_from_array(x, "ResNet50", data_format="channels_last")

    np.testing.assert_array_equal(restore(preprocessed).numpy(), original)


def test_inside_tf_data_map(tf):
    original = every_value_batch()
    preprocessed = preprocess_input(original, "DenseNet121", data_format="channels_last")
    dataset = tf.data.Dataset.from_tensor_slices(preprocessed).map(
        lambda x: restore_original_image_from_array(x, "DenseNet121", data_format="channels_last")
    )
    np.testing.assert_array_equal(np.stack(list(dataset.as_numpy_iterator())), original)


def test_symbolic_nan_becomes_zero_instead_of_raising(tf):
    @tf.function
    def restore(x):
        return restore_original_image_from_array(x, mode="tf", data_format="channels_last")

    out = restore(tf.constant([[[np.nan, np.inf, -np.inf]]], tf.float32))
    np.testing.assert_array_equal(out.numpy(), [[[0, 255, 0]]])


def test_symbolic_keras_tensor_builds_a_functional_model(keras_module):
    keras = keras_module
    inputs = keras.Input((8, 8, 3))
    outputs = restore_original_image_from_array(inputs, "VGG16", data_format="channels_last", dtype="float32")
    model = keras.Model(inputs, outputs)
    original = every_value_batch()[:, :8, :8]
    preprocessed = preprocess_input(original, "VGG16", data_format="channels_last")
    np.testing.assert_allclose(np.asarray(model(preprocessed)), original, atol=1e-4)


def test_jit_compiled(tf):
    original = every_value_batch()
    preprocessed = tf.constant(preprocess_input(original, "Xception", data_format="channels_last"))
    restore = tf.function(
        lambda x: restore_original_image_from_array(x, "Xception", data_format="channels_last"),
        jit_compile=True,
    )
    np.testing.assert_array_equal(restore(preprocessed).numpy(), original)


def test_keras_variable_is_not_mutated(keras_module):
    values = preprocess_input(every_value_batch(), "VGG16", data_format="channels_last")
    variable = keras_module.Variable(values)
    restored = restore_original_image_from_array(variable, "VGG16", data_format="channels_last")
    np.testing.assert_array_equal(to_numpy(restored), every_value_batch())
    np.testing.assert_array_equal(to_numpy(variable), values)


def test_identity_restore_of_a_float_tensor_is_a_new_tensor():
    x = native(np.zeros((2, 2, 3), "float32"))
    out = restore_original_image_from_array(x, mode="identity", dtype="float32", clip=False)
    assert out is not x
