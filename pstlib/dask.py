"""Stores as Dask DataFrames: ``read_pst`` (scan records) and ``verify`` (verify reports),
for a cluster whose workers read the stores by path from shared storage
(``pip install 'pstlib[dask]'``).

Each partition is one ``pstlib.bulk.tasks.Task``, a store or a run of its folders,
planned where ``read_pst`` is called (a store it cannot open there is one partition,
read whole by a worker).  Columns are ``pandas.ArrowDtype``s of ``pstlib.arrow.schema``,
so nothing is lost on the way to pandas: nullable integers stay integers, lists of
recipients and attachments stay lists of structs.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from typing import Any

try:
    import dask.dataframe as dd
    import pandas as pd
    import pyarrow as pa
except ImportError as exc:
    raise ImportError(
        "pstlib.dask needs dask[dataframe] and distributed: pip install 'pstlib[dask]'"
    ) from exc

from pstlib.arrow import schema, to_table
from pstlib.bulk.records import select
from pstlib.bulk.run import tasks
from pstlib.bulk.tasks import TASK_MESSAGES, Task, run_list
from pstlib.verify import verify_file

PathsOrGlob = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]

REPORT_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string(), nullable=False),
        pa.field("level", pa.string(), nullable=False),
        pa.field("consistent", pa.bool_(), nullable=False),
        pa.field("error", pa.string()),
        pa.field(
            "problems",
            pa.list_(
                pa.struct(
                    [
                        pa.field("code", pa.string()),
                        pa.field("severity", pa.string()),
                        pa.field("layer", pa.string()),
                        pa.field("message", pa.string()),
                        pa.field("offset", pa.int64()),
                        pa.field("nid", pa.int64()),
                        pa.field("bid", pa.uint64()),
                    ]
                )
            ),
        ),
        *(
            pa.field(name, pa.int64())
            for name in ("pages", "blocks", "nodes", "folders", "messages", "bytes_read")
        ),
        pa.field("seconds", pa.float64()),
    ]
)
"""One row per file: ``Report.to_dict()`` with its stats as columns, and ``error`` (with
``consistent`` false and null stats) for a file the worker's OS could not open."""


def paths_of(paths_or_glob: PathsOrGlob) -> list[str]:
    """Paths, each a path or a glob pattern (matches sorted; a pattern matching nothing is
    kept, to be reported as a store that cannot be opened)."""
    if isinstance(paths_or_glob, (str, os.PathLike)):
        paths_or_glob = [paths_or_glob]
    out = []
    for item in map(os.fspath, paths_or_glob):
        out.extend(sorted(glob.glob(item)) if glob.has_magic(item) else [item])
    return out


def _frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _records_partition(task: Task, fields: tuple[str, ...]) -> pd.DataFrame:
    return _frame(to_table(run_list(task, fields), fields))


def read_pst(
    paths_or_glob: PathsOrGlob,
    fields: Iterable[str] | None = None,
    *,
    task_messages: int = TASK_MESSAGES,
) -> dd.DataFrame:
    """The scan records of the stores (paths or glob patterns) as a Dask DataFrame, one
    partition per task; the same rows as ``pstlib.scan(paths, fields=fields)``."""
    selected = select(fields)
    return dd.from_map(
        _records_partition,
        list(tasks(paths_of(paths_or_glob), task_messages)),
        fields=selected,
        meta=_frame(schema(selected).empty_table()),
        label="read-pst",
        enforce_metadata=False,
    )


def report_row(path: str, level: str) -> dict[str, Any]:
    """``verify_file(path, level)`` as a ``REPORT_SCHEMA`` row."""
    try:
        report = verify_file(path, level=level)
    except OSError as exc:
        return {"path": path, "level": level, "consistent": False, "error": str(exc)}
    row = report.to_dict()
    row.update(row.pop("stats"), error=None)
    return row


def _report_partition(path: str, level: str) -> pd.DataFrame:
    return _frame(pa.Table.from_pylist([report_row(path, level)], schema=REPORT_SCHEMA))


def verify(paths_or_glob: PathsOrGlob, level: str = "full") -> dd.DataFrame:
    """``verify_file`` on each file (paths or glob patterns), one row and one partition per
    file, as a Dask DataFrame of ``REPORT_SCHEMA``."""
    return dd.from_map(
        _report_partition,
        paths_of(paths_or_glob),
        level=level,
        meta=_frame(REPORT_SCHEMA.empty_table()),
        label="verify-pst",
        enforce_metadata=False,
    )
