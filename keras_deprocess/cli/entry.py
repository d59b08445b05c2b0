"""`main`: the console script. Every outcome is an exit code and at most one line on stderr.

Exit codes: 0 success; 1 a failed check (the demo), a write error or an
unexpected internal error; 2 a usage or input error (bad arguments,
unreadable or unsafe input, an existing output without --force); 130
interrupted (Ctrl-C or SIGTERM); 141 the output pipe was closed (as in
``keras-deprocess models | head -1``), which is otherwise silent.

Set ``KERAS_DEPROCESS_DEBUG=1`` to see the traceback of an internal error.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_PIPE = 0, 1, 2, 130, 141

# Set before anything can import TensorFlow: its C++ logging reads them once.
FRAMEWORK_QUIET = {"TF_CPP_MIN_LOG_LEVEL": "3", "GRPC_VERBOSITY": "ERROR"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    for name, value in FRAMEWORK_QUIET.items():
        os.environ.setdefault(name, value)
    previous = None
    try:
        from keras_deprocess.cli.terminal import interrupt_on_sigterm

        previous = interrupt_on_sigterm()
        return _run(argv)
    except KeyboardInterrupt:
        _stderr("keras-deprocess: interrupted; no partial output was left.")
        _exit_now_if_an_import_was_cut_short(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(argv: Sequence[str] | None) -> int:
    # Light modules only, before the error handling is in place; the parser,
    # the commands and the library behind them load inside it.
    from keras_deprocess.cli.io.atomic import WriteError
    from keras_deprocess.cli.terminal import error_line, safe
    from keras_deprocess.errors import DeprocessError, speaking_cli

    try:
        from keras_deprocess.cli.parser import build_parser

        try:
            args = build_parser().parse_args(argv)
        except SystemExit:  # --help, or a usage error: argparse has printed
            sys.stdout.flush()  # a closed pipe shows up here
            raise
        with speaking_cli():
            code = _dispatch(args)
        sys.stdout.flush()  # a closed pipe shows up here, not at exit
        return code
    except (KeyboardInterrupt, BrokenPipeError, SystemExit):
        raise
    except DeprocessError as error:
        _stderr(error_line(str(error)))
        return EXIT_USAGE
    except WriteError as error:
        _stderr(error_line(str(error)))
        return EXIT_FAILED
    except MemoryError:
        _stderr(error_line("out of memory; try a smaller --chunk-mb"))
        return EXIT_FAILED
    except OSError as error:  # the commands word their own; this is a safety net
        where = f" ({safe(error.filename)})" if error.filename else ""
        _stderr(error_line(f"{error.strerror or type(error).__name__}{where}"))
        return EXIT_FAILED
    except Exception as error:
        if os.environ.get("KERAS_DEPROCESS_DEBUG"):
            raise
        _stderr(
            error_line(
                f"internal error: {type(error).__name__}: {error}. Please report it; set "
                "KERAS_DEPROCESS_DEBUG=1 to see the traceback."
            )
        )
        return EXIT_FAILED


def _dispatch(args: Any) -> int:
    """The chosen command's `run`, looked up when called (tests replace it)."""
    from keras_deprocess.cli.parser import COMMANDS

    return int(COMMANDS[args.command_name].run(args))


def _exit_now_if_an_import_was_cut_short(code: int) -> None:
    """Skip the interpreter's clean-up after a framework's import was interrupted.

    A half-initialised native extension (jaxlib, for one) can crash at exit
    with SIGSEGV; nothing is left to clean up, so leave at once.
    """
    from keras_deprocess.cli.terminal import import_was_interrupted

    if import_was_interrupted():
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
        os._exit(code)


def _stderr(line: str) -> None:
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _silence_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so that the exit's flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
