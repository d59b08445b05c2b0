"""All-or-nothing output: no image appears unless every image of the run does.

- `Staging` writes a run's images into a hidden folder inside the output
  folder and moves them into place only when every image is written. An
  error or an interruption removes the folder; existing files are replaced
  (with --force) only at that last step.
- `write_atomically` writes one file (a contact sheet) beside its target
  and links it into place: whole or absent.

Durability costs one sync per run, not one per file: `Staging.commit`
flushes every staged file to disk with one ``os.sync()`` before the first
move (where there is no ``os.sync``, each file is synced as it closes).
A sync per file cost 1-2 ms an image, more than encoding it.

The last steps hold off SIGINT and SIGTERM (`terminal.deferred_signals`):
a move or a clean-up stopped half-way would leave what this module exists
to prevent. Messages name the target, never the temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from keras_deprocess.cli.terminal import deferred_signals, safe

__all__ = ["Staging", "WriteError", "write_atomically"]

SYNC_ONCE = hasattr(os, "sync")


class WriteError(Exception):
    """An output could not be written (a full disk, a permission): exit 1, one line."""


def describe_os_error(path: Path | str, error: OSError) -> str:
    return f"{safe(path)}: cannot be written ({error.strerror or type(error).__name__})"


class Staging:
    """A hidden folder inside `out_dir` that holds a run's images until `commit`.

    Leaving the block without `commit` (an error, an interruption) removes
    the hidden folder, and the output folders this run created if they are
    empty. A process killed with SIGKILL leaves the hidden folder
    (``.keras-deprocess-*``) behind.
    """

    def __init__(self, out_dir: Path, *, force: bool) -> None:
        self.out_dir, self.force = out_dir, force
        self._created: list[Path] = []
        self._folder: Path | None = None
        self.committed = False

    def __enter__(self) -> Staging:
        # Every name is known before it exists, so that an interruption at any
        # point leaves nothing that the clean-up cannot find.
        folder = self.out_dir / f".keras-deprocess-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            for parent in reversed([self.out_dir, *self.out_dir.parents]):
                if not parent.exists():
                    self._created.append(parent)
                    parent.mkdir()
            self._folder = folder
            folder.mkdir(mode=0o700)
        except OSError as error:
            self.__exit__()
            raise WriteError(describe_os_error(self.out_dir, error)) from None
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        with deferred_signals():
            self._clean()

    def _clean(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        for folder in reversed(self._created):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty

    def path(self, relative: str) -> Path:
        assert self._folder is not None
        return self._folder / relative

    def make_folder(self, relative: str) -> None:
        if relative:
            try:
                self.path(relative).mkdir(exist_ok=True)
            except OSError as error:
                raise WriteError(describe_os_error(self.out_dir / relative, error)) from None

    @contextlib.contextmanager
    def open(self, relative: str) -> Iterator[IO[bytes]]:
        target = self.path(relative)
        try:
            with open(target, "xb") as f:
                yield f
                if not SYNC_ONCE:
                    f.flush()
                    os.fsync(f.fileno())
        except OSError as error:
            raise WriteError(describe_os_error(self.out_dir / relative, error)) from None

    def commit(self, names: Iterable[str]) -> int:
        """Sync once, then move every staged name into place; signals wait until it is done.

        Returns the count.
        """
        moved = 0
        if SYNC_ONCE:
            os.sync()
        with deferred_signals():
            made: set[str] = set()
            for relative in names:
                folder = relative.rpartition("/")[0]
                if folder and folder not in made:
                    _make_output_folder(self.out_dir / folder)
                    made.add(folder)
                _move(self.path(relative), self.out_dir / relative, force=self.force)
                moved += 1
            self._created.clear()  # they hold the images now
            self.committed = True
        return moved


def _make_output_folder(folder: Path) -> None:
    try:
        folder.mkdir(exist_ok=True)
    except FileExistsError:
        raise WriteError(f"{safe(folder)}: exists and is not a folder") from None
    except OSError as error:
        raise WriteError(describe_os_error(folder, error)) from None


def _move(source: Path, target: Path, *, force: bool) -> None:
    try:
        if force:
            os.replace(source, target)
            return
        try:
            os.link(source, target)  # refuses to replace an existing file
        except FileExistsError:
            raise WriteError(
                f"{safe(target)}: appeared while the images were written; pass --force to overwrite it"
            ) from None
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            if os.path.lexists(target):  # no hard links here: check, then rename
                raise WriteError(f"{safe(target)}: exists; pass --force to overwrite it") from None
            os.rename(source, target)
            return
        os.unlink(source)
    except OSError as error:
        raise WriteError(describe_os_error(target, error)) from None


def write_atomically(path: Path, write: Callable[[IO[bytes]], None], *, force: bool) -> None:
    """Write one file beside `path` and link it into place; an existing `path` needs `force`.

    The temporary file is named before it is made, so that it is removed
    whatever interrupts the write.
    """
    temporary = path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.part"
    try:
        with open(temporary, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        with deferred_signals():
            _move(temporary, path, force=force)
    except OSError as error:
        raise WriteError(describe_os_error(path, error)) from None
    finally:
        with deferred_signals(), contextlib.suppress(OSError):
            os.unlink(temporary)
