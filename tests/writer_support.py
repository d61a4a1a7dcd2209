"""Shared by the writer tests: a store described as data, written with pstlib.create and checked
against what pstlib reads back.

A store is a ``FolderSpec`` tree whose messages are ``NewMessage`` objects.  Attachment data
given as ``StreamData`` (a ``bytes`` subclass) is handed to the writer as a fresh
``io.BytesIO`` each time the store is written, so one description can be written once per
crypt method and still exercise the streaming path.
"""

from __future__ import annotations

import dataclasses
import io
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pstlib
from pstlib.messaging.folder import escape_name
from pstlib.writer import NewMessage, NewRecipient

UTC = timezone.utc
CRYPTS = ("none", "permute", "cyclic")
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2, "fatal": 3}
IPM_SUBTREE_NAME = "Top of Personal Folders"
DELETED_ITEMS_NAME = "Deleted Items"


class StreamData(bytes):
    """Attachment bytes the writer is to read from a stream (``io.BytesIO``), not take as bytes."""


@dataclass
class FolderSpec:
    """A folder to write: its subfolders, messages and associated (hidden) messages."""

    name: str
    container_class: str | None = "IPF.Note"
    messages: list[NewMessage] = field(default_factory=list)
    associated: list[NewMessage] = field(default_factory=list)
    children: list[FolderSpec] = field(default_factory=list)


@dataclass
class StoreSpec:
    """What ``create`` writes: the IPM subtree's own messages and children, and Deleted Items."""

    top: FolderSpec = field(default_factory=lambda: FolderSpec(IPM_SUBTREE_NAME, None))
    deleted: FolderSpec = field(default_factory=lambda: FolderSpec(DELETED_ITEMS_NAME))
    display_name: str = "Personal Folders"
    record_key: bytes = bytes(range(16))


# Writing ---------------------------------------------------------------------------------


def fresh(message: NewMessage) -> NewMessage:
    """``message`` with every ``StreamData`` replaced by a new stream over the same bytes."""
    attachments = []
    for a in message.attachments:
        data = io.BytesIO(bytes(a.data)) if isinstance(a.data, StreamData) else a.data
        embedded = fresh(a.message) if a.message is not None else None
        attachments.append(dataclasses.replace(a, data=data, message=embedded))
    return dataclasses.replace(message, attachments=attachments)


def _write_folder(writer_folder: Any, spec: FolderSpec) -> None:
    for message in spec.messages:
        writer_folder.add(fresh(message))
    for message in spec.associated:
        writer_folder.add(fresh(message), associated=True)
    for child in spec.children:
        _write_folder(writer_folder.add_folder(child.name, child.container_class), child)


def write_store(path: Path, spec: StoreSpec, crypt: str) -> None:
    with pstlib.create(path, crypt=crypt, display_name=spec.display_name, record_key=spec.record_key) as w:
        _write_folder(w.root_folder, spec.top)
        _write_folder(w.deleted_items, spec.deleted)


def all_folders(spec: StoreSpec) -> list[FolderSpec]:
    out: list[FolderSpec] = []

    def walk(folder: FolderSpec) -> None:
        out.append(folder)
        for child in folder.children:
            walk(child)

    walk(spec.top)
    walk(spec.deleted)
    return out


def all_messages(message: NewMessage) -> list[NewMessage]:
    """``message`` and every message embedded in it, depth first."""
    out = [message]
    for a in message.attachments:
        if a.message is not None:
            out += all_messages(a.message)
    return out


# Checking --------------------------------------------------------------------------------


def serious_problems(path: Path) -> list[str]:
    """verify_file's problems above severity info, as strings."""
    report = pstlib.verify_file(path)
    return [str(p) for p in report.problems if SEVERITY_RANK[p.severity] > 0]


def as_utc(moment: datetime | None) -> datetime | None:
    """How pstlib reads a written time back: aware, UTC (a naive one was written as UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def expected_value(ptype: int, value: Any) -> Any:
    """What pstlib decodes a property value written as ``value`` of type ``ptype`` to."""
    if ptype & 0x1000:
        return [expected_value(ptype & ~0x1000, v) for v in value]
    if ptype == 0x0040:
        return as_utc(value)
    if ptype == 0x0048 and isinstance(value, str):
        return uuid.UUID(value)
    if ptype == 0x0006:
        return Decimal(value)
    if ptype == 0x000B:
        return bool(value)
    if ptype == 0x0102:
        return bytes(value)
    return value


def _named_key(key: Any) -> tuple[uuid.UUID, int | str, int] | None:
    if not isinstance(key, tuple):
        return None
    guid, name, ptype = key
    return (guid if isinstance(guid, uuid.UUID) else uuid.UUID(guid)), name, ptype


def check_properties(pst: pstlib.PSTFile, props: Any, wanted: dict[Any, Any], where: str) -> None:
    """Every extra property (tag or named key) reads back as the value written."""
    names = pst.named_properties
    for key, value in wanted.items():
        named = _named_key(key)
        if named is not None:
            guid, name, ptype = named
            prop_id = names.id_of(guid, name)
            assert prop_id is not None, f"{where}: named property {(guid, name)!r} is not in the map"
            assert names[prop_id] == (guid, name), f"{where}: id 0x{prop_id:04X} resolves wrongly"
        else:
            prop_id, ptype = key >> 16, key & 0xFFFF
        assert prop_id in props, f"{where}: property 0x{prop_id:04X} missing"
        assert ptype in props.types_of(prop_id), f"{where}: 0x{prop_id:04X} stored as {props.types_of(prop_id)}"
        got = props.value(prop_id, ptype)
        assert got == expected_value(ptype, value), f"{where}: property {key!r}: {got!r} != {value!r}"


def check_message(pst: pstlib.PSTFile, got: Any, m: NewMessage, where: str) -> None:
    """One message (or embedded message) read by pstlib against the ``NewMessage`` written."""
    assert got.subject == m.subject, where
    assert got.message_class == m.message_class, where
    assert got.body == m.body, where
    html = m.html_body.encode("utf-8") if isinstance(m.html_body, str) else m.html_body
    assert got.html_body == html, where
    assert got.rtf_body == m.rtf_body, where
    assert got.sender_name == (m.sender_name or m.sender_email), where
    assert got.sender_email == (m.sender_email or None), where
    assert got.delivery_time == as_utc(m.delivery_time), where
    assert got.submit_time == as_utc(m.submit_time), where
    assert got.creation_time == as_utc(m.creation_time or m.delivery_time), where
    assert got.last_modified == as_utc(m.last_modified or m.delivery_time), where
    assert got.is_read == m.is_read, where
    assert got.importance == m.importance, where
    assert got.internet_headers == m.internet_headers, where
    assert got.get(0x0E1B000B) == bool(m.attachments), f"{where}: PidTagHasAttachments"

    recipients = [r if isinstance(r, NewRecipient) else NewRecipient(r, r) for r in m.recipients]
    assert [(r.name, r.email, r.kind) for r in got.recipients] == [
        (r.name, r.email, r.kind) for r in recipients
    ], where
    for kind, tag in (("to", 0x0E04001F), ("cc", 0x0E03001F), ("bcc", 0x0E02001F)):
        assert got.get(tag) == "; ".join(r.name for r in recipients if r.kind == kind), f"{where}: display {kind}"

    attachments = got.attachments
    assert len(attachments) == len(m.attachments), where
    for index, (a, want) in enumerate(zip(attachments, m.attachments)):
        at = f"{where} attachment {index}"
        assert a.mime_type == want.mime_type, at
        assert a.content_id == want.content_id, at
        if want.message is not None:
            assert a.is_embedded, at
            assert a.filename == ((want.filename or want.message.subject) or None), at
            check_message(pst, a.message, want.message, f"{at} (embedded)")
        else:
            data = bytes(want.data) if want.data is not None else b""
            assert not a.is_embedded, at
            assert a.message is None, at
            assert a.filename == (want.filename or None), at
            assert a.size == len(data), at
            assert a.stored_size == len(data), at
            assert a.read() == data, f"{at}: {len(a.read())} bytes read, {len(data)} written"
            with a.open() as stream:
                assert stream.read() == data, at
        check_properties(pst, a.properties, dict(want.properties), at)
    check_properties(pst, got.properties, dict(m.properties), where)


def check_folder(pst: pstlib.PSTFile, got: Any, spec: FolderSpec, path: str, extra: list[FolderSpec]) -> None:
    """A folder, its messages and (recursively) its subfolders; ``extra`` children come first."""
    assert got.name == spec.name, path
    assert got.path == path, (got.path, path)
    assert got.container_class == (spec.container_class or None), path
    assert got.message_count == len(spec.messages), path
    assert got.unread_count == sum(not m.is_read for m in spec.messages), path
    assert bool(got.properties.get(0x360A)) == bool(extra or spec.children), f"{path}: PidTagSubfolders"
    messages = list(got.messages())
    assert len(messages) == len(spec.messages), path
    for index, (message, want) in enumerate(zip(messages, spec.messages)):
        check_message(pst, message, want, f"{path} message {index}")
    associated = list(got.associated_messages())
    assert len(associated) == len(spec.associated), path
    for index, (message, want) in enumerate(zip(associated, spec.associated)):
        check_message(pst, message, want, f"{path} associated {index}")
    children = list(got.subfolders())
    wanted = extra + spec.children
    assert [c.name for c in children] == [c.name for c in wanted], path
    for child, want in zip(children, wanted):
        check_folder(pst, child, want, f"{path.rstrip('/')}/{escape_name(want.name)}", [])


def check_store(path: Path, spec: StoreSpec, crypt: str) -> None:
    """The written file verifies clean and pstlib reads back exactly ``spec``."""
    problems = serious_problems(path)
    assert not problems, problems
    with pstlib.open(path) as pst:
        assert pst.header.crypt == crypt
        assert pst.header.format == "unicode"
        assert pst.store.display_name == spec.display_name
        assert pst.store.record_key == spec.record_key
        top = pst.ipm_subtree
        assert pst.store.deleted_items_nid == next(iter(top.subfolders())).nid
        root_children = [f.name for f in pst.root_folder.subfolders()]
        assert IPM_SUBTREE_NAME in root_children, root_children
        check_folder(pst, top, spec.top, f"/{IPM_SUBTREE_NAME}", [spec.deleted])
