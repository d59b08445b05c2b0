"""The `keras-deprocess` command line: restore, sheet, models, detect, audit, demo.

`main` is the console script; `python -m keras_deprocess.cli` runs it too.
This module stays light: `main` guards every later import (a Ctrl-C while
they load is a one-line exit, not a traceback), so the commands, the
parser and the demo load on first use.

Inside, imports only go down: `entry` → `parser` → `commands` (one module
per command) → `arguments` → `io` (files in and out) → `terminal` and
`library` (the one door into the rest of keras_deprocess).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keras_deprocess.cli.entry import main

if TYPE_CHECKING:
    from keras_deprocess.cli.commands.demo import load_demo_image, run_demo
    from keras_deprocess.cli.parser import build_parser

__all__ = ["build_parser", "load_demo_image", "main", "run_demo"]

_LAZY = {
    "build_parser": "keras_deprocess.cli.parser",
    "load_demo_image": "keras_deprocess.cli.commands.demo",
    "run_demo": "keras_deprocess.cli.commands.demo",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'keras_deprocess.cli' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
