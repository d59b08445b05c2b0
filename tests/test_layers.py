"""Deprocess and Preprocess: thin layers over the functions, on every backend.

Each test runs on the active KERAS_BACKEND; .ci/run runs the suite on
tensorflow, jax and torch.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import (
    backend,
    every_value_batch,
    expected_restore_gradient,
    native,
    run_python,
    to_numpy,
    weighted_sum_gradient,
)

from keras_deprocess import DeprocessError, get_spec, preprocess_input, restore_original_image_from_array
from keras_deprocess.frameworks import backend_for


def family_of(x):
    found = backend_for(x)
    return None if found is None else found.name


MODELS = ["VGG16", "InceptionV3", "DenseNet121", "EfficientNetB0"]


@pytest.fixture(scope="module")
def layers():
    from keras_deprocess import layers

    return layers


@pytest.fixture
def mixed_precision(keras_module):
    def set_policy(name):
        keras_module.config.set_dtype_policy(name)

    yield set_policy
    keras_module.config.set_dtype_policy("float32")


def _preprocessed(model="VGG16"):
    return preprocess_input(every_value_batch(), model, data_format="channels_last")


# -- agreement with the functions ------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("output_dtype", ["uint8", "float32"])
@pytest.mark.parametrize("as_tensor", [False, True], ids=["numpy", "tensor"])
def test_deprocess_layer_equals_function(layers, model, output_dtype, as_tensor):
    x = _preprocessed(model)
    layer = layers.Deprocess(model, data_format="channels_last", output_dtype=output_dtype)
    out = layer(native(x) if as_tensor else x)
    assert family_of(out) == backend()
    expected = restore_original_image_from_array(x, model, data_format="channels_last", dtype=output_dtype)
    np.testing.assert_allclose(to_numpy(out), expected, atol=1e-4)
    assert to_numpy(out).dtype == output_dtype
    if output_dtype == "uint8":
        np.testing.assert_array_equal(to_numpy(out), every_value_batch())


@pytest.mark.parametrize("model", MODELS)
def test_preprocess_layer_equals_function(layers, model):
    images = every_value_batch()
    out = layers.Preprocess(model, data_format="channels_last")(native(images))
    np.testing.assert_allclose(
        to_numpy(out), preprocess_input(images, model, data_format="channels_last"), rtol=1e-6, atol=1e-5
    )
    assert to_numpy(out).dtype == np.float32


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_preprocess_then_deprocess_layers_are_exact(layers, data_format):
    images = every_value_batch()
    if data_format == "channels_first":
        images = np.ascontiguousarray(images.transpose(0, 3, 1, 2))
    for mode in ("caffe", "tf", "torch", "identity"):
        forward = layers.Preprocess(mode=mode, data_format=data_format)
        inverse = layers.Deprocess(mode=mode, data_format=data_format)
        np.testing.assert_array_equal(to_numpy(inverse(forward(native(images)))), images)


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_gradient_through_the_layer(layers, mode):
    layer = layers.Deprocess(mode=mode, data_format="channels_last", output_dtype="float32", clip=False)
    x = preprocess_input(every_value_batch(), mode=mode, data_format="channels_last")
    weights = np.array([1.0, 10.0, 100.0], "float32")
    gradient = weighted_sum_gradient(layer, x, weights)
    expected = expected_restore_gradient(mode, weights)
    np.testing.assert_allclose(gradient, np.broadcast_to(expected, gradient.shape), rtol=1e-5)


def test_clip_zeroes_gradients_outside_the_range_only(layers):
    layer = layers.Deprocess(mode="tf", data_format="channels_last", output_dtype="float32")
    x = np.array([[[[-1.5, 0.0, 1.5]]]], "float32")  # -63.75, 127.5, 318.75 pixel levels
    gradient = weighted_sum_gradient(layer, x, np.ones(3, "float32"))
    np.testing.assert_allclose(gradient.ravel(), [0.0, 127.5, 0.0])


# -- Keras integration -----------------------------------------------------------


def test_symbolic_input_in_a_functional_model(keras_module, layers):
    keras = keras_module
    inputs = keras.Input((16, 16, 3), dtype="uint8")
    features = layers.Preprocess("ResNet50", data_format="channels_last")(inputs)
    outputs = layers.Deprocess("ResNet50", data_format="channels_last")(features)
    assert outputs.shape == (None, 16, 16, 3)
    assert outputs.dtype == "uint8"
    model = keras.Model(inputs, outputs)
    np.testing.assert_array_equal(model.predict(every_value_batch(), verbose=0), every_value_batch())
    assert "Lambda" not in json.dumps(model.get_config())


def test_get_config_holds_plain_values_and_round_trips(layers):
    layer = layers.Deprocess("DenseNet121", data_format="channels_first", output_dtype="float32", clip=False)
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    assert config["model"]["name"] == "torch"
    assert (config["data_format"], config["clip"], config["output_dtype"]) == (
        "channels_first",
        False,
        "float32",
    )
    clone = layers.Deprocess.from_config(config)
    assert clone.spec == get_spec("torch")
    assert (clone.data_format, clone.clip, clone.output_dtype) == ("channels_first", False, "float32")
    forward = layers.Preprocess.from_config(layers.Preprocess(mode="caffe").get_config())
    assert forward.spec == get_spec("caffe")


def test_a_keras_model_object_is_stored_as_its_spec(keras_module, layers):
    backbone = keras_module.applications.MobileNetV3Small(
        weights=None, include_top=False, input_shape=(32, 32, 3)
    )
    layer = layers.Deprocess(backbone)
    assert layer.get_config()["model"]["name"] == "identity"


def test_layer_argument_errors(layers):
    with pytest.raises(DeprocessError, match="clip=True with output_dtype='uint8'"):
        layers.Deprocess("VGG16", clip=False)
    with pytest.raises(DeprocessError, match=r"Expected `output_dtype` to be one of .*output_dtype='int8'"):
        layers.Deprocess("VGG16", output_dtype="int8")
    with pytest.raises(DeprocessError, match=r"Received mode='auto'.*Pass the model's name"):
        layers.Deprocess(mode="auto")
    with pytest.raises(DeprocessError, match="exactly one of `model` and `mode`"):
        layers.Deprocess()
    with pytest.raises(DeprocessError, match="Unknown model or mode"):
        layers.Preprocess("VGG61")


def test_lazy_attributes_are_the_layer_classes(layers):
    import keras_deprocess

    assert keras_deprocess.Deprocess is layers.Deprocess
    assert keras_deprocess.Preprocess is layers.Preprocess
    assert "Deprocess" in dir(keras_deprocess)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        keras_deprocess.Nope  # noqa: B018


@pytest.mark.parametrize("import_order", ["keras_first", "keras_deprocess_first"])
def test_saved_model_loads_in_safe_mode_without_custom_objects(tmp_path, keras_module, layers, import_order):
    keras = keras_module
    inputs = keras.Input((16, 16, 3), dtype="uint8")
    features = layers.Preprocess("Xception", data_format="channels_last")(inputs)
    outputs = layers.Deprocess("Xception", data_format="channels_last", output_dtype="float32")(features)
    path = tmp_path / "round_trip.keras"
    keras.Model(inputs, outputs).save(path)
    np.save(tmp_path / "images.npy", every_value_batch())

    imports = (
        "import keras\nimport keras_deprocess"
        if import_order == "keras_first"
        else ("import keras_deprocess\nimport keras")
    )
    output = run_python(
        f"""
        {imports.replace(chr(10), chr(10) + "        ")}
        import json
        import numpy as np
        model = keras.models.load_model({str(path)!r}, safe_mode=True)
        images = np.load({str(tmp_path / "images.npy")!r})
        restored = model.predict(images, verbose=0)
        print(json.dumps([type(layer).__name__ for layer in model.layers]))
        print(float(np.abs(restored - images).max()))
        """,
        KERAS_BACKEND=backend(),
    )
    names_line, error_line = output.strip().splitlines()[-2:]
    assert json.loads(names_line) == ["InputLayer", "Preprocess", "Deprocess"]
    assert float(error_line) < 1e-4


# -- graphs, tf.data, XLA --------------------------------------------------------


def test_layer_inside_tf_data_map(tf, layers):
    """No py_function: under JAX or torch the layer runs TensorFlow ops on tf.Tensors."""
    layer = layers.Deprocess("DenseNet121", data_format="channels_last")
    dataset = tf.data.Dataset.from_tensor_slices(_preprocessed("DenseNet121")).batch(1).map(layer)
    restored = np.concatenate(list(dataset.as_numpy_iterator()))
    np.testing.assert_array_equal(restored, every_value_batch())


def test_layer_inside_tf_function_and_xla(tf, layers):
    layer = layers.Deprocess("VGG16", data_format="channels_last")
    x = tf.constant(_preprocessed("VGG16"))
    for jit_compile in (False, True):
        restored = tf.function(layer, jit_compile=jit_compile)(x)
        np.testing.assert_array_equal(restored.numpy(), every_value_batch())


def test_model_predict_over_a_dataset(tf, keras_module, layers):
    keras = keras_module
    inputs = keras.Input((16, 16, 3))
    model = keras.Model(inputs, layers.Deprocess("InceptionV3", data_format="channels_last")(inputs))
    dataset = tf.data.Dataset.from_tensor_slices(_preprocessed("InceptionV3")).batch(1)
    np.testing.assert_array_equal(model.predict(dataset, verbose=0), every_value_batch())


@pytest.mark.skipif("backend() != 'tensorflow'")
def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    output = run_python(
        """
        import numpy as np
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import keras
        from keras_deprocess import Deprocess, preprocess_input
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        assert strategy.num_replicas_in_sync == 2
        images = np.random.default_rng(0).integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
        x = preprocess_input(images, "VGG16", data_format="channels_last")
        with strategy.scope():
            inputs = keras.Input((16, 16, 3))
            model = keras.Model(inputs, Deprocess("VGG16", data_format="channels_last")(inputs))
        dataset = tf.data.Dataset.from_tensor_slices(x).batch(4)
        restored = model.predict(dataset, verbose=0)
        per_replica = strategy.run(
            tf.function(lambda t: Deprocess("VGG16", data_format="channels_last")(t)),
            args=(tf.constant(x[:4]),),
        )
        assert len(strategy.experimental_local_results(per_replica)) == 2
        print("exact" if np.array_equal(restored, images) else "MISMATCH")
        """,
        KERAS_BACKEND="tensorflow",
    )
    assert output.strip().splitlines()[-1] == "exact"


@pytest.mark.skipif("backend() != 'jax'")
def test_jax_data_parallel_on_two_host_devices():
    output = run_python(
        """
        import numpy as np
        import jax
        import keras
        from keras_deprocess import Deprocess, preprocess_input
        assert len(jax.devices()) == 2, jax.devices()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))
        images = np.random.default_rng(0).integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
        x = preprocess_input(images, "DenseNet121", data_format="channels_last")
        inputs = keras.Input((16, 16, 3))
        model = keras.Model(inputs, Deprocess("DenseNet121", data_format="channels_last")(inputs))
        restored = model.predict(x, batch_size=4, verbose=0)
        print("exact" if np.array_equal(restored, images) else "MISMATCH")
        """,
        KERAS_BACKEND="jax",
        XLA_FLAGS="--xla_force_host_platform_device_count=2",
    )
    assert output.strip().splitlines()[-1] == "exact"


# -- mixed precision -------------------------------------------------------------


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_mixed_precision_round_trip_is_exact(keras_module, layers, mixed_precision, policy, mode):
    mixed_precision(policy)
    keras = keras_module
    inputs = keras.Input((16, 16, 3), dtype="uint8")
    features = layers.Preprocess(mode=mode, data_format="channels_last")(inputs)
    restored = layers.Deprocess(mode=mode, data_format="channels_last")(features)
    as_float = layers.Deprocess(mode=mode, data_format="channels_last", output_dtype="float32", clip=False)(
        features
    )
    assert features.dtype == policy.removeprefix("mixed_")
    model = keras.Model(inputs, [restored, as_float])
    images = every_value_batch()
    uint8_out, float_out = model.predict(images, verbose=0)
    # Preprocess computes in float32 and rounds once to the compute dtype,
    # which keeps every pixel value recoverable (see the precision contract).
    np.testing.assert_array_equal(uint8_out, images)
    # Half an ulp of the largest |y| (float16: 151 in 'caffe'; bfloat16: 2.64
    # in 'torch'), in pixel levels: 0.0625, and 2**-7 * 0.229 * 255 = 0.457.
    bound = {"mixed_float16": 0.0625, "mixed_bfloat16": 0.457}[policy]
    assert np.abs(float_out - images).max() <= bound


def test_deprocess_does_not_autocast_float32_input(keras_module, layers, mixed_precision):
    mixed_precision("mixed_float16")
    layer = layers.Deprocess("VGG16", data_format="channels_last", output_dtype="float32", clip=False)
    x = np.array([[[[0.01, 0.02, 0.03]]]], "float32")  # not representable in float16
    out = to_numpy(layer(native(x)))
    np.testing.assert_allclose(out[0, 0, 0], [123.71, 116.799, 103.949], rtol=0, atol=2e-5)
