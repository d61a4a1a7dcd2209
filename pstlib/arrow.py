"""Scan records as Arrow tables and as a Parquet dataset, through ``pyarrow``
(``pip install 'pstlib[arrow]'``).

The schema, one row per record (``pstlib.bulk.records``), columns in this order and
only those a scan selected; every column may be null except ``store``:

==============  ===============================================================
store           string, not null: the store's path as given
folder          string: pstlib folder path
nid             uint32: the message's (or, in an error row, the item's) node id
message_class   string (also subject, sender_name, sender_email)
recipients      list<struct<name: string, email: string, kind: string>>
delivery_time   timestamp[us, tz=UTC] (also submit_time, creation_time,
                last_modified)
importance      int32
is_read         bool
message_id      string
body_size       int64: UTF-8 bytes of the plain text (also html_size, and
                rtf_size: decompressed bytes)
has_html        bool (also has_rtf)
attachments     list<struct<filename: string, size: int64, mime_type: string>>
body            string: the plain text, only when asked for
error           string: why the item could not be read (null for messages)
error_item      string: store, subfolders, folder, contents table or message
==============  ===============================================================

The message columns are those of ``pstlib export --to parquet``
(``export.parquet.schema``), made nullable for error rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from pathlib import Path

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError as exc:
    raise ImportError(
        "pstlib.arrow needs pyarrow: pip install 'pstlib[arrow]' (or pip install pyarrow)"
    ) from exc

from pstlib.bulk.records import select
from pstlib.bulk.run import Part
from pstlib.export.names import safe_name
from pstlib.export.parquet import ROWS_PER_GROUP
from pstlib.export.parquet import schema as export_schema


def schema(fields: Iterable[str] | None = None) -> pa.Schema:
    """The schema of the module docstring for a scan of ``fields`` (as ``pstlib.scan``)."""
    message = {field.name: field.with_nullable(True) for field in export_schema()}
    columns = {
        "store": pa.field("store", pa.string(), nullable=False),
        **message,
        "body": pa.field("body", pa.string()),
        "error": pa.field("error", pa.string()),
        "error_item": pa.field("error_item", pa.string()),
    }
    return pa.schema([columns[name] for name in select(fields)])


def _fields_of(
    records: Iterator[dict], fields: Iterable[str] | None
) -> tuple[Iterator[dict], Iterable[str] | None]:
    """``fields``, else the keys of the first record (a scan's records all have the same)."""
    if fields is not None:
        return records, fields
    first = next(records, None)
    if first is None:
        return records, None
    return chain([first], records), list(first)


def to_table(records: Iterable[dict], fields: Iterable[str] | None = None) -> pa.Table:
    """Scan records as one table of ``schema(fields)``; without ``fields``, the columns are
    those the records have (``DEFAULT_FIELDS`` when there are none)."""
    rows, fields = _fields_of(iter(records), fields)
    return pa.Table.from_pylist(list(rows), schema=schema(fields))


def _batches(records: Iterable[dict], table_schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    rows = iter(records)
    while batch := list(islice(rows, ROWS_PER_GROUP)):
        yield pa.RecordBatch.from_pylist(batch, schema=table_schema)


def part_name(part: Part) -> str:
    """``00003-0002-Outlook.parquet``: input number, part number, and the store's file name."""
    stem = safe_name(Path(part.store).stem, fallback="store", max_length=60)
    return f"{part.index:05d}-{part.part:04d}-{stem}.parquet"


def write_dataset(
    parts: Iterable[Part], directory: str | os.PathLike[str], fields: Iterable[str] | None = None
) -> list[Path]:
    """Write ``pstlib.bulk.scan_parts``'s records as a Parquet dataset: one file per part
    (a store, or a run of its folders) named by ``part_name``, each holding the whole
    schema, ``store`` included, so ``pyarrow.parquet.read_table(directory)`` reads the
    scan back.  ``directory`` is created and must be empty; ``fields`` must be the scan's.
    Files are written as the parts arrive, a row group at a time.  Returns the paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty")
    table_schema = schema(fields)
    written = []
    for part in parts:
        path = out / part_name(part)
        with pq.ParquetWriter(path, table_schema) as writer:
            for batch in _batches(part.records, table_schema):
                writer.write_batch(batch)
        written.append(path)
    return written
