"""`keras-deprocess audit`: saved batches described, and judged against what a model expects.

A thin command over the library's `audit`: each array of the file (each
npz key) is one batch, its first --limit images read into memory; the
report is the library's, printed as its table or as JSON.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from keras_deprocess.cli.arguments import add_chunk, add_command, add_input, examples, positive_int
from keras_deprocess.cli.commands.common import check_fortran, chunk_budget, image_layout
from keras_deprocess.cli.library import (
    ArrayEntry,
    ArraySource,
    audit_batches,
    open_arrays,
    resolve_data_format,
)
from keras_deprocess.cli.terminal import ArgumentParser, safe

__all__ = ["add_parser", "run"]

EXIT_OK, EXIT_FOUND = 0, 1


def add_parser(subparsers: argparse._SubParsersAction[ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "audit",
        help="describe saved batches and check them against what a model expects",
        description="Each array (each npz key) is one batch: its first --limit images are described "
        "(the detected mode with its confidence, NaN and Inf counts, the value range, per-channel mean "
        "and std, the share of pixels clipped when restored) and, with --model, checked against the "
        "model's preprocessing as every restore checks it (another model's normalization, data "
        "normalized twice, [0, 1] against [0, 255], the layout). Exits 1 when the audit finds "
        "something, 0 when it finds nothing.",
        epilog=examples(
            "keras-deprocess audit batch.npy --model ResNet50",
            "keras-deprocess audit dump.npz --model imagenet --data-format channels_first --json",
        ),
    )
    add_input(parser)
    parser.add_argument(
        "--model",
        metavar="NAME",
        help="what the model expects: a keras.applications model or module, a mode or a preset "
        "(`keras-deprocess models` lists them); without it the batches are only described",
    )
    parser.add_argument(
        "--limit",
        type=positive_int,
        default=64,
        metavar="N",
        help="audit the first N images of each array (default 64), held in memory",
    )
    add_chunk(parser)
    parser.add_argument("--json", action="store_true", help="JSON output")


def run(args: argparse.Namespace) -> int:
    data_format = resolve_data_format(args.data_format)
    budget = chunk_budget(args)
    batches: list[tuple[str, np.ndarray]] = []
    with open_arrays(args.input, key=args.key, feature=args.feature) as source:
        for entry in source.entries:
            layout = image_layout(source, entry, data_format, None, "audit")
            count = min(args.limit, entry.images)
            if count == 0:
                continue
            check_fortran(source, entry, budget)
            batches.append((entry.key, _first_images(source, entry, layout.row_axis, count, budget)))
        if not batches:
            raise source.error(None, "holds no images to audit")
    report = audit_batches(batches, args.model, data_format=data_format)
    if args.json:
        print(json.dumps({"input": args.input, "model": args.model, **report.to_dict()}, indent=1))
    else:
        print("\n".join(safe(line) for line in str(report).splitlines()))
    return EXIT_OK if report.ok else EXIT_FOUND


def _first_images(
    source: ArraySource, entry: ArrayEntry, row_axis: int, count: int, budget: int
) -> np.ndarray:
    """The first `count` images of `entry` in one array, read as the stream's pieces come."""
    images = np.empty((count, *entry.image_shape), entry.dtype.newbyteorder("="))
    for piece in source.pieces(entry, budget, row_axis, stop=count):
        if piece.rows is None:
            images[piece.first : piece.first + len(piece.data)] = piece.data
        else:
            band = (slice(None),) * row_axis + (slice(*piece.rows),)
            images[piece.first][band] = piece.data[0]
    return images
