"""Any input of arrays: one file of any format, a folder of them, or a glob of shards.

`open_arrays` picks the reader from the file's name (and, for zip
archives, its content): `.npy`/`.npz`, `.pt`/`.pth`, `.safetensors`,
TFRecord (`.tfrecord`, `.tfrecords`, `.tfrec`) and `.tar` shards. A folder
or a glob gives an `ArraySet` of its files in sorted order, each array
keyed by its file's stem and its own key (``shard-003.images``), or by the
stem alone for a file of one unnamed array (a `.npy`, a TFRecord file, a
`.pt` of one tensor).
"""

from __future__ import annotations

import dataclasses
import glob
import zipfile
from pathlib import Path

from keras_deprocess.datasets.arrays import ArrayEntry, ArraySource, Stream, printable
from keras_deprocess.datasets.npy import InputFileError
from keras_deprocess.datasets.numpy_files import NumpyFile
from keras_deprocess.datasets.safetensors_files import SafetensorsFile
from keras_deprocess.datasets.shards import TarShard
from keras_deprocess.datasets.tfrecord import TFRECORD_SUFFIXES, TFRecordFile
from keras_deprocess.datasets.torch_files import TorchFile
from keras_deprocess.errors import advise, setting, shown

__all__ = ["FORMATS", "MAX_FILES", "ArraySet", "open_arrays"]

FORMATS = (".npy", ".npz", ".pt", ".pth", ".safetensors", *TFRECORD_SUFFIXES, ".tar")
# A folder or glob of more files than this is refused: each is opened to read its headers.
MAX_FILES = 100_000
_GLOB = set("*?[")


def open_arrays(path: str | Path, *, key: str | None = None, feature: str | None = None) -> ArraySource:
    """The arrays of `path`: a file of any supported format, a folder of such files, or a glob.

    Args:
        path: A file, a folder (its files of the supported formats, not its
            sub-folders) or a glob pattern (``'shards/*.tar'``).
        key: Read only the arrays with this key (in every file).
        feature: For TFRecord files, the feature that holds the image.

    Raises:
        InputFileError: For a file that cannot be read, naming it and what to do.

    Example::

        with open_arrays("shards/*.tar") as source:
            for entry in source.entries:       # every header, read before any data
                print(entry.key, entry.shape)  # (N, H, W, C) or (C, H, W), as stored
    """
    text = str(path)
    target = Path(path)
    if target.is_dir():
        files = sorted(p for p in target.iterdir() if p.is_file() and p.suffix.lower() in FORMATS)
        if not files:
            raise InputFileError(
                f"{printable(text)}: is a folder with no file of a supported format ({', '.join(FORMATS)})"
            )
        return ArraySet(text, files, key, feature)
    if not target.exists() and _GLOB & set(text):
        files = sorted(Path(p) for p in glob.glob(text) if Path(p).is_file())
        if not files:
            raise InputFileError(f"{printable(text)}: no file matches this pattern")
        return ArraySet(text, files, key, feature)
    return open_file(target, key, feature)


def open_file(path: Path, key: str | None, feature: str | None) -> ArraySource:
    """One file, by the reader its suffix (or a zip archive's content) calls for."""
    suffix = path.suffix.lower()
    if feature is not None and suffix not in TFRECORD_SUFFIXES:
        raise InputFileError(
            f"{printable(path)}: {setting('feature')} chooses a feature of TFRecord files; this is not one "
            f"(its name ends in {', '.join(TFRECORD_SUFFIXES)}): drop {advise(feature=feature)}"
        )
    if suffix in (".pt", ".pth") or (suffix not in FORMATS and _is_torch_archive(path)):
        return TorchFile(path, key)
    if suffix == ".safetensors":
        return SafetensorsFile(path, key)
    if suffix in TFRECORD_SUFFIXES:
        return TFRecordFile(path, key, feature)
    if suffix == ".tar":
        return TarShard(path, key)
    return NumpyFile(path, key)


def _is_torch_archive(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("/data.pkl") for name in archive.namelist()[:8])
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False


class ArraySet(ArraySource):
    """The arrays of many files, as one input; each file is open only while its arrays are read.

    Planning opens every file once, for its headers (one at a time); data is
    read from one file at a time, the file of the entry asked for.
    """

    is_npz = True

    def __init__(self, name: str, files: list[Path], key: str | None, feature: str | None) -> None:
        self.name = printable(name)
        self.path = Path(name)
        if len(files) > MAX_FILES:
            raise InputFileError(
                f"{self.name}: names {len(files)} files; at most {MAX_FILES} are read in one run: split it"
            )
        self._files, self._key, self._feature = files, key, feature
        self._where: list[tuple[int, ArrayEntry]] = []  # per entry: (file index, its own entry)
        self._keyed: list[bool] = []
        self._open: tuple[int, ArraySource] | None = None
        self.entries = []
        for index, file in enumerate(files):
            try:
                with open_file(file, key, feature) as source:
                    self._keyed.append(source.is_npz)
                    for entry in source.entries:
                        key_here = f"{file.stem}.{entry.key}" if source.is_npz else file.stem
                        self.entries.append(
                            dataclasses.replace(entry, key=key_here, position=len(self._where))
                        )
                        self._where.append((index, entry))
            except InputFileError as error:
                if key is not None and "for " + setting("key") in str(error):
                    continue  # a file without the key: the others may have it
                raise
        if not self.entries:
            raise InputFileError(
                f"{self.name}: none of its {len(files)} files holds "
                + ("arrays" if key is None else f"an array with {advise(key=key)}")
            )

    def close(self) -> None:
        if self._open is not None:
            self._open[1].close()
            self._open = None

    def _source(self, entry: ArrayEntry) -> tuple[ArraySource, ArrayEntry]:
        index, own = self._where[entry.position]
        if self._open is None or self._open[0] != index:
            self.close()
            source = open_file(self._files[index], self._key, self._feature)
            self._open = (index, source)
            # A file changed since planning would give other entries: refuse rather than misread.
            fresh = [e for e in source.entries if e.position == own.position]
            if not fresh or (fresh[0].shape, fresh[0].dtype, fresh[0].data_offset) != (
                own.shape,
                own.dtype,
                own.data_offset,
            ):
                raise InputFileError(f"{printable(self._files[index])}: changed while it was read")
        return self._open[1], own

    def stream(self, entry: ArrayEntry, offset: int = 0) -> Stream:
        source, own = self._source(entry)
        return source.stream(own, offset)

    def where(self, entry: ArrayEntry | None = None, image: int | None = None) -> str:
        if entry is None:
            return self.name
        index, own = self._where[entry.position]
        name = printable(self._files[index])
        parts = []
        if self._keyed[index]:
            parts.append(f"array {shown(own.key)}")
        if image is not None and entry.batched:
            parts.append(f"image {image}")
        return name + (": " + ", ".join(parts) if parts else "")

    def own(self, entry: ArrayEntry) -> ArrayEntry:
        return self._where[entry.position][1]

    def locate(self, entry: ArrayEntry) -> tuple[str, str]:
        index, own = self._where[entry.position]
        return str(self._files[index]), own.key
