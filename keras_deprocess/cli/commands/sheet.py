"""`keras-deprocess sheet`: a contact sheet of the first images, restored, in one picture or pages.

The sheet's size is known from the headers, so its pages are planned
before any data is read: past its format's pixel limit, the grid is split
into numbered pages of whole rows (`canvas.PagePlan`), and only a row too
wide for a page is refused. Each image is shrunk band by band, straight
into its cell (`canvas.Thumbnail`), and the pages are drawn one at a time
as the images stream, so neither a huge image, nor many images, nor many
pages are held whole. One page is written atomically; several are staged
and appear together, or not at all.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
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
    PagePlan,
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
from keras_deprocess.cli.io.atomic import Staging, write_atomically
from keras_deprocess.cli.io.images import IMAGE_FORMATS, WEBP_MAX_SIDE, WHOLE_IMAGE_MAX_PIXELS, write_image
from keras_deprocess.cli.library import (
    ArrayEntry,
    ArraySource,
    DeprocessError,
    PreprocessSpec,
    get_spec,
    naive_view,
    open_arrays,
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
        "pixels a side, into one picture (or numbered pages). With --compare, each cell shows the "
        "naive view (what plt.imshow shows for the preprocessed array: clipped to [0, 1], channels "
        "as stored) beside the restored image. A page is limited to 16.8 megapixels (4.2 as webp): "
        "a larger sheet is written as numbered pages of whole rows, -o sheet.png giving "
        "sheet-001.png, sheet-002.png, and so on (at least 3 digits).\n\n" + MEMORY_NOTE,
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
    parser.add_argument("--force", action="store_true", help="overwrite an existing sheet or pages")
    add_chunk(parser)
    parser.add_argument("--quiet", action="store_true", help="no summary")
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead")


def run(args: argparse.Namespace) -> int:
    spec = None if args.model.strip().lower() == AUTO else get_spec(args.model)
    data_format = resolve_data_format(args.data_format)
    budget = chunk_budget(args)
    output = Path(args.output)
    image_format = _sheet_format(output)
    with open_arrays(args.input, key=args.key, feature=args.feature) as source:
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
        limit = min(SHEET_MAX_PIXELS, WHOLE_IMAGE_MAX_PIXELS.get(image_format, SHEET_MAX_PIXELS))
        plan = PagePlan(
            cells,
            columns,
            2 if args.compare else 1,
            height,
            width,
            safe(caption),
            limit,
            WEBP_MAX_SIDE if image_format == "webp" else None,
        )
        if plan.count == 0:
            row_height, row_width = plan.row.shape
            raise DeprocessError(
                f"Expected one row of the sheet ({columns} cells of up to {height}x{width} pixels) "
                f"to fit a page of at most {limit / 1e6:.1f} megapixels"
                + (f" and {WEBP_MAX_SIDE} pixels a side" if image_format == "webp" else "")
                + f" as {image_format}. Received a row of {row_width}x{row_height} pixels. "
                "Pass a smaller --columns or --size."
            )
        outputs = _page_paths(output, plan.count)
        _check_outputs(output, outputs, force=args.force)
        with contextlib.ExitStack() as stack:
            # Several pages are staged in a hidden folder and appear together, or not at all.
            staging = (
                stack.enter_context(Staging(output.parent, force=args.force)) if plan.count > 1 else None
            )
            pages = _Pages(plan, outputs, image_format, staging, force=args.force)
            cell = 0
            for (entry, layout, take), factor in zip(chosen, factors, strict=True):
                _draw_thumbnails(
                    pages,
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
            pages.finish()
            if staging is not None:
                staging.commit(path.name for path in outputs)

    findings.warn()
    if args.json:
        summary = {"input": args.input, "model": args.model, "spec": spec.name, "images": cells}
        where = {"output": str(output), "pages": plan.count, "outputs": [str(path) for path in outputs]}
        print(json.dumps({**summary, **where, **findings.summary()}))
    if plan.count == 1:
        wrote = f"to {safe(output)}"
    else:
        wrote = f"on {plan.count} pages: {safe(outputs[0])} … {safe(outputs[-1])}"
    say(
        f"wrote a contact sheet of {cells} image(s) {wrote}" + findings.sentence(),
        quiet=args.quiet or args.json,
    )
    return EXIT_OK


def _page_paths(output: Path, count: int) -> list[Path]:
    """`output` itself for one page; else ``stem-001.ext``, …, numbered to at least 3 digits."""
    if count == 1:
        return [output]
    digits = max(3, len(str(count)))
    return [
        output.with_name(f"{output.stem}-{page:0{digits}d}{output.suffix}") for page in range(1, count + 1)
    ]


def _check_outputs(output: Path, outputs: list[Path], *, force: bool) -> None:
    """Refuse a page that is a folder, or that exists without --force: before any data is read."""
    existing = [path for path in outputs if os.path.lexists(path)]
    folders = [path for path in existing if path.is_dir()]
    if folders:
        raise DeprocessError(f"-o {safe(output)}: {safe(folders[0])} is a folder.")
    if not existing or force:
        return
    if len(outputs) == 1:
        raise DeprocessError(f"{safe(output)} exists; pass --force to overwrite it.")
    raise DeprocessError(
        f"-o {safe(output)}: the sheet needs {len(outputs)} pages, and {len(existing)} of them exist "
        f"(e.g. {safe(existing[0])}); pass --force to overwrite them."
    )


class _Pages:
    """The one page being drawn; a cell on a later page writes it and starts the next.

    The images stream in order, so the cells fill the pages in order and
    only one page's canvas is ever held.
    """

    def __init__(
        self, plan: PagePlan, outputs: list[Path], image_format: str, staging: Staging | None, *, force: bool
    ) -> None:
        self.plan, self.outputs, self.image_format = plan, outputs, image_format
        self.staging, self.force = staging, force
        self.page = -1
        self.canvas: Canvas | None = None
        self.sheet: np.ndarray | None = None

    def region(self, cell: int, part: int, height: int, width: int) -> np.ndarray:
        """Where part `part` of cell `cell` goes, on its page (started here if it is the next one)."""
        page, index = self.plan.locate(cell)
        self._turn_to(page)
        assert self.canvas is not None
        assert self.sheet is not None
        return self.canvas.region(self.sheet, index, part, height, width)

    def finish(self) -> None:
        """Write the last page (and any page no cell reached, so that every planned page exists)."""
        self._turn_to(self.plan.count - 1)
        self._write()

    def _turn_to(self, page: int) -> None:
        while page > self.page:
            self._write()
            self.page += 1
            self.canvas = self.plan.canvas(self.page)
            self.sheet = self.canvas.draw()

    def _write(self) -> None:
        if self.sheet is None:
            return
        sheet, self.sheet = self.sheet, None

        def write(f: IO[bytes]) -> None:
            write_image(f, sheet, self.image_format)

        if self.staging is None:
            write_atomically(self.outputs[self.page], write, force=self.force)
        else:
            with self.staging.open(self.outputs[self.page].name) as f:
                write(f)


def _sheet_format(output: Path) -> str:
    image_format = output.suffix.lower().lstrip(".").replace("jpeg", "jpg")
    if image_format not in IMAGE_FORMATS:
        raise DeprocessError(f"Expected -o to end in .png, .jpg or .webp. Received {safe(output)}.")
    folder = output.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise DeprocessError(f"-o {safe(output)}: the folder {safe(folder)} {what}; make it first.")
    if output.is_dir():
        raise DeprocessError(f"-o {safe(output)}: is a folder.")
    return image_format


def _draw_thumbnails(
    pages: _Pages,
    first_cell: int,
    source: ArraySource,
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
                    Thumbnail(layout.height, layout.width, factor, pages.region(cell, part, *size))
                    for part in range(len(batches))
                ]
            for thumbnail, batch in zip(pending, batches, strict=True):
                thumbnail.add(to_rgb(batch[i]), top)
