"""The `keras-deprocess` command line: restore, sheet, models, detect, demo.

`main` is the console script; `python -m keras_deprocess.cli` runs it too.
"""

from keras_deprocess.cli.commands import build_parser, load_demo_image, main, run_demo

__all__ = ["build_parser", "load_demo_image", "main", "run_demo"]
