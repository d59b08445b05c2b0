"""Every host engine, called directly, agrees with the plain math: blocked (any block size), numba, XLA."""

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
from keras_deprocess.core.finite import NonFinite
from keras_deprocess.core.layout import channel_position
from keras_deprocess.core.plan import Plan
from keras_deprocess.engines import THRESHOLDS, EngineRefused, engine_for, run

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


def restored_or_skip(engine, x, mode, data_format, out):
    try:
        return engine.restore(x, mode, data_format, out)
    except EngineRefused as refusal:
        pytest.skip(f"{engine} does not take this case: {refusal}")


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
    ours = restored_or_skip(engine, x, mode, data_format, out)
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
            np.testing.assert_array_equal(engine.restore(x, mode, data_format), images)


def test_engines_refuse_nan_late_in_the_array(engine):
    x = _batch("channels_last", "float32")
    x[-1, -1, -1, -1] = np.nan
    with pytest.raises(NonFinite) as refused:
        engine.restore(x, "VGG16", "channels_last")
    assert refused.value.counts == (1, 0, 0)
    x[-1, -1, -1, -1] = 0.0  # and the same array, cleaned, goes through
    engine.restore(x, "VGG16", "channels_last")


def test_huge_finite_values_are_clipped_not_refused(engine):
    x = np.full((2, 3, 3, 3), 3e38, np.float32)
    x[0] = -3e38
    x = aligned(x)
    out = engine.restore(x, "torch", "channels_last")
    np.testing.assert_array_equal(out[0], 0)
    np.testing.assert_array_equal(out[1], 255)


def test_read_only_and_non_contiguous_inputs(engine):
    x = _batch("channels_last", "float32")
    frozen = x.copy()
    frozen.setflags(write=False)
    np.testing.assert_array_equal(
        restored_or_skip(engine, frozen, "VGG16", "channels_last", "uint8"),
        reference(x, "caffe", "channels_last", "uint8"),
    )
    strided = np.asfortranarray(x)[:, ::2]
    np.testing.assert_array_equal(
        restored_or_skip(engine, strided, "DenseNet121", "channels_last", "uint8"),
        reference(np.ascontiguousarray(strided), "torch", "channels_last", "uint8"),
    )
    # The public function routes them all, refused hand-overs included.
    np.testing.assert_array_equal(
        restore_original_image_from_array(frozen, "VGG16", data_format="channels_last"),
        reference(x, "caffe", "channels_last", "uint8"),
    )


def test_eager_tf_tensor_through_the_fused_kernel(tf):
    original = every_value_batch()
    x = tf.constant(preprocess_input(original, "VGG16", data_format="channels_last"))
    plan = Plan.inverse(get_spec("VGG16"), 3, "uint8")
    restored = run(plan, x, engine="compiled")
    assert isinstance(restored, tf.Tensor)
    np.testing.assert_array_equal(restored.numpy(), original)
    bad = tf.tensor_scatter_nd_update(x, [[0, 0, 0, 0]], [float("inf")])
    with pytest.raises(NonFinite) as refused:
        run(plan, bad, engine="compiled")
    assert refused.value.counts == (0, 1, 0)
    with pytest.raises(DeprocessError, match=r"Received 0 NaN, 1 \+Inf"):
        restore_original_image_from_array(bad, "VGG16", data_format="channels_last")


@pytest.mark.parametrize("engine_name", ["blocked", "numba"])
def test_engines_make_no_full_size_float_temporary(engine_name):
    from keras_deprocess.engines import numba

    if engine_name == "numba" and not numba.available():
        pytest.skip("numba is not installed (the `fast` extra)")
    x = np.random.default_rng(1).uniform(-120, 150, (8, 224, 224, 3)).astype(np.float32)
    plan = Plan.inverse(get_spec("VGG16"), 3, "uint8")
    run(plan, x, engine=engine_name)  # compiled, imported
    for dtype in ("float32", "float16"):
        batch = x.astype(dtype)
        tracemalloc.start()
        tracemalloc.reset_peak()
        out = run(plan, batch, engine=engine_name)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # The goal: the output plus at most 1 MiB (the scratch block, or float16 widened rows).
        assert peak - out.nbytes <= (1 << 20) + (64 << 10), (engine_name, dtype, peak, out.nbytes)


def test_the_router_follows_its_table():
    """The routing table of engines/router.py, for the cases it names."""
    from keras_deprocess.engines import numba

    plan = Plan.inverse(get_spec("caffe"), 3, "uint8")
    small = np.zeros((1, 8, 8, 3), np.float32)
    assert engine_for(plan, small) == "blocked"
    large = aligned(np.zeros((THRESHOLDS["numba"] // 3 + 1, 1, 1, 3), np.float32))
    expected = "numba" if numba.available() else "blocked"
    if expected == "blocked" and "tensorflow" in __import__("sys").modules:
        expected = "compiled"
    assert engine_for(plan, large) == expected
    assert engine_for(Plan.forward(get_spec("caffe"), 3, "float32"), large) == "blocked"


def test_host_engine_routes_host_arrays_to_the_blocked_engine_in_its_block():
    from keras_deprocess.engines import host_engine

    plan = Plan.inverse(get_spec("caffe"), 3, "uint8")
    large = aligned(
        every_value_batch().astype(np.float32).repeat(1 + THRESHOLDS["numba"] // 3 // 256**2, axis=0)
    )
    routed = engine_for(plan, large)
    with host_engine("blocked"):
        assert engine_for(plan, large) == "blocked"
        inside = run(plan, large)
    assert engine_for(plan, large) == routed  # only inside the block
    np.testing.assert_array_equal(inside, run(plan, large))
    with pytest.raises(ValueError, match="host_engine takes 'blocked'"), host_engine("numba"):
        pass


def test_a_named_engine_refuses_what_it_cannot_take():
    plan = Plan.inverse(get_spec("caffe"), 3, "uint8")
    with pytest.raises(EngineRefused):
        run(plan, np.zeros((1, 2, 2, 3), np.float32), engine="warp-drive")


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_the_channel_position(data_format):
    assert channel_position(4, data_format) == (3 if data_format == "channels_last" else 1)
    assert channel_position(3, data_format) == (2 if data_format == "channels_last" else 0)
