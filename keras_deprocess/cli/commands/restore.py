"""`keras-deprocess restore`: one image file per image of a .npy/.npz, all or nothing.

Everything that can be checked from the headers is checked first (layout,
channels, each format's limits, Fortran order against the budget), and every
output name is planned and checked against the disk, before any data is read
or any file is written. The images then stream through the budget, are
restored, and encoded on a pool of threads (--jobs, every core by default)
into a staging folder that is synced once and moved into place only when
all are written. With --l-key and --ab-key, L and its ab are read side by
side and merged into Lab first. With --manifest, a JSON Lines file maps each
image written to where it came from, the spec, and what was found.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from keras_deprocess.cli.commands.common import (
    Layout,
    check_finite,
    check_fortran,
    chunk_budget,
    image_layout,
    mib,
    to_channels_last,
)
from keras_deprocess.cli.commands.findings import AUTO, Findings, resolve_model
from keras_deprocess.cli.commands.original import Placement, add_original_size
from keras_deprocess.cli.io.atomic import Staging
from keras_deprocess.cli.io.export import EncoderPool, default_jobs
from keras_deprocess.cli.io.images import IMAGE_FORMATS, format_limit, image_sink, write_image
from keras_deprocess.cli.io.manifest import Manifest
from keras_deprocess.cli.library import (
    MANIFEST_NAME,
    NAMINGS,
    ArrayEntry,
    ArrayOutputs,
    ArraySource,
    DeprocessError,
    PreprocessSpec,
    existing_outputs,
    get_spec,
    host_engine,
    merge_l_ab,
    open_arrays,
    plan_outputs,
    resolve_data_format,
    restore_original_image_from_array,
    safe_stem,
    shown,
)
from keras_deprocess.cli.terminal import ArgumentParser, safe, say

__all__ = ["add_parser", "run"]

EXIT_OK = 0
DEFAULT_MAX_FILES = 1_000_000
# Whole images are read and restored a few MiB at a time, however large --chunk-mb: the encoder
# threads start sooner and never wait long for the next piece, and memory stays small (1,024
# images of 224 x 224: 196 MiB peak, against 323 MiB in 64 MiB pieces, at the same speed).
PIECE_BYTES = 8 << 20


def add_parser(subparsers: argparse._SubParsersAction[ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "restore",
        help="write one image file per image of a .npy, .npz, .pt, .safetensors, TFRecord or .tar",
        description="Restore every image in a file of preprocessed batches (.npy, .npz, .pt/.pth, "
        ".safetensors, TFRecord, webdataset .tar), a folder of them or a glob, and write one "
        "image file each, named from the file name (or the array's key) and the index, e.g. "
        "batch_07.png. All names are planned before anything is written: two arrays that would "
        "write the same file are an error (see --naming). A run is all or nothing: images are "
        "written into a hidden folder and moved into place only when every image is restored, so "
        "an error (NaN in an image, a damaged file) or an interruption leaves no image behind. "
        "Existing files are kept unless --force is given.\n\n" + MEMORY_NOTE,
        epilog=examples(
            "keras-deprocess restore batch.npy --model VGG16 --out restored/",
            "keras-deprocess restore batch.pt --model imagenet --data-format channels_first",
            "keras-deprocess restore 'shards/*.tar' --model clip --manifest --out audit/",
            "keras-deprocess restore dump.npz --model clip --key adversarial --format webp",
            "keras-deprocess restore dump.npz --model tf --naming folders",
            "keras-deprocess restore batch.npy --original-size 300x420 --geometry resize=256,crop=224 --mask",
        ),
    )
    add_input(parser)
    add_model(parser)
    add_check(parser)
    parser.add_argument("--out", metavar="DIR", help="output folder (default: INPUT-STEM_restored)")
    parser.add_argument(
        "--format",
        type=image_format,
        choices=IMAGE_FORMATS,
        default="png",
        metavar="FORMAT",
        help="png (default, any size: images over --chunk-mb are streamed by rows), jpg (at most "
        "16.8 megapixels an image) "
        "or webp (lossless, at most 4.2 megapixels)",
    )
    parser.add_argument(
        "--naming",
        choices=NAMINGS,
        default="flat",
        metavar="NAMING",
        help="flat (default): KEY_INDEX.png; folders: KEY/INDEX.png, one sub-folder per array; "
        "numbered: POSITION-KEY_INDEX.png, which separates any two arrays",
    )
    parser.add_argument(
        "--l-key",
        metavar="KEY",
        help="in a .npz, the array of L (1 channel); with --ab-key, for a Lab --model such as colorization",
    )
    parser.add_argument(
        "--ab-key",
        metavar="KEY",
        help="in a .npz, the array of ab (2 channels, any resolution): upsampled bilinearly to L's size, "
        "put behind L, and restored",
    )
    add_original_size(parser)
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.add_argument(
        "--jobs",
        type=positive_int,
        metavar="N",
        help="threads encoding images (default: every core); images are written in the same files whatever N",
    )
    parser.add_argument(
        "--manifest",
        action="store_true",
        help=f"also write {MANIFEST_NAME} in --out: one JSON line per image written, with its source "
        "file, key and index, the spec, its clipped pixels and the spec check's finding",
    )
    parser.add_argument(
        "--max-files",
        type=positive_int,
        default=DEFAULT_MAX_FILES,
        metavar="N",
        help=f"refuse, before reading any data, a run that would write more than N files "
        f"(default {DEFAULT_MAX_FILES:,}); masks count too",
    )
    add_chunk(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead")


def image_format(text: str) -> str:
    """'PNG', 'jpeg', 'JPG' are read as png and jpg; argparse's choices then check the rest."""
    name = text.strip().lower()
    return "jpg" if name == "jpeg" else name


def _describe(entries: list[ArrayEntry]) -> Any:
    return lambda i: f"array {shown(entries[i].key)}"


def run(args: argparse.Namespace) -> int:
    auto = args.model.strip().lower() == AUTO
    spec = None if auto else get_spec(args.model)
    data_format = resolve_data_format(args.data_format)
    budget = chunk_budget(args)
    out_dir = Path(args.out) if args.out else default_out(args.input)
    merging = args.l_key is not None or args.ab_key is not None
    placing = Placement.from_args(args)
    if merging:
        _check_merge_flags(args, spec)
    with open_arrays(args.input, key=None if merging else args.key, feature=args.feature) as source:
        if merging:
            entries, l_ab = _merge_entries(source, args, data_format, budget)
        else:
            entries = source.entries
        layouts = []
        for entry in entries:
            wanted = 1 if merging else (3 if spec is None else spec.channels)
            layout = image_layout(
                source,
                entry,
                data_format,
                wanted,
                "--model auto" if spec is None else _why(spec, merging),
                lab=spec is not None and not spec.is_affine,
            )
            problem = format_limit(
                args.format,
                *placing.output_size(layout),
                3 if merging or placing.geometry else layout.channels,
            )
            if problem is not None:
                raise source.error(entry, f"has shape {entry.shape}: {problem}")
            check_fortran(source, entry, budget)
            placing.check(source, entry, layout, budget)
            layouts.append(layout)
        plans = plan_outputs(
            ((safe_stem(e.key), e.position, e.images, e.batched) for e in entries),
            args.naming,
            args.format,
            _describe(entries),
            source.name,
        )
        total = sum(plan.images for plan in plans)
        _check_file_count(
            source.name, total * (2 if placing.mask else 1) + args.manifest, args.max_files, len(plans)
        )
        _check_out_dir(out_dir, plans, force=args.force)
        placing.check_outputs(out_dir, plans, force=args.force)
        if args.manifest and total:
            Manifest.check_target(out_dir, force=args.force)
        if spec is None:
            spec = resolve_model(args, source, entries, layouts, budget)
        findings = Findings(spec, data_format, args.model, check=args.check)
        jobs = args.jobs or default_jobs()
        start = time.perf_counter()
        if total:  # no images, no folder
            with contextlib.ExitStack() as stack:
                staging = stack.enter_context(Staging(out_dir, force=args.force))
                progress = stack.enter_context(_progress(args, total))
                manifest = stack.enter_context(Manifest(staging, spec.name)) if args.manifest else None
                waiting = min(budget, 2 * PIECE_BYTES)  # images queued for the encoders, at most
                pool = stack.enter_context(EncoderPool(jobs, functools.partial(progress.update, 1), waiting))
                if jobs > 1:  # the encoders hold every core: a host engine that starts no threads of its own
                    stack.enter_context(host_engine("blocked"))
                job = _Run(
                    source, spec, data_format, budget, staging, progress, findings, placing, pool, manifest
                )
                for entry, layout, plan in zip(entries, layouts, plans, strict=True):
                    staging.make_folder(plan.folder)
                    if merging:
                        _restore_merged(job, l_ab, layout, plan)
                        continue
                    _restore_array(job, entry, layout, plan)
                pool.finish()
                names = placing.names(plans)
                if manifest is not None:
                    manifest.close()
                    names = itertools.chain(names, [MANIFEST_NAME])
                staging.commit(names)
        seconds = time.perf_counter() - start
    findings.warn()
    if args.json:
        _print_restore_json(args, spec, data_format, out_dir, plans, total, seconds, findings, placing)
    say(
        f"restored {total} image(s) from {len(plans)} array(s) in {safe(args.input)} with "
        f"{safe(args.model)} ({spec.name}) to {safe(out_dir)}/ as {args.format} in {seconds:.2f} s"
        + findings.sentence(),
        quiet=args.quiet or args.json,
    )
    return EXIT_OK


def default_out(text: str) -> Path:
    """INPUT-STEM_restored in the current folder; a folder's name for a folder; 'restored' for a glob."""
    stem = Path(text).stem if not Path(text).is_dir() else Path(text).resolve().name
    if not stem or set("*?[") & set(stem):
        return Path("restored")
    return Path(f"{stem}_restored")


def _check_file_count(source_name: str, files: int, cap: int, arrays: int) -> None:
    if files > cap:
        one = " (or --key, to restore one array)" if arrays > 1 else ""
        raise DeprocessError(
            f"{source_name}: would write {files:,} files, more than --max-files {cap:,}; "
            f"pass --max-files {files}{one} if you mean it."
        )


def _why(spec: PreprocessSpec, merging: bool) -> str:
    return "--l-key" if merging else f"the {spec.name!r} preprocessing"


def _check_merge_flags(args: argparse.Namespace, spec: PreprocessSpec | None) -> None:
    if args.l_key is None or args.ab_key is None:
        given, missing = ("--l-key", "--ab-key") if args.ab_key is None else ("--ab-key", "--l-key")
        raise DeprocessError(f"{given} needs {missing} too: the L array and the ab array, from one .npz.")
    if args.key is not None:
        raise DeprocessError("--key does not go with --l-key and --ab-key; drop --key.")
    if spec is None or spec.is_affine:
        raise DeprocessError(
            f"--l-key and --ab-key need a Lab --model such as colorization, colorization-caffe or lab. "
            f"Received --model {safe(args.model)}, an RGB preprocessing."
        )


def _merge_entries(
    source: ArraySource, args: argparse.Namespace, data_format: str, budget: int
) -> tuple[list[ArrayEntry], tuple[ArrayEntry, ArrayEntry, Layout]]:
    """The L entry (what gets written) and (L, ab, ab's layout), checked against each other."""
    if not source.is_npz:
        raise source.error(None, "is a .npy file; --l-key and --ab-key read two arrays of one .npz.")
    by_key = {entry.key: entry for entry in source.entries}
    for flag, key in (("--l-key", args.l_key), ("--ab-key", args.ab_key)):
        if key not in by_key:
            raise source.error(None, f"has no array named {shown(key)} for {flag}")
    l_entry, ab_entry = by_key[args.l_key], by_key[args.ab_key]
    ab_layout = image_layout(source, ab_entry, data_format, 2, "--ab-key")
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
            f"has images of {mib(merged_bytes)} once merged with ab, over --chunk-mb "
            f"{mib(budget, unit=False)}; pass a larger --chunk-mb.",
        )
    check_fortran(source, ab_entry, budget)
    return [l_entry], (l_entry, ab_entry, ab_layout)


@dataclass
class _Run:
    """What every array of one `restore` run shares: where from, how, and where to."""

    source: ArraySource
    spec: PreprocessSpec
    data_format: str
    budget: int
    staging: Staging
    progress: Any
    findings: Findings
    placing: Placement
    pool: EncoderPool
    manifest: Manifest | None

    def restore(
        self, entry: ArrayEntry, preprocessed: np.ndarray, layout: Layout
    ) -> tuple[np.ndarray, np.ndarray]:
        """Counted and checked, restored, channels last; and each image's clipped pixels."""
        clipped = self.findings.add(self.source, entry, preprocessed, layout)
        restored = restore_original_image_from_array(
            preprocessed, self.spec, data_format=self.data_format, check=False
        )
        return to_channels_last(restored, layout), clipped

    def write_whole(
        self, entry: ArrayEntry, plan: ArrayOutputs, first: int, images: np.ndarray, clipped: np.ndarray
    ) -> None:
        for i, image in enumerate(images):
            name = plan.name(first + i)
            self.record(entry, name, first + i, int(clipped[i]))
            self.pool.submit(functools.partial(self._encode, name, image, plan.ext), image.nbytes)

    def _encode(self, name: str, image: np.ndarray, ext: str) -> None:
        """On an encoder thread: the image, and its mask."""
        with self.staging.open(name) as f:
            write_image(f, self.placing.image(image), ext)
        self.placing.write_mask(self.staging, name)

    def record(self, entry: ArrayEntry, name: str, index: int, clipped: int) -> None:
        if self.manifest is not None:
            file, key = self.source.locate(entry)
            self.manifest.add(name, file, key, index, clipped, self.findings.kind(entry))


def _restore_merged(
    job: _Run, l_ab: tuple[ArrayEntry, ArrayEntry, Layout], layout: Layout, plan: ArrayOutputs
) -> None:
    """L and ab read side by side, ab upsampled to L (`merge_l_ab`), then restored as one Lab image."""
    source, budget = job.source, job.budget
    l_entry, ab_entry, ab_layout = l_ab
    # Whole images only (checked against the budget when planned), a quarter of the budget each.
    ab_pieces = source.pieces(ab_entry, max(ab_entry.image_bytes, budget // 4), ab_layout.row_axis)
    waiting: list[np.ndarray] = []
    for piece in source.pieces(l_entry, max(l_entry.image_bytes, budget // 4), layout.row_axis):
        check_finite(source, l_entry, piece)
        count = len(piece.data)
        while sum(len(a) for a in waiting) < count:
            ab_piece = next(ab_pieces)
            check_finite(source, ab_entry, ab_piece)
            waiting.append(ab_piece.data.copy())
        ab = np.concatenate(waiting) if len(waiting) > 1 else waiting[0]
        waiting = [ab[count:]] if len(ab) > count else []
        merged = merge_l_ab(piece.data, ab[:count], data_format=job.data_format)
        job.write_whole(l_entry, plan, piece.first, *job.restore(l_entry, merged, layout))


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


def _restore_array(job: _Run, entry: ArrayEntry, layout: Layout, plan: ArrayOutputs) -> None:
    with contextlib.ExitStack() as open_image:
        sink: Any = None
        clipped = 0
        piece_bytes = job.budget if entry.image_bytes > job.budget else max(entry.image_bytes, PIECE_BYTES)
        for piece in job.source.pieces(entry, min(job.budget, piece_bytes), layout.row_axis):
            check_finite(job.source, entry, piece)
            images, counts = job.restore(entry, piece.data, layout)
            if piece.rows is None:
                job.write_whole(entry, plan, piece.first, images, counts)
                continue
            # An image larger than the budget: its bands stream through one encoder, in this thread.
            top, bottom = piece.rows
            if top == 0:
                f = open_image.enter_context(job.staging.open(plan.name(piece.first)))
                sink = image_sink(f, layout.height, layout.width, layout.channels, plan.ext)
                clipped = 0
            sink.write(images[0])
            clipped += int(counts[0])
            if bottom == layout.height:
                sink.close()
                open_image.close()
                job.record(entry, plan.name(piece.first), piece.first, clipped)
                job.progress.update(1)


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
    findings: Findings,
    placing: Placement,
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
        "jobs": args.jobs or default_jobs(),
        "manifest": str(out_dir / MANIFEST_NAME) if args.manifest and total else None,
        "seconds": round(seconds, 3),
    }
    summary.update(findings.summary())
    summary.update(placing.summary())
    head = json.dumps(summary)
    print(head[:-1] + ', "files": [', end="")
    separator = ""
    for plan in plans:
        for name in plan.names():
            print(separator + json.dumps(str(out_dir / name)), end="")
            separator = ", "
    print("]}")
