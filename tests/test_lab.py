"""CIE Lab specs and the colorization workflow, against scikit-image and on every framework."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import FRAMEWORKS, Native, aligned, backend, every_value_batch, to_layout

from keras_deprocess import (
    DeprocessError,
    ab_bins,
    decode_ab,
    encode_ab,
    get_spec,
    merge_l_ab,
    out_of_gamut,
    preprocess_input,
    restore_original_image_from_array,
    spec_from_lab,
)

LAB_SPECS = ["lab", "colorization", "colorization-caffe"]
skimage_color = pytest.importorskip("skimage.color")


def every_colour() -> np.ndarray:
    """All 2^24 sRGB colours as one (4096, 4096, 3) uint8 image."""
    levels = np.arange(256, dtype=np.uint8)
    return np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(4096, 4096, 3)


# -- exactness --------------------------------------------------------------------------

# Measured over all 2^24 colours (the test below keeps it true): a float32 Lab
# array, whether the float64 result stored as float32 or computed in float32,
# restores every colour exactly; float32 output is within 0.0025 levels.
FLOAT32_COLOURS_OFF = 0
FLOAT32_MAX_FLOAT_ERROR = 0.0025


@pytest.mark.skipif(backend() != "tensorflow", reason="NumPy only: one run is enough")
@pytest.mark.parametrize("spec", LAB_SPECS)
def test_every_srgb_colour_round_trips(spec):
    colours = every_colour()
    lab64 = preprocess_input(colours, spec, data_format="channels_last", dtype="float64")
    np.testing.assert_array_equal(
        restore_original_image_from_array(lab64, spec, data_format="channels_last"), colours
    )
    for lab32 in (lab64.astype(np.float32), preprocess_input(colours, spec, data_format="channels_last")):
        assert lab32.dtype == np.float32
        restored = restore_original_image_from_array(lab32, spec, data_format="channels_last")
        assert int(np.count_nonzero((restored != colours).any(-1))) <= FLOAT32_COLOURS_OFF
    as_float = restore_original_image_from_array(
        lab64.astype(np.float32), spec, data_format="channels_last", dtype="float32", clip=False
    )
    assert float(np.abs(as_float - colours).max()) <= FLOAT32_MAX_FLOAT_ERROR


def test_lab_engines_agree_bit_for_bit(host_engine):
    """Random Lab, in and out of gamut, through each host engine, against NumPy's ops in float64."""
    from keras_deprocess.core.plan import Plan
    from keras_deprocess.frameworks import backend_for
    from keras_deprocess.kernels.maps import inverse_map

    rng = np.random.default_rng(4)
    for spec in ("colorization", "lab"):
        lab = rng.uniform([0, -110, -110], [100, 110, 110], (3, 40, 50, 3))
        x = lab if spec == "lab" else (lab - [50, 0, 0]) / [100, 110, 110]
        for data_format, array in (
            ("channels_last", x),
            ("channels_first", np.ascontiguousarray(x.transpose(0, 3, 1, 2))),
        ):
            for dtype in ("float32", "float64"):
                values = aligned(array.astype(dtype))
                axis = 3 if data_format == "channels_last" else 1
                expected = inverse_map(
                    backend_for(values), values, Plan.inverse(get_spec(spec), axis, "uint8"), zero_nan=False
                )
                ours = host_engine.restore(values, spec, data_format)
                np.testing.assert_array_equal(ours, expected)
                as_float = host_engine.restore(values, spec, data_format, "float32", clip=False)
                wide = values.astype(np.float64)
                reference = inverse_map(
                    backend_for(wide),
                    wide,
                    Plan.inverse(get_spec(spec), axis, "float64", False),
                    zero_nan=False,
                )
                np.testing.assert_allclose(as_float, reference, rtol=1e-5, atol=5e-3)


@pytest.mark.skipif(backend() != "tensorflow", reason="NumPy only: one run is enough")
def test_every_srgb_colour_round_trips_in_the_blocked_engine():
    from conftest import HostEngine

    colours = every_colour()
    lab = preprocess_input(colours, "colorization", data_format="channels_last", dtype="float64")
    np.testing.assert_array_equal(
        HostEngine("blocked").restore(lab, "colorization", "channels_last"), colours
    )


def test_agrees_with_skimage():
    images = every_value_batch()
    ours = preprocess_input(images, "lab", data_format="channels_last", dtype="float64")
    np.testing.assert_allclose(ours, skimage_color.rgb2lab(images), atol=1e-10)
    lab = np.random.default_rng(0).uniform([0, -100, -100], [100, 100, 100], (2, 16, 16, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skimage warns about the negative Z it clips
        theirs = skimage_color.lab2rgb(lab)
    ours_rgb = restore_original_image_from_array(lab, "lab", data_format="channels_last", dtype="float64")
    np.testing.assert_allclose(ours_rgb / 255, theirs, atol=1e-10)
    np.testing.assert_array_equal(
        restore_original_image_from_array(lab, "lab", data_format="channels_last"),
        np.clip(np.rint(theirs * 255), 0, 255).astype(np.uint8),
    )


@pytest.mark.parametrize("spec", LAB_SPECS)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("name", FRAMEWORKS)
def test_every_framework_round_trips(name, spec, data_format):
    framework = Native(name)
    images = to_layout(every_value_batch(), data_format)
    lab = preprocess_input(images, spec, data_format=data_format)
    x = framework.tensor(lab, "float32")
    restored = restore_original_image_from_array(x, spec, data_format=data_format)
    assert framework.owns(restored)
    np.testing.assert_array_equal(framework.numpy(restored), images)
    forward = preprocess_input(framework.tensor(images), spec, data_format=data_format)
    np.testing.assert_allclose(framework.numpy(forward), lab, atol=2e-4)


def test_traced_and_compiled_paths():
    import jax
    import tensorflow as tf

    images = every_value_batch()
    lab = preprocess_input(images, "colorization", data_format="channels_last")

    def restore(t):
        return restore_original_image_from_array(t, "colorization", data_format="channels_last")

    np.testing.assert_array_equal(np.asarray(jax.jit(restore)(jax.numpy.asarray(lab))), images)
    np.testing.assert_array_equal(tf.function(restore, jit_compile=True)(tf.constant(lab)).numpy(), images)
    dataset = tf.data.Dataset.from_tensor_slices(lab).map(restore)
    np.testing.assert_array_equal(np.stack(list(dataset.as_numpy_iterator())), images)


def test_spec_from_lab_and_config_round_trip():
    spec = spec_from_lab(50, 100, 110, name="mine")
    assert spec.same_as(get_spec("colorization"))
    assert not spec.same_as(get_spec("lab"))
    assert spec.color_space == "lab"
    assert get_spec(spec.to_config()) == spec
    with pytest.raises(DeprocessError, match="keep its channels as L, a, b"):
        type(spec)("x", channel_order="BGR", color_space="lab")
    with pytest.raises(DeprocessError, match="Expected `color_space` to be one of"):
        type(spec)("x", color_space="hsv")


# Gradients, at the kinks and at black, grey and white included, are tested by
# TestRestoreOriginalImageFromArray and TestPreprocessInput in test_operations.py.


# -- out of gamut -----------------------------------------------------------------------


def test_out_of_gamut_counts_and_locates_clipped_pixels():
    lab = np.zeros((2, 3, 4, 3))
    lab[..., 0] = 50
    lab[0, 1, 2] = (50, 120, 0)  # a red beyond sRGB
    lab[1, 0, 0] = (20, 0, 120)  # yellow beyond the gamut: negative f(Z) as well
    report = out_of_gamut(lab, "lab", data_format="channels_last")
    assert report.mask.shape == (2, 3, 4)
    assert report.count == 2
    assert report.mask[0, 1, 2]
    assert report.mask[1, 0, 0]
    assert report.negative_z == 1
    assert report.pixels == 24
    with pytest.warns(UserWarning, match="1 negative Z values"):
        skimage_color.lab2rgb(lab)
    assert out_of_gamut(preprocess_input(every_value_batch(), "colorization"), "colorization").count == 0


def test_out_of_gamut_in_channels_first_and_for_rgb_specs():
    lab = np.full((3, 2, 2), 50.0)
    lab[1, 0, 0] = 150
    assert out_of_gamut(lab, "lab", data_format="channels_first").mask.tolist() == [
        [True, False],
        [False, False],
    ]
    x = np.zeros((1, 2, 2, 3), np.float32)
    x[0, 0, 0, 0] = 200  # far beyond 255 after 'caffe'
    assert out_of_gamut(x, "caffe", data_format="channels_last").count == 1


# -- merge_l_ab ---------------------------------------------------------------------------


def test_merge_l_ab_one_image_and_mismatches():
    merged = merge_l_ab(np.zeros((4, 4, 1)), np.ones((2, 2, 2)), data_format="channels_last")
    assert merged.shape == (4, 4, 3)
    np.testing.assert_array_equal(merged[..., 1:], 1.0)
    with pytest.raises(DeprocessError, match="as many ab maps as L images"):
        merge_l_ab(np.zeros((2, 4, 4, 1)), np.ones((3, 2, 2, 2)), data_format="channels_last")
    with pytest.raises(DeprocessError, match=r"Expected `ab` with 2 channel"):
        merge_l_ab(np.zeros((2, 4, 4, 1)), np.ones((2, 2, 2, 3)), data_format="channels_last")


def test_merge_then_restore_is_the_colorization_postprocess():
    images = every_value_batch()
    lab = preprocess_input(images, "colorization", data_format="channels_last")
    merged = merge_l_ab(lab[..., :1], lab[..., 1:], data_format="channels_last")
    np.testing.assert_array_equal(
        restore_original_image_from_array(merged, "colorization", data_format="channels_last"), images
    )


# -- bins, decoding, encoding ---------------------------------------------------------------


def test_ab_bins_cover_the_srgb_gamut():
    bins = ab_bins(10)
    assert bins.shape == (261, 2)
    assert not bins.flags.writeable
    np.testing.assert_array_equal(bins % 10, 0)
    ab = skimage_color.rgb2lab(every_value_batch())[..., 1:].reshape(-1, 2)
    nearest = np.abs(ab[:, None, :] - bins[None]).max(-1).min(-1)
    assert nearest.max() <= 5.0 + 1e-9  # every colour falls in a kept bin
    assert len(ab_bins(20)) < len(bins)
    with pytest.raises(DeprocessError, match="Expected `grid`"):
        ab_bins(0)


def _probabilities(rng, shape, k):
    logits = rng.normal(0, 2, (*shape, k))
    p = np.exp(logits - logits.max(-1, keepdims=True))
    return p / p.sum(-1, keepdims=True)


def test_decode_ab_limits_mean_and_mode():
    rng = np.random.default_rng(0)
    bins = ab_bins(10)
    p = _probabilities(rng, (2, 3, 4), len(bins))
    mean = decode_ab(p, "lab", temperature=1.0, data_format="channels_last")
    np.testing.assert_allclose(mean, p @ bins, atol=1e-9)
    mode = decode_ab(p, "lab", temperature=1e-4, data_format="channels_last")
    np.testing.assert_allclose(mode, bins[p.argmax(-1)], atol=1e-6)
    normalized = decode_ab(p, "colorization", data_format="channels_last")
    np.testing.assert_allclose(normalized * 110, decode_ab(p, "lab", data_format="channels_last"), atol=1e-9)


def test_decode_ab_with_a_pretrained_table_and_errors():
    rng = np.random.default_rng(1)
    table = rng.uniform(-110, 110, (313, 2))
    p = _probabilities(rng, (1, 2, 2), 313)
    out = decode_ab(p.transpose(0, 3, 1, 2), "colorization-caffe", bins=table, data_format="channels_first")
    assert out.shape == (1, 2, 2, 2)
    with pytest.raises(DeprocessError, match=r"Expected 261 values per pixel"):
        decode_ab(p, data_format="channels_last")
    with pytest.raises(DeprocessError, match="if these are logits, apply a softmax"):
        decode_ab(np.log(p), bins=table, data_format="channels_last")
    with pytest.raises(DeprocessError, match="Expected `temperature` > 0"):
        decode_ab(p, bins=table, temperature=0, data_format="channels_last")
    with pytest.raises(DeprocessError, match="Expected a CIE Lab spec"):
        decode_ab(p, "VGG16", bins=table, data_format="channels_last")


def test_encode_ab_is_the_forward_of_decode_ab():
    bins = ab_bins(10)
    images = every_value_batch()
    ab = preprocess_input(images, "colorization", data_format="channels_last", dtype="float64")[..., 1:]
    codes = encode_ab(ab, "colorization", data_format="channels_last")
    assert codes.shape == (*ab.shape[:-1], len(bins))
    np.testing.assert_allclose(codes.sum(-1), 1.0, atol=1e-9)
    assert (np.count_nonzero(codes, axis=-1) == 5).all()
    raw = ab * 110
    nearest = bins[np.argmin(((raw[..., None, :] - bins) ** 2).sum(-1), -1)]
    np.testing.assert_allclose(
        decode_ab(codes, temperature=1e-4, data_format="channels_last") * 110, nearest, atol=1e-3
    )
    mean = decode_ab(codes, temperature=1.0, data_format="channels_last") * 110
    assert float(np.abs(mean - raw).max()) < 6.0  # 5 neighbours on a 10-grid: within about half a cell


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_decode_and_encode_on_every_framework(name):
    framework = Native(name)
    rng = np.random.default_rng(2)
    bins = ab_bins(10)
    p = _probabilities(rng, (2, 3, 3), len(bins)).astype(np.float32)
    decoded = decode_ab(framework.tensor(p), data_format="channels_last")
    assert framework.owns(decoded)
    np.testing.assert_allclose(framework.numpy(decoded), decode_ab(p, data_format="channels_last"), atol=1e-4)
    ab = rng.uniform(-0.4, 0.4, (2, 3, 3, 2)).astype(np.float32)
    encoded = encode_ab(framework.tensor(ab), data_format="channels_last")
    np.testing.assert_allclose(
        framework.numpy(encoded), encode_ab(ab, data_format="channels_last"), atol=1e-4
    )


# -- errors -----------------------------------------------------------------------------------


def _lab_batches():
    images = every_value_batch()
    raw = preprocess_input(images, "lab", data_format="channels_last")
    normalized = preprocess_input(images, "colorization", data_format="channels_last")
    return raw, normalized


@pytest.mark.parametrize(
    ("convention", "spec", "match"),
    [
        (
            "raw",
            "colorization",
            r"L = y \* 100 \+ 50 lies in \[0, 100\].*"
            r"It looks like raw L, in \[0, 100\]: use the spec 'lab'\.$",
        ),
        (
            "normalized",
            "lab",
            r"L = y lies in \[0, 100\].*"
            r"It looks like normalized \(L - 50\) / 100.*: use the spec 'colorization'\.$",
        ),
        ("L/100", "colorization", r"It looks like L / 100, in \[0, 1\]: use spec_from_lab\(l_scale=100\)\.$"),
        ("8-bit", "lab", r"It looks like 8-bit L, in \[0, 255\].*: convert it to L in \[0, 100\] first\.$"),
        ("raw ab", "colorization", r"a = y \* 110 \(and b alike\).*They look like raw a and b"),
    ],
)
def test_lab_values_on_another_scale_are_named(convention, spec, match):
    raw, normalized = _lab_batches()
    x = {
        "raw": raw,
        "normalized": normalized,
        "L/100": raw * np.array([0.01, 1 / 110, 1 / 110], np.float32),
        "8-bit": raw * np.array([2.55, 1, 1], np.float32),
        "raw ab": np.concatenate([normalized[..., :1], raw[..., 1:]], -1),
    }[convention]
    with pytest.raises(DeprocessError, match=match):
        restore_original_image_from_array(x, spec, data_format="channels_last")
    np.testing.assert_array_equal(x, {"raw": raw, "normalized": normalized}.get(convention, x))  # unmutated


def test_lab_scale_check_passes_real_conventions_and_a_few_outliers():
    raw, normalized = _lab_batches()
    l_over_100 = spec_from_lab(l_scale=100, ab_scale=110)
    scaled = raw * np.array([0.01, 1 / 110, 1 / 110], np.float32)
    np.testing.assert_array_equal(
        restore_original_image_from_array(scaled, l_over_100, data_format="channels_last"),
        restore_original_image_from_array(raw, "lab", data_format="channels_last"),
    )
    noisy = normalized.copy()
    noisy.reshape(-1, 3)[::997] = (3.0, 40.0, -40.0)  # 0.1% wild predictions: clipped, not refused
    restore_original_image_from_array(noisy, "colorization", data_format="channels_last")


def test_two_channel_ab_is_pointed_to_merge_l_ab():
    with pytest.raises(DeprocessError, match=r"that is ab alone\. Put L in front of it first: merge_l_ab"):
        restore_original_image_from_array(
            np.zeros((1, 4, 4, 2), np.float32), "colorization", data_format="channels_last"
        )


# -- layers ---------------------------------------------------------------------------------------


def test_lab_layers_round_trip_and_save(keras_module, tmp_path):
    from keras_deprocess import Deprocess, Preprocess

    keras = keras_module
    images = every_value_batch()
    inputs = keras.Input((16, 16, 3), dtype="uint8")
    lab = Preprocess("colorization", data_format="channels_last")(inputs)
    restored = Deprocess("colorization", data_format="channels_last")(lab)
    model = keras.Model(inputs, restored)
    np.testing.assert_array_equal(model.predict(images, verbose=0), images)
    path = tmp_path / "lab.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), images)


def test_gamut_repr_shows_counts_and_the_mask_shape_not_its_values():
    report = out_of_gamut(np.zeros((4, 512, 512, 3)), "lab", data_format="channels_last")
    assert repr(report) == (
        "Gamut(count=0 of 1048576 pixels (0.00%), negative_z=0, mask=<bool array of shape (4, 512, 512)>)"
    )
