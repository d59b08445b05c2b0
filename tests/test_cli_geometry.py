"""`restore --original-size HxW --geometry STEPS --mask`: images back on the original picture, on the CLI."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image
from test_cli import assert_one_line_input_error, cli, images, run

from keras_deprocess import CenterCrop, Pad, Resize, preprocess_input, to_original

ORIGINAL = (128, 150)


def crops() -> np.ndarray:
    """Three 128 x 128 photos cut from 128 x 150 ones: CenterCrop(128) keeps columns 11 to 138."""
    wide = np.concatenate([images(), images()[:, :, :22]], axis=2)  # (3, 128, 150, 3)
    return wide, wide[:, :, 11:139]


def test_restore_on_the_original_size_with_masks(tmp_path):
    wide, cut = crops()
    np.save(tmp_path / "batch.npy", preprocess_input(cut, "VGG16", data_format="channels_last"))
    result = run(
        "restore", "batch.npy", "--model", "VGG16", "--out", "out", "--original-size", "128x150",
        "--geometry", "crop=128", "--mask", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["original_size"] == [128, 150]
    assert summary["masks"] is True
    for i in range(3):
        picture = np.asarray(Image.open(tmp_path / "out" / f"batch_{i}.png"))
        assert picture.shape == (*ORIGINAL, 3)
        np.testing.assert_array_equal(picture[:, 11:139], wide[i, :, 11:139])  # a crop comes back exactly
        assert (picture[:, :11] == 0).all()
        mask = np.asarray(Image.open(tmp_path / "out" / f"batch_{i}_mask.png"))
        assert mask.shape == ORIGINAL
        assert (mask[:, 11:139] == 255).all()
        assert (mask[:, :11] == 0).all()


def test_resize_and_crop_match_the_library(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 3, 24, 24)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = run(
        "restore", "x.npy", "--model", "imagenet", "--data-format", "channels_first", "--out", "out",
        "--original-size", "40x50", "--geometry", "resize=30,pad=1,crop=24", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    canvas = to_original(
        x, "imagenet", original_size=(40, 50), geometry=[Resize(30), Pad(1), CenterCrop(24)],
        data_format="channels_first",
    )  # fmt: skip
    for i in range(2):
        np.testing.assert_array_equal(
            np.asarray(Image.open(tmp_path / "out" / f"x_{i}.png")), canvas.image[i]
        )
    assert not list((tmp_path / "out").glob("*_mask.png"))


def test_the_flags_need_each_other(tmp_path, capsys):
    np.save(tmp_path / "batch.npy", np.zeros((1, 8, 8, 3), np.float32))
    result = cli(
        "restore", "batch.npy", "--model", "VGG16", "--original-size", "30x40", cwd=tmp_path, capsys=capsys
    )
    assert_one_line_input_error(
        result, "--original-size needs --geometry", "--model VGG16 names the value preprocessing only",
        "--geometry resize=256,crop=224",
    )  # fmt: skip
    result = cli("restore", "batch.npy", "--model", "VGG16", "--mask", cwd=tmp_path, capsys=capsys)
    assert_one_line_input_error(result, "--mask needs --original-size", "--original-size 300x420")
    result = cli(
        "restore", "batch.npy", "--model", "VGG16", "--original-size", "30x40", "--geometry", "crop=9",
        cwd=tmp_path, capsys=capsys,
    )  # fmt: skip
    assert_one_line_input_error(
        result,
        "has images of 8x8",
        "--geometry crop=9 on",
        "gives 9x9",
        "Check --geometry and --original-size",
    )
    result = cli(
        "restore", "batch.npy", "--model", "VGG16", "--original-size", "30x40", "--geometry", "letterbox=0",
        cwd=tmp_path, capsys=capsys,
    )  # fmt: skip
    assert_one_line_input_error(result, "Expected sizes of at least 1 pixel", "Received 'letterbox=0'")
    assert "Letterbox(" not in result.stderr  # the flag's words, not the Python class's
    result = cli(
        "restore", "batch.npy", "--model", "VGG16", "--original-size", "30x40", "--geometry", "zoom=2",
        cwd=tmp_path, capsys=capsys,
    )  # fmt: skip
    assert_one_line_input_error(result, "Expected steps such as 'resize=256,crop=224'", "Received 'zoom=2'")
    result = cli(
        "restore", "batch.npy", "--model", "VGG16", "--original-size", "30", cwd=tmp_path, capsys=capsys
    )
    assert result.returncode == 2
    assert "expected HEIGHTxWIDTH" in result.stderr
    assert not (tmp_path / "batch_restored").exists()
