"""The examples in the docstrings run, as written, and print what they say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import keras_deprocess

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(keras_deprocess.__path__, "keras_deprocess.")
    if not info.name.endswith(("_numba_kernels", "__main__"))
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(module, name)
    for test in tests:
        runner.run(test)
    failed, attempted = runner.summarize(verbose=False)
    assert failed == 0, f"{failed} of {attempted} docstring examples failed in {name}"


def test_the_public_names_have_examples():
    """Every public function and class documents an example."""
    missing = []
    for name in keras_deprocess.__all__:
        value = getattr(keras_deprocess, name)
        if callable(value) and "Example" not in (value.__doc__ or ""):
            missing.append(name)
    assert not missing, f"no Example in the docstring of {missing}"
