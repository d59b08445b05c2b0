"""The notebooks run top to bottom (executed with nbclient, figures to a temporary folder)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import backend

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.mark.skipif(
    backend() != "tensorflow", reason="the notebooks pick TensorFlow themselves; one run is enough"
)
@pytest.mark.parametrize(
    "name",
    [
        "style_transfer.ipynb",
        "feature_extraction_debugging.ipynb",
        "pytorch_normalize.ipynb",
        "colorization.ipynb",
        "geometry.ipynb",
        "debugging.ipynb",
    ],
)
def test_notebook_runs_top_to_bottom(name, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("NOTEBOOK_FIGURES", str(tmp_path))
    monkeypatch.setenv("CI", "true")  # the Agg backend: no window
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        "strip outputs"
    )
    started = time.perf_counter()
    nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    print(f"\n{name}: {time.perf_counter() - started:.1f} s")
    assert list(tmp_path.glob("*.png")), "the notebook saved no figure"


def test_notebooks_are_generated_from_build_notebooks_py(tmp_path, monkeypatch):
    """The .ipynb files match their source, so edits go through build_notebooks.py."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_notebooks", NOTEBOOKS / "build_notebooks.py")
    if importlib.util.find_spec("nbformat") is None:
        pytest.skip("nbformat is not installed")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", tmp_path)
    for name, cells in module.NOTEBOOKS.items():
        module.write(name, cells)
        generated = (tmp_path / name).read_text()
        assert generated == (NOTEBOOKS / name).read_text(), f"run notebooks/build_notebooks.py ({name})"
