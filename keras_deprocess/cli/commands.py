"""The data commands: restore, sheet, detect; and models.

Each reads the headers, checks everything it can (layout, channels,
formats, names, existing files) and plans its outputs before it reads any
data or writes anything.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from keras_deprocess._config import resolve_data_format
from keras_deprocess.cli.io.arrays import ArrayEntry, ArrayFile, Piece
from keras_deprocess.cli.io.atomic import Staging, write_atomically
from keras_deprocess.cli.io.images import (
    IMAGE_FORMATS,
    WHOLE_IMAGE_MAX_PIXELS,
    format_limit,
    image_sink,
    write_image,
)
from keras_deprocess.cli.io.planning import ArrayOutputs, existing_outputs, plan_outputs, safe_stem
from keras_deprocess.cli.io.sampling import sample
from keras_deprocess.cli.sheet import (
    SHEET_MAX_PIXELS,
    Canvas,
    Thumbnail,
    shrink_factor,
    thumbnail_shape,
    to_rgb,
)
from keras_deprocess.cli.terminal import safe, say
from keras_deprocess.colorization import merge_l_ab, out_of_gamut
from keras_deprocess.discovery.detect import detect_mode
from keras_deprocess.errors import DeprocessError, advise, shown
from keras_deprocess.images import naive_view
from keras_deprocess.registry import get_spec, list_models
from keras_deprocess.restore import restore_original_image_from_array
from keras_deprocess.spec import PreprocessSpec

__all__ = ["command_detect", "command_models", "command_restore", "command_sheet"]

EXIT_OK = 0
DETECT_SAMPLE_PIXELS = 1 << 18


@dataclass(frozen=True)
class Layout:
    """Where an image's axes are, for one array and data format."""

    channel_axis: int  # in one image: 2 for channels_last (H, W, C), 0 for channels_first (C, H, W)
    row_axis: int
    height: int
    width: int
    channels: int


def _layout(
    source: ArrayFile, entry: ArrayEntry, data_format: str, channels: int | None, why: str, lab: bool = False
) -> Layout:
    """The image layout, with the channel count checked (`channels` None: any)."""
    image = entry.image_shape
    last = data_format == "channels_last"
    layout = Layout(
        2 if last else 0,
        0 if last else 1,
        image[0 if last else 1],
        image[1 if last else 2],
        image[2 if last else 0],
    )
    if channels is None or layout.channels == channels:
        return layout
    first_axis = f"axis {1 if entry.batched else 0}"
    where, other_where = ("the last axis", first_axis) if last else (first_axis, "the last axis")
    message = (
        f"has shape {entry.shape}; {why} needs {channels} channels on {where} "
        f"({advise(data_format=data_format)})."
    )
    other = "channels_first" if last else "channels_last"
    if image[0 if last else 2] == channels:
        message += f" It has {channels} on {other_where}: pass {advise(data_format=other)}."
    elif lab and layout.channels in (1, 2):
        alone = "One channel is L alone" if layout.channels == 1 else "Two channels are ab alone"
        if source.is_npz:
            message += f" {alone}: pass --l-key and --ab-key to merge L with its ab."
        else:
            message += (
                f" {alone}: save L and ab in one .npz (numpy.savez('pred.npz', L=L, ab=ab)) and pass "
                "--l-key L --ab-key ab to merge them."
            )
    raise source.error(entry, message)


def _budget(args: argparse.Namespace) -> int:
    return max(1, int(args.chunk_mb * (1 << 20)))


def _check_fortran(source: ArrayFile, entry: ArrayEntry, budget: int) -> None:
    if entry.fortran_order and entry.nbytes > budget:
        raise source.error(
            entry,
            f"is stored in Fortran order, which is not contiguous per image, so it is read whole; its "
            f"{_mib(entry.nbytes)} exceed --chunk-mb {_mib(budget, unit=False)}. Pass a larger --chunk-mb "
            "if you trust the file, or save it in C order (numpy.ascontiguousarray).",
        )


def _mib(count: int, unit: bool = True) -> str:
    text = f"{count / 2**20:.4g}"
    return f"{text} MiB" if unit else text


def _check_finite(source: ArrayFile, entry: ArrayEntry, piece: Piece, nothing_written: bool = True) -> None:
    """Refuse NaN and ±Inf, naming the image; cheap for finite data (one float64 sum)."""
    data = piece.data
    with np.errstate(all="ignore"):
        total = float(data.sum(dtype=np.float64))
    if math.isfinite(total):
        return
    finite = np.isfinite(data).reshape(len(data), -1)
    bad_images = np.flatnonzero(~finite.all(axis=1))
    if len(bad_images) == 0:
        return  # finite values whose sum overflowed
    i = int(bad_images[0])
    values = data[i]
    nan = int(np.isnan(values).sum())
    positive = int(np.isposinf(values).sum())
    negative = int(np.isneginf(values).sum())
    counts = ", ".join(
        f"{n} {what}" for n, what in ((nan, "NaN"), (positive, "+Inf"), (negative, "-Inf")) if n
    )
    rows = f" (in rows {piece.rows[0]}-{piece.rows[1] - 1})" if piece.rows else ""
    written = " Nothing was written." if nothing_written else ""
    raise source.error(
        entry,
        f"holds {counts} values{rows}; a uint8 image has no value for them.{written} Replace them "
        "before saving the array (e.g. with numpy.nan_to_num).",
        image=piece.first + i,
    )


def _to_channels_last(images: np.ndarray, layout: Layout) -> np.ndarray:
    """(N, C, H, W) → (N, H, W, C) as a view; (N, H, W, C) as is."""
    return images if layout.channel_axis == 2 else np.moveaxis(images, 1, -1)


def _describe(entries: list[ArrayEntry]) -> Any:
    return lambda i: f"array {shown(entries[i].key)}"


# -- restore ---------------------------------------------------------------------


class GamutTally:
    """Pixels restored, and those clipped: outside sRGB for a Lab spec, outside [0, 255] for RGB.

    Values beyond [0, 255] from an RGB spec mean a wrong spec or an optimized
    image that drifted; either way the user hears of it. The RGB count
    compares the preprocessed values with per-channel bounds, two comparisons
    a value, so it costs little beside the restore.
    """

    def __init__(self, spec: PreprocessSpec, data_format: str) -> None:
        self.spec, self.data_format = spec, data_format
        self.lab = not spec.is_affine
        self.outside = self.pixels = 0
        self._bounds = None if self.lab else _preprocessed_bounds(spec)

    def add(self, preprocessed: np.ndarray) -> None:
        if self.lab:
            report = out_of_gamut(preprocessed, self.spec, data_format=self.data_format)
            self.outside += report.count
            self.pixels += report.pixels
            return
        assert self._bounds is not None
        axis = -1 if self.data_format == "channels_last" else 1
        shape = [1] * preprocessed.ndim
        shape[axis] = preprocessed.shape[axis]
        low, high = (np.broadcast_to(b, (shape[axis],)).reshape(shape) for b in self._bounds)
        outside = ((preprocessed < low) | (preprocessed > high)).any(axis=axis)
        self.outside += int(np.count_nonzero(outside))
        self.pixels += outside.size

    def sentence(self) -> str:
        if self.lab:
            return f"; {self.outside} of {self.pixels} pixels were outside the sRGB gamut and were clipped"
        if self.outside:
            return (
                f"; {self.outside} of {self.pixels} pixels had values outside [0, 255] and were clipped "
                "(is --model right?)"
            )
        return ""

    def summary(self) -> dict[str, int]:
        return {("out_of_gamut" if self.lab else "clipped"): self.outside, "pixels": self.pixels}


def _preprocessed_bounds(spec: PreprocessSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per stored channel, the preprocessed values that restore to -0.5 and 255.5."""
    source, multiplier, offset = spec.inverse_affine()
    channels = max(len(multiplier), len(source or ()))
    multiplier_ = np.broadcast_to(np.asarray(multiplier, np.float64), (channels,))
    offset_ = np.broadcast_to(np.asarray(offset, np.float64), (channels,))
    low, high = np.empty(channels), np.empty(channels)
    for restored_channel in range(channels):
        stored = source[restored_channel] if source is not None else restored_channel
        ends = (np.array([-0.5, 255.5]) - offset_[restored_channel]) / multiplier_[restored_channel]
        low[stored], high[stored] = ends.min(), ends.max()
    return low, high


def command_restore(args: argparse.Namespace) -> int:
    spec = get_spec(args.model)
    data_format = resolve_data_format(args.data_format)
    budget = _budget(args)
    out_dir = Path(args.out) if args.out else Path(f"{Path(args.input).stem}_restored")
    gamut = GamutTally(spec, data_format)
    merging = args.l_key is not None or args.ab_key is not None
    if merging:
        _check_merge_flags(args, spec)
    with ArrayFile(args.input, key=None if merging else args.key) as source:
        if merging:
            entries, l_ab = _merge_entries(source, args, data_format, budget)
        else:
            entries = source.entries
        layouts = []
        for entry in entries:
            wanted = 1 if merging else spec.channels
            layout = _layout(source, entry, data_format, wanted, _why(spec, merging), lab=not spec.is_affine)
            problem = format_limit(
                args.format, layout.height, layout.width, 3 if merging else layout.channels
            )
            if problem is not None:
                raise source.error(entry, f"has shape {entry.shape}: {problem}")
            _check_fortran(source, entry, budget)
            layouts.append(layout)
        plans = plan_outputs(
            ((safe_stem(e.key), e.position, e.images, e.batched) for e in entries),
            args.naming,
            args.format,
            _describe(entries),
            source.name,
        )
        _check_out_dir(out_dir, plans, force=args.force)
        total = sum(plan.images for plan in plans)
        start = time.perf_counter()
        if total:  # no images, no folder
            with Staging(out_dir, force=args.force) as staging, _progress(args, total) as progress:
                run = _Run(source, spec, data_format, budget, staging, progress, gamut)
                for entry, layout, plan in zip(entries, layouts, plans, strict=True):
                    staging.make_folder(plan.folder)
                    if merging:
                        _restore_merged(run, l_ab, layout, plan)
                        continue
                    _restore_array(run, entry, layout, plan)
                staging.commit(name for plan in plans for name in plan.names())
        seconds = time.perf_counter() - start
    if args.json:
        _print_restore_json(args, spec, data_format, out_dir, plans, total, seconds, gamut)
    say(
        f"restored {total} image(s) from {len(plans)} array(s) in {safe(args.input)} with "
        f"{safe(args.model)} ({spec.name}) to {safe(out_dir)}/ as {args.format} in {seconds:.2f} s"
        + gamut.sentence(),
        quiet=args.quiet or args.json,
    )
    return EXIT_OK


def _why(spec: PreprocessSpec, merging: bool) -> str:
    return "--l-key" if merging else f"the {spec.name!r} preprocessing"


def _check_merge_flags(args: argparse.Namespace, spec: PreprocessSpec) -> None:
    if args.l_key is None or args.ab_key is None:
        given, missing = ("--l-key", "--ab-key") if args.ab_key is None else ("--ab-key", "--l-key")
        raise DeprocessError(f"{given} needs {missing} too: the L array and the ab array, from one .npz.")
    if args.key is not None:
        raise DeprocessError("--key does not go with --l-key and --ab-key; drop --key.")
    if spec.is_affine:
        raise DeprocessError(
            f"--l-key and --ab-key need a Lab --model such as colorization, colorization-caffe or lab. "
            f"Received --model {safe(args.model)}, an RGB preprocessing."
        )


def _merge_entries(
    source: ArrayFile, args: argparse.Namespace, data_format: str, budget: int
) -> tuple[list[ArrayEntry], tuple[ArrayEntry, ArrayEntry, Layout]]:
    """The L entry (what gets written) and (L, ab, ab's layout), checked against each other."""
    if not source.is_npz:
        raise source.error(None, "is a .npy file; --l-key and --ab-key read two arrays of one .npz.")
    by_key = {entry.key: entry for entry in source.entries}
    for flag, key in (("--l-key", args.l_key), ("--ab-key", args.ab_key)):
        if key not in by_key:
            raise source.error(None, f"has no array named {shown(key)} for {flag}")
    l_entry, ab_entry = by_key[args.l_key], by_key[args.ab_key]
    ab_layout = _layout(source, ab_entry, data_format, 2, "--ab-key")
    if (l_entry.images, l_entry.batched) != (ab_entry.images, ab_entry.batched):
        raise source.error(
            ab_entry,
            f"has shape {ab_entry.shape}, and the L array {shown(l_entry.key)} {l_entry.shape}: expected one "
            "ab map per L image.",
        )
    merged_bytes = l_entry.image_bytes * 3 * 8 // l_entry.dtype.itemsize
    if max(merged_bytes, ab_entry.image_bytes) > budget:
        raise source.error(
            l_entry,
            f"has images of {_mib(merged_bytes)} once merged with ab, over --chunk-mb "
            f"{_mib(budget, unit=False)}; pass a larger --chunk-mb.",
        )
    _check_fortran(source, ab_entry, budget)
    return [l_entry], (l_entry, ab_entry, ab_layout)


@dataclass
class _Run:
    """What every array of one `restore` run shares: where from, how, and where to."""

    source: ArrayFile
    spec: PreprocessSpec
    data_format: str
    budget: int
    staging: Staging
    progress: Any
    gamut: GamutTally

    def restore(self, preprocessed: np.ndarray, layout: Layout) -> np.ndarray:
        """Counted for the summary, restored, and channels last."""
        self.gamut.add(preprocessed)
        restored = restore_original_image_from_array(preprocessed, self.spec, data_format=self.data_format)
        return _to_channels_last(restored, layout)

    def write_whole(self, plan: ArrayOutputs, first: int, images: np.ndarray) -> None:
        for i, image in enumerate(images):
            with self.staging.open(plan.name(first + i)) as f:
                write_image(f, image, plan.ext)
            self.progress.update(1)


def _restore_merged(
    run: _Run, l_ab: tuple[ArrayEntry, ArrayEntry, Layout], layout: Layout, plan: ArrayOutputs
) -> None:
    """L and ab read side by side, ab upsampled to L (`merge_l_ab`), then restored as one Lab image."""
    source, budget = run.source, run.budget
    l_entry, ab_entry, ab_layout = l_ab
    # Whole images only (checked against the budget when planned), a quarter of the budget each.
    ab_pieces = source.pieces(ab_entry, max(ab_entry.image_bytes, budget // 4), ab_layout.row_axis)
    waiting: list[np.ndarray] = []
    for piece in source.pieces(l_entry, max(l_entry.image_bytes, budget // 4), layout.row_axis):
        _check_finite(source, l_entry, piece)
        count = len(piece.data)
        while sum(len(a) for a in waiting) < count:
            ab_piece = next(ab_pieces)
            _check_finite(source, ab_entry, ab_piece)
            waiting.append(ab_piece.data.copy())
        ab = np.concatenate(waiting) if len(waiting) > 1 else waiting[0]
        waiting = [ab[count:]] if len(ab) > count else []
        merged = merge_l_ab(piece.data, ab[:count], data_format=run.data_format)
        run.write_whole(plan, piece.first, run.restore(merged, layout))


def _check_out_dir(out_dir: Path, plans: list[ArrayOutputs], *, force: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise DeprocessError(f"--out {safe(out_dir)}: is a file, not a folder; pick another --out.")
    for folder in sorted({plan.folder for plan in plans if plan.folder}):
        path = out_dir / folder
        if path.exists() and not path.is_dir():
            raise DeprocessError(f"{safe(path)}: is a file, where --naming folders needs a folder.")
    count, example, blocking = existing_outputs(out_dir, plans)
    if count and not force:
        raise DeprocessError(
            f"{count} output file(s) exist, e.g. {safe(example)}; pass --force to overwrite them."
        )
    if blocking is not None:
        raise DeprocessError(
            f"{safe(blocking)}: is a folder where an image would go; --force replaces only files."
        )


def _restore_array(run: _Run, entry: ArrayEntry, layout: Layout, plan: ArrayOutputs) -> None:
    with contextlib.ExitStack() as open_image:
        sink: Any = None
        for piece in run.source.pieces(entry, run.budget, layout.row_axis):
            _check_finite(run.source, entry, piece)
            images = run.restore(piece.data, layout)
            if piece.rows is None:
                run.write_whole(plan, piece.first, images)
                continue
            top, bottom = piece.rows
            if top == 0:
                f = open_image.enter_context(run.staging.open(plan.name(piece.first)))
                sink = image_sink(f, layout.height, layout.width, layout.channels, plan.ext)
            sink.write(images[0])
            if bottom == layout.height:
                sink.close()
                open_image.close()
                run.progress.update(1)


@contextlib.contextmanager
def _progress(args: argparse.Namespace, total: int) -> Iterator[Any]:
    from tqdm import tqdm

    with tqdm(
        total=total, unit="image", disable=True if args.quiet or args.json else None, leave=False
    ) as bar:
        yield bar


def _print_restore_json(
    args: argparse.Namespace,
    spec: PreprocessSpec,
    data_format: str,
    out_dir: Path,
    plans: list[ArrayOutputs],
    total: int,
    seconds: float,
    gamut: GamutTally,
) -> None:
    """The summary, with every file's path streamed out (no list of them in memory)."""
    summary = {
        "input": args.input,
        "model": args.model,
        "spec": spec.name,
        "data_format": data_format,
        "arrays": len(plans),
        "images": total,
        "out": str(out_dir),
        "format": args.format,
        "naming": args.naming,
        "seconds": round(seconds, 3),
    }
    summary.update(gamut.summary())
    head = json.dumps(summary)
    print(head[:-1] + ', "files": [', end="")
    separator = ""
    for plan in plans:
        for name in plan.names():
            print(separator + json.dumps(str(out_dir / name)), end="")
            separator = ", "
    print("]}")


# -- sheet -----------------------------------------------------------------------


def command_sheet(args: argparse.Namespace) -> int:
    spec = get_spec(args.model)
    data_format = resolve_data_format(args.data_format)
    budget = _budget(args)
    output = Path(args.output)
    image_format = _sheet_format(output, force=args.force)
    with ArrayFile(args.input, key=args.key) as source:
        chosen: list[tuple[ArrayEntry, Layout, int]] = []
        remaining = args.limit
        for entry in source.entries:
            layout = _layout(source, entry, data_format, spec.channels, f"the {spec.name!r} preprocessing")
            if layout.channels not in (1, 3, 4):
                raise source.error(entry, f"has shape {entry.shape}: a sheet shows 1, 3 or 4 channels")
            take = min(remaining, entry.images)
            if take:
                _check_fortran(source, entry, budget)
                chosen.append((entry, layout, take))
            remaining -= take
            if remaining == 0:
                break
        cells = sum(take for _, _, take in chosen)
        if cells == 0:
            raise source.error(None, "holds no images")
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
                sheet, canvas, cell, source, entry, layout, take, factor, spec, data_format, budget, args
            )
            cell += take

    def write(f: IO[bytes]) -> None:
        write_image(f, sheet, image_format)

    write_atomically(output, write, force=args.force)
    if args.json:
        print(json.dumps({"input": args.input, "images": cells, "output": str(output)}))
    say(f"wrote a contact sheet of {cells} image(s) to {safe(output)}", quiet=args.quiet or args.json)
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
) -> None:
    """The first `take` images of `entry`, shrunk into cells `first_cell`, … as they stream."""
    size = thumbnail_shape(layout.height, layout.width, factor)
    pending: list[Thumbnail] = []
    for piece in source.pieces(entry, budget, layout.row_axis, stop=take):
        _check_finite(source, entry, piece, nothing_written=False)
        views = [restore_original_image_from_array(piece.data, spec, data_format=data_format)]
        if args.compare:
            views.insert(0, naive_view(piece.data))
        batches = [_to_channels_last(v, layout) for v in views]
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


# -- models ----------------------------------------------------------------------


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
    table = [("name", "kind", "module", "mode", "spec")]
    table += [(e.name, e.kind, e.module or "-", e.mode, repr(e.spec)) for e in rows]
    widths = [max(len(row[column]) for row in table) for column in range(4)]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4])
    return EXIT_OK


# -- detect ----------------------------------------------------------------------


def command_detect(args: argparse.Namespace) -> int:
    data_format = resolve_data_format(args.data_format)
    budget = _budget(args)
    with ArrayFile(args.input, key=args.key) as source:
        layouts = [_layout(source, e, data_format, 3, "detect") for e in source.entries]
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
