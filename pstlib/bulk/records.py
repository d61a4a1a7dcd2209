"""Scan records: one dict per message (``export.jsonl.message_record`` and the store's path),
or one per item that could not be read.

Every record has the keys of the selected fields in ``FIELDS`` order, always with
``store`` (the path as given), ``folder``, ``nid``, ``error`` and ``error_item``.  A
message that was read has ``error`` and ``error_item`` None.  An error record has
``error`` (pstlib's message with its offset/nid) and ``error_item``, what failed:

- ``store``: the file could not be opened or its reading stopped (``folder`` and
  ``nid`` None); an ``OSError`` or an unexpected exception is named by its type;
- ``subfolders``: a folder's hierarchy table (``folder``/``nid`` are that folder's);
- ``folder``: a subfolder listed there (``nid`` is the subfolder's, ``folder`` its parent's);
- ``contents table``: a folder's list of messages (the folder's path and nid);
- ``message``: one message (its folder's path and its own nid);

and None in every other field.  Times are UTC ``datetime`` objects; text has lone
surrogates replaced by U+FFFD, so every record fits Arrow, Parquet and JSON.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pstlib.errors import PSTError
from pstlib.export.jsonl import message_record
from pstlib.export.parquet import TIMES
from pstlib.export.text import encodable
from pstlib.messaging.message import Message

MESSAGE_FIELDS = (
    "message_class",
    "subject",
    "sender_name",
    "sender_email",
    "recipients",
    "delivery_time",
    "submit_time",
    "creation_time",
    "last_modified",
    "importance",
    "is_read",
    "message_id",
    "body_size",
    "html_size",
    "rtf_size",
    "has_html",
    "has_rtf",
    "attachments",
    "body",
)
"""What a message can contribute: ``message_record``'s fields, then the plain body text."""
FIELDS = ("store", "folder", "nid", *MESSAGE_FIELDS, "error", "error_item")
ALWAYS = frozenset({"store", "folder", "nid", "error", "error_item"})
DEFAULT_FIELDS = tuple(name for name in FIELDS if name != "body")
"""Every field but the body text, which can be most of a store's bytes."""
ERROR_ITEMS = ("store", "subfolders", "folder", "contents table", "message")


def select(fields: Iterable[str] | None) -> tuple[str, ...]:
    """The fields a scan returns, in ``FIELDS`` order: ``fields`` plus the ones always there
    (``DEFAULT_FIELDS`` for None); ``ValueError`` names any unknown field."""
    if fields is None:
        return DEFAULT_FIELDS
    wanted = {fields} if isinstance(fields, str) else set(fields)
    unknown = wanted.difference(FIELDS)
    if unknown:
        raise ValueError(
            f"unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(FIELDS)}"
        )
    return tuple(name for name in FIELDS if name in wanted or name in ALWAYS)


def store_name(path: str | os.PathLike[str]) -> str:
    """The ``store`` value of a path: as given, made encodable."""
    return encodable(os.fspath(path))


def message_row(store: str, folder: str, message: Message, fields: tuple[str, ...]) -> dict:
    """The record of one message (``PSTError`` if it cannot be read)."""
    full: dict[str, Any] = message_record(message, folder)
    for name in TIMES:
        if full[name] is not None:
            full[name] = datetime.fromisoformat(full[name].replace("Z", "+00:00"))
    if "body" in fields:
        body = message.body
        full["body"] = None if body is None else encodable(body)
    full.update(store=store, error=None, error_item=None)
    return {name: full[name] for name in fields}


def error_row(
    store: str,
    folder: str | None,
    nid: int | None,
    item: str,
    error: BaseException,
    fields: tuple[str, ...],
) -> dict:
    """The record of an item that could not be read; ``item`` is one of ``ERROR_ITEMS``."""
    text = str(error) if isinstance(error, PSTError) else f"{type(error).__name__}: {error}"
    row = dict.fromkeys(fields)
    row.update(
        store=store,
        folder=None if folder is None else encodable(folder),
        nid=nid,
        error=encodable(text),
        error_item=item,
    )
    return row
