"""A JSON Lines manifest of a run: one line per image written, staged with the images.

Each line says where an image came from and what was found in it::

    {"file": "batch_07.png", "source": "batch.npy", "key": "batch", "index": 7,
     "spec": "caffe", "clipped": 0, "mismatch": null}

``file`` is relative to the output folder, with '/' separators; ``index``
is the image's index in its array; ``clipped`` counts the pixels restored
outside [0, 255] (outside sRGB for a Lab spec); ``mismatch`` is what the
spec check found in the image's array ('narrow', 'clipped', ...), or null.
Lines come in the order the images are read. The manifest is written into
the staging folder and moved into place with the images: all or nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from keras_deprocess.cli.io.atomic import Staging, WriteError, describe_os_error
from keras_deprocess.cli.library import MANIFEST_NAME, DeprocessError, manifest_line
from keras_deprocess.cli.terminal import safe

__all__ = ["MANIFEST_NAME", "Manifest"]


class Manifest:
    """The manifest of one run, written line by line into `staging`. Use it as a context manager."""

    def __init__(self, staging: Staging, spec: str) -> None:
        self._staging, self._spec = staging, spec
        self._file: IO[str] | None = None

    @staticmethod
    def check_target(out_dir: Path, *, force: bool) -> None:
        target = out_dir / MANIFEST_NAME
        if target.is_dir():
            raise DeprocessError(f"{safe(target)}: is a folder where --manifest writes its file.")
        if target.exists() and not force:
            raise DeprocessError(f"{safe(target)}: exists; pass --force to overwrite it, or drop --manifest.")

    def __enter__(self) -> Manifest:
        path = self._staging.path(MANIFEST_NAME)
        try:
            self._file = open(path, "x", encoding="utf-8", newline="\n")
        except OSError as error:
            raise WriteError(describe_os_error(path.parent.parent / MANIFEST_NAME, error)) from None
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, file: str, source: str, key: str, index: int, clipped: int, mismatch: str | None) -> None:
        assert self._file is not None
        try:
            self._file.write(manifest_line(file, source, key, index, self._spec, clipped, mismatch))
        except OSError as error:
            raise WriteError(describe_os_error(MANIFEST_NAME, error)) from None

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError as error:
                raise WriteError(describe_os_error(MANIFEST_NAME, error)) from None
            finally:
                self._file = None
