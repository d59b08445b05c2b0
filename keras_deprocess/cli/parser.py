"""The argument parser: the top level here, each command's own flags in its module.

Every flag is checked as it is read (`arguments`), so that a command starts
only with arguments it can use.
"""

from __future__ import annotations

import argparse

from keras_deprocess.cli.arguments import examples
from keras_deprocess.cli.commands import audit, demo, detect, models, restore, sheet
from keras_deprocess.cli.library import __version__
from keras_deprocess.cli.terminal import ArgumentParser, HelpFormatter

__all__ = ["COMMANDS", "build_parser"]

# Each command's name and module, in the order `--help` lists them.
COMMANDS = {
    "restore": restore,
    "sheet": sheet,
    "models": models,
    "detect": detect,
    "audit": audit,
    "demo": demo,
}


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="keras-deprocess",
        description="Restore the original images from keras.applications-preprocessed arrays.",
        epilog=examples(
            "keras-deprocess detect batch.npy",
            "keras-deprocess restore batch.npy --model VGG16 --out restored/",
            "keras-deprocess COMMAND --help",
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"keras-deprocess {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS.values():
        command.add_parser(subparsers)
    return parser
