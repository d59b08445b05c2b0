"""Register the layers with Keras's serialization as soon as Keras exists.

`keras.models.load_model(path, safe_mode=True)` finds custom layers only in
Keras's registry, filled when the class is defined. Importing
`keras_deprocess` must not import Keras, so registration waits for Keras:
at once if it is already imported, otherwise right after `import keras`
finishes, through a one-shot import hook. Either way, a model holding a
`Deprocess` layer loads with no `custom_objects` once `keras_deprocess` is
imported.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType


def _register_layers() -> None:
    # Keras 2, or a broken install, raises here: the error resurfaces, with
    # its message, when the layers are used.
    with contextlib.suppress(ImportError, ValueError):
        import keras_deprocess.layers  # noqa: F401  (defining the classes registers them)


class _RegisterAfterKerasImport(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("keras")
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_register(module: ModuleType) -> None:
            exec_module(module)
            _register_layers()

        # The loader object was made for this spec alone.
        loader.exec_module = exec_then_register  # type: ignore[method-assign]
        return spec


def register_layers_when_keras_is_imported() -> None:
    if "keras" in sys.modules:
        _register_layers()
    elif not any(isinstance(finder, _RegisterAfterKerasImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterKerasImport())
