"""`keras-deprocess demo`: the shipped photo through every keras.applications model and back.

The one command that imports a framework: it checks the restore against
Keras's own `preprocess_input`, so Keras is imported, quietly and with
Ctrl-C held until the import ends (`terminal.framework_import`). Its
functions stay importable as `keras_deprocess.cli.run_demo` and
`load_demo_image`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from keras_deprocess.cli.arguments import add_command, examples
from keras_deprocess.cli.commands.canvas import contact_sheet
from keras_deprocess.cli.io.atomic import WriteError, write_atomically
from keras_deprocess.cli.io.images import write_image
from keras_deprocess.cli.library import (
    DeprocessError,
    demo_image,
    import_keras,
    list_models,
    naive_view,
    restore_original_image_from_array,
)
from keras_deprocess.cli.terminal import ArgumentParser, framework_import, safe

__all__ = ["add_parser", "load_demo_image", "run", "run_demo"]

DEMO_SHEET_MODELS = ("VGG16", "InceptionV3", "DenseNet121", "EfficientNetB0")
EXIT_OK, EXIT_FAILED = 0, 1


def add_parser(subparsers: argparse._SubParsersAction[ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "demo",
        help="round-trip the shipped photo through every keras.applications model",
        description="Preprocess the shipped photograph with Keras's own preprocess_input for every "
        "keras.applications model, restore it, and print one row per model. Exits 1 if any uint8 "
        "round trip is not exact. With --out, also writes before_after.png.",
        epilog=examples("keras-deprocess demo", "keras-deprocess demo --out demo/"),
    )
    parser.add_argument(
        "--out", metavar="DIR", help="also write the before/after sheet, before_after.png, here"
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing before_after.png")


def run(args: argparse.Namespace) -> int:
    return run_demo(out_dir=args.out, force=args.force)


def load_demo_image() -> np.ndarray:
    """The shipped photograph: `keras_deprocess.images.demo_image`, under its older name."""
    return demo_image()


def run_demo(out: Any = sys.stdout, out_dir: str | None = None, force: bool = False) -> int:
    """Round-trip the shipped photo through Keras's own `preprocess_input` for every model.

    With `out_dir`, also writes `before_after.png`: per model, the naive view
    of its preprocessed input beside the restored image.

    Returns:
        0 when every model's uint8 round trip is exact, else 1.
    """
    path = _sheet_path(out_dir, force) if out_dir is not None else None
    with framework_import():
        keras = import_keras("The demo, which compares with keras.applications' own preprocess_input,")
    image = load_demo_image()
    batch = np.stack([image, image[::-1, ::-1]])
    rows = []
    preprocessed_by_model = {}
    for entry in list_models("constructor"):
        keras_preprocess = getattr(keras.applications, entry.module).preprocess_input
        # Keras writes into float input; hand it a copy.
        preprocessed = np.asarray(keras_preprocess(batch.astype("float32"), data_format="channels_last"))
        preprocessed_by_model[entry.name] = preprocessed
        max_error, exact = _round_trip(preprocessed, entry.name, batch)
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
    if path is not None:
        _write_before_after(path, preprocessed_by_model, force=force)
        print(f"wrote {safe(path)}", file=out)
    failures = [row[0] for row in rows if not row[4]]
    if failures:
        print(f"FAILED: {len(failures)} of {len(rows)} models: {', '.join(failures)}", file=out)
        return EXIT_FAILED
    print(f"OK: all {len(rows)} models restore the original uint8 image exactly.", file=out)
    return EXIT_OK


def _round_trip(preprocessed: np.ndarray, model: str, batch: np.ndarray) -> tuple[float, bool]:
    """(the largest float error, whether the uint8 restore is exact) of one model's round trip."""
    restored = restore_original_image_from_array(
        preprocessed, model, data_format="channels_last", dtype="float32", clip=False, check=False
    )
    max_error = float(np.abs(restored - batch).max())
    exact = bool(
        np.array_equal(
            restore_original_image_from_array(preprocessed, model, data_format="channels_last", check=False),
            batch,
        )
    )
    return max_error, exact


def _write_before_after(path: Path, preprocessed_by_model: dict[str, np.ndarray], *, force: bool) -> None:
    """Per model of `DEMO_SHEET_MODELS`, the naive view beside the restored image; its folder made here."""
    cells = [
        [
            naive_view(preprocessed_by_model[name][0]),
            restore_original_image_from_array(
                preprocessed_by_model[name][0], name, data_format="channels_last", check=False
            ),
        ]
        for name in DEMO_SHEET_MODELS
    ]
    sheet = contact_sheet(
        cells, 2, "per model: naive imshow | restored (" + ", ".join(DEMO_SHEET_MODELS) + ")"
    )

    def write(f: Any) -> None:
        write_image(f, sheet, "png")

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WriteError(f"--out {safe(path.parent)}: cannot be made ({error.strerror})") from None
    write_atomically(path, write, force=force)


def _sheet_path(out_dir: str, force: bool) -> Path:
    """`out_dir/before_after.png`, checked before the demo runs (its folder is made at the end)."""
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise DeprocessError(f"--out {safe(out_dir)}: is a file, not a folder")
    path = folder / "before_after.png"
    if path.exists() and not force:
        raise DeprocessError(f"{safe(path)} exists; pass --force to overwrite it.")
    return path
