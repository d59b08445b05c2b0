"""The spec checked against the data: SpecMismatchWarning fires on contradictions, never on correct data.

Every case runs on NumPy, TensorFlow, PyTorch and JAX, and through the CLI.
The data are the shipped photograph and generated images, preprocessed by
the library's forward pass (itself tested against Keras's own).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from conftest import to_layout
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keras_deprocess import (
    SpecMismatchWarning,
    get_spec,
    image_grid,
    list_models,
    preprocess_input,
    restore_original_image_from_array,
    to_images,
)
from keras_deprocess.cli import load_demo_image

RNG = np.random.default_rng(0)
PHOTO = np.stack([load_demo_image(), load_demo_image()[::-1]])  # (2, 128, 128, 3) uint8


def forward(images: np.ndarray, spec: str) -> np.ndarray:
    return preprocess_input(images.astype(np.float64), spec, data_format="channels_last")


def optimized(images: np.ndarray) -> np.ndarray:
    """What an optimizer leaves: the image, no longer on whole numbers."""
    return images.astype(np.float64) + RNG.uniform(-0.5, 0.5, images.shape)


# (data, the spec named, the spec a warning must suggest or "" for none, a word the message must hold)
MUST_FIRE = {
    "caffe name on torch data": (forward(PHOTO, "torch"), "ResNet50", "imagenet", "ResNet50's 'caffe'"),
    # The first image is flat and testifies to nothing: the second one must be sampled.
    "caffe name on torch data, seen in the second image": (
        forward(np.concatenate([np.full_like(PHOTO[:1], 128), PHOTO[1:]]), "torch"),
        "ResNet50",
        "imagenet",
        "ResNet50's 'caffe'",
    ),
    "caffe name on optimized torch data": (forward(optimized(PHOTO), "torch"), "VGG16", "imagenet", "VGG16"),
    "torch name on caffe data": (forward(PHOTO, "caffe"), "DenseNet121", "caffe", "whole numbers"),
    "tf on caffe data": (forward(PHOTO, "caffe"), "tf", "caffe", "whole numbers"),
    "half on optimized caffe data": (forward(optimized(PHOTO), "caffe"), "half", "", "outside [0, 255]"),
    "imagenet on CLIP data": (forward(PHOTO, "clip"), "imagenet", "clip", "whole numbers"),
    "CLIP on imagenet data": (forward(PHOTO, "imagenet"), "clip", "imagenet", "whole numbers"),
    "torch normalized twice": (forward(forward(PHOTO, "torch"), "torch"), "torch", "", "twice"),
    "caffe normalized twice": (forward(forward(PHOTO, "caffe"), "caffe"), "VGG19", "", "twice"),
    "tf normalized twice": (forward(forward(PHOTO, "tf"), "tf"), "tf", "", "twice"),
    "Normalize twice after ToTensor (fastai #3398)": (
        (forward(PHOTO, "imagenet") - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225]),
        "imagenet",
        "",
        "twice",
    ),
    "[0, 1] data to a [0, 255] spec": (PHOTO / 255.0, "EfficientNetB0", "[0, 1]", "[0, 1]"),
    "optimized [0, 1] data to a [0, 255] spec": (optimized(PHOTO) / 255.0, "identity", "[0, 1]", "[0, 1]"),
    "[0, 255] data to a [0, 1] spec": (PHOTO.astype(np.float64), "half", "identity", "whole numbers"),
    "far outside the spec's range": (forward(PHOTO, "tf") * 1.5, "tf", "", "outside [0, 255]"),
}

GREY = np.full((2, 32, 32, 3), 128, np.uint8)
MUST_NOT_FIRE = {
    "uint8 photo, caffe": (forward(PHOTO, "caffe"), "VGG16"),
    "uint8 photo, torch": (forward(PHOTO, "torch"), "torch"),
    "uint8 photo, tf": (forward(PHOTO, "tf"), "tf"),
    "uint8 photo, CLIP": (forward(PHOTO, "clip"), "clip"),
    "uint8 photo, identity": (PHOTO.astype(np.float32), "EfficientNetB0"),
    "optimized, caffe (style transfer)": (forward(optimized(PHOTO), "caffe"), "VGG19"),
    "optimized, torch": (forward(optimized(PHOTO), "torch"), "imagenet"),
    "optimized, identity": (optimized(PHOTO), "identity"),
    "style transfer drifting past the range": (
        forward(PHOTO, "caffe") + RNG.normal(0, 8, PHOTO.shape),
        "VGG19",
    ),
    "adversarial, torch (8/255)": (
        forward(PHOTO, "torch") + RNG.uniform(-8 / 255 / 0.225, 8 / 255 / 0.225, PHOTO.shape),
        "torch",
    ),
    "VAE decoder overshooting a little": (
        np.clip(forward(PHOTO, "half") * 1.03 + RNG.normal(0, 0.02, PHOTO.shape), -1.1, 1.1),
        "half",
    ),
    "VAE decoder overshooting, noisier": (
        np.clip(forward(PHOTO, "half") * 1.03 + RNG.normal(0, 0.05, PHOTO.shape), -1.1, 1.1),
        "half",
    ),
    "flat grey, caffe": (forward(GREY, "caffe"), "VGG16"),
    "nearly flat grey, optimized, caffe": (
        forward(GREY + RNG.uniform(-1, 1, GREY.shape), "caffe"),
        "VGG16",
    ),
    "nearly flat grey, torch": (forward(GREY + RNG.normal(0, 2, GREY.shape), "torch"), "torch"),
    "black, identity": (np.zeros((2, 16, 16, 3)), "identity"),
    "white, tf": (forward(np.full((2, 16, 16, 3), 255, np.uint8), "tf"), "tf"),
    "Lab, colorization": (forward(PHOTO, "colorization"), "colorization"),
}


def restored_with_warnings(framework, data: np.ndarray, model: str, **kwargs) -> list[str]:
    layout = "channels_first" if framework.name == "torch" else "channels_last"
    x = framework.tensor(to_layout(data.astype(np.float32), layout))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        restore_original_image_from_array(x, model, data_format=layout, **kwargs)
    return [str(w.message) for w in caught if issubclass(w.category, SpecMismatchWarning)]


class TestStridedSample:
    @pytest.mark.parametrize("batch", [1, 2, 3, 6, 300])
    def test_at_most_the_budget_and_every_image_of_a_small_batch(self, batch):
        from keras_deprocess.checks.sample import strided_pixels
        from keras_deprocess.frameworks import backend_for

        x = np.arange(batch * 40 * 50, dtype=np.float32).reshape(batch, 40, 50, 1)
        sample = strided_pixels(backend_for(x), x, 3, 256)[:, 0]
        assert 0 < len(sample) <= 256
        images_seen = np.unique(sample // (40 * 50))
        if batch <= 6:  # 6 * 6 * 6 <= 256 < 7 * 7 * 7
            assert len(images_seen) == batch
        else:  # spread over the batch as over rows and columns: 6 images, 6 rows, 6 columns
            assert len(images_seen) == 6
            assert images_seen[-1] >= 250

    def test_a_small_array_is_sampled_whole(self):
        from keras_deprocess.checks.sample import strided_pixels
        from keras_deprocess.frameworks import backend_for

        x = np.arange(2 * 8 * 8 * 3, dtype=np.float32).reshape(2, 3, 8, 8)
        assert strided_pixels(backend_for(x), x, 1, 256).shape == (128, 3)


class TestSpecMismatchWarning:
    @pytest.mark.parametrize("case", list(MUST_FIRE))
    def test_fires_on_a_contradiction(self, framework, case):
        data, model, suggested, word = MUST_FIRE[case]
        messages = restored_with_warnings(framework, data, model)
        assert len(messages) == 1, messages
        assert word in messages[0]
        if suggested:
            assert suggested in messages[0]
        assert "check=False" in messages[0]

    @pytest.mark.parametrize("case", list(MUST_NOT_FIRE))
    def test_never_fires_on_correct_data(self, framework, case):
        data, model = MUST_NOT_FIRE[case]
        assert restored_with_warnings(framework, data, model) == []

    def test_check_false_turns_it_off(self, framework):
        data, model, _, _ = MUST_FIRE["caffe name on torch data"]
        assert restored_with_warnings(framework, data, model, check=False) == []

    def test_the_warning_points_at_the_callers_line(self):
        data = forward(PHOTO, "torch").astype(np.float32)
        with pytest.warns(SpecMismatchWarning) as caught:
            to_images(data, "ResNet50", data_format="channels_last")
        assert caught[0].filename == __file__

    def test_images_for_people_check_too(self):
        data = forward(PHOTO, "torch").astype(np.float32)
        with pytest.warns(SpecMismatchWarning, match="imagenet"):
            image_grid(data, model="ResNet50", data_format="channels_last")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            to_images(data, "ResNet50", data_format="channels_last", check=False)

    def test_never_inside_a_trace(self):
        tf = pytest.importorskip("tensorflow")
        data = forward(PHOTO, "torch").astype(np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            tf.function(
                lambda t: restore_original_image_from_array(t, "ResNet50", data_format="channels_last")
            )(tf.constant(data))

    def test_it_is_a_user_warning(self):
        assert issubclass(SpecMismatchWarning, UserWarning)


def _registry_specs() -> list[str]:
    """One name per distinct RGB map in the registry (modes, presets, constructors)."""
    names: list[str] = []
    for entry in list_models():
        spec = entry.spec
        if spec.is_affine and not any(get_spec(n).same_as(spec) for n in names):
            names.append(entry.name)
    return names


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=st.sampled_from(_registry_specs()),
    kind=st.sampled_from(["noise", "flat", "gradient", "photo"]),
    seed=st.integers(0, 2**31),
    size=st.integers(4, 48),
)
def test_correctly_preprocessed_images_never_warn(spec, kind, seed, size):
    rng = np.random.default_rng(seed)
    if kind == "noise":
        images = rng.integers(0, 256, (2, size, size, 3), dtype=np.uint8)
    elif kind == "flat":
        images = np.broadcast_to(rng.integers(0, 256, 3, dtype=np.uint8), (2, size, size, 3)).copy()
    elif kind == "gradient":
        ramp = np.linspace(rng.integers(0, 128), rng.integers(128, 256), size).astype(np.uint8)
        images = np.broadcast_to(ramp[None, :, None, None], (2, size, size, 3)).copy()
    else:
        top, left = rng.integers(0, 128 - size + 1, 2)
        images = PHOTO[:, top : top + size, left : left + size]
    for data in (preprocess_input(images, spec, data_format="channels_last"),):
        with warnings.catch_warnings():
            warnings.simplefilter("error", SpecMismatchWarning)
            restored = restore_original_image_from_array(data, spec, data_format="channels_last")
        np.testing.assert_array_equal(restored, images)


class TestCommandLine:
    """The same check on the command line: one line on stderr, and "mismatch" in the JSON."""

    @pytest.fixture
    def batch(self, tmp_path):
        path = tmp_path / "batch.npy"
        np.save(path, forward(PHOTO, "torch").astype(np.float32))
        return path

    @pytest.mark.parametrize("command", ["restore", "sheet"])
    def test_a_contradiction_is_one_line_and_json(self, command, batch, tmp_path):
        from test_cli import run

        out = ["--out", str(tmp_path / "out")] if command == "restore" else ["-o", str(tmp_path / "s.png")]
        result = run(command, str(batch), "--model", "ResNet50", "--json", *out, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("keras-deprocess: warning:")
        for words in ("'imagenet'", "--model imagenet", "--no-check"):
            assert words in lines[0]
        assert "transforms" not in lines[0]
        assert "model=" not in lines[0]
        summary = json.loads(result.stdout)
        assert summary["mismatch"][0]["kind"] == "whole-elsewhere"
        assert summary["mismatch"][0]["suggested"] == "imagenet"

    @pytest.mark.parametrize("command", ["restore", "sheet"])
    def test_no_check_and_the_right_model_are_quiet(self, command, batch, tmp_path):
        from test_cli import run

        for i, flags in enumerate((["--model", "ResNet50", "--no-check"], ["--model", "imagenet"])):
            out = (
                ["--out", str(tmp_path / f"o{i}")]
                if command == "restore"
                else ["-o", str(tmp_path / f"{i}.png")]
            )
            result = run(command, str(batch), *flags, "--json", *out, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            assert result.stderr == ""
            assert json.loads(result.stdout)["mismatch"] == []


class TestEveryCaseThroughTheCommandLine:
    """Each case above through `sheet`, in this process: a warning line exactly when Python warns."""

    @pytest.mark.parametrize("case", list(MUST_FIRE))
    def test_fires(self, case, tmp_path, capsys):
        from test_cli import cli

        data, model, suggested, _ = MUST_FIRE[case]
        np.save(tmp_path / "batch.npy", data.astype(np.float32))
        result = cli(
            "sheet", "batch.npy", "--model", model, "-o", "s.png", "--json", cwd=tmp_path, capsys=capsys
        )
        assert result.returncode == 0, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("keras-deprocess: warning: batch.npy: ")
        assert "--no-check" in lines[0]
        assert "check=False" not in lines[0]
        (record,) = json.loads(result.stdout)["mismatch"]
        if suggested and not suggested.startswith("["):
            assert record["suggested"] == suggested
            assert f"--model {suggested}" in lines[0]

    @pytest.mark.parametrize("case", [c for c in MUST_NOT_FIRE if "Lab" not in c])
    def test_never_fires(self, case, tmp_path, capsys):
        from test_cli import cli

        data, model = MUST_NOT_FIRE[case]
        np.save(tmp_path / "batch.npy", data.astype(np.float32))
        result = cli(
            "sheet", "batch.npy", "--model", model, "-o", "s.png", "--json", cwd=tmp_path, capsys=capsys
        )
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert json.loads(result.stdout)["mismatch"] == []
