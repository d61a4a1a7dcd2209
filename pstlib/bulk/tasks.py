"""A scan cut into tasks: a whole store, or runs of its folders' messages, each read by
opening the store by path, so a task can run in any process that sees the file.

A small store is one task.  A larger one is opened once to list its folders with
their stored message counts (PidTagContentCount) and cut, in folder order, into
tasks of about ``task_messages`` messages: whole folders together, and a large
folder in row ranges of its contents table.  Each folder's last range runs to the
end of the table, so a count that is wrong loses no message.  Running every task
of a store gives the same records as running the store whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from pstlib.bulk.records import error_row, message_row, store_name
from pstlib.errors import MessagingError, PSTError
from pstlib.messaging.folder import Folder
from pstlib.pstfile import PSTFile

TASK_MESSAGES = 1000
"""Messages per task, hence records per batch a worker sends back."""
SMALL_BYTES_PER_MESSAGE = 2048
"""A file under ``task_messages`` times this is one task without being opened to be cut:
Outlook's messages take more than 2 KB each (property context, tables, B-tree entries),
so it holds about one task's messages at most.  Opening every small store in the calling
process would cost it more than cutting saves."""


@dataclass(frozen=True)
class Range:
    """Rows ``start`` up to ``stop`` (None: to the end) of one folder's contents table."""

    nid: int
    parent: str | None
    """The parent folder's path (None for the root folder), to rebuild the ``Folder``."""
    path: str
    start: int
    stop: int | None


@dataclass(frozen=True)
class Task:
    """Part ``part`` of store number ``index`` (its place among the inputs): the whole
    store when ``ranges`` is None, else those ranges and the ``failures`` met listing
    the folders (the first task of a cut store carries them)."""

    index: int
    path: str
    part: int = 0
    ranges: tuple[Range, ...] | None = None
    failures: tuple[Failure, ...] = ()


class Failure(NamedTuple):
    """A folder-level item that could not be read (see ``records.ERROR_ITEMS``)."""

    folder: str
    nid: int
    item: str
    error: PSTError


def folders(pst: PSTFile) -> Iterator[tuple[Folder, str, str | None] | Failure]:
    """Each folder that is not a search folder (their messages live in other folders) with
    its path and its parent's path, depth-first from the root, in hierarchy table order
    (as ``export_store`` visits them); a folder that cannot be listed is a ``Failure``."""
    root = pst.root_folder
    pending: list[tuple[Folder, str, str | None]] = [(root, "/", None)]
    seen = {root.nid}
    while pending:
        folder, path, parent = pending.pop()
        yield folder, path, parent
        try:
            children = list(folder.subfolders())
        except PSTError as exc:
            yield Failure(path, folder.nid, "subfolders", exc)
            continue
        places = []
        for child in children:
            if child.nid in seen:
                yield Failure(path, child.nid, "folder", MessagingError("folder reached twice"))
                continue
            seen.add(child.nid)
            if child.is_search_folder:
                continue
            try:
                places.append((child, child.path, path))
            except PSTError as exc:
                yield Failure(path, child.nid, "folder", exc)
        pending.extend(reversed(places))


def plan(index: int, path: str | os.PathLike[str], task_messages: int) -> list[Task]:
    """The tasks of one store; a single whole-store task when it is small or cannot be
    opened here (the task then meets, and records, the same failure)."""
    path = os.fspath(path)
    whole = [Task(index, path)]
    try:
        if os.path.getsize(path) < task_messages * SMALL_BYTES_PER_MESSAGE:
            return whole
        with PSTFile(path) as pst:
            return _cut(index, path, pst, task_messages) or whole
    except Exception:  # noqa: BLE001 - a store that cannot be planned is scanned whole
        return whole


def _cut(index: int, path: str, pst: PSTFile, task_messages: int) -> list[Task] | None:
    """Ranges of about ``task_messages`` messages; None when the store is one task's worth."""
    failures: list[Failure] = []
    groups: list[list[Range]] = [[]]
    room = task_messages
    for item in folders(pst):
        if isinstance(item, Failure):
            failures.append(item)
            continue
        folder, folder_path, parent = item
        try:
            count = folder.message_count
        except PSTError:
            count = task_messages  # a task of its own; running it records what is wrong
        start = 0
        while True:
            take = min(room, count - start)
            last = start + take >= count
            stop = None if last else start + take
            groups[-1].append(Range(folder.nid, parent, folder_path, start, stop))
            start += take
            room -= take
            if room <= 0:
                groups.append([])
                room = task_messages
            if last:
                break
    groups = [group for group in groups if group]
    if len(groups) == 1:
        return None
    return [
        Task(index, path, part, tuple(group), tuple(failures) if part == 0 else ())
        for part, group in enumerate(groups)
    ]


def run(task: Task, fields: tuple[str, ...]) -> Iterator[dict]:
    """The task's records, in folder and table order.  Never raises for the store's sake:
    an unexpected exception ends the task with a ``store`` error record."""
    store = store_name(task.path)
    try:
        with PSTFile(task.path) as pst:
            if task.ranges is None:
                for item in folders(pst):
                    if isinstance(item, Failure):
                        yield error_row(store, *item, fields)
                        continue
                    folder, path, _ = item
                    yield from _range_records(store, folder, path, 0, None, fields)
                return
            for failure in task.failures:
                yield error_row(store, *failure, fields)
            for part in task.ranges:
                folder = Folder(pst.node, part.nid, part.parent)
                yield from _range_records(store, folder, part.path, part.start, part.stop, fields)
    except Exception as exc:  # noqa: BLE001 - a store's failure is a record, not the end
        yield error_row(store, None, None, "store", exc, fields)


def run_list(task: Task, fields: tuple[str, ...]) -> list[dict]:
    """``run`` as a list: what a worker process sends back (``task_messages`` bound it)."""
    return list(run(task, fields))


def _range_records(
    store: str, folder: Folder, path: str, start: int, stop: int | None, fields: tuple[str, ...]
) -> Iterator[dict]:
    """Records of the folder's messages ``start`` to ``stop``.  A contents table that fails
    at row N (or a message node it lists that is missing) is reported by the range holding
    row N only, and the rows after it are lost in every range alike, so cut and whole
    scans agree."""
    messages = folder.messages()
    position = 0
    try:
        while stop is None or position < stop:
            message = next(messages, None)
            if message is None:
                return
            if position >= start:
                try:
                    yield message_row(store, path, message, fields)
                except PSTError as exc:
                    yield error_row(store, path, message.nid, "message", exc, fields)
            position += 1
    except PSTError as exc:
        if position >= start:
            yield error_row(store, path, folder.nid, "contents table", exc, fields)
