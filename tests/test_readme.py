"""The README stays true: its tables match the code, its examples run, CI runs its commands."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from keras_deprocess import list_models

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _block_after(marker: str, fence: str) -> str:
    return README.split(marker)[1].split(f"```{fence}\n")[1].split("```")[0]


@pytest.mark.parametrize(
    ("text", "marker"),
    [(README, "<!-- registry-table:"), ((ROOT / "docs" / "models.md").read_text(), "## keras.applications")],
    ids=["README", "docs/models.md"],
)
def test_registry_table_matches_list_models(text, marker):
    table = text.split(marker)[1].split("| constructors")[1].split("\n\n")[0]
    documented = {}
    for line in table.splitlines():
        match = re.fullmatch(r"\| (.+) \| `(\w+)` \| `(\w+)` \|", line)
        if match:
            for name in match.group(1).split(", "):
                documented[name] = (match.group(2), match.group(3))
    actual = {e.name: (e.module, e.mode) for e in list_models("constructor")}
    assert documented == actual


def test_cli_table_matches_the_parser():
    from keras_deprocess.cli import build_parser

    table = README.split("<!-- cli-table:")[1].split("\n\n")[0]
    documented = {}
    for line in table.splitlines()[3:]:
        command, flags = (cell.strip() for cell in line.strip("|").split("|"))
        documented[command.strip("`").split()[0]] = set(re.findall(r"`(--[\w-]+)`", flags))
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    actual = {
        name: {o for a in parser._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
        for name, parser in subparsers.choices.items()
    }
    assert documented == actual


def test_ci_runs_the_readme_commands():
    test_command = _block_after("<!-- test-command:", "bash").splitlines()[0]
    assert test_command.startswith('pip install ".[test,fast]" && ')
    for backend in ("tensorflow", "jax", "torch"):
        assert f"KERAS_BACKEND={backend} python -m pytest" in test_command
    demo_command = _block_after("<!-- demo-command:", "bash").splitlines()[0]
    assert demo_command == 'pip install ".[keras]" && keras-deprocess demo'
    ci = (ROOT / ".ci" / "run").read_text()
    assert "test-command" in ci
    assert "demo-command" in ci


@pytest.mark.parametrize(
    "name", ["quickstart", "askers-call", "keras", "pytorch", "colorization", "geometry", "overlay"]
)
def test_the_examples_run(name, tmp_path, monkeypatch):
    if name in ("pytorch", "geometry"):
        pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)  # the PyTorch example saves first.png
    code = _block_after(f"<!-- example: {name} ", "python")
    exec(compile(code, f"README.md ({name} example)", "exec"), {})
