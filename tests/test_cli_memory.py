"""Memory and time that a hostile file cannot inflate, measured from outside the CLI's process.

Each file here is under 2 MiB and declares hundreds of megabytes to
gigabytes of data; every command stays under the documented 512 MiB. The
CLI reads with NumPy only, so these run once, on the TensorFlow job.
"""

from __future__ import annotations

import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import backend
from PIL import Image
from test_cli import Member, npy_bytes, npy_header, write_zip, zeros_npz

pytestmark = pytest.mark.skipif(
    backend() != "tensorflow", reason="one run is enough: the CLI uses NumPy only"
)

CEILING_MIB = 512
PROBE = (
    "import resource, subprocess, sys, time;"
    "t = time.perf_counter();"
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
    "sys.stderr.write(r.stderr);"
    "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t)"
)


def measured(*args: str, cwd: Path, timeout: float = 120) -> tuple[int, float, float, str]:
    """(exit code, peak RSS in MiB, seconds, stderr) of the CLI, from a parent process."""
    command = [sys.executable, "-c", PROBE, sys.executable, "-m", "keras_deprocess.cli", *args]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    code, peak, seconds = result.stdout.split()
    peak_mib = int(peak) / (
        2**20 if sys.platform == "darwin" else 2**10
    )  # ru_maxrss: bytes on macOS, KiB on Linux
    print(f"\n{' '.join(args)}: exit {code}, peak RSS {peak_mib:.0f} MiB, {float(seconds):.2f} s")
    return int(code), peak_mib, float(seconds), result.stderr


def assert_small(path: Path) -> None:
    assert path.stat().st_size < 2 << 20, "a small file"


def test_one_huge_image_in_a_small_file(tmp_path):
    """8192 x 8192 x 3 float16 (384 MiB of data, 6 chunks) in a 0.4 MiB npz."""
    zeros_npz(tmp_path / "huge.npz", (1, 8192, 8192, 3), dtype="<f2")
    assert_small(tmp_path / "huge.npz")
    code, peak, _, stderr = measured("restore", "huge.npz", "--model", "VGG16", "--quiet", cwd=tmp_path)
    assert code == 0, stderr
    assert peak < CEILING_MIB
    with Image.open(tmp_path / "huge_restored" / "img_0.png") as picture:
        assert picture.size == (8192, 8192)
        assert picture.getpixel((8191, 8191)) == (124, 117, 104)  # the mean of 'caffe', restored from 0
    code, peak, _, stderr = measured(
        "sheet", "huge.npz", "--model", "VGG16", "-o", "s.png", "--compare", cwd=tmp_path
    )
    assert code == 0, stderr
    assert peak < CEILING_MIB
    code, peak, _, stderr = measured("detect", "huge.npz", cwd=tmp_path)
    assert code == 0, stderr
    assert peak < CEILING_MIB


def test_a_hundred_million_tiny_images_in_a_small_file(tmp_path):
    """10^8 images of 1 x 1 x 3 float16 (572 MiB of data) in a 0.6 MiB npz: planning is O(arrays)."""
    count = 10**8
    single = npy_bytes(np.zeros((1, 1, 3), np.float32))
    write_zip(
        tmp_path / "tiny.npz",
        [
            Member("img.npy", npy_header((count, 1, 1, 3), "<f2"), zeros=count * 6),
            Member("img_00000005.npy", single, method=zipfile.ZIP_STORED),
        ],
    )
    assert_small(tmp_path / "tiny.npz")
    # The collision of image 5 of 'img' with the single image 'img_00000005' is found from the patterns.
    code, peak, seconds, stderr = measured("restore", "tiny.npz", "--model", "VGG16", cwd=tmp_path)
    assert code == 2
    assert "would both write 'img_00000005.png'" in stderr
    assert (peak, seconds) < (CEILING_MIB, 10)
    # Planned, then refused: one existing output among 10^8 names, found with one directory scan.
    (tmp_path / "out" / "img").mkdir(parents=True)
    (tmp_path / "out" / "img" / "12345678.png").write_bytes(b"keep")
    # 10^8 files are more than --max-files allows: refused from the header, naming the flag.
    code, peak, seconds, stderr = measured(
        "restore", "tiny.npz", "--model", "VGG16", "--naming", "folders", "--out", "out", cwd=tmp_path
    )
    assert code == 2
    assert "would write 100,000,001 files, more than --max-files 1,000,000" in stderr
    assert "pass --max-files 100000001" in stderr
    assert (peak, seconds) < (CEILING_MIB, 10)
    code, peak, seconds, stderr = measured(
        "restore",
        *("tiny.npz", "--model", "VGG16", "--naming", "folders", "--out", "out"),
        *("--max-files", "100000001"),
        cwd=tmp_path,
    )
    assert code == 2
    assert "1 output file(s) exist" in stderr
    assert (peak, seconds) < (CEILING_MIB, 10)
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"img"}
    for arguments in (["detect", "tiny.npz"], ["sheet", "tiny.npz", "--model", "VGG16", "-o", "s.png"]):
        code, peak, seconds, stderr = measured(*arguments, cwd=tmp_path)
        assert code == 0, stderr
        assert (peak, seconds) < (CEILING_MIB, 20)


def test_a_fortran_order_member_is_never_materialized(tmp_path):
    """4096 x 128 x 128 x 3 float32 in Fortran order: 768 MiB of data in a 0.8 MiB npz."""
    zeros_npz(tmp_path / "fortran.npz", (4096, 128, 128, 3), fortran=True)
    assert_small(tmp_path / "fortran.npz")
    code, peak, _, stderr = measured("detect", "fortran.npz", cwd=tmp_path)
    assert code == 0, stderr
    assert peak < CEILING_MIB
    for arguments in (
        ["restore", "fortran.npz", "--model", "VGG16"],
        ["sheet", "fortran.npz", "--model", "VGG16", "-o", "s.png"],
    ):
        code, peak, seconds, stderr = measured(*arguments, cwd=tmp_path)
        assert code == 2
        assert "Fortran order" in stderr
        assert "--chunk-mb" in stderr
        assert (peak, seconds) < (CEILING_MIB, 10)


def test_the_archive_is_opened_once(tmp_path, monkeypatch, capsys):
    from keras_deprocess.cli import main
    from keras_deprocess.datasets import numpy_files as arrays

    np.savez(tmp_path / "many.npz", **{f"k{i}": np.zeros((1, 2, 2, 3), np.float32) for i in range(50)})
    opened: list[object] = []
    real_zipfile = zipfile.ZipFile

    class CountingZipFile(real_zipfile):  # type: ignore[misc]
        def __init__(self, *args, **kwargs):
            opened.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(arrays.zipfile, "ZipFile", CountingZipFile)
    for arguments in (
        ["restore", "many.npz", "--model", "VGG16", "--quiet"],
        ["detect", "many.npz", "--json"],
    ):
        opened.clear()
        monkeypatch.chdir(tmp_path)
        assert main(arguments) == 0
        assert len(opened) == 1
    capsys.readouterr()


def _headers_and_plan(path: Path) -> float:
    from keras_deprocess.datasets.naming import existing_outputs, plan_outputs, safe_stem
    from keras_deprocess.datasets.numpy_files import NumpyFile as ArrayFile

    start = time.perf_counter()
    with ArrayFile(path) as source:
        entries = source.entries
        plans = plan_outputs(
            ((safe_stem(e.key), e.position, e.images, e.batched) for e in entries), "flat", "png", str
        )
        existing_outputs(path.parent / "nowhere", plans)
    return time.perf_counter() - start


def test_reading_and_planning_are_linear_in_members(tmp_path):
    times = {}
    for count in (500, 4000):
        path = tmp_path / f"m{count}.npz"
        np.savez_compressed(path, **{f"k{i}": np.zeros((1, 2, 2, 3), np.float32) for i in range(count)})
        times[count] = min(_headers_and_plan(path) for _ in range(3))
    print(f"\nheaders and plan: {times[500]:.3f} s for 500 members, {times[4000]:.3f} s for 4000")
    assert times[4000] < 16 * times[500]  # linear: about 8; quadratic: about 64
