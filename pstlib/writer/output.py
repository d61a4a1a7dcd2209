"""A new file's bytes, written on a thread of their own.

The writer's main thread builds messages in Python; the kernel's copy of the
finished blocks into the page cache (a sixth of a write's time on ext4) lets
go of the GIL, so it runs here, on another core, beside the Python work of
the next megabyte instead of after it.

The thread does nothing else: each time it wants the GIL back it may wait a
switch interval (5 ms) for the main thread to give it up, so work that takes
and drops the GIL per block (zlib's CRC, numpy) would stall it.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

Piece = bytes | bytearray | memoryview
IN_FLIGHT = 2
"""Writes handed to the thread and not yet done, at most: memory stays bounded."""


class Output:
    """Writes to ``file`` at given offsets, in order, on one background thread.

    A write that fails breaks the output: the writes queued after it are
    skipped, and it is raised by the next ``write``, ``wait`` or ``close``
    and by every one after (a file missing a megabyte must not be finished).
    Nothing else may touch the file until ``wait`` has returned.
    """

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._thread: ThreadPoolExecutor | None = None
        self._in_flight: deque[Future[None]] = deque()
        self._failure: BaseException | None = None

    def write(self, offset: int, chunks: list[Piece]) -> None:
        """Queue ``chunks`` to be written back to back from ``offset``; they must not change."""
        if self._failure is not None:
            raise self._failure
        if not chunks:
            return
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="pstlib-write")
        self._in_flight.append(self._thread.submit(self._write, offset, chunks))
        while len(self._in_flight) > IN_FLIGHT:
            self._in_flight.popleft().result()

    def _write(self, offset: int, chunks: list[Piece]) -> None:
        if self._failure is not None:
            raise self._failure
        try:
            write_at(self._file, offset, chunks)
        except BaseException as error:
            self._failure = error
            raise

    def wait(self) -> None:
        """Return once every queued write is done; raise the failure if one failed."""
        while self._in_flight:
            self._in_flight.popleft().result()
        if self._failure is not None:
            raise self._failure

    def close(self) -> None:
        """Wait for every queued write and stop the thread (a file must not be closed
        under a write); then raise the failure if one failed."""
        try:
            for future in self._in_flight:
                future.exception()
            self._in_flight.clear()
        finally:
            if self._thread is not None:
                self._thread.shutdown()
                self._thread = None
        if self._failure is not None:
            raise self._failure


def write_at(file: BinaryIO, offset: int, chunks: list[Piece]) -> None:
    """Write ``chunks`` back to back from ``offset``: gathered by ``pwritev`` where the OS
    has it, so block bytes go to the kernel without being joined first; joined elsewhere."""
    if not chunks:
        return
    if _PWRITEV is None:
        file.seek(offset)
        file.write(b"".join(chunks))
        return
    file.flush()  # whatever the file object holds goes first
    fd = file.fileno()
    for start in range(0, len(chunks), _IOV_MAX):
        group = chunks[start:start + _IOV_MAX]
        size = sum(map(len, group))
        done = _PWRITEV(fd, group, offset)
        if done < size:  # a short write (a full disk says so on the next): the rest, joined
            rest = memoryview(b"".join(group))[done:]
            while rest:
                written = os.pwrite(fd, rest, offset + done)
                if not written:
                    raise OSError(f"no progress writing at offset {offset + done}")
                rest, done = rest[written:], done + written
        offset += size


_PWRITEV = getattr(os, "pwritev", None)
_IOV_MAX = 1024
"""Buffers per ``pwritev`` call: the usual IOV_MAX, or the system's if it says less."""
if hasattr(os, "sysconf") and "SC_IOV_MAX" in os.sysconf_names and os.sysconf("SC_IOV_MAX") > 0:
    _IOV_MAX = min(os.sysconf("SC_IOV_MAX"), _IOV_MAX)
