"""The `keras-deprocess` command line.

Exit codes: 0 success, 1 a check failed, 2 a usage or input error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import resources
from typing import Any

import numpy as np

from keras_deprocess.errors import DeprocessError
from keras_deprocess.registry import list_models
from keras_deprocess.transform import restore_original_image_from_array

DEMO_IMAGE = "astronaut.png"


def load_demo_image() -> np.ndarray:
    """The shipped photograph as a (128, 128, 3) uint8 RGB array.

    Eileen Collins, NASA, public domain (via scikit-image's sample data).
    """
    from PIL import Image

    with resources.files("keras_deprocess").joinpath("data", DEMO_IMAGE).open("rb") as f:
        return np.asarray(Image.open(f).convert("RGB"))


def _quiet_tensorflow() -> None:
    # TensorFlow's C++ start-up chatter would bury the table.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def run_demo(out: Any = sys.stdout) -> int:
    """Round-trip the shipped photo through Keras's own `preprocess_input` for every model.

    Returns:
        0 when every model's uint8 round trip is exact, else 1.
    """
    _quiet_tensorflow()
    from keras_deprocess._config import import_keras

    keras = import_keras()
    image = load_demo_image()
    batch = np.stack([image, image[::-1, ::-1]])
    rows = []
    for entry in list_models("constructor"):
        keras_preprocess = getattr(keras.applications, entry.module).preprocess_input
        # Keras writes into float input; hand it a copy.
        preprocessed = np.asarray(keras_preprocess(batch.astype("float32"), data_format="channels_last"))
        restored = restore_original_image_from_array(
            preprocessed, entry.name, data_format="channels_last", dtype="float32", clip=False
        )
        max_error = float(np.abs(restored - batch).max())
        exact = bool(
            np.array_equal(
                restore_original_image_from_array(preprocessed, entry.name, data_format="channels_last"),
                batch,
            )
        )
        rows.append((entry.name, entry.module, entry.mode, max_error, exact))

    print(
        f"keras-deprocess demo: a {image.shape[0]}x{image.shape[1]} photograph, batch of "
        f"{len(batch)}, through keras.applications' own preprocess_input (Keras {keras.__version__}, "
        f"backend {keras.backend.backend()})",
        file=out,
    )
    header = f"{'model':<18} {'module':<20} {'mode':<9} {'max |error| (float)':>20}  uint8 exact"
    print(header, file=out)
    print("-" * len(header), file=out)
    for name, module, mode, max_error, exact in rows:
        print(f"{name:<18} {module:<20} {mode:<9} {max_error:>20.3e}  {'yes' if exact else 'NO'}", file=out)
    failures = [row[0] for row in rows if not row[4]]
    if failures:
        print(f"FAILED: {len(failures)} of {len(rows)} models: {', '.join(failures)}", file=out)
        return 1
    print(f"OK: all {len(rows)} models restore the original uint8 image exactly.", file=out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keras-deprocess",
        description="Restore the original image from a keras.applications preprocessed array.",
        epilog="Exit codes: 0 success, 1 a check failed, 2 a usage or input error.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser(
        "demo",
        help="round-trip the shipped photo through every keras.applications model",
        description=(
            "Preprocess the shipped photograph with Keras's own preprocess_input for every "
            "keras.applications model, restore it, and print one row per model. "
            "Exits 1 if any uint8 round trip is not exact."
        ),
        epilog="Example: keras-deprocess demo",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            return run_demo()
    except DeprocessError as error:
        print(f"keras-deprocess: error: {error}", file=sys.stderr)
        return 2
    return 2  # pragma: no cover - argparse rejects unknown commands first


if __name__ == "__main__":
    sys.exit(main())
