"""Encoding many images at the encoder's limit: a pool of threads, bounded in flight.

Pillow's encoders release the GIL while they compress, so threads encode
on every core while the main thread reads and restores the next chunk.
At most `capacity` bytes of images wait for a thread (and always
``2 × jobs`` images may): memory stays bounded whatever the number of
images. With one job, images are encoded in the
calling thread, in order.

The queue is bounded by bytes as well as by count: the main thread restores
a whole chunk (hundreds of images) at a time, so threads that could hold
only a few images would sit idle while it does. Up to `capacity` bytes of
images (the chunk budget) wait, so the encoders stay busy through a chunk's
restore, and memory stays bounded by the budget, not the file.

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

    def __init__(self, jobs: int, done: Callable[[], Any], capacity: int = 0) -> None:
        self.jobs, self._done, self._capacity = jobs, done, capacity
        self._executor = ThreadPoolExecutor(jobs, thread_name_prefix="encode") if jobs > 1 else None
        self._pending: deque[tuple[Future[None], int]] = deque()
        self._waiting_bytes = 0

    def __enter__(self) -> EncoderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def submit(self, task: Callable[[], None], nbytes: int = 0) -> None:
        """Run `task` on a thread; `nbytes` is what it holds in memory until it is done."""
        if self._executor is None:
            task()
            self._done()
            return
        while len(self._pending) >= 2 * self.jobs and self._waiting_bytes + nbytes > self._capacity:
            self._collect()
        self._pending.append((self._executor.submit(task), nbytes))
        self._waiting_bytes += nbytes

    def _collect(self) -> None:
        future, nbytes = self._pending.popleft()
        self._waiting_bytes -= nbytes
        future.result()
        self._done()

    def finish(self) -> None:
        """Wait for every task; the first error raises here."""
        while self._pending:
            self._collect()
