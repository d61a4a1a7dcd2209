"""Message metadata (the ``jsonl`` records) as one Parquet file, through ``pyarrow``.

``pyarrow`` is optional: ``pip install pstlib[parquet]``.  Schema, one row per message:

=================  ===========================================================
folder             string, not null: pstlib folder path
nid                uint32, not null
message_class      string
subject            string
sender_name        string
sender_email       string
recipients         list<struct<name: string, email: string, kind: string>>
delivery_time      timestamp[us, tz=UTC]  (also submit_time, creation_time,
                   last_modified)
importance         int32
is_read            bool, not null
message_id         string
body_size          int64   (UTF-8 bytes of the plain text)
html_size          int64
rtf_size           int64   (decompressed bytes)
has_html           bool, not null
has_rtf            bool, not null
attachments        list<struct<filename: string, size: int64, mime_type: string>>
=================  ===========================================================
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

ROWS_PER_GROUP = 10_000
"""Records held in memory at a time: one Parquet row group."""
TIMES = ("delivery_time", "submit_time", "creation_time", "last_modified")


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as exc:
        raise ImportError(
            "Parquet export needs pyarrow: pip install 'pstlib[parquet]' (or pip install pyarrow)"
        ) from exc
    return pyarrow


def schema() -> Any:
    """The ``pyarrow.Schema`` of the module docstring."""
    pa = _pyarrow()
    utc = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [
            pa.field("folder", pa.string(), nullable=False),
            pa.field("nid", pa.uint32(), nullable=False),
            pa.field("message_class", pa.string()),
            pa.field("subject", pa.string()),
            pa.field("sender_name", pa.string()),
            pa.field("sender_email", pa.string()),
            pa.field(
                "recipients",
                pa.list_(
                    pa.struct(
                        [
                            pa.field("name", pa.string()),
                            pa.field("email", pa.string()),
                            pa.field("kind", pa.string()),
                        ]
                    )
                ),
            ),
            *(pa.field(name, utc) for name in TIMES),
            pa.field("importance", pa.int32()),
            pa.field("is_read", pa.bool_(), nullable=False),
            pa.field("message_id", pa.string()),
            pa.field("body_size", pa.int64()),
            pa.field("html_size", pa.int64()),
            pa.field("rtf_size", pa.int64()),
            pa.field("has_html", pa.bool_(), nullable=False),
            pa.field("has_rtf", pa.bool_(), nullable=False),
            pa.field(
                "attachments",
                pa.list_(
                    pa.struct(
                        [
                            pa.field("filename", pa.string()),
                            pa.field("size", pa.int64()),
                            pa.field("mime_type", pa.string()),
                        ]
                    )
                ),
            ),
        ]
    )


def _row(record: dict[str, Any]) -> dict[str, Any]:
    """A ``jsonl`` record with its ISO 8601 times as datetimes."""
    row = dict(record)
    for name in TIMES:
        if row[name] is not None:
            row[name] = datetime.fromisoformat(row[name].replace("Z", "+00:00"))
    return row


def _batches(records: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    rows = map(_row, records)
    while batch := list(islice(rows, ROWS_PER_GROUP)):
        yield batch


def write_parquet(records: Iterable[dict[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write ``records`` (``jsonl.message_record`` dicts) to the new file ``path``; returns
    the number written.  Raises ``ImportError`` naming the ``parquet`` extra without pyarrow."""
    pa = _pyarrow()
    table_schema = schema()
    count = 0
    with open(path, "xb") as handle, pa.parquet.ParquetWriter(handle, table_schema) as writer:
        for batch in _batches(records):
            writer.write_table(pa.Table.from_pylist(batch, schema=table_schema))
            count += len(batch)
    return count
