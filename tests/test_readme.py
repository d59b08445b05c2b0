"""The README's registry table and set-up commands stay true."""

from __future__ import annotations

import re
from pathlib import Path

from keras_deprocess import list_models

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_registry_table_matches_list_models():
    table = README.split("<!-- registry-table:")[1].split("\n\n")[0]
    documented = {}
    for line in table.splitlines():
        match = re.fullmatch(r"\| (.+) \| `(\w+)` \| `(\w+)` \|", line)
        if match:
            for name in match.group(1).split(", "):
                documented[name] = (match.group(2), match.group(3))
    actual = {e.name: (e.module, e.mode) for e in list_models("constructor")}
    assert documented == actual


def test_ci_runs_the_readme_test_command():
    marker = README.split("<!-- test-command:")[1]
    command = marker.split("```bash\n")[1].split("\n")[0]
    assert command.startswith('pip install ".[test,fast]" && ')
    for backend in ("tensorflow", "jax", "torch"):
        assert f"KERAS_BACKEND={backend} python -m pytest" in command
    assert "test-command" in (ROOT / ".ci" / "run").read_text()


def _example(name: str) -> str:
    marker = f"<!-- example: {name} "
    return README.split(marker)[1].split("```python\n")[1].split("```")[0]


def test_the_pytorch_example_runs(tmp_path, monkeypatch):
    import pytest

    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)  # it saves first.png
    exec(compile(_example("pytorch"), "README.md (pytorch example)", "exec"), {})
    assert (tmp_path / "first.png").exists()
