"""Hostile files and bad arguments: every finding of the CLI hardening issue, one test or more each.

Most run the CLI in this process (`main`, fast); what needs a real process
(signals, pipes, start-up noise, memory) is in test_cli_process.py and
test_cli_memory.py.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_cli import (
    Member,
    assert_one_line_input_error,
    cli,
    files_under,
    images,
    npy_bytes,
    npy_header,
    write_zip,
    zeros_npz,
)

from keras_deprocess import preprocess_input

COMMANDS_ON_FILES = [
    ["restore", "{}", "--model", "VGG16"],
    ["sheet", "{}", "--model", "VGG16", "-o", "sheet.png"],
    ["detect", "{}"],
]


def each_command(name: str) -> list[list[str]]:
    return [[part.format(name) for part in command] for command in COMMANDS_ON_FILES]


# -- data loss: two arrays, one name --------------------------------------------------


def _img_and_img_0(path: Path) -> None:
    np.savez(
        path,
        img=preprocess_input(images(2), "VGG16"),
        img_0=preprocess_input(images(1)[0], "VGG16"),  # one image, rank 3: "img_0.png"
    )


@pytest.mark.parametrize("force", [False, True])
def test_a_name_collision_is_an_error_before_anything_is_written(tmp_path, capsys, force):
    _img_and_img_0(tmp_path / "dump.npz")
    result = cli(
        "restore",
        "dump.npz",
        "--model",
        "VGG16",
        *(["--force"] if force else []),
        cwd=tmp_path,
        capsys=capsys,
    )
    assert_one_line_input_error(result, "'img'", "'img_0'", "img_0.png", "--naming folders")
    assert not (tmp_path / "dump_restored").exists()


def test_naming_folders_separates_a_batch_from_a_key_that_reads_as_its_image(tmp_path, capsys):
    _img_and_img_0(tmp_path / "dump.npz")
    result = cli(
        "restore",
        "dump.npz",
        "--model",
        "VGG16",
        "--naming",
        "folders",
        "--json",
        cwd=tmp_path,
        capsys=capsys,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["images"] == 3
    out = tmp_path / "dump_restored"
    assert files_under(out) == {Path("img/0.png"), Path("img/1.png"), Path("img_0/0.png")}
    np.testing.assert_array_equal(np.asarray(Image.open(out / "img" / "1.png")), images(2)[1])
    np.testing.assert_array_equal(np.asarray(Image.open(out / "img_0" / "0.png")), images(1)[0])


def test_duplicate_member_names_collide_and_numbered_naming_keeps_both(tmp_path, capsys):
    first, second = preprocess_input(images(2), "VGG16"), preprocess_input(images(3)[1:], "VGG16")
    write_zip(tmp_path / "twice.npz", [Member("a.npy", npy_bytes(first)), Member("a.npy", npy_bytes(second))])
    for naming in ("flat", "folders"):
        result = cli(
            "restore",
            "twice.npz",
            "--model",
            "VGG16",
            "--naming",
            naming,
            "--force",
            cwd=tmp_path,
            capsys=capsys,
        )
        assert_one_line_input_error(result, "'a' and", "--naming numbered")
    result = cli(
        "restore", "twice.npz", "--model", "VGG16", "--naming", "numbered", cwd=tmp_path, capsys=capsys
    )
    assert result.returncode == 0, result.stderr
    out = tmp_path / "twice_restored"
    assert files_under(out) == {Path(n) for n in ("0-a_0.png", "0-a_1.png", "1-a_0.png", "1-a_1.png")}
    np.testing.assert_array_equal(np.asarray(Image.open(out / "1-a_1.png")), images(3)[2])


def test_keys_equal_ignoring_case_collide(tmp_path, capsys):
    batch = preprocess_input(images(1), "VGG16")
    np.savez(tmp_path / "case.npz", A=batch, a=batch)
    result = cli("restore", "case.npz", "--model", "VGG16", cwd=tmp_path, capsys=capsys)
    assert_one_line_input_error(result, "'A'", "'a'", "would both write")


def test_keys_equal_after_sanitizing_get_different_names_and_a_hash_clash_is_caught(tmp_path, capsys):
    batch = preprocess_input(images(1), "VGG16")
    np.savez(tmp_path / "two.npz", **{"a b": batch, "a?b": batch})
    assert cli("restore", "two.npz", "--model", "VGG16", cwd=tmp_path, capsys=capsys).returncode == 0
    assert len(files_under(tmp_path / "two_restored")) == 2
    # Keys that sanitize alike and whose 6-digit hashes agree: the plan still sees them.
    seen: dict[str, str] = {}
    for n in range(1, 200_000):
        key = "a" + " " * n + "b"
        digest = hashlib.sha1(key.encode()).hexdigest()[:6]
        if digest in seen:
            pair = (seen[digest], key)
            break
        seen[digest] = key
    np.savez(tmp_path / "clash.npz", **dict.fromkeys(pair, batch))
    result = cli("restore", "clash.npz", "--model", "VGG16", cwd=tmp_path, capsys=capsys)
    assert_one_line_input_error(result, "would both write", "--naming numbered")


def test_existing_outputs_are_found_for_every_naming(tmp_path, capsys):
    np.savez(tmp_path / "d.npz", k=preprocess_input(images(2), "VGG16"))
    (tmp_path / "out" / "k").mkdir(parents=True)
    (tmp_path / "out" / "k" / "1.PNG").write_bytes(b"keep")  # case-insensitive, as on macOS
    result = cli(
        "restore",
        "d.npz",
        "--model",
        "VGG16",
        "--out",
        "out",
        "--naming",
        "folders",
        cwd=tmp_path,
        capsys=capsys,
    )
    assert_one_line_input_error(result, "1 output file(s) exist", "1.PNG", "--force")
    assert files_under(tmp_path / "out") == {Path("k/1.PNG")}
    # Files of other names are not outputs.
    (tmp_path / "out" / "k_1.png").write_bytes(b"not ours in folders naming")
    (tmp_path / "out" / "k" / "1.PNG").unlink()
    result = cli(
        "restore",
        "d.npz",
        "--model",
        "VGG16",
        "--out",
        "out",
        "--naming",
        "folders",
        cwd=tmp_path,
        capsys=capsys,
    )
    assert result.returncode == 0, result.stderr


# -- tracebacks, now errors: headers ----------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "fragment"),
    [
        ((-1, 4, 4, 3), "negative dimension"),
        ((2, -4, 4, 3), "negative dimension"),
        ((True, 4, 4, 3), "invalid shape"),
        ((1, 0, 4, 3), "at least one row"),
        ((1, 4, 0, 3), "at least one row"),
        ((4, 4, 0), "at least one row"),
        ((1, 70000, 4, 3), "above 65535"),
    ],
    ids=[
        "negative-batch",
        "negative-height",
        "bool",
        "zero-height",
        "zero-width",
        "zero-channels",
        "too-wide",
    ],
)
def test_bad_shapes_are_one_line_errors_in_every_command(tmp_path, capsys, shape, fragment):
    (tmp_path / "bad.npy").write_bytes(npy_header(shape) + bytes(64))
    for command in each_command("bad.npy"):
        assert_one_line_input_error(cli(*command, cwd=tmp_path, capsys=capsys), "bad.npy", fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npy"]


def test_a_20_kb_header_is_one_line_with_cli_advice(tmp_path, capsys):
    text = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4, 4, 3), }" + " " * 20000 + "\n"
    (tmp_path / "big.npy").write_bytes(b"\x93NUMPY\x02\x00" + len(text).to_bytes(4, "little") + text.encode())
    for command in each_command("big.npy"):
        result = cli(*command, cwd=tmp_path, capsys=capsys)
        assert_one_line_input_error(result, "big.npy", "header", "10000")
        assert "allow_pickle" not in result.stderr


@pytest.mark.parametrize(
    ("descr", "fragment"),
    [
        ("<f16", "float128"),
        ("<c8", "complex64"),
        ("|O", "Python objects"),
        ("<U3", "str"),
        ("<i8", "raw pixels"),
    ],
)
def test_unsupported_dtypes_name_the_file_and_the_key(tmp_path, capsys, descr, fragment):
    write_zip(tmp_path / "d.npz", [Member("weird.npy", npy_header((1, 4, 4, 3), descr), zeros=4096)])
    result = cli("restore", "d.npz", "--model", "VGG16", cwd=tmp_path, capsys=capsys)
    assert_one_line_input_error(result, "d.npz", "'weird'", fragment)
    assert "allow_pickle" not in result.stderr


def test_encrypted_and_unknown_compression_are_one_line_errors(tmp_path, capsys):
    data = npy_bytes(np.zeros((1, 4, 4, 3), np.float32))
    cases = {
        "locked.npz": (Member("x.npy", data, method=zipfile.ZIP_STORED, flags=0x1), "encrypted"),
        "odd.npz": (Member("x.npy", data, method=99), "method 99"),
        "lzma.npz": (Member("x.npy", data, method=zipfile.ZIP_LZMA), "LZMA"),
    }
    for name, (member, fragment) in cases.items():
        write_zip(tmp_path / name, [member])
        for command in each_command(name):
            assert_one_line_input_error(cli(*command, cwd=tmp_path, capsys=capsys), name, "'x'", fragment)


def test_a_member_named_with_nul_is_read_not_skipped(tmp_path, capsys):
    batch = preprocess_input(images(1), "VGG16")
    write_zip(tmp_path / "nul.npz", [Member("nul\x00byte.npy", npy_bytes(batch))])
    result = cli("restore", "nul.npz", "--model", "VGG16", "--json", cwd=tmp_path, capsys=capsys)
    assert result.returncode == 0, result.stderr
    (name,) = files_under(tmp_path / "nul_restored")
    assert "\x00" not in str(name)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "nul_restored" / name)), images(1)[0])
    detect = cli("detect", "nul.npz", cwd=tmp_path, capsys=capsys)
    assert "[nul\\x00byte]" in detect.stdout


# -- silent wrong results ----------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [
        ["restore", "x.npy", "--model", "VGG16", "--chunk-mb", "nan"],
        ["restore", "x.npy", "--model", "VGG16", "--chunk-mb", "inf"],
        ["restore", "x.npy", "--model", "VGG16", "--chunk-mb", "0"],
        ["restore", "x.npy", "--model", "VGG16", "--chunk-mb", "-1"],
        ["sheet", "x.npy", "--model", "VGG16", "-o", "s.png", "--columns", "-1"],
        ["sheet", "x.npy", "--model", "VGG16", "-o", "s.png", "--limit", "-1"],
        ["sheet", "x.npy", "--model", "VGG16", "-o", "s.png", "--limit", "0"],
        ["sheet", "x.npy", "--model", "VGG16", "-o", "s.png", "--size", "0"],
        ["detect", "x.npy", "--limit", "0"],
        ["detect", "x.npy", "--limit", "-1"],
        ["detect", "x.npy", "--top", "-1"],
        ["detect", "x.npy", "--top", "1.5"],
        ["restore", "x.npy", "--model", "VGG16", "--naming", "nested"],
    ],
)
def test_bad_numbers_are_usage_errors(tmp_path, capsys, arguments):
    np.save(tmp_path / "x.npy", preprocess_input(images(2), "VGG16"))
    result = cli(*arguments, cwd=tmp_path, capsys=capsys)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("keras-deprocess")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]


def test_limits_and_top_take_exactly_what_they_say(tmp_path, capsys):
    np.save(tmp_path / "five.npy", preprocess_input(images(5), "VGG16"))
    sheet = cli(
        "sheet",
        "five.npy",
        "--model",
        "VGG16",
        "-o",
        "s.png",
        "--limit",
        "5",
        "--json",
        cwd=tmp_path,
        capsys=capsys,
    )
    assert json.loads(sheet.stdout)["images"] == 5
    report = json.loads(cli("detect", "five.npy", "--json", "--top", "3", cwd=tmp_path, capsys=capsys).stdout)
    assert len(report[0]["candidates"]) == 3


def test_detect_gives_one_table_per_array_whatever_the_chunk_size(tmp_path, capsys):
    np.savez(
        tmp_path / "three.npz",
        vgg=preprocess_input(images(4), "VGG16"),
        dense=preprocess_input(images(4), "DenseNet121"),
        xcep=preprocess_input(images(1)[0], "Xception"),
    )
    result = cli("detect", "three.npz", "--chunk-mb", "0.05", cwd=tmp_path, capsys=capsys)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("mode       confidence") == 3
    report = json.loads(
        cli("detect", "three.npz", "--json", "--limit", "2", cwd=tmp_path, capsys=capsys).stdout
    )
    assert [(r["key"], r["candidates"][0]["name"], r["sampled_images"]) for r in report] == [
        ("vgg", "caffe", 2),
        ("dense", "torch", 2),
        ("xcep", "tf", 1),
    ]


# -- messages --------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["restore", "sheet", "detect"])
def test_nan_names_the_file_key_and_image_and_nothing_is_written(tmp_path, capsys, command):
    batch = preprocess_input(images(3), "VGG16")
    batch[1, 5, 7, 0] = np.nan
    batch[1, 9, 9, 2] = np.inf
    batch[2, 0, 0, 0] = np.nan
    np.savez(tmp_path / "d.npz", ok=preprocess_input(images(2), "VGG16"), bad=batch)
    arguments = {
        "restore": ["restore", "d.npz", "--model", "VGG16", "--chunk-mb", "1"],
        "sheet": ["sheet", "d.npz", "--model", "VGG16", "-o", "s.png"],
        "detect": ["detect", "d.npz", "--limit", "3"],
    }[command]
    result = cli(*arguments, cwd=tmp_path, capsys=capsys)
    assert_one_line_input_error(result, "d.npz", "array 'bad', image 1")
    if command != "detect":
        assert "1 NaN, 1 +Inf values" in result.stderr  # counted in image 1 alone
    for python_word in ("dtype=", "float32'", "allow_pickle"):
        assert python_word not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npz"], "no folder, no image, no sheet"


def test_nan_in_a_band_of_a_large_image_names_its_rows(tmp_path, capsys):
    image = preprocess_input(images(1)[0], "VGG16")
    image[100, 3, 1] = -np.inf
    np.save(tmp_path / "one.npy", image)
    result = cli("restore", "one.npy", "--model", "VGG16", "--chunk-mb", "0.01", cwd=tmp_path, capsys=capsys)
    assert_one_line_input_error(result, "one.npy", "1 -Inf values (in rows", "Nothing was written")
    assert not (tmp_path / "one_restored").exists()


def test_out_that_is_a_file_and_a_sheet_in_a_missing_folder(tmp_path, capsys):
    np.save(tmp_path / "x.npy", preprocess_input(images(1), "VGG16"))
    (tmp_path / "taken").write_text("a file")
    result = cli("restore", "x.npy", "--model", "VGG16", "--out", "taken", cwd=tmp_path, capsys=capsys)
    assert_one_line_input_error(result, "--out taken", "is a file, not a folder")
    assert "Errno" not in result.stderr
    result = cli("sheet", "x.npy", "--model", "VGG16", "-o", "missing/sheet.png", cwd=tmp_path, capsys=capsys)
    assert_one_line_input_error(result, "missing", "does not exist")
    assert ".part" not in result.stderr
    assert ".sheet.png" not in result.stderr
    result = cli("sheet", "x.npy", "--model", "VGG16", "-o", "sheet.bmp", cwd=tmp_path, capsys=capsys)
    assert_one_line_input_error(result, "-o", ".png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken", "x.npy"]


def test_keys_with_escape_sequences_reach_the_terminal_escaped(tmp_path, capsys):
    evil = "\x1b]0;pwned\x07\x1b[2J\r\u202emsg"
    batch = preprocess_input(images(1), "VGG16")
    np.savez(tmp_path / "esc.npz", **{evil: batch})
    outputs = []
    for arguments in (
        ["detect", "esc.npz"],
        ["restore", "esc.npz", "--model", "VGG16"],
        ["restore", "esc.npz", "--model", "VGG16"],  # again: existing files, an error naming one
        ["restore", "esc.npz", "--model", "VGG16", "--data-format", "channels_first"],
    ):
        result = cli(*arguments, cwd=tmp_path, capsys=capsys)
        outputs.append(result.stdout + result.stderr)
    text = "".join(outputs)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\r" not in text
    assert "\u202e" not in text
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\r\\u202emsg" in outputs[0]
    assert "\\x1b" in outputs[3]


def test_cli_wording_for_channels_first_and_unknown_models(tmp_path, capsys):
    np.save(
        tmp_path / "cf.npy",
        preprocess_input(images(2).transpose(0, 3, 1, 2), "VGG16", data_format="channels_first"),
    )
    result = cli(
        "restore", "cf.npy", "--model", "VGG16", "--data-format", "channels_last", cwd=tmp_path, capsys=capsys
    )
    assert_one_line_input_error(result, "cf.npy", "pass --data-format channels_first")
    assert "data_format=" not in result.stderr
    result = cli("detect", "cf.npy", "--data-format", "channels_last", cwd=tmp_path, capsys=capsys)
    assert_one_line_input_error(result, "pass --data-format channels_first")
    result = cli("restore", "cf.npy", "--model", "VGG61", cwd=tmp_path, capsys=capsys)
    assert_one_line_input_error(result, "Did you mean", "`keras-deprocess models`")
    assert "list_models()" not in result.stderr
    result = cli(
        "restore",
        "cf.npy",
        "--model",
        "VGG16",
        "--data-format",
        "channels_first",
        cwd=tmp_path,
        capsys=capsys,
    )
    assert result.returncode == 0, result.stderr


def test_the_output_folder_is_made_only_when_images_are_written(tmp_path, capsys):
    np.save(tmp_path / "five.npy", np.zeros((2, 4, 4, 5), np.float32))
    for arguments in (
        ["restore", "five.npy", "--model", "VGG16", "--out", "deep/er/out"],
        ["restore", "five.npy", "--model", "tf", "--out", "deep/er/out"],  # 5 channels: no image format
        ["restore", "five.npy", "--model", "tf", "--out", "deep/er/out", "--format", "jpg"],
    ):
        assert cli(*arguments, cwd=tmp_path, capsys=capsys).returncode == 2
    assert not (tmp_path / "deep").exists()


def test_format_limits_are_checked_from_the_header(tmp_path, capsys):
    zeros_npz(tmp_path / "wide.npz", (1, 5000, 5000, 3))
    result = cli("restore", "wide.npz", "--model", "VGG16", "--format", "jpg", cwd=tmp_path, capsys=capsys)
    assert_one_line_input_error(result, "'img'", "16.8 megapixels", "--format png")
    result = cli("restore", "wide.npz", "--model", "VGG16", "--format", "webp", cwd=tmp_path, capsys=capsys)
    assert_one_line_input_error(result, "'img'", "4.2 megapixels", "--format png")
    zeros_npz(tmp_path / "tall.npz", (1, 20000, 8, 3))
    result = cli("restore", "tall.npz", "--model", "VGG16", "--format", "webp", cwd=tmp_path, capsys=capsys)
    assert_one_line_input_error(result, "16383 pixels a side")
    np.save(tmp_path / "rgba.npy", np.zeros((1, 4, 4, 4), np.float32))
    result = cli("restore", "rgba.npy", "--model", "tf", "--format", "jpg", cwd=tmp_path, capsys=capsys)
    assert_one_line_input_error(result, "no alpha channel")
    zeros_npz(tmp_path / "many.npz", (300, 256, 256, 3), dtype="<f2")
    result = cli(
        "sheet",
        "many.npz",
        "--model",
        "VGG16",
        "-o",
        "s.png",
        "--limit",
        "300",
        "--columns",
        "300",  # one row of 300 cells of 256 x 256: too wide for a page
        "--force",
        cwd=tmp_path,
        capsys=capsys,
    )
    assert_one_line_input_error(result, "16.8 megapixels", "--columns", "--size")


# -- streaming: bands, planes, byte order, Fortran order -------------------------------------


@pytest.mark.parametrize("image_format", ["png", "webp", "jpg"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_images_larger_than_the_chunk_stream_in_bands(tmp_path, capsys, image_format, data_format):
    originals = images(2)
    batch = originals if data_format == "channels_last" else originals.transpose(0, 3, 1, 2)
    np.savez_compressed(tmp_path / "d.npz", big=preprocess_input(batch, "caffe", data_format=data_format))
    # 0.05 MiB: bands of 34 rows of a 128 x 128 x 3 float32 image.
    result = cli(
        "restore", "d.npz", "--model", "VGG16", "--data-format", data_format, "--chunk-mb", "0.05",
        "--format", image_format, cwd=tmp_path, capsys=capsys,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for i, original in enumerate(originals):
        restored = np.asarray(Image.open(tmp_path / "d_restored" / f"big_{i}.{image_format}"))
        if image_format == "jpg":  # lossy: the same bytes as Pillow's JPEG of the original
            from keras_deprocess.cli.io.images import encode_with_pillow

            reference = io.BytesIO()
            encode_with_pillow(original, "jpg", reference)
            np.testing.assert_array_equal(restored, np.asarray(Image.open(reference)))
        else:
            np.testing.assert_array_equal(restored, original)


def test_big_endian_and_fortran_order_arrays_restore_exactly(tmp_path, capsys):
    originals = images(3)
    preprocessed = preprocess_input(originals, "DenseNet121")
    np.save(tmp_path / "be.npy", preprocessed.astype(">f4"))
    np.save(tmp_path / "fo.npy", np.asfortranarray(preprocessed.astype(">f8")))
    for name, chunk in (("be", "0.1"), ("fo", "2")):  # bands of a big-endian image; Fortran order whole
        result = cli(
            "restore",
            f"{name}.npy",
            "--model",
            "DenseNet121",
            "--chunk-mb",
            chunk,
            cwd=tmp_path,
            capsys=capsys,
        )
        assert result.returncode == 0, result.stderr
        for i, original in enumerate(originals):
            np.testing.assert_array_equal(
                np.asarray(Image.open(tmp_path / f"{name}_restored" / f"{name}_{i}.png")), original
            )
    detect = json.loads(
        cli("detect", "fo.npy", "--json", "--chunk-mb", "0.01", cwd=tmp_path, capsys=capsys).stdout
    )
    assert detect[0]["candidates"][0]["name"] == "torch"


def test_fortran_order_above_the_chunk_is_refused_with_the_flag_that_allows_it(tmp_path, capsys):
    np.save(tmp_path / "fo.npy", np.asfortranarray(preprocess_input(images(3), "VGG16")))
    for command in ("restore", "sheet"):
        arguments = [command, "fo.npy", "--model", "VGG16", "--chunk-mb", "0.1"]
        if command == "sheet":
            arguments += ["-o", "s.png"]
        result = cli(*arguments, cwd=tmp_path, capsys=capsys)
        assert_one_line_input_error(result, "fo.npy", "Fortran order", "--chunk-mb")


def test_sheet_thumbnails_large_images_band_by_band(tmp_path, capsys):
    photo = images(1)[0]
    large = np.tile(photo, (3, 2, 1))  # 384 x 256
    np.save(tmp_path / "large.npy", preprocess_input(large[None], "VGG16"))
    result = cli(
        "sheet", "large.npy", "--model", "VGG16", "-o", "s.png", "--size", "128", "--chunk-mb", "0.1",
        cwd=tmp_path, capsys=capsys,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    sheet = np.asarray(Image.open(tmp_path / "s.png"))
    thumbnail = sheet[4 : 4 + 128, 4 : 4 + 86]  # shrunk by 3: 128 x 86 (ceil)
    expected = large[:384, :255].reshape(128, 3, 85, 3, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(thumbnail[:, :85], expected, atol=0.51)


def test_an_empty_batch_restores_nothing_and_makes_no_folder(tmp_path, capsys):
    np.save(tmp_path / "empty.npy", np.zeros((0, 4, 4, 3), np.float32))
    result = cli("restore", "empty.npy", "--model", "VGG16", "--json", cwd=tmp_path, capsys=capsys)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["images"], summary["files"]) == (0, [])
    assert not (tmp_path / "empty_restored").exists()
    assert cli("detect", "empty.npy", cwd=tmp_path, capsys=capsys).stdout.strip() == "no images"
    result = cli("sheet", "empty.npy", "--model", "VGG16", "-o", "s.png", cwd=tmp_path, capsys=capsys)
    assert_one_line_input_error(result, "empty.npy", "holds no images")


def test_force_replaces_files_but_never_a_folder(tmp_path, capsys):
    np.save(tmp_path / "x.npy", preprocess_input(images(2), "VGG16"))
    (tmp_path / "out" / "x_1.png").mkdir(parents=True)
    result = cli(
        "restore", "x.npy", "--model", "VGG16", "--out", "out", "--force", cwd=tmp_path, capsys=capsys
    )
    assert_one_line_input_error(result, "x_1.png", "is a folder")
    assert files_under(tmp_path / "out") == set()


@pytest.mark.parametrize("seed", range(6))
def test_thumbnails_from_any_bands_equal_the_block_average(seed):
    from keras_deprocess.cli.commands.canvas import Thumbnail, thumbnail_shape

    rng = np.random.default_rng(seed)
    height, width, factor = int(rng.integers(1, 60)), int(rng.integers(1, 60)), int(rng.integers(1, 8))
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = np.zeros((*thumbnail_shape(height, width, factor), 3), np.uint8)
    thumbnail = Thumbnail(height, width, factor, out)
    cuts = np.unique(np.concatenate([[0, height], rng.integers(0, height + 1, 5)]))
    for top, bottom in itertools.pairwise(cuts):
        thumbnail.add(image[top:bottom], int(top))
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            block = image[r * factor : (r + 1) * factor, c * factor : (c + 1) * factor]
            np.testing.assert_array_equal(out[r, c], np.rint(block.reshape(-1, 3).mean(axis=0)))
