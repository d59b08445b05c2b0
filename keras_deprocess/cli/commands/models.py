"""`keras-deprocess models`: the registry as a table, or as JSON with each spec's numbers."""

from __future__ import annotations

import argparse
import json

from keras_deprocess.cli.arguments import add_command, examples
from keras_deprocess.cli.library import list_models
from keras_deprocess.cli.terminal import ArgumentParser

__all__ = ["add_parser", "run"]

EXIT_OK = 0


def add_parser(subparsers: argparse._SubParsersAction[ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "models",
        help="the registry table",
        description="Every keras.applications constructor and module, mode and preset, with its spec.",
        epilog=examples("keras-deprocess models", "keras-deprocess models --kind preset --json"),
    )
    parser.add_argument(
        "--kind",
        choices=["constructor", "module", "mode", "preset"],
        metavar="KIND",
        help="only these rows: constructor, module, mode or preset",
    )
    parser.add_argument("--json", action="store_true", help="JSON, with each spec's numbers")


def run(args: argparse.Namespace) -> int:
    rows = list_models(args.kind)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": e.name,
                        "kind": e.kind,
                        "module": e.module,
                        "mode": e.mode,
                        "spec": e.spec.to_config(),
                    }
                    for e in rows
                ],
                indent=1,
            )
        )
        return EXIT_OK
    table = [("name", "kind", "module", "mode", "spec")]
    table += [(e.name, e.kind, e.module or "-", e.mode, repr(e.spec)) for e in rows]
    widths = [max(len(row[column]) for row in table) for column in range(4)]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4])
    return EXIT_OK
