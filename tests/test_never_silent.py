"""Never silently wrong: assumed layouts checked, open_clip's pipelines, configs, numbers, CLI gaps."""

from __future__ import annotations

import json
import zipfile
from fractions import Fraction

import numpy as np
import pytest
import torchvision_like as T
from conftest import to_layout
from test_cli import run

from keras_deprocess import (
    DeprocessError,
    PreprocessSpec,
    detect_mode,
    get_spec,
    image_grid,
    list_models,
    out_of_gamut,
    preprocess_input,
    restore_original_image_from_array,
    to_images,
)
from keras_deprocess.cli import load_demo_image

PHOTO = np.stack([load_demo_image()[:32, :48], load_demo_image()[40:72, 16:64]])  # (2, 32, 48, 3)
EVERY_SPEC = sorted({e.name for e in list_models() if e.kind in ("mode", "preset")})


def _one_per_map() -> list[str]:
    names: list[str] = []
    for name in EVERY_SPEC:
        if not any(get_spec(n).same_as(get_spec(name)) for n in names):
            names.append(name)
    return names


class TestAssumedLayout:
    """data_format left out and the shape says otherwise: a three-part error, whatever the spec."""

    @pytest.mark.parametrize("spec", _one_per_map())
    def test_a_channels_last_torch_tensor_without_data_format(self, spec):
        torch = pytest.importorskip("torch")
        x = torch.tensor(preprocess_input(PHOTO, spec, data_format="channels_last"))
        for call in (
            lambda: restore_original_image_from_array(x, spec),
            lambda: to_images(x, spec),
            lambda: preprocess_input(x, spec),
        ):
            with pytest.raises(DeprocessError) as raised:
                call()
            message = str(raised.value)
            assert (
                "data_format was not given, so 'channels_first' (PyTorch's own layout) was assumed" in message
            )
            assert "axis 1 has 32" in message
            assert "pass data_format='channels_last'" in message.lower()
        restored = restore_original_image_from_array(x, spec, data_format="channels_last")
        np.testing.assert_array_equal(restored.numpy(), PHOTO)

    @pytest.mark.parametrize("spec", _one_per_map())
    def test_a_channels_first_numpy_array_without_data_format(self, spec, monkeypatch):
        import keras_deprocess.core.config as config

        monkeypatch.setattr(config, "image_data_format", lambda: "channels_last")
        x = preprocess_input(to_layout(PHOTO, "channels_first"), spec, data_format="channels_first")
        with pytest.raises(
            DeprocessError, match=r"the last axis has 48.*axis 1 has 3.*data_format='channels_first'"
        ):
            to_images(x, spec)
        np.testing.assert_array_equal(to_images(x, spec, data_format="channels_first"), PHOTO)

    def test_every_function_that_takes_a_layout_checks_it(self):
        torch = pytest.importorskip("torch")
        x = torch.tensor(preprocess_input(PHOTO, "torch", data_format="channels_last"))
        for call in (
            lambda: detect_mode(x),
            lambda: out_of_gamut(x, "torch"),
            lambda: image_grid(torch.tensor(PHOTO)),
        ):
            with pytest.raises(DeprocessError, match="data_format was not given"):
                call()

    def test_a_given_data_format_is_taken_at_its_word(self):
        """Only an assumption is second-guessed: a data_format the caller gave is used as given."""
        x = preprocess_input(PHOTO, "tf", data_format="channels_last")
        with pytest.raises(DeprocessError, match=r"Expected 3 channels on axis 1") as raised:
            restore_original_image_from_array(x, "VGG16", data_format="channels_first")
        assert "was assumed" not in str(raised.value)


# -- open_clip's current preprocess (3.3 and later), in each resize mode --------------------------


class ResizeKeepRatio:
    def __init__(self, size, longest=0.0, interpolation="bicubic"):
        self.size, self.longest, self.interpolation = size, longest, interpolation


class CenterCropOrPad:
    def __init__(self, size, fill=0):
        self.size, self.fill = size, fill


class MaybeConvertMode:
    """open_clip 3.3: makes a PIL image RGB; arrays and tensors pass as they are."""

    def __init__(self, mode="RGB"):
        self.mode = mode


class MaybeToTensor(T.ToTensor):
    pass


OPENAI = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))
OPEN_CLIP_EVAL = {
    "shortest, square": [T.Resize(224), T.CenterCrop((224, 224))],
    "shortest, not square": [ResizeKeepRatio((224, 256)), T.CenterCrop((224, 256))],
    "longest": [ResizeKeepRatio(224, longest=1), CenterCropOrPad(224)],
    "squash": [T.Resize((224, 224))],
}


@pytest.mark.parametrize("mode", list(OPEN_CLIP_EVAL))
def test_open_clip_3_3_preprocess_is_a_handle(mode):
    pipeline = T.Compose([*OPEN_CLIP_EVAL[mode], MaybeConvertMode(), MaybeToTensor(), T.Normalize(*OPENAI)])
    assert get_spec(pipeline).same_as(get_spec("clip"))


def test_a_mode_conversion_to_grey_is_refused():
    pipeline = T.Compose([MaybeConvertMode("L"), MaybeToTensor(), T.Normalize(0.5, 0.5)])
    with pytest.raises(DeprocessError, match="Cannot invert the MaybeConvertMode step"):
        get_spec(pipeline)


# -- numbers and configs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", [Fraction(1, 2), np.float32(0.5), np.float64(0.5), np.int64(1), 0.5], ids=repr
)
def test_any_real_number_is_a_number(number):
    spec = PreprocessSpec("real", mean=number, std=number, scale=Fraction(1, 255))
    assert spec.mean == (float(number),)
    assert spec.scale == pytest.approx(1 / 255)


@pytest.mark.parametrize("value", [True, "0.5", 1 + 2j, None], ids=repr)
def test_what_is_not_a_real_number_is_refused(value):
    with pytest.raises(DeprocessError, match="Expected `mean` to be a number"):
        PreprocessSpec("bad", mean=value)


# -- the command line ---------------------------------------------------------------------------


def _npz_with_member(path, name: str, array: np.ndarray) -> None:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo(name), buffer.getvalue())


def test_an_npz_member_with_a_nul_after_npy_is_read_as_numpy_reads_it(tmp_path):
    data = preprocess_input(PHOTO, "VGG16", data_format="channels_last").astype(np.float32)
    path = tmp_path / "nul.npz"
    _npz_with_member(path, "images.npy\x00junk", data)
    assert list(np.load(path).keys()) == ["images"]  # NumPy's own reading
    result = run(
        "restore", str(path), "--model", "VGG16", "--out", str(tmp_path / "out"), "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    files = json.loads(result.stdout)["files"]
    assert [name.rsplit("/", 1)[-1] for name in files] == ["images_0.png", "images_1.png"]


def test_an_unknown_key_lists_the_keys_there_are(tmp_path):
    path = tmp_path / "dump.npz"
    np.savez(path, clean=np.zeros((1, 4, 4, 3), np.float32), adversarial=np.zeros((1, 4, 4, 3), np.float32))
    result = run("restore", str(path), "--model", "tf", "--key", "nope", cwd=tmp_path)
    assert result.returncode == 2
    assert "has no array named 'nope' for --key; it holds 2: 'clean', 'adversarial'" in result.stderr


def test_model_auto_is_the_default_and_restores_when_certain(tmp_path):
    path = tmp_path / "batch.npy"
    np.save(path, preprocess_input(PHOTO, "VGG19", data_format="channels_last").astype(np.float32))
    result = run("restore", str(path), "--out", str(tmp_path / "out"), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["model"], summary["spec"]) == ("auto", "caffe")
    from PIL import Image

    np.testing.assert_array_equal(np.asarray(Image.open(summary["files"][1])), PHOTO[1])


def test_model_auto_stops_when_unsure(tmp_path):
    path = tmp_path / "drifted.npy"
    drifted = PHOTO + np.random.default_rng(0).uniform(-0.5, 0.5, PHOTO.shape)
    np.save(path, preprocess_input(drifted, "VGG19", data_format="channels_last").astype(np.float32))
    result = run("sheet", str(path), "-o", str(tmp_path / "s.png"), cwd=tmp_path)
    assert result.returncode == 2
    assert "--model auto" in result.stderr
    assert "look like 'caffe'" in result.stderr
    assert not (tmp_path / "s.png").exists()


def test_sheet_reports_clipping_as_restore_does(tmp_path):
    path = tmp_path / "drift.npy"
    drift = preprocess_input(PHOTO, "VGG16", data_format="channels_last") * 1.3
    np.save(path, drift.astype(np.float32))
    sheet = run(
        "sheet", str(path), "--model", "VGG16", "-o", str(tmp_path / "s.png"), "--no-check", cwd=tmp_path
    )
    restore = run(
        "restore", str(path), "--model", "VGG16", "--out", str(tmp_path / "o"), "--no-check", cwd=tmp_path
    )
    for result in (sheet, restore):
        assert result.returncode == 0, result.stderr
        assert "had values outside [0, 255] and were clipped (is --model right?)" in result.stdout
    count = restore.stdout.split("; ")[1].split(" of ")[0]
    assert f"; {count} of " in sheet.stdout
