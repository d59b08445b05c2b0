"""What the command line prints and how, and what a signal does: the CLI's one home for both.

- `safe` escapes every character a terminal could act on (C0/C1 controls,
  escape sequences, bidi overrides, line breaks), so names from a file
  cannot clear the screen, set the title or fake a line of output.
- `framework_import` hides the start-up log lines that TensorFlow writes
  straight to file descriptor 2 before its logging is set up (and so before
  `TF_CPP_MIN_LOG_LEVEL` applies), and holds Ctrl-C until the import ends.
- `HelpFormatter` wraps prose to the terminal (at most 100 columns) and
  keeps indented example lines exactly as written.
- Signals: `interrupt_on_sigterm` makes SIGTERM stop a run as Ctrl-C does,
  so that one clean-up path serves both; `framework_import` holds them
  while native code loads; `deferred_signals` ignores them during the last
  steps of a write, which must not stop half-way. Handlers can be set only
  in the main thread; elsewhere each of these does nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

HELP_MAX_WIDTH = 100


def safe(text: object) -> str:
    """`text` with every non-printable character escaped as Python's repr does (``\\x1b``, ``\\r``)."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def say(message: str, *, quiet: bool = False) -> None:
    if not quiet:
        print(message)


def error_line(message: str) -> str:
    """The one line of an error: terminal-safe, its line breaks shown as ``\\n``."""
    return f"keras-deprocess: error: {safe(message)}"


def warning_line(message: str) -> str:
    """One line of a warning (the run goes on), terminal-safe like errors."""
    return f"keras-deprocess: warning: {safe(message)}"


# -- signals -----------------------------------------------------------------------

INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


def _in_main_thread() -> bool:
    """Whether signal handlers can be set here: only the main thread may."""
    return threading.current_thread() is threading.main_thread()


def interrupt_on_sigterm() -> Any:
    """SIGTERM stops the run like Ctrl-C, so that the same clean-up runs.

    Returns:
        The previous handler, to restore; None outside the main thread.
    """
    if not _in_main_thread():
        return None

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """SIGINT and SIGTERM are held off while the block runs, and then dropped.

    For the last steps, which must not stop half-way: moving files into
    place (the run then ends normally) and cleaning up after an error or an
    interruption (which is already ending the run).
    """
    if not _in_main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in INTERRUPTS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


_interrupted_imports: list[bool] = []


def import_was_interrupted() -> bool:
    """Whether a second signal cut a framework's import short (its native half may be broken)."""
    return bool(_interrupted_imports)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """A first SIGINT or SIGTERM waits for the block's end, then interrupts; a second one, at once."""
    if not _in_main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        if received:
            _interrupted_imports.append(True)
            raise KeyboardInterrupt
        received.append(signum)

    previous = {s: signal.signal(s, hold) for s in INTERRUPTS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if received:
        raise KeyboardInterrupt


# -- framework imports -------------------------------------------------------------


@contextlib.contextmanager
def framework_import() -> Iterator[None]:
    """Import a framework quietly, and let Ctrl-C wait until the import is done.

    - Native code that is interrupted while it loads can crash the process
      (jaxlib does, with SIGSEGV), so a first SIGINT or SIGTERM is held until
      the import ends and then stops the run; a second one stops it at once.
    - TensorFlow prints oneDNN, CUDA and CPU-feature notices from C++ before
      absl logging is initialised, straight to file descriptor 2. They are
      dropped when the import succeeds or is interrupted; when it fails with
      an error, they are replayed, since they may explain it.
    """
    with _signals_held(), _native_stderr_hidden():
        yield


@contextlib.contextmanager
def _native_stderr_hidden() -> Iterator[None]:
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2 at all: nothing to hide
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        replay = False
        try:
            yield
        except KeyboardInterrupt:
            raise
        except BaseException:
            replay = True
            raise
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if replay:
                capture.seek(0)
                sys.stderr.write(capture.read().decode("utf-8", "replace"))


# -- help ------------------------------------------------------------------------


def help_width() -> int:
    columns = shutil.get_terminal_size(fallback=(80, 24)).columns
    return max(40, min(columns, HELP_MAX_WIDTH) - 2)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Prose paragraphs wrapped to the terminal; indented lines (examples) kept as written."""

    def __init__(self, prog: str, **kwargs: Any) -> None:
        kwargs.setdefault("width", help_width())
        kwargs.setdefault("max_help_position", 30)
        super().__init__(prog, **kwargs)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for paragraph in text.split("\n\n"):
            lines = paragraph.splitlines()
            if any(line.startswith(" ") for line in lines[1:]) or paragraph.startswith(" "):
                # A heading followed by indented examples, or examples alone: as written.
                paragraphs.append("\n".join(indent + line for line in lines))
            else:
                paragraphs.append(
                    textwrap.fill(" ".join(lines), width, initial_indent=indent, subsequent_indent=indent)
                )
        return "\n\n".join(paragraphs)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with its error line made terminal-safe (it quotes what the user typed)."""

    def error(self, message: str) -> Any:  # argparse declares NoReturn
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {safe(message)}\n")
