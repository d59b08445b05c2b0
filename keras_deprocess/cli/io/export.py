"""Encoding many images at the encoder's limit: a pool of threads, bounded in flight.

Pillow's encoders release the GIL while they compress, so threads encode
on every core while the main thread reads and restores the next chunk.
At most ``2 × jobs`` images wait for a thread: memory stays bounded
whatever the number of images. With one job, images are encoded in the
calling thread, in order.

A worker's error (a full disk) comes back to the main thread at the next
`submit` or at `finish`; leaving the block waits for every running task
and cancels the rest, so that no thread still writes into a staging
folder that is being removed.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["EncoderPool", "default_jobs"]


def default_jobs() -> int:
    """Every core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class EncoderPool:
    """Runs ``task()`` calls on `jobs` threads; `done` is called in the caller's thread per task.

    Use it as a context manager.
    """

    def __init__(self, jobs: int, done: Callable[[], Any]) -> None:
        self.jobs, self._done = jobs, done
        self._executor = ThreadPoolExecutor(jobs, thread_name_prefix="encode") if jobs > 1 else None
        self._pending: deque[Future[None]] = deque()

    def __enter__(self) -> EncoderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def submit(self, task: Callable[[], None]) -> None:
        if self._executor is None:
            task()
            self._done()
            return
        while len(self._pending) >= 2 * self.jobs:
            self._collect()
        self._pending.append(self._executor.submit(task))

    def _collect(self) -> None:
        self._pending.popleft().result()
        self._done()

    def finish(self) -> None:
        """Wait for every task; the first error raises here."""
        while self._pending:
            self._collect()
