"""`keras-deprocess demo`: every model's row, and a failing row fails the command."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np

from keras_deprocess import cli, list_models


def test_demo_image_ships_with_the_package():
    image = cli.load_demo_image()
    assert image.shape == (128, 128, 3)
    assert image.dtype == np.uint8
    assert image.std() > 30  # a real photograph, not a flat placeholder


def test_demo_prints_one_exact_row_per_model():
    out = io.StringIO()
    assert cli.run_demo(out) == 0
    text = out.getvalue()
    for entry in list_models("constructor"):
        row = next(line for line in text.splitlines() if line.startswith(f"{entry.name} "))
        assert row.split()[2] == entry.mode
        assert row.rstrip().endswith("yes")
    assert f"OK: all {len(list_models('constructor'))} models" in text


def test_demo_fails_when_a_model_fails(monkeypatch):
    from keras_deprocess import registry

    # Register VGG16 under the wrong mode: the round trip must then fail.
    monkeypatch.setitem(registry.MODULES, "vgg16", "tf")
    registry.names._clear_memo()
    try:
        out = io.StringIO()
        assert cli.run_demo(out) == 1
        assert "FAILED: 1 of" in out.getvalue()
        assert "VGG16" in out.getvalue().splitlines()[-1]
    finally:
        monkeypatch.undo()
        registry.names._clear_memo()


def test_console_script_help():
    result = subprocess.run(
        [sys.executable, "-m", "keras_deprocess.cli", "demo", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "keras-deprocess demo" in result.stdout
