"""Correct rounding: uint8 output is round-half-even of the float64 inverse, on every path.

The reference is ``clip(rint((float64(x) + b / m) * m), 0, 255)`` per channel. The
inputs sit at the rounding boundaries: for every level, the float32 (and
float16) values within a few ulps of the input that maps to ``k + 0.5``.
A float32 computation gets some of them wrong; every path here must not.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FRAMEWORKS, Native, aligned, backend

from keras_deprocess import get_spec, restore_original_image_from_array, spec_from_mean_std
from keras_deprocess.core.plan import Plan
from keras_deprocess.frameworks import backend_for
from keras_deprocess.kernels import affine, maps

SPECS = {
    "caffe": get_spec("caffe"),
    "tf": get_spec("tf"),
    "torch": get_spec("torch"),
    "clip": get_spec("clip"),
    "half": get_spec("half"),
    "identity": get_spec("identity"),
    "negative-std-bgr": spec_from_mean_std(
        (0.1, -0.2, 0.3), (-0.7, 0.25, 1.3), channel_order="BGR", name="odd"
    ),
}


def boundary_inputs(spec, dtype: str, ulps: int = 3) -> np.ndarray:
    """(1, L, 1, 3) inputs: per output channel, the `dtype` values around each k + 0.5 boundary."""
    source, multiplier, offset = spec.inverse_affine()
    source = source or (0, 1, 2)
    multipliers = np.broadcast_to(multiplier, 3)
    offsets = np.broadcast_to(offset, 3)
    columns = [None] * 3
    for k in range(3):
        boundary = ((np.arange(-1, 257) + 0.5) - offsets[k]) / multipliers[k]
        values = boundary.astype(dtype)
        around = [values]
        up, down = values.copy(), values.copy()
        for _ in range(ulps):
            up = np.nextafter(up, np.inf, dtype=dtype)
            down = np.nextafter(down, -np.inf, dtype=dtype)
            around += [up, down]
        columns[source[k]] = np.concatenate(around)
    return np.stack(columns, axis=-1)[None, :, None, :]


def reference(x: np.ndarray, spec) -> np.ndarray:
    source, multiplier, offset = spec.inverse_affine()
    wide = x.astype(np.float64)
    if source is not None:
        wide = wide[..., list(source)]
    out = np.empty(x.shape, np.uint8)
    for k in range(3):
        m = np.broadcast_to(multiplier, 3)[k]
        b = np.broadcast_to(offset, 3)[k]
        out[..., k] = affine.uint8_reference(wide[..., k], m, b)
    return out


def naive_float32(x: np.ndarray, spec) -> np.ndarray:
    source, multiplier, offset = spec.inverse_affine()
    y = x.astype(np.float32)[..., list(source or (0, 1, 2))]
    y = y * np.float32(multiplier) + np.float32(offset)
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("spec", ["caffe", "torch", "clip"])
def test_the_boundaries_bite_a_float32_computation(spec):
    x = boundary_inputs(SPECS[spec], "float32")
    wrong = int((naive_float32(x, SPECS[spec]) != reference(x, SPECS[spec])).sum())
    assert wrong > 0, "these inputs must separate a float32 computation from the reference"


@pytest.fixture
def numpy_engine(host_engine):
    return host_engine


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("spec", list(SPECS))
def test_numpy_engines_round_correctly(numpy_engine, spec, dtype):
    x = aligned(boundary_inputs(SPECS[spec], dtype))
    ours = numpy_engine.restore(x, SPECS[spec], "channels_last")
    np.testing.assert_array_equal(ours, reference(x, SPECS[spec]))


@pytest.mark.parametrize("dtype", ["float16", "float32"])
@pytest.mark.parametrize("spec", list(SPECS))
@pytest.mark.parametrize("name", FRAMEWORKS)
def test_every_framework_rounds_correctly(name, spec, dtype):
    framework = Native(name)
    x = boundary_inputs(SPECS[spec], dtype)
    ours = restore_original_image_from_array(framework.tensor(x), SPECS[spec], data_format="channels_last")
    np.testing.assert_array_equal(framework.numpy(ours), reference(x, SPECS[spec]))


@pytest.mark.parametrize("spec", list(SPECS))
@pytest.mark.parametrize("name", ["numpy", "tensorflow", "torch", "jax"])
def test_float32_estimate_corrected_by_the_step_table(name, spec, monkeypatch):
    """The path for frameworks without float64 (JAX's default, MPS), forced everywhere."""
    framework = Native(name)
    for dtype in ("float16", "float32"):
        x = boundary_inputs(SPECS[spec], dtype)
        tensor = framework.tensor(x)
        ops = backend_for(tensor)
        monkeypatch.setattr(ops, "has_float64", lambda _: False)
        ours = maps.inverse_map(ops, tensor, Plan.inverse(SPECS[spec], 3, "uint8"), zero_nan=True)
        monkeypatch.undo()
        np.testing.assert_array_equal(framework.numpy(ours), reference(x, SPECS[spec]))


def test_step_table_handles_nan_and_infinities():
    import jax.numpy as jnp

    x = jnp.asarray([[[np.nan, np.inf, -np.inf]]], jnp.float32)
    ops = backend_for(x)
    ops.has_float64 = lambda _: False  # as on a TPU
    try:
        out = maps.inverse_map(ops, x, Plan.inverse(get_spec("torch"), 2, "uint8"), zero_nan=True)
    finally:
        del ops.has_float64
    np.testing.assert_array_equal(np.asarray(out), [[[0, 255, 0]]])


@pytest.mark.parametrize("spec", ["caffe", "torch", "tf"])
def test_traced_paths_round_correctly(spec):
    x = boundary_inputs(SPECS[spec], "float32")
    expected = reference(x, SPECS[spec])

    def restore(t):
        return restore_original_image_from_array(t, SPECS[spec], data_format="channels_last")

    import jax
    import tensorflow as tf

    np.testing.assert_array_equal(np.asarray(jax.jit(restore)(jax.numpy.asarray(x))), expected)
    np.testing.assert_array_equal(tf.function(restore)(tf.constant(x)).numpy(), expected)
    np.testing.assert_array_equal(tf.function(restore, jit_compile=True)(tf.constant(x)).numpy(), expected)


@pytest.mark.skipif(backend() != "tensorflow", reason="one run is enough")
def test_the_layer_rounds_correctly(keras_module):
    from keras_deprocess import Deprocess

    x = boundary_inputs(SPECS["caffe"], "float32")
    layer = Deprocess("caffe", data_format="channels_last")
    np.testing.assert_array_equal(keras_module.ops.convert_to_numpy(layer(x)), reference(x, SPECS["caffe"]))


def test_an_optimized_style_transfer_image_rounds_correctly():
    """The issue's case: a 400x600 VGG19 image optimized in float32, 720,000 values."""
    rng = np.random.default_rng(7)
    x = (rng.normal(0, 60, (1, 400, 600, 3)) + rng.uniform(-0.5, 0.5, (1, 400, 600, 3))).astype(np.float32)
    spec = get_spec("VGG19")
    np.testing.assert_array_equal(
        restore_original_image_from_array(x, "VGG19", data_format="channels_last"), reference(x, spec)
    )
