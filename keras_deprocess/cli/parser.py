"""The argument parser: every command and flag, checked as it is read."""

from __future__ import annotations

import argparse
import math

from keras_deprocess import __version__
from keras_deprocess.cli.io.arrays import DEFAULT_CHUNK_BYTES
from keras_deprocess.cli.io.images import IMAGE_FORMATS
from keras_deprocess.cli.io.planning import NAMINGS
from keras_deprocess.cli.terminal import ArgumentParser, HelpFormatter
from keras_deprocess.registry import MODES, PRESETS

__all__ = ["build_parser"]

EXIT_CODES = (
    "Exit codes: 0 success, 1 failure (a demo check, a write error, an internal error), "
    "2 usage or input error, 130 interrupted, 141 output pipe closed."
)
MEMORY_NOTE = (
    "Memory: arrays stream through one buffer of --chunk-mb (default 64 MiB), in chunks of whole "
    "images or, for an image larger than that, in bands of rows. Peak memory stays near 3 chunks "
    "plus about 100 MB, whatever the file's size; see docs/cli.md for the limits."
)


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


def _add_input(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help=".npy or .npz file of preprocessed images (float16/32/64, rank 3 or 4)")
    parser.add_argument("--key", help="in a .npz, use only this array")
    parser.add_argument(
        "--data-format",
        choices=["channels_last", "channels_first"],
        metavar="FORMAT",
        help="channels_last or channels_first: the layout of the arrays (default: "
        "keras.config.image_data_format(), usually channels_last)",
    )


def image_format(text: str) -> str:
    """'PNG', 'jpeg', 'JPG' are read as png and jpg; argparse's choices then check the rest."""
    name = text.strip().lower()
    return "jpg" if name == "jpeg" else name


def _add_model(parser: argparse.ArgumentParser) -> None:
    modes = ", ".join(repr(name) for name in MODES)
    presets = ", ".join(repr(name) for name in PRESETS)
    parser.add_argument(
        "--model",
        required=True,
        help=f"a keras.applications model or module ('VGG16', 'resnet_v2'), a mode ({modes}) or a "
        f"preset ({presets}); `keras-deprocess models` lists them",
    )


def _add_chunk(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--chunk-mb",
        type=chunk_mb,
        default=DEFAULT_CHUNK_BYTES >> 20,
        metavar="MIB",
        help="input read per chunk, in MiB (default 64); Fortran-order arrays must fit in one chunk",
    )


def _examples(*lines: str) -> str:
    return "Examples:\n" + "\n".join(f"  {line}" for line in lines) + "\n\n" + EXIT_CODES


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="keras-deprocess",
        description="Restore the original images from keras.applications-preprocessed arrays.",
        epilog=_examples(
            "keras-deprocess detect batch.npy",
            "keras-deprocess restore batch.npy --model VGG16 --out restored/",
            "keras-deprocess COMMAND --help",
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"keras-deprocess {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    restore = commands.add_parser(
        "restore",
        help="write one image file per image of a .npy/.npz",
        description="Restore every image in a .npy or .npz file and write one image file each, named "
        "from the file name (npz: the key) and the index, e.g. batch_07.png. All names are planned "
        "before anything is written: two arrays that would write the same file are an error "
        "(see --naming). A run is all or nothing: images are written into a hidden folder and moved "
        "into place only when every image is restored, so an error (NaN in an image, a damaged "
        "file) or an interruption leaves no image behind. Existing files are kept unless --force "
        "is given.\n\n" + MEMORY_NOTE,
        epilog=_examples(
            "keras-deprocess restore batch.npy --model VGG16 --out restored/",
            "keras-deprocess restore dump.npz --model clip --key adversarial --format webp",
            "keras-deprocess restore dump.npz --model tf --naming folders",
        ),
        formatter_class=HelpFormatter,
    )
    _add_input(restore)
    _add_model(restore)
    restore.add_argument("--out", metavar="DIR", help="output folder (default: INPUT-STEM_restored)")
    restore.add_argument(
        "--format",
        type=image_format,
        choices=IMAGE_FORMATS,
        default="png",
        metavar="FORMAT",
        help="png (default, any size, streamed by rows), jpg (at most 16.8 megapixels an image) "
        "or webp (lossless, at most 4.2 megapixels)",
    )
    restore.add_argument(
        "--naming",
        choices=NAMINGS,
        default="flat",
        metavar="NAMING",
        help="flat (default): KEY_INDEX.png; folders: KEY/INDEX.png, one sub-folder per array; "
        "numbered: POSITION-KEY_INDEX.png, which separates any two arrays",
    )
    restore.add_argument(
        "--l-key",
        metavar="KEY",
        help="in a .npz, the array of L (1 channel); with --ab-key, for a Lab --model such as colorization",
    )
    restore.add_argument(
        "--ab-key",
        metavar="KEY",
        help="in a .npz, the array of ab (2 channels, any resolution): upsampled bilinearly to L's size, "
        "put behind L, and restored",
    )
    restore.add_argument("--force", action="store_true", help="overwrite existing files")
    _add_chunk(restore)
    restore.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    restore.add_argument("--json", action="store_true", help="print a JSON summary instead")
    restore.set_defaults(command_name="restore")

    sheet = commands.add_parser(
        "sheet",
        help="a contact sheet (grid) of the restored images",
        description="Restore the first --limit images and tile them, as thumbnails of at most --size "
        "pixels a side, into one picture. With --compare, each cell shows the naive view (what "
        "plt.imshow shows for the preprocessed array: clipped to [0, 1], channels as stored) beside "
        "the restored image. The sheet is limited to 16.8 megapixels (4.2 as webp).\n\n" + MEMORY_NOTE,
        epilog=_examples(
            "keras-deprocess sheet batch.npy --model VGG16 -o sheet.png",
            "keras-deprocess sheet batch.npy --model VGG16 -o compare.png --compare",
        ),
        formatter_class=HelpFormatter,
    )
    _add_input(sheet)
    _add_model(sheet)
    sheet.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the sheet's file: .png, .jpg or .webp"
    )
    sheet.add_argument("--compare", action="store_true", help="show the naive view beside each image")
    sheet.add_argument(
        "--limit", type=positive_int, default=64, metavar="N", help="at most this many images (default 64)"
    )
    sheet.add_argument(
        "--columns", type=positive_int, metavar="N", help="grid columns (default: a square-ish grid)"
    )
    sheet.add_argument(
        "--size",
        type=positive_int,
        default=256,
        metavar="PX",
        help="longest side of a thumbnail (default 256); larger images are shrunk by a whole "
        "factor, averaging each block of pixels",
    )
    sheet.add_argument("--force", action="store_true", help="overwrite an existing sheet")
    _add_chunk(sheet)
    sheet.add_argument("--quiet", action="store_true", help="no summary")
    sheet.add_argument("--json", action="store_true", help="print a JSON summary instead")
    sheet.set_defaults(command_name="sheet")

    models = commands.add_parser(
        "models",
        help="the registry table",
        description="Every keras.applications constructor and module, mode and preset, with its spec.",
        epilog=_examples("keras-deprocess models", "keras-deprocess models --kind preset --json"),
        formatter_class=HelpFormatter,
    )
    models.add_argument(
        "--kind",
        choices=["constructor", "module", "mode", "preset"],
        metavar="KIND",
        help="only these rows: constructor, module, mode or preset",
    )
    models.add_argument("--json", action="store_true", help="JSON, with each spec's numbers")
    models.set_defaults(command_name="models")

    detect = commands.add_parser(
        "detect",
        help="which preprocessing produced an array, ranked with confidence",
        description="Rank the modes and presets by how well each explains the array (range, "
        "whole-number pixels, spread). One table per array (per npz key), from a sample of at most "
        "262144 pixels spread over its first --limit images, read as a stream.",
        epilog=_examples("keras-deprocess detect mystery.npy", "keras-deprocess detect dump.npz --json"),
        formatter_class=HelpFormatter,
    )
    _add_input(detect)
    detect.add_argument(
        "--top", type=positive_int, default=5, metavar="N", help="show this many candidates (default 5)"
    )
    detect.add_argument(
        "--limit",
        type=positive_int,
        default=64,
        metavar="N",
        help="sample the first N images of each array (default 64)",
    )
    _add_chunk(detect)
    detect.add_argument("--json", action="store_true", help="JSON output")
    detect.set_defaults(command_name="detect")

    demo = commands.add_parser(
        "demo",
        help="round-trip the shipped photo through every keras.applications model",
        description="Preprocess the shipped photograph with Keras's own preprocess_input for every "
        "keras.applications model, restore it, and print one row per model. Exits 1 if any uint8 "
        "round trip is not exact. With --out, also writes before_after.png.",
        epilog=_examples("keras-deprocess demo", "keras-deprocess demo --out demo/"),
        formatter_class=HelpFormatter,
    )
    demo.add_argument(
        "--out", metavar="DIR", help="also write the before/after sheet, before_after.png, here"
    )
    demo.add_argument("--force", action="store_true", help="overwrite an existing before_after.png")
    demo.set_defaults(command_name="demo")
    return parser
