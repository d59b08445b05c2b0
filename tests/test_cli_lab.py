"""The command line with CIE Lab specs: a three-channel array, and L and ab under two npz keys."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from test_cli import assert_one_line_input_error, images, run

from keras_deprocess import merge_l_ab, out_of_gamut, preprocess_input, restore_original_image_from_array


@pytest.fixture
def lab_files(tmp_path):
    originals = images(2)
    lab = preprocess_input(originals, "colorization", data_format="channels_last")
    np.save(tmp_path / "lab.npy", lab)
    np.savez(
        tmp_path / "pred.npz",
        L=lab[..., :1],
        ab=lab[..., 1:],
        ab_small=lab[:, ::4, ::4, 1:],
        one=lab[:1, ..., 1:],
    )
    return tmp_path, originals, lab


def _read(path):
    return np.asarray(Image.open(path))


def test_restore_a_three_channel_lab_array_exactly(lab_files):
    folder, originals, _ = lab_files
    result = run("restore", "lab.npy", "--model", "colorization", "--out", "out", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "0 of 32768 pixels were outside the sRGB gamut" in result.stdout
    for i, original in enumerate(originals):
        np.testing.assert_array_equal(_read(folder / "out" / f"lab_{i}.png"), original)


def test_restore_l_and_ab_from_two_keys(lab_files):
    folder, originals, _ = lab_files
    result = run(
        "restore",
        "pred.npz",
        "--model",
        "colorization",
        "--l-key",
        "L",
        "--ab-key",
        "ab",
        "--json",
        cwd=folder,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["images"], summary["out_of_gamut"], summary["pixels"]) == (2, 0, 2 * 128 * 128)
    for i, original in enumerate(originals):
        np.testing.assert_array_equal(_read(folder / "pred_restored" / f"L_{i}.png"), original)


def test_restore_upsamples_a_low_resolution_ab(lab_files):
    folder, _, lab = lab_files
    result = run(
        "restore",
        "pred.npz",
        "--model",
        "colorization",
        "--l-key",
        "L",
        "--ab-key",
        "ab_small",
        "--out",
        "up",
        cwd=folder,
    )
    assert result.returncode == 0, result.stderr
    merged = merge_l_ab(lab[..., :1], lab[:, ::4, ::4, 1:], data_format="channels_last")
    expected = restore_original_image_from_array(merged, "colorization", data_format="channels_last")
    np.testing.assert_array_equal(_read(folder / "up" / "L_1.png"), expected[1])
    clipped = out_of_gamut(merged, "colorization", data_format="channels_last").count
    assert f"; {clipped} of 32768 pixels were outside the sRGB gamut and were clipped" in result.stdout


@pytest.mark.parametrize(
    ("flags", "fragments"),
    [
        (["--l-key", "L"], ["--l-key needs --ab-key too"]),
        (["--ab-key", "ab"], ["--ab-key needs --l-key too"]),
        (["--l-key", "L", "--ab-key", "nope"], ["pred.npz", "no array named 'nope' for --ab-key"]),
        (["--l-key", "L", "--ab-key", "one"], ["expected one ab map per L image"]),
        (["--l-key", "L", "--ab-key", "ab", "--key", "L"], ["--key does not go with --l-key"]),
        (["--l-key", "ab", "--ab-key", "L"], ["--ab-key needs 2 channels on the last axis"]),
    ],
    ids=["no-ab", "no-l", "missing-key", "count", "key", "swapped"],
)
def test_merge_flag_errors(lab_files, flags, fragments):
    folder, _, _ = lab_files
    result = run("restore", "pred.npz", "--model", "colorization", *flags, cwd=folder)
    assert_one_line_input_error(result, *fragments)
    assert not (folder / "pred_restored").exists()


def test_merge_needs_a_lab_model(lab_files):
    folder, _, _ = lab_files
    result = run("restore", "pred.npz", "--model", "VGG16", "--l-key", "L", "--ab-key", "ab", cwd=folder)
    assert_one_line_input_error(result, "need a Lab --model such as colorization", "--model VGG16")


def test_an_ab_array_alone_is_pointed_to_merging(lab_files):
    folder, _, _ = lab_files
    result = run("restore", "pred.npz", "--model", "colorization", "--key", "ab", cwd=folder)
    assert_one_line_input_error(
        result,
        "pred.npz",
        "'ab'",
        "Two channels are ab alone: pass --l-key and --ab-key to merge L with its ab",
    )


def test_an_l_array_alone_is_pointed_to_merging(lab_files):
    folder, _, lab = lab_files
    result = run("restore", "pred.npz", "--model", "colorization", "--key", "L", cwd=folder)
    assert_one_line_input_error(result, "'L'", "One channel is L alone: pass --l-key and --ab-key")
    np.save(folder / "L.npy", lab[..., :1])
    result = run("restore", "L.npy", "--model", "colorization", cwd=folder)
    assert_one_line_input_error(result, "L.npy", "save L and ab in one .npz", "--l-key L --ab-key ab")
