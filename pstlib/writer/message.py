"""Messages, recipients and attachments of a new store ([MS-PST] 2.4.5-2.4.6).

A message is one PC node; its recipients are rows of its recipient table
(subnode 0x692), its attachments PCs in subnodes listed by its attachment
table (subnode 0x671).  An embedded message is a subnode of its attachment
with the same shape, so ``write_message`` recurses.  Attachment bytes from a
stream go straight to blocks, so large files never sit in memory.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from pstlib.errors import WriterError
from pstlib.ltp.proptypes import PropertyType
from pstlib.messaging.rtf import compress_rtf
from pstlib.ndb.nid import NID_ATTACHMENT_TABLE, NID_RECIPIENT_TABLE, NIDType
from pstlib.tags import PropertyId as P
from pstlib.writer import templates
from pstlib.writer.heap import MAX_ITEM
from pstlib.writer.namedprops import NameMap
from pstlib.writer.ndb import MAX_DATA, NDBWriter
from pstlib.writer.propertycontext import InSubnode, Subnodes, Value, write_pc
from pstlib.writer.tablecontext import write_tc
from pstlib.writer.values import encode_value, tag_of

T = PropertyType
PropertyKey = int | tuple[uuid.UUID | str, int | str, int]
"""A property tag ((id << 16) | type), or (property set GUID, LID or name, type) for a named one."""

RECIPIENT_TYPES = {"to": 1, "cc": 2, "bcc": 3}
ATTACH_BY_VALUE, ATTACH_EMBEDDED_MSG = 1, 5
MSGFLAG_READ, MSGFLAG_UNSENT, MSGFLAG_HASATTACH = 0x01, 0x08, 0x10
MAPI_MAILUSER, MAPI_ATTACH = 6, 7


_INT32 = struct.Struct("<i")
_RECIPIENT_TYPE = tag_of(P.PidTagRecipientType, T.INTEGER32)
_DISPLAY_NAME = tag_of(P.PidTagDisplayName, T.STRING)
_RECIPIENT_DISPLAY_NAME = tag_of(P.PidTagRecipientDisplayName, T.STRING)
_EMAIL_ADDRESS = tag_of(P.PidTagEmailAddress, T.STRING)
_ADDRESS_TYPE = tag_of(P.PidTagAddressType, T.STRING)
_SMTP_ADDRESS = tag_of(P.PidTagSmtpAddress, T.STRING)
_SEARCH_KEY = tag_of(P.PidTagSearchKey, T.BINARY)
_ROW_ID = tag_of(P.PidTagRowid, T.INTEGER32)
_RECIPIENT_CONSTANTS = {
    tag_of(P.PidTagObjectType, T.INTEGER32): _INT32.pack(MAPI_MAILUSER),
    tag_of(P.PidTagDisplayType, T.INTEGER32): _INT32.pack(0),
    tag_of(P.PidTagResponsibility, T.BOOLEAN): b"\x01",
    tag_of(P.PidTagSendRichInfo, T.BOOLEAN): b"\x00",
}


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le", "surrogatepass")


@dataclass
class NewRecipient:
    """A recipient to write: ``kind`` is "to", "cc" or "bcc"."""

    name: str
    email: str = ""
    kind: str = "to"
    address_type: str = "SMTP"
    properties: Mapping[PropertyKey, Any] = field(default_factory=dict)
    raw: bool = False
    """Write ``properties`` only (a copy), not the ones derived from the fields."""


@dataclass
class NewAttachment:
    """An attachment to write: bytes or a binary stream as ``data``, or an embedded ``message``."""

    filename: str = ""
    data: bytes | BinaryIO | None = None
    message: NewMessage | None = None
    mime_type: str | None = None
    content_id: str | None = None
    properties: Mapping[PropertyKey, Any] = field(default_factory=dict)
    raw: bool = False
    """Write ``properties`` and the data only (a copy), not the ones derived from the fields."""
    ole: bool = False
    """``data`` is an OLE object (method 6): stored as PtypObject in a subnode, not as PtypBinary."""


@dataclass
class NewMessage:
    """Everything ``FolderWriter.add_message`` takes, kept for embedded messages."""

    subject: str = ""
    body: str | None = None
    html_body: bytes | str | None = None
    rtf_body: bytes | None = None
    sender_name: str | None = None
    sender_email: str | None = None
    delivery_time: datetime | None = None
    submit_time: datetime | None = None
    creation_time: datetime | None = None
    last_modified: datetime | None = None
    message_class: str = "IPM.Note"
    is_read: bool = True
    importance: int = 1
    internet_headers: str | None = None
    recipients: Sequence[NewRecipient | tuple[str, str] | str] = ()
    attachments: Sequence[NewAttachment] = ()
    properties: Mapping[PropertyKey, Any] = field(default_factory=dict)
    raw: bool = False
    """Write ``properties`` only (a copy), not the ones derived from the fields."""


def _recipient(value: NewRecipient | tuple[str, str] | str) -> NewRecipient:
    if isinstance(value, NewRecipient):
        return value
    if isinstance(value, str):
        return NewRecipient(value, value)
    return NewRecipient(*value)


class MessageWriter:
    """Writes messages (and what hangs off them) into one store."""

    def __init__(self, ndb: NDBWriter, names: NameMap) -> None:
        self.ndb = ndb
        self.names = names

    def tag(self, key: PropertyKey) -> tuple[int, int]:
        """(property id, type) of a tag or a named-property key."""
        if isinstance(key, tuple):
            guid, name, ptype = key
            return self.names.id_of(guid, name), ptype
        return key >> 16, key & 0xFFFF

    def write(self, message: NewMessage, nid: int) -> tuple[int, int, dict[int, Value]]:
        """Write ``message`` as node ``nid``: (bid_data, bid_sub, its properties by tag)."""
        subnodes = Subnodes(self.ndb)
        recipients = [_recipient(r) for r in message.recipients]
        props = self._message_properties(message, recipients)
        recipient_rows = [self._recipient_row(i, r) for i, r in enumerate(recipients)]
        recipient_tags = {tag for _, row in recipient_rows for tag in row} | set(templates.RECIPIENT_TABLE)
        table_subnodes = Subnodes(self.ndb)
        bid = write_tc(self.ndb, recipient_tags, recipient_rows, table_subnodes)
        subnodes.add(NID_RECIPIENT_TABLE, bid, table_subnodes.tree())
        attachment_rows = []
        for index, attachment in enumerate(message.attachments):
            attach_nid = self.ndb.new_nid(NIDType.ATTACHMENT)
            row = self._write_attachment(attachment, index, attach_nid, subnodes)
            attachment_rows.append((attach_nid, row))
        if attachment_rows:
            table_subnodes = Subnodes(self.ndb)
            bid = write_tc(self.ndb, templates.ATTACHMENT_TABLE, attachment_rows, table_subnodes)
            subnodes.add(NID_ATTACHMENT_TABLE, bid, table_subnodes.tree())
        bid_data = write_pc(self.ndb, _records(props), subnodes)
        return bid_data, subnodes.tree(), props

    # Properties ----------------------------------------------------------------------

    def _put(self, props: dict[int, Value], key: PropertyKey, value: Any) -> None:
        if value is None:
            return
        prop_id, ptype = self.tag(key)
        stored = value if isinstance(value, InSubnode) else encode_value(ptype, value)
        props[(prop_id << 16) | ptype] = stored

    def _message_properties(self, m: NewMessage, recipients: list[NewRecipient]) -> dict[int, Value]:
        props: dict[int, Value] = {}
        put = lambda key, value: self._put(props, key, value)  # noqa: E731
        if m.raw:
            for key, value in m.properties.items():
                put(key, value)
            return props
        flags = (MSGFLAG_READ if m.is_read else 0) | (MSGFLAG_HASATTACH if m.attachments else 0)
        put(tag_of(P.PidTagMessageClass, T.STRING), m.message_class)
        put(tag_of(P.PidTagSubject, T.STRING), m.subject)
        put(tag_of(P.PidTagConversationTopic, T.STRING), m.subject)
        put(tag_of(P.PidTagMessageFlags, T.INTEGER32), flags)
        put(tag_of(P.PidTagImportance, T.INTEGER32), m.importance)
        put(tag_of(P.PidTagSensitivity, T.INTEGER32), 0)
        put(tag_of(P.PidTagHasAttachments, T.BOOLEAN), bool(m.attachments))
        put(tag_of(P.PidTagMessageDeliveryTime, T.TIME), m.delivery_time)
        put(tag_of(P.PidTagClientSubmitTime, T.TIME), m.submit_time)
        put(tag_of(P.PidTagCreationTime, T.TIME), m.creation_time or m.delivery_time)
        put(tag_of(P.PidTagLastModificationTime, T.TIME), m.last_modified or m.delivery_time)
        if m.sender_name is not None or m.sender_email is not None:
            for name_id, email_id, type_id in (
                (P.PidTagSenderName, P.PidTagSenderEmailAddress, P.PidTagSenderAddressType),
                (P.PidTagSentRepresentingName, P.PidTagSentRepresentingEmailAddress, P.PidTagSentRepresentingAddressType),
            ):
                put(tag_of(name_id, T.STRING), m.sender_name or m.sender_email)
                put(tag_of(email_id, T.STRING), m.sender_email)
                put(tag_of(type_id, T.STRING), "SMTP" if m.sender_email else None)
            put(tag_of(P.PidTagSenderSmtpAddress, T.STRING), m.sender_email)
        for kind, prop_id in (("to", P.PidTagDisplayTo), ("cc", P.PidTagDisplayCc), ("bcc", P.PidTagDisplayBcc)):
            put(tag_of(prop_id, T.STRING), "; ".join(r.name for r in recipients if r.kind == kind))
        put(tag_of(P.PidTagBody, T.STRING), m.body)
        if m.html_body is not None:
            html = m.html_body.encode("utf-8") if isinstance(m.html_body, str) else m.html_body
            put(tag_of(P.PidTagHtml, T.BINARY), html)
            if isinstance(m.html_body, str):
                put(tag_of(P.PidTagInternetCodepage, T.INTEGER32), 65001)
        if m.rtf_body is not None:
            put(tag_of(P.PidTagRtfCompressed, T.BINARY), compress_rtf(m.rtf_body))
            put(tag_of(P.PidTagRtfInSync, T.BOOLEAN), True)
        put(tag_of(P.PidTagTransportMessageHeaders, T.STRING), m.internet_headers)
        for key, value in m.properties.items():
            put(key, value)
        size = sum(len(v) if isinstance(v, bytes) else 0 for v in props.values())
        props.setdefault(tag_of(P.PidTagMessageSize, T.INTEGER32), struct.pack("<I", min(size, 0x7FFFFFFF)))
        return props

    def _recipient_row(self, index: int, r: NewRecipient) -> tuple[int, dict[int, Value]]:
        if r.raw:
            props: dict[int, Value] = {}
            for key, value in r.properties.items():
                self._put(props, key, value)
            return index, props
        kind = RECIPIENT_TYPES.get(r.kind)
        if kind is None:
            raise WriterError(f"recipient kind {r.kind!r} is not one of to, cc, bcc")
        # the common case spelled out: a store's recipients are most of its properties
        name, email = _utf16(r.name), _utf16(r.email)
        props = {
            **_RECIPIENT_CONSTANTS,
            _RECIPIENT_TYPE: _INT32.pack(kind),
            _DISPLAY_NAME: name,
            _RECIPIENT_DISPLAY_NAME: name,
            _EMAIL_ADDRESS: email,
            _ADDRESS_TYPE: _utf16(r.address_type),
            _SEARCH_KEY: f"{r.address_type}:{r.email}".upper().encode("utf-8", "replace") + b"\0",
            _ROW_ID: _INT32.pack(index),
        }
        if r.address_type.upper() == "SMTP":
            props[_SMTP_ADDRESS] = email
        for key, value in r.properties.items():
            self._put(props, key, value)
        return index, props

    # Attachments ---------------------------------------------------------------------

    def _write_attachment(
        self, a: NewAttachment, index: int, nid: int, parent: Subnodes
    ) -> dict[int, Value]:
        """Write one attachment PC (and its data or embedded message) as a subnode of ``parent``."""
        subnodes = Subnodes(self.ndb)
        props: dict[int, Value] = {}
        put = lambda key, value: self._put(props, key, value)  # noqa: E731
        if not a.raw:
            put(tag_of(P.PidTagAttachNumber, T.INTEGER32), index)
            put(tag_of(P.PidTagObjectType, T.INTEGER32), MAPI_ATTACH)
            put(tag_of(P.PidTagRenderingPosition, T.INTEGER32), 0xFFFFFFFF)
            put(tag_of(P.PidTagAttachMimeTag, T.STRING), a.mime_type)
            put(tag_of(P.PidTagAttachContentId, T.STRING), a.content_id)
        size = 0
        if a.message is not None:
            message_nid = self.ndb.new_nid(NIDType.LTP)
            bid_data, bid_sub, embedded = self.write(a.message, message_nid)
            subnodes.add(message_nid, bid_data, bid_sub)
            size = _size_of(embedded)
            if not a.raw:
                put(tag_of(P.PidTagAttachMethod, T.INTEGER32), ATTACH_EMBEDDED_MSG)
                put(tag_of(P.PidTagDisplayName, T.STRING), a.filename or a.message.subject)
            props[tag_of(P.PidTagAttachDataBinary, T.OBJECT)] = struct.pack("<II", message_nid, size)
        elif a.data is not None or not a.raw:
            if not a.raw:
                put(tag_of(P.PidTagAttachMethod, T.INTEGER32), ATTACH_BY_VALUE)
                put(tag_of(P.PidTagAttachFilename, T.STRING), a.filename)
                put(tag_of(P.PidTagAttachLongFilename, T.STRING), a.filename)
                put(tag_of(P.PidTagDisplayName, T.STRING), a.filename)
            value, size = self._attachment_data(a.data, subnodes)
            if a.ole:  # PtypObject: (NID, size) of a subnode, even for a small object
                object_nid = value.nid if isinstance(value, InSubnode) else subnodes.add_value(value)
                props[tag_of(P.PidTagAttachDataBinary, T.OBJECT)] = struct.pack("<II", object_nid, size)
            else:
                props[tag_of(P.PidTagAttachDataBinary, T.BINARY)] = value
        for key, value in a.properties.items():
            put(key, value)
        props.setdefault(tag_of(P.PidTagAttachSize, T.INTEGER32), struct.pack("<I", min(size, 0x7FFFFFFF)))
        parent.add(nid, write_pc(self.ndb, _records(props), subnodes), subnodes.tree())
        return props

    def _attachment_data(self, data: bytes | BinaryIO | None, subnodes: Subnodes) -> tuple[Value, int]:
        """The stored attachment bytes: in the heap when small, streamed to a subnode otherwise."""
        if data is None:
            return b"", 0
        if isinstance(data, (bytes, bytearray, memoryview)):
            return bytes(data), len(data)
        head = _read_up_to(data, MAX_ITEM + 1)
        if len(head) <= MAX_ITEM:
            return bytes(head), len(head)
        nid = self.ndb.new_nid(NIDType.LTP)
        bid, size = self.ndb.add_stream(_chunks(head, data))
        subnodes.add(nid, bid)
        return InSubnode(nid), size


def _read_up_to(stream: BinaryIO, size: int) -> bytes:
    """``size`` bytes, or fewer only at the end of the stream (raw streams may return less)."""
    parts, have = [], 0
    while have < size:
        part = stream.read(size - have)
        if not part:
            break
        parts.append(part)
        have += len(part)
    return b"".join(parts)


def _chunks(head: bytes, stream: BinaryIO) -> Iterator[bytes]:
    yield head
    while chunk := stream.read(MAX_DATA * 16):
        yield chunk



def _records(props: Mapping[int, Value]) -> Iterable[tuple[int, int, Value]]:
    return ((tag >> 16, tag & 0xFFFF, value) for tag, value in props.items())


def _size_of(props: Mapping[int, Value]) -> int:
    size = props.get(tag_of(P.PidTagMessageSize, T.INTEGER32))
    return struct.unpack("<I", size)[0] if isinstance(size, bytes) else 0
