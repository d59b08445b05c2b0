"""The CLI as a process: pipes, Ctrl-C, start-up noise, warnings, help width, internal errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_cli import COMMANDS, cli, images, run, user_env

from keras_deprocess import preprocess_input

CLI = [sys.executable, "-m", "keras_deprocess.cli"]


def run_into_closed_pipe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run with stdout a pipe whose reader is gone before the first write, like `| head -0`."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [*CLI, *args], cwd=cwd, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        (["models"], 141),
        (["models", "--json"], 141),
        (["detect", "x.npy"], 141),
        (["restore", "x.npy", "--model", "VGG16", "--json"], 141),
        (["--help"], 0),  # argparse itself ignores the closed pipe
    ],
)
def test_a_closed_pipe_ends_quietly(tmp_path, arguments, code):
    np.save(tmp_path / "x.npy", preprocess_input(images(2), "VGG16"))
    result = run_into_closed_pipe(*arguments, cwd=tmp_path)
    assert result.stderr == ""
    assert result.returncode == code


def test_models_into_head_prints_the_first_line_only(tmp_path):
    result = subprocess.run(
        f"{sys.executable} -m keras_deprocess.cli models | head -1",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.startswith("name ")
    assert result.stdout.count("\n") == 1
    assert result.stderr == ""


def _mapped(pid: int, fragments: tuple[str, ...]) -> bool:
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False
    return any(fragment in maps for fragment in fragments)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see the import under way")
def test_ctrl_c_while_the_framework_imports_is_one_line(tmp_path):
    """Held until the import ends (jaxlib can crash when interrupted while it loads), then one line."""
    process = subprocess.Popen(
        [*CLI, "demo"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=user_env(),
    )
    # The native part of the framework is loading: Keras's import is under way.
    native = ("_pywrap_tensorflow", "libtensorflow", "jaxlib", "libtorch")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _mapped(process.pid, native) and process.poll() is None:
        time.sleep(0.002)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert stderr == "keras-deprocess: interrupted; no partial output was left.\n"
    assert stdout == "", "the demo stopped before its first model"


def test_valid_input_prints_no_warning(tmp_path):
    batch = preprocess_input(images(3), "VGG16")
    batch[0, 0, 0] = [3.0e38, -3.0e38, 1.0e38]  # finite, far outside any image: clipped, no warning
    np.save(tmp_path / "x.npy", batch)
    np.save(tmp_path / "half.npy", batch.astype(np.float64).clip(-60000, 60000).astype(np.float16))
    for arguments in (
        ["restore", "x.npy", "--model", "VGG16", "--quiet"],
        ["restore", "half.npy", "--model", "VGG16", "--quiet", "--chunk-mb", "0.01"],
        ["sheet", "x.npy", "--model", "VGG16", "-o", "s.png", "--compare", "--quiet"],
        ["detect", "x.npy"],
        ["models"],
    ):
        result = subprocess.run(
            [*CLI, *arguments], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=user_env()
        )
        assert (result.returncode, result.stderr) == (0, ""), arguments


@pytest.mark.parametrize("command", [None, *COMMANDS])
@pytest.mark.parametrize("columns", [200, 64])
def test_help_fits_the_terminal_and_keeps_examples_as_written(tmp_path, command, columns):
    arguments = ["--help"] if command is None else [command, "--help"]
    result = subprocess.run(
        [*CLI, *arguments], cwd=tmp_path, capture_output=True, text=True, env=user_env(COLUMNS=str(columns))
    )
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    examples = [line for line in lines if line.startswith("  keras-deprocess ")]
    assert examples, "every help shows examples"
    assert max(len(line) for line in lines) <= 100
    prose = [line for line in lines if line not in examples]
    assert max(len(line) for line in prose) <= min(columns, 100)
    assert "Exit codes" in result.stdout


def test_an_internal_error_is_one_line_and_exit_1(tmp_path, capsys, monkeypatch):
    from keras_deprocess.cli.commands import models

    def broken(args):
        raise RuntimeError("something unforeseen\nsecond line")

    monkeypatch.setattr(models, "run", broken)
    result = cli("models", cwd=tmp_path, capsys=capsys)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "internal error: RuntimeError: something unforeseen\\nsecond line" in result.stderr
    assert "KERAS_DEPROCESS_DEBUG" in result.stderr


def test_argparse_errors_exit_2_with_usage(tmp_path):
    result = run("restore", "x.npy", "--chunk-mb", "0", cwd=tmp_path)  # a value argparse refuses
    assert result.returncode == 2
    assert result.stderr.startswith("usage: keras-deprocess restore")
    assert "Traceback" not in result.stderr


def test_an_os_error_that_escapes_is_one_line_and_exit_1(tmp_path, capsys, monkeypatch):
    from keras_deprocess.cli.commands import models

    def denied(args):
        raise PermissionError(13, "Permission denied", "out/x\x1b.png")

    monkeypatch.setattr(models, "run", denied)
    result = cli("models", cwd=tmp_path, capsys=capsys)
    assert (result.returncode, result.stderr) == (
        1,
        "keras-deprocess: error: Permission denied (out/x\\x1b.png)\n",
    )
