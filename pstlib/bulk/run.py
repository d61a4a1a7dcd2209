"""``scan``: the message records of many stores, read by a pool of processes.

One process (``jobs=1``) reads the stores in turn, one record at a time.  More
read ``tasks.Task``s (a store, or a run of its folders) in worker processes that
open the stores by path and send each task's records back as one batch; at most
two tasks per worker are in flight, so memory stays bounded however many stores
there are.  Records come back in no particular order across tasks, in folder and
contents-table order within one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial

from pstlib.bulk.pool import Pool
from pstlib.bulk.records import error_row, select, store_name
from pstlib.bulk.tasks import TASK_MESSAGES, Task, plan, run, run_list

Paths = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]


@dataclass(frozen=True)
class Part:
    """The records of one task: part ``part`` of input number ``index``, ``store``."""

    index: int
    store: str
    part: int
    records: Iterable[dict]


def _paths(paths: Paths) -> list[str]:
    """One path, or many (a ``str`` is a single path, not an iterable of them)."""
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    return [os.fspath(path) for path in paths]


def _jobs(jobs: int | None) -> int:
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    return jobs


def tasks(paths: Paths, task_messages: int = TASK_MESSAGES) -> Iterator[Task]:
    """The tasks of every store, planned one store at a time (see ``tasks.plan``)."""
    for index, path in enumerate(_paths(paths)):
        yield from plan(index, path, task_messages)


def scan_parts(
    paths: Paths,
    jobs: int | None = None,
    fields: Iterable[str] | None = None,
    *,
    task_messages: int = TASK_MESSAGES,
) -> Iterator[Part]:
    """``scan``'s records grouped by task, for writers that keep a task's records together
    (``pstlib.arrow.write_dataset``).  With ``jobs=1`` each store is one part whose records
    are read as they are consumed; otherwise a part's records are one list.  Arguments are
    checked here, before the first part is read."""
    if task_messages < 1:
        raise ValueError(f"task_messages must be at least 1, not {task_messages}")
    return _parts(_paths(paths), _jobs(jobs), select(fields), task_messages)


def _parts(
    paths: list[str], jobs: int, selected: tuple[str, ...], task_messages: int
) -> Iterator[Part]:
    if jobs == 1:
        for index, path in enumerate(paths):
            yield Part(index, store_name(path), 0, run(Task(index, path), selected))
        return
    with Pool(partial(run_list, fields=selected), jobs) as pool:
        for task, future in pool.unordered(tasks(paths, task_messages)):
            try:
                records = future.result()
            except Exception as exc:  # noqa: BLE001 - the worker died or could not run the task
                records = [error_row(store_name(task.path), None, None, "store", exc, selected)]
            yield Part(task.index, store_name(task.path), task.part, records)


def scan(
    paths: Paths,
    jobs: int | None = None,
    fields: Iterable[str] | None = None,
    *,
    task_messages: int = TASK_MESSAGES,
) -> Iterator[dict]:
    """Every message of every store as a record (``records`` says which fields there are).

    ``jobs`` processes read the stores (None: one per CPU; 1: this process, no pool);
    a store above ``task_messages`` messages is cut into tasks of about that many, so
    one large store does not leave the other workers idle.  ``fields`` selects the
    fields (default ``records.DEFAULT_FIELDS``, everything but the body text; include
    ``"body"`` for it); ``ValueError`` names an unknown one.  An item or a store that
    cannot be read is an error record, never an exception: the scan goes on.
    Closing the iterator early (or Ctrl-C) stops the workers.
    """
    parts = scan_parts(paths, jobs, fields, task_messages=task_messages)
    return (record for part in parts for record in part.records)
