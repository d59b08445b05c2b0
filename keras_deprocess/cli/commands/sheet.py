"""`keras-deprocess sheet`: a contact sheet of the first images, restored, in one picture.

The sheet's size is known from the headers, so it is refused before any
data is read when it would pass its format's limit. Each image is shrunk
band by band, straight into its cell (`canvas.Thumbnail`), so neither a
huge image nor many images are held whole; the sheet is then written
atomically.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import IO

import numpy as np

from keras_deprocess.cli.arguments import (
    MEMORY_NOTE,
    add_check,
    add_chunk,
    add_command,
    add_input,
    add_model,
    examples,
    positive_int,
)
from keras_deprocess.cli.commands.canvas import (
    SHEET_MAX_PIXELS,
    Canvas,
    Thumbnail,
    shrink_factor,
    thumbnail_shape,
)
from keras_deprocess.cli.commands.common import (
    Layout,
    check_finite,
    check_fortran,
    chunk_budget,
    image_layout,
    to_channels_last,
)
from keras_deprocess.cli.commands.findings import AUTO, Findings, resolve_model
from keras_deprocess.cli.io.arrays import ArrayEntry, ArrayFile
from keras_deprocess.cli.io.atomic import write_atomically
from keras_deprocess.cli.io.images import IMAGE_FORMATS, WHOLE_IMAGE_MAX_PIXELS, write_image
from keras_deprocess.cli.library import (
    DeprocessError,
    PreprocessSpec,
    get_spec,
    naive_view,
    resolve_data_format,
    restore_original_image_from_array,
    to_rgb,
)
from keras_deprocess.cli.terminal import ArgumentParser, safe, say

__all__ = ["add_parser", "run"]

EXIT_OK = 0


def add_parser(subparsers: argparse._SubParsersAction[ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "sheet",
        help="a contact sheet (grid) of the restored images",
        description="Restore the first --limit images and tile them, as thumbnails of at most --size "
        "pixels a side, into one picture. With --compare, each cell shows the naive view (what "
        "plt.imshow shows for the preprocessed array: clipped to [0, 1], channels as stored) beside "
        "the restored image. The sheet is limited to 16.8 megapixels (4.2 as webp).\n\n" + MEMORY_NOTE,
        epilog=examples(
            "keras-deprocess sheet batch.npy --model VGG16 -o sheet.png",
            "keras-deprocess sheet batch.npy --model VGG16 -o compare.png --compare",
        ),
    )
    add_input(parser)
    add_model(parser)
    add_check(parser)
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the sheet's file: .png, .jpg or .webp"
    )
    parser.add_argument("--compare", action="store_true", help="show the naive view beside each image")
    parser.add_argument(
        "--limit", type=positive_int, default=64, metavar="N", help="at most this many images (default 64)"
    )
    parser.add_argument(
        "--columns", type=positive_int, metavar="N", help="grid columns (default: a square-ish grid)"
    )
    parser.add_argument(
        "--size",
        type=positive_int,
        default=256,
        metavar="PX",
        help="longest side of a thumbnail (default 256); larger images are shrunk by a whole "
        "factor, averaging each block of pixels",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing sheet")
    add_chunk(parser)
    parser.add_argument("--quiet", action="store_true", help="no summary")
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead")


def run(args: argparse.Namespace) -> int:
    spec = None if args.model.strip().lower() == AUTO else get_spec(args.model)
    data_format = resolve_data_format(args.data_format)
    budget = chunk_budget(args)
    output = Path(args.output)
    image_format = _sheet_format(output, force=args.force)
    with ArrayFile(args.input, key=args.key) as source:
        chosen: list[tuple[ArrayEntry, Layout, int]] = []
        remaining = args.limit
        for entry in source.entries:
            layout = image_layout(
                source,
                entry,
                data_format,
                3 if spec is None else spec.channels,
                "--model auto" if spec is None else f"the {spec.name!r} preprocessing",
            )
            if layout.channels not in (1, 3, 4):
                raise source.error(entry, f"has shape {entry.shape}: a sheet shows 1, 3 or 4 channels")
            take = min(remaining, entry.images)
            if take:
                check_fortran(source, entry, budget)
                chosen.append((entry, layout, take))
            remaining -= take
            if remaining == 0:
                break
        cells = sum(take for _, _, take in chosen)
        if cells == 0:
            raise source.error(None, "holds no images")
        if spec is None:
            spec = resolve_model(
                args, source, [e for e, _, _ in chosen], [lay for _, lay, _ in chosen], budget
            )
        findings = Findings(spec, data_format, args.model, check=args.check)
        factors = [shrink_factor(layout.height, layout.width, args.size) for _, layout, _ in chosen]
        sizes = [
            thumbnail_shape(layout.height, layout.width, f)
            for (_, layout, _), f in zip(chosen, factors, strict=True)
        ]
        height, width = max(h for h, _ in sizes), max(w for _, w in sizes)
        columns = min(args.columns or math.ceil(math.sqrt(cells)), cells)
        caption = f"left: naive imshow, right: restored with {args.model}" if args.compare else ""
        canvas = Canvas(cells, columns, 2 if args.compare else 1, height, width, safe(caption))
        limit = min(SHEET_MAX_PIXELS, WHOLE_IMAGE_MAX_PIXELS.get(image_format, SHEET_MAX_PIXELS))
        if canvas.pixels > limit:
            raise DeprocessError(
                f"a sheet of {cells} cells of up to {height}x{width} pixels would be "
                f"{canvas.shape[1]}x{canvas.shape[0]}, over the {limit / 1e6:.1f}-megapixel limit of a "
                f"{image_format} sheet; pass a smaller --limit or --size."
            )
        sheet = canvas.draw()
        cell = 0
        for (entry, layout, take), factor in zip(chosen, factors, strict=True):
            _draw_thumbnails(
                sheet,
                canvas,
                cell,
                source,
                entry,
                layout,
                take,
                factor,
                spec,
                data_format,
                budget,
                args,
                findings,
            )
            cell += take

    def write(f: IO[bytes]) -> None:
        write_image(f, sheet, image_format)

    write_atomically(output, write, force=args.force)
    findings.warn()
    if args.json:
        summary = {"input": args.input, "model": args.model, "spec": spec.name, "images": cells}
        print(json.dumps({**summary, "output": str(output), **findings.summary()}))
    say(
        f"wrote a contact sheet of {cells} image(s) to {safe(output)}" + findings.sentence(),
        quiet=args.quiet or args.json,
    )
    return EXIT_OK


def _sheet_format(output: Path, *, force: bool) -> str:
    image_format = output.suffix.lower().lstrip(".").replace("jpeg", "jpg")
    if image_format not in IMAGE_FORMATS:
        raise DeprocessError(f"Expected -o to end in .png, .jpg or .webp. Received {safe(output)}.")
    folder = output.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise DeprocessError(f"-o {safe(output)}: the folder {safe(folder)} {what}; make it first.")
    if output.is_dir():
        raise DeprocessError(f"-o {safe(output)}: is a folder.")
    if output.exists() and not force:
        raise DeprocessError(f"{safe(output)} exists; pass --force to overwrite it.")
    return image_format


def _draw_thumbnails(
    sheet: np.ndarray,
    canvas: Canvas,
    first_cell: int,
    source: ArrayFile,
    entry: ArrayEntry,
    layout: Layout,
    take: int,
    factor: int,
    spec: PreprocessSpec,
    data_format: str,
    budget: int,
    args: argparse.Namespace,
    findings: Findings,
) -> None:
    """The first `take` images of `entry`, shrunk into cells `first_cell`, … as they stream."""
    size = thumbnail_shape(layout.height, layout.width, factor)
    pending: list[Thumbnail] = []
    for piece in source.pieces(entry, budget, layout.row_axis, stop=take):
        check_finite(source, entry, piece, nothing_written=False)
        findings.add(source, entry, piece.data, layout)
        views = [restore_original_image_from_array(piece.data, spec, data_format=data_format, check=False)]
        if args.compare:
            views.insert(0, naive_view(piece.data))
        batches = [to_channels_last(v, layout) for v in views]
        top = piece.rows[0] if piece.rows else 0
        for i in range(len(batches[0])):
            if top == 0:
                cell = first_cell + piece.first + i
                pending = [
                    Thumbnail(layout.height, layout.width, factor, canvas.region(sheet, cell, part, *size))
                    for part in range(len(batches))
                ]
            for thumbnail, batch in zip(pending, batches, strict=True):
                thumbnail.add(to_rgb(batch[i]), top)
