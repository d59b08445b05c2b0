"""The `keras-deprocess` command line.

Exit codes: 0 success; 1 a failed check (the demo) or an unexpected error;
2 a usage or input error (bad arguments, unreadable or unsafe input, an
existing output without --force); 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from keras_deprocess.cli.arrayfiles import (
    DEFAULT_CHUNK_BYTES,
    IMAGE_FORMATS,
    ArrayEntry,
    ArrayFile,
    atomic_write_image,
    encode_image,
    output_path,
    safe_stem,
)
from keras_deprocess.discovery.detect import detect_mode
from keras_deprocess.errors import DeprocessError
from keras_deprocess.registry import get_spec, list_models
from keras_deprocess.restore import channel_axis, restore_original_image_from_array
from keras_deprocess.spec import PreprocessSpec

DEMO_IMAGE = "astronaut.png"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def load_demo_image() -> np.ndarray:
    """The shipped photograph as a (128, 128, 3) uint8 RGB array.

    Eileen Collins, NASA, public domain (via scikit-image's sample data).
    """
    from PIL import Image

    with resources.files("keras_deprocess").joinpath("data", DEMO_IMAGE).open("rb") as f:
        return np.asarray(Image.open(f).convert("RGB"))


def _say(args: argparse.Namespace, message: str) -> None:
    if not getattr(args, "quiet", False) and not getattr(args, "json", False):
        print(message)


# -- images ------------------------------------------------------------------


def _to_pil_layout(images: np.ndarray, data_format: str) -> np.ndarray:
    """(N, H, W, C) uint8 with 1, 3 or 4 channels, as PIL wants them."""
    if data_format == "channels_first":
        images = np.moveaxis(images, -3, -1)
    if images.shape[-1] == 1:
        images = images[..., 0]
    elif images.shape[-1] not in (3, 4):
        raise DeprocessError(f"Cannot write images with {images.shape[-1]} channels; expected 1, 3 or 4.")
    return np.asarray(images)


def naive_view(preprocessed: np.ndarray) -> np.ndarray:
    """What `plt.imshow` shows for a float RGB array: clipped to [0, 1], channels as stored."""
    clipped = np.clip(np.asarray(preprocessed, np.float64), 0.0, 1.0)
    return np.asarray(np.rint(clipped * 255), dtype=np.uint8)


def contact_sheet(rows: list[list[np.ndarray]], columns: int, caption: str = "") -> np.ndarray:
    """A grid of cells; each cell is a list of same-height images shown side by side."""
    gap, background = 4, 32
    cells = [np.concatenate(_pad_side_by_side(cell, gap, background), axis=1) for cell in rows]
    height = max(c.shape[0] for c in cells)
    width = max(c.shape[1] for c in cells)
    grid_rows = math.ceil(len(cells) / columns)
    top = 14 if caption else 0
    sheet = np.full(
        (top + grid_rows * (height + gap) + gap, columns * (width + gap) + gap, 3), background, np.uint8
    )
    for i, cell in enumerate(cells):
        r, c = divmod(i, columns)
        y, x = top + gap + r * (height + gap), gap + c * (width + gap)
        sheet[y : y + cell.shape[0], x : x + cell.shape[1]] = _rgb(cell)
    if caption:
        from PIL import Image, ImageDraw

        picture = Image.fromarray(sheet)
        ImageDraw.Draw(picture).text((gap, 2), caption, fill=(230, 230, 230))
        sheet = np.asarray(picture)
    return sheet


def _rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=-1)
    return image[..., :3]


def _pad_side_by_side(images: list[np.ndarray], gap: int, background: int) -> list[np.ndarray]:
    padded: list[np.ndarray] = []
    for image in images:
        if padded:
            padded.append(np.full((image.shape[0], gap, 3), background, np.uint8))
        padded.append(_rgb(image))
    return padded


# -- commands ----------------------------------------------------------------


def _spec(args: argparse.Namespace) -> PreprocessSpec:
    return get_spec(args.model)


def _resolve_format(args: argparse.Namespace) -> str:
    from keras_deprocess._config import resolve_data_format

    return resolve_data_format(args.data_format)


def _check_layout(entry: ArrayEntry, spec: PreprocessSpec, data_format: str, source: ArrayFile) -> None:
    """Validate rank and channels from the header, before anything is read or written."""
    try:
        channel_axis(entry.shape, spec, data_format)
    except DeprocessError as error:
        key = f" array {entry.key!r}:" if source.is_npz else ""
        raise DeprocessError(f"{source.name}:{key} {error}") from None


def command_restore(args: argparse.Namespace) -> int:
    spec = _spec(args)
    data_format = _resolve_format(args)
    source = ArrayFile(args.input, key=args.key)
    out_dir = Path(args.out) if args.out else Path(f"{Path(args.input).stem}_restored")
    plan: list[tuple[ArrayEntry, list[Path]]] = []
    for entry in source.entries:
        _check_layout(entry, spec, data_format, source)
        stem = safe_stem(entry.key) if source.is_npz else safe_stem(Path(args.input).stem)
        if len(entry.shape) == 3:
            paths = [output_path(out_dir, stem, None, 0, args.format)]
        else:
            width = len(str(max(entry.images - 1, 0)))
            paths = [output_path(out_dir, stem, i, width, args.format) for i in range(entry.images)]
        plan.append((entry, paths))
    all_paths = [p for _, paths in plan for p in paths]
    if not args.force:
        existing = [p for p in all_paths if p.exists()]
        if existing:
            raise DeprocessError(
                f"{len(existing)} output file(s) exist, e.g. {existing[0]}; pass --force to overwrite them."
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    start = time.perf_counter()
    chunk_bytes = int(args.chunk_mb * (1 << 20))
    with (
        tqdm(
            total=len(all_paths), unit="image", disable=True if args.quiet or args.json else None, leave=False
        ) as progress,
        _stop_between_images() as state,
    ):
        for entry, paths in plan:
            done = 0
            for chunk in source.chunks(entry, chunk_bytes):
                restored = restore_original_image_from_array(chunk, spec, data_format=data_format)
                batch = restored if len(entry.shape) == 4 else restored[None]
                for image in _to_pil_layout(batch, data_format):
                    atomic_write_image(paths[done], encode_image(image, args.format), force=args.force)
                    done += 1
                    progress.update(1)
                    if state["stop"]:
                        raise KeyboardInterrupt
    seconds = time.perf_counter() - start
    summary = {
        "input": args.input,
        "model": args.model,
        "spec": spec.name,
        "data_format": data_format,
        "arrays": len(plan),
        "images": len(all_paths),
        "out": str(out_dir),
        "format": args.format,
        "seconds": round(seconds, 3),
        "files": [str(p) for p in all_paths],
    }
    if args.json:
        print(json.dumps(summary))
    _say(
        args,
        f"restored {len(all_paths)} image(s) from {len(plan)} array(s) in {args.input} with "
        f"{args.model} ({spec.name}) to {out_dir}/ as {args.format} in {seconds:.2f} s",
    )
    return EXIT_OK


@contextlib.contextmanager
def _stop_between_images() -> Iterator[dict[str, bool]]:
    """Defer SIGINT and SIGTERM until the image being written is whole.

    Python can raise KeyboardInterrupt anywhere, even inside mkstemp after
    the temporary file exists but before its name is known, where no cleanup
    can reach it. The loop checks the flag between images instead. A second
    signal stops at once.
    """
    state = {"stop": False}

    def handler(signum: int, frame: Any) -> None:
        if state["stop"]:
            raise KeyboardInterrupt
        state["stop"] = True

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield state
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def _first_images(source: ArrayFile, limit: int) -> list[tuple[ArrayEntry, np.ndarray]]:
    """Up to `limit` images, from the arrays in order, as copies."""
    taken: list[tuple[ArrayEntry, np.ndarray]] = []
    remaining = limit
    for entry in source.entries:
        for chunk in source.chunks(entry, min(DEFAULT_CHUNK_BYTES, 8 << 20)):
            batch = chunk if len(entry.shape) == 4 else chunk[None]
            taken.append((entry, batch[:remaining].copy()))
            remaining -= len(taken[-1][1])
            if remaining <= 0:
                return taken
    return taken


def command_sheet(args: argparse.Namespace) -> int:
    spec = _spec(args)
    data_format = _resolve_format(args)
    source = ArrayFile(args.input, key=args.key)
    for entry in source.entries:
        _check_layout(entry, spec, data_format, source)
    output = Path(args.output)
    if output.exists() and not args.force:
        raise DeprocessError(f"{output} exists; pass --force to overwrite it.")
    cells: list[list[np.ndarray]] = []
    for _, batch in _first_images(source, args.limit):
        restored = _to_pil_layout(
            restore_original_image_from_array(batch, spec, data_format=data_format), data_format
        )
        naive = _to_pil_layout(naive_view(batch), data_format)
        for i in range(len(restored)):
            cells.append([naive[i], restored[i]] if args.compare else [restored[i]])
    if not cells:
        raise DeprocessError(f"{args.input}: holds no images.")
    columns = args.columns or math.ceil(math.sqrt(len(cells)))
    caption = f"left: naive imshow, right: restored with {args.model}" if args.compare else ""
    sheet = contact_sheet(cells, columns, caption)
    image_format = output.suffix.lower().lstrip(".").replace("jpeg", "jpg")
    if image_format not in IMAGE_FORMATS:
        raise DeprocessError(f"Expected -o to end in .png, .jpg or .webp. Received {output}.")
    atomic_write_image(output, encode_image(sheet, image_format), force=args.force)
    if args.json:
        print(json.dumps({"input": args.input, "images": len(cells), "output": str(output)}))
    _say(args, f"wrote a contact sheet of {len(cells)} image(s) to {output}")
    return EXIT_OK


def command_models(args: argparse.Namespace) -> int:
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
    print(f"{'name':<20} {'kind':<12} {'module':<20} {'mode':<9} spec")
    for e in rows:
        print(f"{e.name:<20} {e.kind:<12} {e.module or '-':<20} {e.mode:<9} {e.spec!r}")
    return EXIT_OK


def command_detect(args: argparse.Namespace) -> int:
    data_format = _resolve_format(args)
    source = ArrayFile(args.input, key=args.key)
    report = []
    for entry, batch in _first_images(source, args.limit):
        try:
            guesses = detect_mode(batch, data_format=data_format)
        except DeprocessError as error:
            raise DeprocessError(f"{source.name}: {error}") from None
        report.append((entry.key, guesses[: args.top]))
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "key": key,
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
                    for key, guesses in report
                ],
                indent=1,
            )
        )
        return EXIT_OK
    for key, guesses in report:
        if source.is_npz:
            print(f"[{key}]")
        print(f"{'mode':<10} {'confidence':>10} {'out of range':>13} {'quantization':>13}  same map as")
        for g in guesses:
            print(
                f"{g.name:<10} {g.confidence:>10.1%} {g.out_of_range:>13.2%} {g.quantization:>13.4f}  "
                f"{', '.join(g.aliases) or '-'}"
            )
    return EXIT_OK


DEMO_SHEET_MODELS = ("VGG16", "InceptionV3", "DenseNet121", "EfficientNetB0")


def run_demo(out: Any = sys.stdout, out_dir: str | None = None, force: bool = False) -> int:
    """Round-trip the shipped photo through Keras's own `preprocess_input` for every model.

    With `out_dir`, also writes `before_after.png`: per model, the naive view
    of its preprocessed input beside the restored image.

    Returns:
        0 when every model's uint8 round trip is exact, else 1.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    from keras_deprocess._config import import_keras

    keras = import_keras()
    image = load_demo_image()
    batch = np.stack([image, image[::-1, ::-1]])
    rows = []
    preprocessed_by_model = {}
    for entry in list_models("constructor"):
        keras_preprocess = getattr(keras.applications, entry.module).preprocess_input
        # Keras writes into float input; hand it a copy.
        preprocessed = np.asarray(keras_preprocess(batch.astype("float32"), data_format="channels_last"))
        preprocessed_by_model[entry.name] = preprocessed
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
    if out_dir is not None:
        cells = [
            [
                naive_view(preprocessed_by_model[name][0]),
                restore_original_image_from_array(
                    preprocessed_by_model[name][0], name, data_format="channels_last"
                ),
            ]
            for name in DEMO_SHEET_MODELS
        ]
        sheet = contact_sheet(
            cells, 2, "per model: naive imshow | restored (" + ", ".join(DEMO_SHEET_MODELS) + ")"
        )
        path = Path(out_dir) / "before_after.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_image(path, encode_image(sheet, "png"), force=force)
        print(f"wrote {path}", file=out)
    failures = [row[0] for row in rows if not row[4]]
    if failures:
        print(f"FAILED: {len(failures)} of {len(rows)} models: {', '.join(failures)}", file=out)
        return EXIT_FAILED
    print(f"OK: all {len(rows)} models restore the original uint8 image exactly.", file=out)
    return EXIT_OK


def command_demo(args: argparse.Namespace) -> int:
    return run_demo(out_dir=args.out, force=args.force)


# -- parser ------------------------------------------------------------------

EXIT_CODES = "Exit codes: 0 success, 1 failure, 2 usage or input error, 130 interrupted."
MEMORY_NOTE = (
    "Memory: arrays are streamed in chunks of whole images (--chunk-mb, default 64 MiB of "
    "input), never loaded whole; peak memory is about 3 chunks plus ~100 MB, whatever the file's size."
)


def _add_input(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help=".npy or .npz file of preprocessed images (float16/32/64, rank 3 or 4)")
    parser.add_argument("--key", help="in a .npz, use only this array")
    parser.add_argument(
        "--data-format",
        choices=["channels_last", "channels_first"],
        help="layout of the arrays (default: keras.config.image_data_format(), usually channels_last)",
    )


def _add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        help="a keras.applications model or module ('VGG16', 'resnet_v2'), a mode ('caffe', 'tf', "
        "'torch', 'identity') or a preset ('imagenet', 'clip', 'half', 'inception')",
    )


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="keras-deprocess",
        description="Restore the original images from keras.applications-preprocessed arrays.",
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    restore = commands.add_parser(
        "restore",
        help="write one image file per image of a .npy/.npz",
        description="Restore every image in a .npy or .npz file and write one image file each, named "
        "from the file name (npz: the key) and the index. Files are written atomically, and existing "
        "files are kept unless --force is given.\n\n" + MEMORY_NOTE,
        epilog="Examples:\n  keras-deprocess restore batch.npy --model VGG16 --out restored/\n"
        "  keras-deprocess restore dump.npz --model clip --key adversarial --format webp\n\n" + EXIT_CODES,
        formatter_class=formatter,
    )
    _add_input(restore)
    _add_model(restore)
    restore.add_argument("--out", help="output folder (default: INPUT-STEM_restored)")
    restore.add_argument(
        "--format", choices=IMAGE_FORMATS, default="png", help="png (default), jpg or webp (lossless)"
    )
    restore.add_argument("--force", action="store_true", help="overwrite existing files")
    restore.add_argument(
        "--chunk-mb",
        type=float,
        default=DEFAULT_CHUNK_BYTES >> 20,
        help="input read per chunk, MiB (default 64)",
    )
    restore.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    restore.add_argument("--json", action="store_true", help="print a JSON summary instead")
    restore.set_defaults(run=command_restore)

    sheet = commands.add_parser(
        "sheet",
        help="a contact sheet (grid) of the restored images",
        description="Restore the first --limit images and tile them into one picture. With "
        "--compare, each cell shows the naive view (what plt.imshow shows for the preprocessed "
        "array: clipped to [0, 1], channels as stored) beside the restored image.",
        epilog="Examples:\n  keras-deprocess sheet batch.npy --model VGG16 -o sheet.png\n"
        "  keras-deprocess sheet batch.npy --model VGG16 -o compare.png --compare\n\n" + EXIT_CODES,
        formatter_class=formatter,
    )
    _add_input(sheet)
    _add_model(sheet)
    sheet.add_argument("-o", "--output", required=True, help="the sheet's file: .png, .jpg or .webp")
    sheet.add_argument("--compare", action="store_true", help="show the naive view beside each image")
    sheet.add_argument("--limit", type=int, default=64, help="at most this many images (default 64)")
    sheet.add_argument("--columns", type=int, help="grid columns (default: a square-ish grid)")
    sheet.add_argument("--force", action="store_true", help="overwrite an existing sheet")
    sheet.add_argument("--quiet", action="store_true", help="no summary")
    sheet.add_argument("--json", action="store_true", help="print a JSON summary instead")
    sheet.set_defaults(run=command_sheet)

    models = commands.add_parser(
        "models",
        help="the registry table",
        description="Every keras.applications constructor and module, mode and preset, with its spec.",
        epilog="Examples:\n  keras-deprocess models\n  keras-deprocess models --kind preset --json\n\n"
        + EXIT_CODES,
        formatter_class=formatter,
    )
    models.add_argument("--kind", choices=["constructor", "module", "mode", "preset"], help="only these rows")
    models.add_argument("--json", action="store_true", help="JSON, with each spec's numbers")
    models.set_defaults(run=command_models)

    detect = commands.add_parser(
        "detect",
        help="which preprocessing produced an array, ranked with confidence",
        description="Rank the modes and presets by how well each explains the array (range, "
        "whole-number pixels, spread), from up to --limit images. Per npz key.",
        epilog="Examples:\n  keras-deprocess detect mystery.npy\n  keras-deprocess detect dump.npz --json\n\n"
        + EXIT_CODES,
        formatter_class=formatter,
    )
    _add_input(detect)
    detect.add_argument("--top", type=int, default=5, help="show this many candidates (default 5)")
    detect.add_argument("--limit", type=int, default=64, help="use at most this many images (default 64)")
    detect.add_argument("--json", action="store_true", help="JSON output")
    detect.set_defaults(run=command_detect)

    demo = commands.add_parser(
        "demo",
        help="round-trip the shipped photo through every keras.applications model",
        description="Preprocess the shipped photograph with Keras's own preprocess_input for every "
        "keras.applications model, restore it, and print one row per model. Exits 1 if any uint8 "
        "round trip is not exact. With --out, also writes before_after.png.",
        epilog="Examples:\n  keras-deprocess demo\n  keras-deprocess demo --out demo/\n\n" + EXIT_CODES,
        formatter_class=formatter,
    )
    demo.add_argument("--out", help="also write the before/after sheet here")
    demo.add_argument("--force", action="store_true", help="overwrite an existing sheet")
    demo.set_defaults(run=command_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except DeprocessError as error:
        print(f"keras-deprocess: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(
            "keras-deprocess: interrupted; files already written are whole, no partial file is left.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except OSError as error:
        print(f"keras-deprocess: error: {error}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
