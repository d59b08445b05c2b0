"""An install that brings no framework: the core's dependencies, and a venv with only the core and torch.

The venv is built from this environment's own files (each distribution
linked in, with nothing else), so the test needs no network: it proves that
a PyTorch user with `pip install keras-deprocess torch` restores tensors and
runs the command line, with neither TensorFlow nor Keras nor JAX to import.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ("tensorflow", "keras", "torch", "jax", "jaxlib", "keras-hub", "numba")


def _name(requirement: str) -> str:
    from packaging.requirements import Requirement

    return Requirement(requirement).name.lower().replace("_", "-")


def test_the_core_dependencies_bring_no_framework():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {_name(r) for r in project["dependencies"]}
    assert core == {"numpy", "pillow", "tqdm"}
    keras_extra = {_name(r) for r in project["optional-dependencies"]["keras"]}
    assert keras_extra == {"keras", "tensorflow"}


def _closure(names: list[str]) -> list[importlib.metadata.Distribution]:
    """The distributions `names` need, transitively, as installed here (no extras, this platform)."""
    from packaging.requirements import Requirement

    found: dict[str, importlib.metadata.Distribution] = {}
    waiting = list(names)
    while waiting:
        name = waiting.pop().lower().replace("_", "-")
        if name in found:
            continue
        distribution = importlib.metadata.distribution(name)
        found[name] = distribution
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            waiting.append(requirement.name)
    return list(found.values())


def _link_distributions(site: Path, distributions: list[importlib.metadata.Distribution]) -> None:
    for distribution in distributions:
        tops = {Path(str(f)).parts[0] for f in distribution.files or [] if not str(f).startswith("..")}
        for top in tops - {"__pycache__"}:
            source = Path(str(distribution.locate_file(top)))
            target = site / top
            if source.exists() and not target.exists():
                target.symlink_to(source)


@pytest.fixture(scope="module")
def core_and_torch_venv(tmp_path_factory):
    pytest.importorskip("torch")
    venv = tmp_path_factory.mktemp("core-and-torch") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    relative = Path(sysconfig.get_path("purelib")).relative_to(sysconfig.get_paths()["data"])
    site = venv / relative
    _link_distributions(site, _closure(["numpy", "pillow", "tqdm", "torch"]))
    (site / "keras_deprocess_source.pth").write_text(str(ROOT) + "\n")
    return venv / "bin" / "python"


def _run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KERAS_BACKEND")}
    return subprocess.run([str(python), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_a_torch_user_without_tensorflow_keras_or_jax(core_and_torch_venv, tmp_path):
    code = """
import importlib.util, sys
for name in ("tensorflow", "keras", "jax", "numba"):
    assert importlib.util.find_spec(name) is None, name
import numpy as np, torch
from keras_deprocess import image_grid, restore_original_image_from_array, to_images, to_pil
images = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
batch = (torch.from_numpy(images).permute(0, 3, 1, 2) / 255 - mean) / std
restored = restore_original_image_from_array(batch, "imagenet")
assert isinstance(restored, torch.Tensor) and (restored.permute(0, 2, 3, 1).numpy() == images).all()
assert (to_images(batch, "imagenet") == images).all()
assert image_grid(batch, model="imagenet").shape == (20, 38, 3)
to_pil(batch[0], "imagenet")
np.save("batch.npy", batch.numpy())
try:
    from keras_deprocess import Deprocess
except Exception as error:
    print(type(error).__name__, error)
print(sorted(m for m in ("tensorflow", "keras", "jax") if m in sys.modules))
"""
    result = _run(core_and_torch_venv, "-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "[]"
    assert lines[0].startswith("DeprocessError Expected Keras 3")
    assert "pip install 'keras-deprocess[keras]'" in lines[0]

    cli = _run(
        core_and_torch_venv,
        "-m",
        "keras_deprocess.cli",
        "restore",
        "batch.npy",
        "--model",
        "imagenet",
        "--data-format",
        "channels_first",
        "--out",
        "out",
        cwd=tmp_path,
    )
    assert cli.returncode == 0, cli.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["batch_0.png", "batch_1.png"]
    demo = _run(core_and_torch_venv, "-m", "keras_deprocess.cli", "demo", cwd=tmp_path)
    assert demo.returncode == 2
    assert "keras-deprocess[keras]" in demo.stderr
    assert "Traceback" not in demo.stderr


def test_the_venv_really_lacks_the_other_frameworks(core_and_torch_venv, tmp_path):
    result = _run(core_and_torch_venv, "-c", "import tensorflow", cwd=tmp_path)
    assert result.returncode != 0
    assert "No module named 'tensorflow'" in result.stderr
