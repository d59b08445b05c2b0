"""The fast paths agree with the plain math: blocked NumPy (any block size) and fused XLA."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from conftest import aligned, every_value_batch

from keras_deprocess import (
    DeprocessError,
    get_spec,
    preprocess_input,
    restore_original_image_from_array,
)
from keras_deprocess.math import host

MODES = ["caffe", "tf", "torch", "clip", "identity"]


def reference(x: np.ndarray, mode: str, data_format: str, dtype: str, clip: bool = True) -> np.ndarray:
    """The inverse written out in float64, with no blocking and no fusion."""
    source, multiplier, offset = get_spec(mode).inverse_affine()
    axis = x.ndim - 1 if data_format == "channels_last" else (0 if x.ndim == 3 else 1)
    shape = [1] * x.ndim
    shape[axis] = -1
    y = x.astype(np.float64)
    if source is not None:
        y = np.take(y, source, axis=axis)
    y = y * np.reshape(multiplier, shape) + np.reshape(offset, shape)
    if dtype == "uint8":
        y = np.rint(y)
    if clip:
        y = np.clip(y, 0, 255)
    return y.astype(dtype)


@pytest.fixture
def engine(host_engine):
    return host_engine


def _batch(data_format: str, dtype: str) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, (3, 7, 5, 3)).astype(dtype) * 60
    return aligned(x if data_format == "channels_last" else np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


@pytest.mark.parametrize("out", ["uint8", "float32", "float16"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("mode", MODES)
def test_engines_agree_with_the_plain_math(engine, mode, data_format, dtype, out):
    x = _batch(data_format, dtype)
    ours = restore_original_image_from_array(x, mode, data_format=data_format, dtype=out)
    expected = reference(x, mode, data_format, out)
    assert ours.dtype == out
    if out == "uint8":
        np.testing.assert_array_equal(ours, expected)
    else:
        np.testing.assert_allclose(
            ours.astype(np.float64),
            expected.astype(np.float64),
            rtol=2e-3 if out == "float16" else 1e-6,
            atol=1e-4,
        )


def test_engines_are_exact_on_every_pixel_value(engine):
    original = every_value_batch()
    for mode in MODES:
        for data_format, images in (
            ("channels_last", original),
            ("channels_first", original.transpose(0, 3, 1, 2)),
        ):
            x = aligned(preprocess_input(images, mode, data_format=data_format))
            np.testing.assert_array_equal(
                restore_original_image_from_array(x, mode, data_format=data_format), images
            )


def test_engines_refuse_nan_late_in_the_array(engine):
    x = _batch("channels_last", "float32")
    x[-1, -1, -1, -1] = np.nan
    with pytest.raises(DeprocessError, match=r"Received 1 NaN, 0 \+Inf and 0 -Inf"):
        restore_original_image_from_array(x, "VGG16", data_format="channels_last")
    x[-1, -1, -1, -1] = 0.0  # and the same array, cleaned, goes through
    restore_original_image_from_array(x, "VGG16", data_format="channels_last")


def test_huge_finite_values_are_clipped_not_refused(engine):
    x = np.full((2, 3, 3, 3), 3e38, np.float32)
    x[0] = -3e38
    x = aligned(x)
    out = restore_original_image_from_array(x, mode="torch", data_format="channels_last")
    np.testing.assert_array_equal(out[0], 0)
    np.testing.assert_array_equal(out[1], 255)


def test_read_only_and_non_contiguous_inputs(engine):
    x = _batch("channels_last", "float32")
    frozen = x.copy()
    frozen.setflags(write=False)
    np.testing.assert_array_equal(
        restore_original_image_from_array(frozen, "VGG16", data_format="channels_last"),
        reference(x, "caffe", "channels_last", "uint8"),
    )
    restore_original_image_from_array(x, "VGG16", data_format="channels_last")
    strided = np.asfortranarray(x)[:, ::2]
    np.testing.assert_array_equal(
        restore_original_image_from_array(strided, "DenseNet121", data_format="channels_last"),
        reference(np.ascontiguousarray(strided), "torch", "channels_last", "uint8"),
    )


def test_eager_tf_tensor_through_the_fused_kernel(monkeypatch, tf):
    monkeypatch.setattr(host, "XLA_MIN_ELEMENTS", 0)
    original = every_value_batch()
    x = tf.constant(preprocess_input(original, "VGG16", data_format="channels_last"))
    restored = restore_original_image_from_array(x, "VGG16", data_format="channels_last")
    assert isinstance(restored, tf.Tensor)
    np.testing.assert_array_equal(restored.numpy(), original)
    bad = tf.tensor_scatter_nd_update(x, [[0, 0, 0, 0]], [float("inf")])
    with pytest.raises(DeprocessError, match=r"Received 0 NaN, 1 \+Inf"):
        restore_original_image_from_array(bad, "VGG16", data_format="channels_last")


@pytest.mark.parametrize("engine_name", ["blocked", "numba"])
def test_engines_make_no_full_size_float_temporary(monkeypatch, engine_name):
    from keras_deprocess.math import compiled

    if engine_name == "numba" and not compiled.available():
        pytest.skip("numba is not installed (the `fast` extra)")
    monkeypatch.setattr(host, "XLA_MIN_ELEMENTS", 1 << 62)
    monkeypatch.setattr(compiled, "MIN_ELEMENTS", 0 if engine_name == "numba" else 1 << 62)
    x = np.random.default_rng(1).uniform(-120, 150, (8, 224, 224, 3)).astype(np.float32)
    restore_original_image_from_array(x, "VGG16", data_format="channels_last")  # compiled, imported
    for dtype in ("float32", "float16"):
        batch = x.astype(dtype)
        tracemalloc.start()
        tracemalloc.reset_peak()
        out = restore_original_image_from_array(batch, "VGG16", data_format="channels_last")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # The goal: the output plus at most 1 MiB (the scratch block, or float16 widened rows).
        assert peak - out.nbytes <= (1 << 20) + (64 << 10), (engine_name, dtype, peak, out.nbytes)
