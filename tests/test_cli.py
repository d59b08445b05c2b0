"""The command line, driven as a subprocess: round trips, every safety case, --help.

The helpers here (running the CLI, building hostile files) serve the other
tests/test_cli_*.py files too.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from conftest import backend
from PIL import Image

from keras_deprocess import preprocess_input
from keras_deprocess.cli import load_demo_image

COMMANDS = ["restore", "sheet", "models", "detect", "demo"]


def run(
    *args: str, cwd: Path, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keras_deprocess.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"} if env is None else env,
    )


def user_env(**extra: str) -> dict[str, str]:
    """The environment a user has: none of the test suite's TensorFlow or warning settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "PYTHONWARNINGS")}
    return {**env, **extra}


class Result(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def cli(*args: str, cwd: Path, capsys: pytest.CaptureFixture[str]) -> Result:
    """The CLI in this process (fast, for messages): `main`, with argparse's exits as codes."""
    from keras_deprocess.cli import main

    capsys.readouterr()
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        code = main(list(args))
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
    finally:
        os.chdir(previous)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def images(n: int = 3) -> np.ndarray:
    photo = load_demo_image()
    return np.stack([np.roll(photo, 17 * i, axis=(0, 1)) for i in range(n)])


def assert_one_line_input_error(result: subprocess.CompletedProcess[str] | Result, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def files_under(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npy_header(shape: tuple[int, ...], dtype: str = "<f4", fortran: bool = False) -> bytes:
    buffer = io.BytesIO()
    header = {"descr": dtype, "fortran_order": fortran, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)  # type: ignore[no-untyped-call]
    return buffer.getvalue()


class Member(NamedTuple):
    """One zip member, written as given: any name (NUL, escapes), method and flags.

    `zeros` bytes of zeros follow `data`; they are deflated without being
    materialised, so a small file can declare gigabytes.
    """

    name: str
    data: bytes
    zeros: int = 0
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0


_ZERO_BLOCK = 1 << 20


def _deflate(data: bytes, zeros: int) -> tuple[bytes, int, int]:
    """(raw deflate stream, crc32, size) of `data` followed by `zeros` zero bytes."""

    def full_flush(payload: bytes, final: bool) -> bytes:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        return compressor.compress(payload) + compressor.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)

    blocks, rest = divmod(zeros, _ZERO_BLOCK)
    # Independently flushed pieces concatenate into one valid stream.
    stream = (
        full_flush(data, False)
        + full_flush(bytes(_ZERO_BLOCK), False) * blocks
        + full_flush(bytes(rest), True)
    )
    crc = zlib.crc32(data)
    block = bytes(_ZERO_BLOCK)
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    return stream, zlib.crc32(bytes(rest), crc), len(data) + zeros


def write_zip(path: Path | io.BytesIO, members: list[Member]) -> None:
    """A zip archive written byte by byte (zipfile refuses several of these members)."""
    out = bytearray()
    central = bytearray()
    for member in members:
        name = member.name.encode("utf-8")
        if member.method == zipfile.ZIP_DEFLATED:
            payload, crc, size = _deflate(member.data, member.zeros)
        else:
            payload, crc, size = member.data + bytes(member.zeros), zlib.crc32(member.data), len(member.data)
            if member.method == zipfile.ZIP_STORED:
                crc = zlib.crc32(payload)
                size = len(payload)
        assert max(len(payload), size) < 1 << 32, "no zip64 here"
        flags = member.flags | 0x800  # names are UTF-8
        offset = len(out)
        out += struct.pack(
            "<4sHHHHHIIIHH",
            b"PK\x03\x04",
            20,
            flags,
            member.method,
            0,
            0x21,
            crc,
            len(payload),
            size,
            len(name),
            0,
        )
        out += name + payload
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            20,
            20,
            flags,
            member.method,
            0,
            0x21,
            crc,
            len(payload),
            size,
            len(name),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += name
    end = struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(out), 0
    )
    if isinstance(path, io.BytesIO):
        path.write(bytes(out + central + end))
    else:
        path.write_bytes(bytes(out + central + end))


def zeros_npz(
    path: Path, shape: tuple[int, ...], dtype: str = "<f4", fortran: bool = False, key: str = "img"
) -> None:
    """A small npz holding one array of zeros of any declared size."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    write_zip(path, [Member(f"{key}.npy", npy_header(shape, dtype, fortran), zeros=nbytes)])


# -- round trips -----------------------------------------------------------------


@pytest.mark.parametrize("image_format", ["png", "webp"])
def test_restore_npy_round_trip_to_identical_images(tmp_path, image_format):
    originals = images()
    np.save(tmp_path / "batch.npy", preprocess_input(originals, "VGG16", data_format="channels_last"))
    result = run(
        "restore", "batch.npy", "--model", "VGG16", "--out", "out", "--format", image_format, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "restored 3 image(s)" in result.stdout
    for i, original in enumerate(originals):
        np.testing.assert_array_equal(
            np.asarray(Image.open(tmp_path / "out" / f"batch_{i}.{image_format}")), original
        )


def test_restore_channels_first_npz_with_keys_and_a_single_image(tmp_path):
    batch = images()
    single = images(1)[0]
    np.savez_compressed(
        tmp_path / "dump.npz",
        batch=preprocess_input(batch.transpose(0, 3, 1, 2), "clip", data_format="channels_first"),
        one=preprocess_input(single.transpose(2, 0, 1), "clip", data_format="channels_first"),
    )
    result = run(
        "restore", "dump.npz", "--model", "clip", "--data-format", "channels_first", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["images"], summary["arrays"], summary["out"]) == (4, 2, "dump_restored")
    out = tmp_path / "dump_restored"
    assert files_under(out) == {
        Path("batch_0.png"),
        Path("batch_1.png"),
        Path("batch_2.png"),
        Path("one.png"),
    }
    np.testing.assert_array_equal(np.asarray(Image.open(out / "batch_2.png")), batch[2])
    np.testing.assert_array_equal(np.asarray(Image.open(out / "one.png")), single)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_restore_counts_pixels_clipped_by_a_wrong_model(tmp_path, capsys, data_format):
    originals = images(2)
    if data_format == "channels_first":
        originals = originals.transpose(0, 3, 1, 2)
    batch = preprocess_input(originals, "VGG16", data_format=data_format)
    np.save(tmp_path / "batch.npy", batch)
    common = ("--data-format", data_format, "--force")
    right = cli("restore", "batch.npy", "--model", "VGG16", *common, cwd=tmp_path, capsys=capsys)
    assert right.returncode == 0, right.stderr
    assert "clipped" not in right.stdout
    summary = json.loads(
        cli("restore", "batch.npy", "--model", "VGG16", "--json", *common, cwd=tmp_path, capsys=capsys).stdout
    )
    assert (summary["clipped"], summary["pixels"]) == (0, originals.size // 3)

    wrong = cli("restore", "batch.npy", "--model", "Xception", *common, cwd=tmp_path, capsys=capsys)
    assert wrong.returncode == 0, wrong.stderr
    # 'tf' reads these caffe values as (x + 1) * 127.5: a pixel survives only where every channel
    # of it lies within [-1, 1] (plus half a level).
    channel_axis = -1 if data_format == "channels_last" else 1
    expected = int(np.count_nonzero((np.abs(batch) > 1 + 0.5 / 127.5).any(axis=channel_axis)))
    assert expected > 0
    assert (
        f"; {expected} of {originals.size // 3} pixels had values outside [0, 255] and were clipped"
        in wrong.stdout
    )
    assert "(is --model right?)" in wrong.stdout


def test_format_names_are_read_as_users_write_them(tmp_path, capsys):
    np.save(tmp_path / "batch.npy", preprocess_input(images(1), "VGG16", data_format="channels_last"))
    result = cli(
        "restore", "batch.npy", "--model", "VGG16", "--format", "JPEG", "--quiet", cwd=tmp_path, capsys=capsys
    )
    assert result.returncode == 0, result.stderr
    assert files_under(tmp_path / "batch_restored") == {Path("batch_0.jpg")}


def test_version(tmp_path, capsys):
    from keras_deprocess import __version__

    result = cli("--version", cwd=tmp_path, capsys=capsys)
    assert (result.returncode, result.stdout.strip()) == (0, f"keras-deprocess {__version__}")


def test_restore_one_key_and_jpg(tmp_path):
    np.savez(tmp_path / "dump.npz", a=preprocess_input(images(2), "tf"), b=preprocess_input(images(2), "tf"))
    result = run(
        "restore", "dump.npz", "--model", "Xception", "--key", "b", "--format", "jpg", "--quiet", cwd=tmp_path
    )
    assert (result.returncode, result.stdout) == (0, "")
    assert files_under(tmp_path / "dump_restored") == {Path("b_0.jpg"), Path("b_1.jpg")}


def test_float16_input(tmp_path):
    originals = images(2)
    np.save(tmp_path / "half.npy", preprocess_input(originals, "DenseNet121").astype(np.float16))
    assert run("restore", "half.npy", "--model", "DenseNet121", cwd=tmp_path).returncode == 0
    np.testing.assert_array_equal(
        np.asarray(Image.open(tmp_path / "half_restored" / "half_1.png")), originals[1]
    )


# -- safety ----------------------------------------------------------------------


def test_pickled_object_arrays_are_refused(tmp_path):
    np.save(tmp_path / "evil.npy", np.array([{"payload": 1}], dtype=object), allow_pickle=True)
    result = run("restore", "evil.npy", "--model", "VGG16", cwd=tmp_path)
    assert_one_line_input_error(result, "evil.npy", "refusing to unpickle")
    np.savez(tmp_path / "evil.npz", ok=np.zeros((1, 2, 2, 3), np.float32), bad=np.array([None], dtype=object))
    result = run("restore", "evil.npz", "--model", "VGG16", cwd=tmp_path)
    assert_one_line_input_error(result, "evil.npz", "'bad'", "refusing to unpickle")
    assert not (tmp_path / "evil_restored").exists()


def _npz_with_member_names(path: Path, names: list[str], array: np.ndarray) -> None:
    """An npz whose members carry hostile names (np.savez would never write some of them)."""
    import io

    payload = io.BytesIO()
    np.save(payload, array)
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, payload.getvalue())


def test_hostile_npz_keys_cannot_escape_the_output_folder(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    hostile = [
        "../escape.npy",
        "/abs/path.npy",
        "../../deep/../x.npy",
        "a/../../b.npy",
        "..npy",
        "nul\x00byte.npy",
    ]
    _npz_with_member_names(work / "keys.npz", hostile, preprocess_input(images(1), "VGG16"))
    before = files_under(tmp_path)
    result = run("restore", "keys.npz", "--model", "VGG16", "--out", "out", cwd=work)
    assert result.returncode == 0, result.stderr
    created = files_under(tmp_path) - before
    assert created, "nothing was written"
    assert all(path.parts[:2] == ("work", "out") and len(path.parts) == 3 for path in created), created
    for name in (p.name for p in created):
        assert not name.startswith(".")
        assert ".." not in name
        assert "\x00" not in name


@pytest.mark.parametrize(
    "key", ["../x", "/etc/passwd", "a\x00b", "..", ".hidden", "C:\\win", "ok_name", "sp ace", "ü", ""]
)
def test_safe_stem(key):
    from keras_deprocess.datasets.naming import safe_stem

    stem = safe_stem(key)
    assert stem
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*", stem)
    assert ".." not in stem
    assert (stem == key) == (key == "ok_name")


def test_existing_files_are_kept_without_force(tmp_path):
    np.save(tmp_path / "batch.npy", preprocess_input(images(2), "VGG16"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "batch_1.png").write_bytes(b"keep me")
    result = run("restore", "batch.npy", "--model", "VGG16", "--out", "out", cwd=tmp_path)
    assert_one_line_input_error(result, "exist", "--force")
    assert (tmp_path / "out" / "batch_1.png").read_bytes() == b"keep me"
    assert not (tmp_path / "out" / "batch_0.png").exists(), "nothing is written when any output exists"
    assert (
        run("restore", "batch.npy", "--model", "VGG16", "--out", "out", "--force", cwd=tmp_path).returncode
        == 0
    )
    assert Image.open(tmp_path / "out" / "batch_1.png").size == (128, 128)


def test_sheet_does_not_overwrite_without_force(tmp_path):
    np.save(tmp_path / "batch.npy", preprocess_input(images(2), "VGG16"))
    (tmp_path / "sheet.png").write_bytes(b"keep me")
    assert_one_line_input_error(
        run("sheet", "batch.npy", "--model", "VGG16", "-o", "sheet.png", cwd=tmp_path), "--force"
    )
    assert (tmp_path / "sheet.png").read_bytes() == b"keep me"


def _all_images_whole(folder: Path) -> int:
    count = 0
    for path in folder.rglob("*.png"):
        with Image.open(path) as picture:
            picture.load()  # raises on a truncated file
        count += 1
    return count


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_an_interrupted_run_leaves_no_image(tmp_path, how):
    """A run is all or nothing: images wait in a hidden folder until every one is written."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "many.npy", rng.uniform(-120, 150, (600, 96, 96, 3)).astype(np.float32))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "keras_deprocess.cli",
            "restore",
            "many.npy",
            "--model",
            "VGG16",
            "--out",
            "out",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out = tmp_path / "out"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(out.glob(".keras-deprocess-*/*.png"))) < 20:
        time.sleep(0.02)
    assert list(out.glob("*.png")) == [], "no image is visible before all are written"
    process.send_signal(getattr(signal, how))
    _, stderr = process.communicate(timeout=60)
    if how != "SIGKILL":
        assert process.returncode == 130, stderr
        assert stderr.strip() == "keras-deprocess: interrupted; no partial output was left."
        assert not out.exists(), "the run made the folder, and removes it"
    else:
        # A killed process cannot clean up: its hidden folder stays, no image is visible.
        assert [p.name for p in out.iterdir() if not p.name.startswith(".keras-deprocess-")] == []


def test_corrupt_data_midway_writes_nothing(tmp_path):
    path = tmp_path / "dump.npz"
    np.savez_compressed(path, a=preprocess_input(images(3), "VGG16"), b=preprocess_input(images(3), "VGG16"))
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("b.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    middle = start + info.compress_size // 2
    raw[middle : middle + 64] = bytes(64)  # damage the compressed data of 'b'
    path.write_bytes(bytes(raw))
    (tmp_path / "out").mkdir()
    result = run("restore", "dump.npz", "--model", "VGG16", "--out", "out", cwd=tmp_path)
    assert_one_line_input_error(result, "dump.npz", "'b'")
    assert list((tmp_path / "out").iterdir()) == [], "the images of 'a' were not moved into place"


@pytest.mark.parametrize(
    ("make", "fragments"),
    [
        (lambda p: p.write_bytes(b"not an array at all"), ["not a .npy array", "magic"]),
        (lambda p: p.write_bytes(b""), ["is empty"]),
        (
            lambda p: p.write_bytes(_npy_bytes(np.zeros((2, 8, 8, 3), np.float32))[:-10]),
            ["truncated", "needs 1536 bytes"],
        ),
        (
            lambda p: p.write_bytes(_npy_bytes(np.zeros((2, 8, 8, 3), np.uint8))),
            ["dtype uint8", "raw pixels"],
        ),
        (lambda p: p.write_bytes(_npy_bytes(np.zeros((2, 8, 8, 3), np.int32))), ["dtype int32"]),
        (lambda p: p.write_bytes(_npy_bytes(np.zeros((8, 3), np.float32))), ["shape (8, 3)", "rank 3"]),
        (lambda p: p.write_bytes(_npy_bytes(np.zeros((1, 2, 8, 8, 3), np.float32))), ["rank 4"]),
        (
            lambda p: p.write_bytes(_npy_bytes(np.zeros((2, 8, 8, 5), np.float32))),
            ["needs 3 channels", "(2, 8, 8, 5)"],
        ),
        (lambda p: p.write_bytes(b"PK\x03\x04 broken zip"), ["not a valid .npz archive"]),
    ],
    ids=["garbage", "empty", "truncated", "uint8", "int32", "rank2", "rank5", "channels", "bad-zip"],
)
def test_bad_inputs_get_a_one_line_error_naming_the_file(tmp_path, make, fragments):
    make(tmp_path / "input.npy")
    for command in (["restore", "input.npy", "--model", "VGG16"], ["detect", "input.npy"]):
        if command[0] == "detect" and "needs 3 channels" in fragments:
            continue
        result = run(*command, cwd=tmp_path)
        assert_one_line_input_error(result, "input.npy", *fragments)
    assert not (tmp_path / "input_restored").exists()


_npy_bytes = npy_bytes


def test_missing_file_and_unknown_model(tmp_path):
    assert_one_line_input_error(
        run("restore", "nope.npy", "--model", "VGG16", cwd=tmp_path), "nope.npy", "cannot be read"
    )
    np.save(tmp_path / "x.npy", np.zeros((1, 4, 4, 3), np.float32))
    assert_one_line_input_error(run("restore", "x.npy", "--model", "VGG61", cwd=tmp_path), "Did you mean")
    assert_one_line_input_error(
        run("restore", "x.npy", "--model", "VGG16", "--key", "k", cwd=tmp_path), "no keys"
    )


def test_usage_errors_exit_2(tmp_path):
    assert run("restore", cwd=tmp_path).returncode == 2
    assert run("frobnicate", cwd=tmp_path).returncode == 2
    assert run("restore", "x.npy", "--model", "VGG16", "--format", "bmp", cwd=tmp_path).returncode == 2


# -- the other commands ------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_help_for_every_command(tmp_path, command):
    result = run(command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "Example" in result.stdout
    assert f"keras-deprocess {command}" in result.stdout
    assert "Exit codes" in result.stdout


def test_top_level_help_lists_the_commands(tmp_path):
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


def test_sheet_with_compare(tmp_path):
    np.save(tmp_path / "batch.npy", preprocess_input(images(4), "VGG16"))
    result = run(
        "sheet", "batch.npy", "--model", "VGG16", "-o", "sheet.png", "--compare", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["images"] == 4
    sheet = np.asarray(Image.open(tmp_path / "sheet.png"))
    # 2 x 2 cells, each a naive view and a restored image side by side.
    assert sheet.shape[1] > 4 * 128
    assert sheet.shape[0] > 2 * 128
    plain = run("sheet", "batch.npy", "--model", "VGG16", "-o", "plain.png", "--limit", "2", cwd=tmp_path)
    assert plain.returncode == 0
    assert Image.open(tmp_path / "plain.png").size[0] < 3 * 128


def test_models_table_and_json(tmp_path):
    result = run("models", cwd=tmp_path)
    assert result.returncode == 0
    assert "VGG16" in result.stdout
    assert "caffe" in result.stdout
    rows = json.loads(run("models", "--json", "--kind", "preset", cwd=tmp_path).stdout)
    assert [r["name"] for r in rows] == [
        "imagenet",
        "clip",
        "half",
        "unit",
        "inception",
        "lab",
        "colorization",
        "colorization-caffe",
    ]
    assert rows[1]["spec"]["mean"][0] == pytest.approx(0.48145466)


def test_detect(tmp_path):
    np.save(tmp_path / "mystery.npy", preprocess_input(images(2), "DenseNet121"))
    result = run("detect", "mystery.npy", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first_row = result.stdout.splitlines()[1]
    assert first_row.split()[0] == "torch"
    report = json.loads(run("detect", "mystery.npy", "--json", "--top", "2", cwd=tmp_path).stdout)
    assert report[0]["candidates"][0]["name"] == "torch"
    assert report[0]["candidates"][0]["aliases"] == ["imagenet"]
    assert len(report[0]["candidates"]) == 2


@pytest.mark.skipif(backend() != "tensorflow", reason="the demo's CLI path is backend-independent")
def test_demo_writes_the_before_after_sheet_and_no_framework_noise(tmp_path):
    result = run("demo", "--out", "demo", cwd=tmp_path, timeout=300, env=user_env())
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "TensorFlow's start-up log lines are hidden"
    assert "OK: all 40 models" in result.stdout
    sheet = Image.open(tmp_path / "demo" / "before_after.png")
    assert sheet.size[0] > 4 * 128


@pytest.mark.skipif(backend() != "tensorflow", reason="one run is enough: the CLI uses NumPy only")
def test_restoring_a_2_gib_npy_keeps_memory_bounded(tmp_path):
    """2 GiB of float32 in, peak RSS of the whole CLI process measured from outside."""
    path = tmp_path / "big.npy"
    count, side = 683, 512  # 683 x 512 x 512 x 3 x 4 bytes = 2.0 GiB
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(count, side, side, 3))
    pattern = preprocess_input(np.tile(images(1)[0], (4, 4, 1)), "VGG16", data_format="channels_last")
    for i in range(count):
        array[i] = pattern
    array.flush()
    del array
    assert path.stat().st_size >= 2 << 30
    probe = (
        "import resource, subprocess, sys;"
        "r = subprocess.run(sys.argv[1:]);"
        "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    command = [sys.executable, "-c", probe, sys.executable, "-m", "keras_deprocess.cli"]
    command += ["restore", "big.npy", "--model", "VGG16", "--out", "out", "--quiet", "--format", "png"]
    try:
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900)
        returncode, peak_kib = map(int, result.stdout.split())
        assert returncode == 0, result.stderr
        assert len(list((tmp_path / "out").glob("*.png"))) == count
        peak_mib = peak_kib / 1024
        print(f"\npeak RSS restoring a 2 GiB .npy: {peak_mib:.0f} MiB")
        assert peak_mib < 400, f"peak RSS {peak_mib:.0f} MiB"
    finally:
        path.unlink()


@pytest.mark.parametrize("container", ["npy", "npz-deflated", "npz-stored"])
def test_streaming_in_many_small_chunks(tmp_path, container):
    originals = images(5)
    preprocessed = preprocess_input(originals, "DenseNet121")
    if container == "npy":
        np.save(tmp_path / "data.npy", preprocessed)
        name, stem = "data.npy", "data"
    else:
        save = np.savez_compressed if container == "npz-deflated" else np.savez
        save(tmp_path / "data.npz", part=preprocessed)
        name, stem = "data.npz", "part"
    # 0.3 MiB chunks: one 128x128x3 float32 image (192 KiB) per chunk.
    result = run("restore", name, "--model", "DenseNet121", "--chunk-mb", "0.3", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for i, original in enumerate(originals):
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out" / f"{stem}_{i}.png")), original)


def test_every_flag_is_documented_in_docs_cli_md():
    import argparse

    from keras_deprocess.cli import build_parser

    docs = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, command in subparsers.choices.items():
        section = docs.split(f"### `{name}")[1].split("\n### ")[0]
        for action in command._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}" in section, (name, flag)
                    assert flag in command.format_help(), (name, flag)
