"""Every output name of a run, known before the first write, without a list of names.

An array's outputs follow one pattern: a stem from its key (or the `.npy`'s
name) and the image index, zero-padded to the width of the last index. The
plan keeps one `ArrayOutputs` per array, never one object per image, so a
file of 10^8 images plans in the time and memory of one.

Namings (`--naming`):

- ``flat`` (default): ``STEM_INDEX.EXT`` for a batch, ``STEM.EXT`` for a
  single image, all in the output folder.
- ``folders``: one sub-folder per array, ``STEM/INDEX.EXT``; this separates
  keys such as ``img`` (a batch) and ``img_0``.
- ``numbered``: ``POSITION-STEM_INDEX.EXT`` (``POSITION-STEM.EXT``), where
  POSITION is the array's place in the archive; this separates every pair of
  arrays, duplicate member names included.

Two arrays collide when any of their names are equal ignoring case (so that
a plan means the same on every file system), and arrays whose stems are
equal ignoring case always count as colliding. A collision is an error,
with or without --force: one array would overwrite the other's images.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from keras_deprocess.datasets.arrays import printable as _safe
from keras_deprocess.errors import DeprocessError, advise, setting, shown

__all__ = [
    "MANIFEST_NAME",
    "NAMINGS",
    "ArrayOutputs",
    "existing_outputs",
    "manifest_line",
    "plan_outputs",
    "safe_stem",
]

MANIFEST_NAME = "manifest.jsonl"

NAMINGS = ("flat", "folders", "numbered")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+|\.{2,}")
_INDEXED = re.compile(r"(.*)_([0-9]+)")


def safe_stem(key: str) -> str:
    """A file-name stem from an npz key: no separators, no "..", no leading dot, no NUL.

    Keys that had to change get a short hash of the original key, so that
    keys equal after sanitizing ('a b', 'a?b') still give different stems.
    """
    stem = _UNSAFE.sub("_", key).lstrip(".")[:100] or "array"
    if stem != key:
        stem += "-" + hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return stem


@dataclass(frozen=True)
class ArrayOutputs:
    """The output names of one array: a pattern, not a list.

    `folder` is a sub-folder ('' for none); a batch's names are
    ``folder/prefix_INDEX.ext`` (flat, numbered) or ``folder/INDEX.ext``
    (folders); a single image's is ``prefix.ext`` (or ``folder/0.ext``).
    """

    stem: str
    folder: str
    prefix: str  # '' in folders naming
    images: int
    batched: bool
    ext: str

    @property
    def width(self) -> int:
        return len(str(max(self.images - 1, 0)))

    def name(self, index: int) -> str:
        """The path of image `index`, relative to the output folder, with '/' separators."""
        if not self.batched and self.prefix:
            base = self.prefix
        elif self.prefix:
            base = f"{self.prefix}_{index:0{self.width}d}"
        else:
            base = f"{index:0{self.width}d}"
        return f"{self.folder}/{base}.{self.ext}" if self.folder else f"{base}.{self.ext}"

    def names(self) -> Iterator[str]:
        return (self.name(i) for i in range(self.images))

    def owns(self, name: str) -> bool:
        """Whether `name` (a file name in this array's folder) is one of its outputs, ignoring case."""
        name = name.lower()
        suffix = "." + self.ext
        if not name.endswith(suffix):
            return False
        base = name[: -len(suffix)]
        if not self.batched and self.prefix:
            return base == self.prefix.lower() and self.images > 0
        if self.prefix:
            match = _INDEXED.fullmatch(base)
            if match is None or match.group(1) != self.prefix.lower():
                return False
            digits = match.group(2)
        else:
            digits = base
        return digits.isdigit() and len(digits) == self.width and int(digits) < self.images


def plan_outputs(
    arrays: Iterable[tuple[str, int, int, bool]],
    naming: str,
    ext: str,
    describe: Callable[[int], str],
    source: str = "",
) -> list[ArrayOutputs]:
    """One `ArrayOutputs` per array, checked for collisions.

    Args:
        arrays: (stem, position, images, batched) per array.
        naming: One of `NAMINGS`.
        ext: The image format's extension.
        describe: How to name array i in a message (e.g. "array 'img'").
        source: The input file's name, to start a message with.

    Raises:
        DeprocessError: When two arrays would write the same file.
    """
    plans = []
    for stem, position, images, batched in arrays:
        if naming == "folders":
            plans.append(ArrayOutputs(stem, stem, "", images, batched, ext))
        elif naming == "numbered":
            plans.append(ArrayOutputs(stem, "", f"{position}-{stem}", images, batched, ext))
        else:
            plans.append(ArrayOutputs(stem, "", stem, images, batched, ext))
    clash = _first_collision(plans)
    if clash is not None:
        a, b, example = clash
        if naming == "flat" and plans[a].prefix.lower() != plans[b].prefix.lower():
            advice = (
                f"pass {advise(naming='folders')} (one sub-folder per array) or {advise(naming='numbered')}"
            )
        elif naming != "numbered":
            advice = f"pass {advise(naming='numbered')} (it numbers the arrays by their place in the input)"
        else:
            advice = "rename the arrays"
        raise DeprocessError(
            f"{source + ': ' if source else ''}{describe(a)} and {describe(b)} would both write "
            f"{shown(example)}; one would overwrite the other's images, with or without "
            f"{setting('force')}. "
            f"To keep both, {advice}."
        )
    return plans


class _Index:
    """Which array owns a file name: one dictionary look-up per name."""

    def __init__(self, plans: Sequence[ArrayOutputs]) -> None:
        self.by_place: dict[tuple[str, str], int] = {}
        self.duplicate: tuple[int, int] | None = None
        for i, plan in enumerate(plans):
            j = self.by_place.setdefault((plan.folder.lower(), plan.prefix.lower()), i)
            if j != i and self.duplicate is None:
                self.duplicate = (j, i)
        self.plans = plans

    def owners(self, folder: str, name: str) -> list[int]:
        """The arrays that plan `folder/name` (compared ignoring case): none, one, or two that clash."""
        folder, name = folder.lower(), name.lower()
        base, dot, _ = name.rpartition(".")
        if not dot:
            return []
        places = [(folder, base), (folder, "")]  # a single image's prefix; a folders-naming index
        match = _INDEXED.fullmatch(base)
        if match is not None:
            places.append((folder, match.group(1)))  # a batch's PREFIX_INDEX
        found = []
        for place in places:
            i = self.by_place.get(place)
            if i is not None and i not in found and self.plans[i].owns(name):
                found.append(i)
        return found


def _first_collision(plans: Sequence[ArrayOutputs]) -> tuple[int, int, str] | None:
    """(i, j, a shared name) for the first two arrays whose names meet, ignoring case; else None.

    Linear in arrays: names of different arrays can only meet when their
    folder and stem are equal, or when a single image's ``stem`` reads as
    another array's ``stem_INDEX``.
    """
    index = _Index(plans)
    if index.duplicate is not None:
        first, second = index.duplicate
        return first, second, plans[second].name(0)
    for j, plan in enumerate(plans):
        if plan.batched or not plan.prefix or plan.images == 0:
            continue
        folder, _, name = plan.name(0).rpartition("/")
        others = [i for i in index.owners(folder, name) if i != j]
        if others:
            return others[0], j, plan.name(0)
    return None


def existing_outputs(out_dir: Path, plans: Sequence[ArrayOutputs]) -> tuple[int, str | None, str | None]:
    """Planned outputs that exist already: one directory scan per folder, never a stat per name.

    Names are matched ignoring case, as on case-insensitive file systems.

    Returns:
        (how many, one of them, one that is not a file: --force cannot replace it).
    """
    index = _Index(plans)
    folders = sorted({plan.folder for plan in plans})
    count, example, blocking = 0, None, None
    for folder in folders:
        directory = out_dir / folder if folder else out_dir
        try:
            with os.scandir(directory) as scan:
                for item in scan:
                    if index.owners(folder, item.name):
                        count += 1
                        example = example or str(directory / item.name)
                        if blocking is None and not item.is_file():
                            blocking = str(directory / item.name)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as error:
            raise DeprocessError(
                f"{_safe(directory)}: cannot be listed ({error.strerror}); pick another {setting('out')}."
            ) from None
    return count, example, blocking


def manifest_line(
    file: str, source: str, key: str, index: int, spec: str, clipped: int, mismatch: str | None
) -> str:
    """One line of a manifest, newline included: the same fields, in the same order, for every writer."""
    record = {
        "file": file,
        "source": source,
        "key": key,
        "index": index,
        "spec": spec,
        "clipped": clipped,
        "mismatch": mismatch or None,
    }
    return json.dumps(record) + "\n"
