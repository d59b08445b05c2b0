"""The arguments that several commands share, checked as they are read, and their help's pieces.

A flag that two commands take is written once here, so that its name, its
check and its help cannot drift apart between commands.
"""

from __future__ import annotations

import argparse
import math

from keras_deprocess.cli.library import DEFAULT_CHUNK_BYTES, MODES, PRESETS
from keras_deprocess.cli.terminal import ArgumentParser, HelpFormatter

__all__ = [
    "MEMORY_NOTE",
    "add_check",
    "add_chunk",
    "add_command",
    "add_input",
    "add_model",
    "chunk_mb",
    "examples",
    "positive_int",
]

EXIT_CODES = (
    "Exit codes: 0 success, 1 failure (a demo check, a write error, an internal error), "
    "2 usage or input error, 130 interrupted, 141 output pipe closed."
)
MEMORY_NOTE = (
    "Memory: arrays stream through one buffer of --chunk-mb (default 64 MiB), in chunks of whole "
    "images or, for an image larger than that, in bands of rows. Peak memory stays near 3 chunks "
    "plus about 100 MB, whatever the file's size; see docs/cli.md for the limits."
)


def examples(*lines: str) -> str:
    """A help epilog: the example command lines, kept as written, then the exit codes."""
    return "Examples:\n" + "\n".join(f"  {line}" for line in lines) + "\n\n" + EXIT_CODES


def add_command(
    subparsers: argparse._SubParsersAction[ArgumentParser],
    name: str,
    *,
    help: str,
    description: str,
    epilog: str,
) -> ArgumentParser:
    """A command's parser, with the help formatting every command shares."""
    parser = subparsers.add_parser(
        name, help=help, description=description, epilog=epilog, formatter_class=HelpFormatter
    )
    parser.set_defaults(command_name=name)
    return parser


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of at least 1, received {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, received {text!r}")
    return value


def chunk_mb(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number of MiB above 0, received {text!r}")
    return value


def add_input(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input",
        help="preprocessed images (float16/32/64, rank 3 or 4): a .npy, .npz, .pt/.pth, .safetensors, "
        "TFRecord (.tfrecord) or webdataset .tar file, a folder of them, or a quoted glob ('shards/*.tar')",
    )
    parser.add_argument(
        "--key", help="use only the arrays with this key (an .npz member, a .pt or .safetensors tensor)"
    )
    parser.add_argument(
        "--feature",
        metavar="NAME",
        help="in TFRecord files, the tf.train.Example feature that holds the image (default: the only one)",
    )
    parser.add_argument(
        "--data-format",
        choices=["channels_last", "channels_first"],
        metavar="FORMAT",
        help="channels_last or channels_first: the layout of the arrays (default: "
        "keras.config.image_data_format(), usually channels_last)",
    )


def add_model(parser: argparse.ArgumentParser) -> None:
    modes = ", ".join(repr(name) for name in MODES)
    presets = ", ".join(repr(name) for name in PRESETS)
    parser.add_argument(
        "--model",
        default="auto",
        help=f"a keras.applications model or module ('VGG16', 'resnet_v2'), a mode ({modes}) or a "
        f"preset ({presets}); `keras-deprocess models` lists them. auto (the default) detects it "
        "from the values and goes on only when that is certain (`keras-deprocess detect` shows why)",
    )


def add_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-check",
        dest="check",
        action="store_false",
        help="do not check a sample of each array against --model (by default a contradiction, such as "
        "torchvision-normalized data given a 'caffe' model, is one warning line on stderr)",
    )


def add_chunk(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--chunk-mb",
        type=chunk_mb,
        default=DEFAULT_CHUNK_BYTES >> 20,
        metavar="MIB",
        help="input read per chunk, in MiB (default 64); Fortran-order arrays must fit in one chunk",
    )
