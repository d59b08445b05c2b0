"""`keras-deprocess detect`: which preprocessing produced an array, ranked, from a sample.

The library's `detect_mode` scores a sample of pixels; this command takes
that sample from the file as a stream (`io.sampling`), so any array, of any
size or order, is ranked in the memory of the sample and one chunk.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from keras_deprocess.cli.arguments import add_chunk, add_command, add_input, examples, positive_int
from keras_deprocess.cli.commands.common import chunk_budget, image_layout
from keras_deprocess.cli.library import ArrayEntry, detect_mode, open_arrays, resolve_data_format, sample
from keras_deprocess.cli.terminal import ArgumentParser, safe

__all__ = ["add_parser", "run"]

EXIT_OK = 0
DETECT_SAMPLE_PIXELS = 1 << 18


def add_parser(subparsers: argparse._SubParsersAction[ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "detect",
        help="which preprocessing produced an array, ranked with confidence",
        description="Rank the modes and presets by how well each explains the array (range, "
        "whole-number pixels, spread). One table per array (per npz key), from a sample of at most "
        "262144 pixels spread over its first --limit images, read as a stream.",
        epilog=examples("keras-deprocess detect mystery.npy", "keras-deprocess detect dump.npz --json"),
    )
    add_input(parser)
    parser.add_argument(
        "--top", type=positive_int, default=5, metavar="N", help="show this many candidates (default 5)"
    )
    parser.add_argument(
        "--limit",
        type=positive_int,
        default=64,
        metavar="N",
        help="sample the first N images of each array (default 64)",
    )
    add_chunk(parser)
    parser.add_argument("--json", action="store_true", help="JSON output")


def run(args: argparse.Namespace) -> int:
    data_format = resolve_data_format(args.data_format)
    budget = chunk_budget(args)
    with open_arrays(args.input, key=args.key, feature=args.feature) as source:
        layouts = [image_layout(source, e, data_format, 3, "detect") for e in source.entries]
        report: list[tuple[ArrayEntry, int, list[Any]]] = []
        for entry, layout in zip(source.entries, layouts, strict=True):
            used = min(args.limit, entry.images)
            if used == 0:
                report.append((entry, 0, []))
                continue
            values, image = sample(
                source, entry, layout.channel_axis, args.limit, DETECT_SAMPLE_PIXELS, budget
            )
            finite = np.isfinite(values).all(axis=1)
            if not finite.all():
                bad = int(np.flatnonzero(~finite)[0])
                raise source.error(
                    entry,
                    "holds NaN or ±Inf values, which no preprocessing produces; replace them before "
                    "saving the array (e.g. with numpy.nan_to_num).",
                    image=int(image[bad]),
                )
            guesses = detect_mode(values.reshape(1, 1, -1, 3), data_format="channels_last")
            report.append((entry, used, guesses[: args.top]))
        is_npz = source.is_npz
    if args.json:
        print(json.dumps([_detect_json(entry, used, guesses) for entry, used, guesses in report], indent=1))
        return EXIT_OK
    for n, (entry, used, guesses) in enumerate(report):
        if is_npz:
            print(("\n" if n else "") + f"[{safe(entry.key)}] {used} of {entry.images} image(s)")
        if not guesses:
            print("no images")
            continue
        print(f"{'mode':<10} {'confidence':>10} {'out of range':>13} {'quantization':>13}  same map as")
        for g in guesses:
            print(
                f"{g.name:<10} {g.confidence:>10.1%} {g.out_of_range:>13.2%} {g.quantization:>13.4f}  "
                f"{', '.join(g.aliases) or '-'}"
            )
    return EXIT_OK


def _detect_json(entry: ArrayEntry, used: int, guesses: list[Any]) -> dict[str, Any]:
    return {
        "key": entry.key,
        "images": entry.images,
        "sampled_images": used,
        "candidates": [
            {
                "name": g.name,
                "aliases": list(g.aliases),
                "confidence": round(g.confidence, 4),
                "out_of_range": round(g.out_of_range, 6),
                "quantization": round(g.quantization, 6),
            }
            for g in guesses
        ],
    }
