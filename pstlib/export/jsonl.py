"""Message metadata as JSON Lines: one object per message, independent of the store file.

Fields: ``folder`` (pstlib folder path), ``nid``, ``message_class``, ``subject``,
``sender_name``, ``sender_email``, ``recipients`` ([{name, email, kind}]),
``delivery_time``/``submit_time``/``creation_time``/``last_modified`` (ISO 8601 UTC,
``...Z``, or null), ``importance``, ``is_read``, ``message_id``, ``body_size`` (UTF-8
bytes of the plain text), ``html_size``, ``rtf_size`` (decompressed bytes, from the
compressed RTF's header), ``has_html``, ``has_rtf``, ``attachments``
([{filename, size, mime_type}]).  Absent values are null.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from pstlib.export.text import encodable
from pstlib.messaging import values
from pstlib.messaging.message import Message
from pstlib.messaging.rtf import HEADER as RTF_HEADER
from pstlib.tags import PropertyId


def iso_utc(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _text(value: str | None) -> str | None:
    return None if value is None else encodable(value)


def _rtf_size(message: Message) -> int | None:
    compressed = values.binary(message.properties, PropertyId.PidTagRtfCompressed)
    if compressed is None or len(compressed) < RTF_HEADER.size:
        return None
    return RTF_HEADER.unpack_from(compressed)[1]


def message_record(message: Message, folder_path: str) -> dict[str, Any]:
    """The message's metadata as a JSON-ready dict (raises ``PSTError`` if it cannot be read)."""
    body, html, rtf_size = message.body, message.html_body, _rtf_size(message)
    return {
        "folder": encodable(folder_path),
        "nid": message.nid,
        "message_class": _text(message.message_class),
        "subject": _text(message.subject),
        "sender_name": _text(message.sender_name),
        "sender_email": _text(message.sender_email),
        "recipients": [
            {"name": _text(r.name), "email": _text(r.email), "kind": r.kind}
            for r in message.recipients
        ],
        "delivery_time": iso_utc(message.delivery_time),
        "submit_time": iso_utc(message.submit_time),
        "creation_time": iso_utc(message.creation_time),
        "last_modified": iso_utc(message.last_modified),
        "importance": message.importance,
        "is_read": message.is_read,
        "message_id": _text(values.text(message.properties, PropertyId.PidTagInternetMessageId)),
        "body_size": None if body is None else len(encodable(body).encode("utf-8")),
        "html_size": None if html is None else len(html),
        "rtf_size": rtf_size,
        "has_html": html is not None,
        "has_rtf": rtf_size is not None,
        "attachments": [
            {"filename": _text(a.filename), "size": a.size, "mime_type": _text(a.mime_type)}
            for a in message.attachments
        ],
    }


def write_jsonl(records: Iterable[dict[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write one JSON object per line to the new file ``path``; returns the number written."""
    count = 0
    with open(path, "x", encoding="utf-8", newline="\n") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count
