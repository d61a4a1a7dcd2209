"""A process pool that streams results with a bounded number of tasks in flight.

How workers start (``start_method``): by "fork" where that is safe and quiet, which
starts a worker in milliseconds: on Linux, before Python 3.12, when the caller runs a
single thread.  Otherwise by "forkserver" (else "spawn"): a fork would copy the locks
other threads hold (a Dask client's, a progress bar's), and Python 3.12 and later warn
on any fork from a process with more than one OS thread, which numpy's BLAS pool
makes of every process that imports pstlib.  The fork server is told to import pstlib
before it forks (``PRELOAD``); on its own it would import nothing (Python 3.11 never
passes it ``__main__``'s path), and each worker would import pstlib itself.

Workers ignore SIGINT, so Ctrl-C reaches only the caller, which cancels the queued
tasks and waits for the running ones.  A worker that dies (killed, out of memory)
fails the tasks in flight and the pool is replaced for the rest, provided its workers
had finished a task: workers that cannot start at all (a ``__main__`` read from stdin,
which "forkserver" and "spawn" workers cannot import) raise ``BrokenProcessPool``.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

PRELOAD = ["__main__", "pstlib.bulk.tasks"]
"""What the fork server imports once (the second brings pstlib, numpy and the export
records); this replaces the process-wide preload list, whose default is ``__main__``.
It takes effect when the server starts: the first pool of the process starts it."""
AHEAD = 2
"""Tasks in flight per worker: one running, one queued so the worker never waits."""


def start_method() -> str:
    """The start method for a pool created now (see the module docstring)."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform == "linux" and sys.version_info < (3, 12) and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Pool(Generic[T, R]):
    """``jobs`` worker processes running ``function`` on items, at most ``AHEAD * jobs``
    submitted and not yet handed back; use as a context manager."""

    def __init__(self, function: Callable[[T], R], jobs: int) -> None:
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, not {jobs}")
        self.function = function
        self.jobs = jobs
        self._executor = self._start()
        self._worked = False

    def _start(self) -> ProcessPoolExecutor:
        method = start_method()
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload(PRELOAD)
        return ProcessPoolExecutor(self.jobs, mp_context=context, initializer=_ignore_interrupts)

    def _submit(self, item: T) -> Future[R]:
        try:
            return self._executor.submit(self.function, item)
        except BrokenProcessPool:  # a worker died: its tasks have failed, later ones get a new pool
            if not self._worked:
                raise
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._start()
            self._worked = False
            return self._executor.submit(self.function, item)

    def _finished(self, future: Future[R]) -> None:
        if future.exception() is None:
            self._worked = True

    def unordered(self, items: Iterable[T]) -> Iterator[tuple[T, Future[R]]]:
        """Each item with its finished future, in the order they finish."""
        queue = iter(items)
        pending = {self._submit(item): item for item in islice(queue, AHEAD * self.jobs)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                item = pending.pop(future)
                self._finished(future)
                for following in islice(queue, 1):
                    pending[self._submit(following)] = following
                yield item, future

    def ordered(self, items: Iterable[T]) -> Iterator[tuple[T, Future[R]]]:
        """Each item with its finished future, in the items' order."""
        queue = iter(items)
        pending = deque((item, self._submit(item)) for item in islice(queue, AHEAD * self.jobs))
        while pending:
            item, future = pending.popleft()
            wait([future])
            self._finished(future)
            for following in islice(queue, 1):
                pending.append((following, self._submit(following)))
            yield item, future

    def close(self) -> None:
        """Cancel what has not started and wait for what has."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Pool[T, R]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
