"""``verify_file``: prove a PST/OST copy internally consistent, or say where it is not.

Levels: ``quick`` checks the header, ROOT and the B-trees' structure;
``full`` adds every block, every reference, the allocation maps, every
heap/BTH/PC/TC and the folder tree.  Nothing is ever written; an internal
failure becomes a ``fatal`` problem, not a traceback.
"""

from __future__ import annotations

import mmap
import os
import time
from typing import BinaryIO

from pstlib.errors import PSTError
from pstlib.limits import Limits
from pstlib.ndb.header import HEADER_READ_SIZE
from pstlib.verify.header import check_header
from pstlib.verify.report import LAYERS, SEVERITIES, Problem, Report, Stats

LEVELS = ("quick", "full")

__all__ = ["LAYERS", "LEVELS", "SEVERITIES", "Problem", "Report", "Stats", "verify_file"]


def _load(source: str | os.PathLike | BinaryIO) -> tuple[memoryview, str, object]:
    """The file's bytes as a read-only view, its name, and what to close afterwards."""
    if isinstance(source, (str, os.PathLike)):
        handle = open(source, "rb")  # noqa: SIM115 - closed by the caller
        name = os.fspath(source)
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            handle.close()
            return memoryview(b""), name, None
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        handle.close()
        return memoryview(mapped), name, mapped
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = source
    else:
        source.seek(0)  # as pstlib.open: a handle just used to copy or hash the file
        data = source.read()
    return memoryview(bytes(data)), str(getattr(source, "name", "<stream>")), None


def verify_file(source: str | os.PathLike | BinaryIO, level: str = "full", limits: Limits | None = None) -> Report:
    """Check one file at ``level`` ("quick" or "full") and report what is wrong with it.

    Raises ``OSError`` only where the OS cannot open the file; everything about
    its contents, including an empty or truncated file, is in the report.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    started = time.perf_counter()
    data, name, mapped = _load(source)
    report = Report(name, level)
    try:
        _run(data, report, level, limits or Limits())
    except PSTError as exc:
        report.add("unreadable", "fatal", "ndb", exc.message, offset=exc.offset, nid=exc.nid, bid=exc.bid)
    except Exception as exc:  # the promise is a report, never a traceback
        report.add("internal-error", "fatal", "ndb", f"verify failed: {type(exc).__name__}: {exc}")
    finally:
        report.stats.seconds = time.perf_counter() - started
        try:
            data.release()
            if mapped is not None:
                mapped.close()
        except BufferError:
            # A view of the map is still alive somewhere (a profiler holding a frame, an
            # exception's traceback): the map closes when the last view goes.
            pass
    return report


def _run(data: memoryview, report: Report, level: str, limits: Limits) -> None:
    from pstlib.pstfile import PSTFile
    from pstlib.verify.ltp import check_node_structures
    from pstlib.verify.messaging import check_folders
    from pstlib.verify.ndb import NDBCheck

    header = check_header(bytes(data[:HEADER_READ_SIZE]), len(data), report)
    report.stats.bytes_read += min(len(data), HEADER_READ_SIZE)
    if header is None:
        return
    ndb = NDBCheck(data, header, report, limits.max_btree_depth)
    ndb.walk_trees()
    ndb.check_ids()
    if level == "quick":
        return
    ndb.check_blocks()
    ndb.check_references()
    ndb.check_allocation()
    if not ndb.complete:
        report.add("upper-layers-skipped", "info", "ltp", "LTP and messaging checks skipped: a B-tree page could not be read")
        return
    with PSTFile(data, limits=limits) as pst:  # reads the map in place: no copy of the file
        check_node_structures(pst, report)
        check_folders(pst, report)
