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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import methodcaller
from typing import Any, BinaryIO

from pstlib.errors import WriterError
from pstlib.ltp.proptypes import SCALAR_STRUCTS, PropertyType
from pstlib.messaging.rtf import compress_rtf
from pstlib.ndb.nid import NID_ATTACHMENT_TABLE, NID_RECIPIENT_TABLE, NIDType
from pstlib.tags import PropertyId as P
from pstlib.writer import templates
from pstlib.writer.heap import MAX_ITEM
from pstlib.writer.namedprops import NameMap
from pstlib.writer.ndb import MAX_DATA, NDBWriter
from pstlib.writer.propertycontext import InSubnode, Subnodes, Value, write_pc
from pstlib.writer.tablecontext import write_tc
from pstlib.writer.values import encode_value, filetime_of, tag_of

T = PropertyType
PropertyKey = int | tuple[uuid.UUID | str, int | str, int]
"""A property tag ((id << 16) | type), or (property set GUID, LID or name, type) for a named one."""

RECIPIENT_TYPES = {"to": 1, "cc": 2, "bcc": 3}
ATTACH_BY_VALUE, ATTACH_EMBEDDED_MSG = 1, 5
MSGFLAG_READ, MSGFLAG_UNSENT, MSGFLAG_HASATTACH = 0x01, 0x08, 0x10
MAPI_MAILUSER, MAPI_ATTACH = 6, 7


_INT32 = struct.Struct("<i")
_FILETIME = SCALAR_STRUCTS[T.TIME]
_SMALL_INT32 = {value: _INT32.pack(value) for value in range(3)}
"""Importance and sensitivity as stored: each message has both."""
_RECIPIENT_COLUMNS = frozenset(templates.RECIPIENT_TABLE)
_ATTACHMENT_COLUMNS = frozenset(templates.ATTACHMENT_TABLE)
_SMTP = "SMTP".encode("utf-16-le")
_MESSAGE_CLASS = tag_of(P.PidTagMessageClass, T.STRING)
_SUBJECT = tag_of(P.PidTagSubject, T.STRING)
_CONVERSATION_TOPIC = tag_of(P.PidTagConversationTopic, T.STRING)
_MESSAGE_FLAGS = tag_of(P.PidTagMessageFlags, T.INTEGER32)
_IMPORTANCE = tag_of(P.PidTagImportance, T.INTEGER32)
_SENSITIVITY = tag_of(P.PidTagSensitivity, T.INTEGER32)
_HAS_ATTACHMENTS = tag_of(P.PidTagHasAttachments, T.BOOLEAN)
_DELIVERY_TIME = tag_of(P.PidTagMessageDeliveryTime, T.TIME)
_SUBMIT_TIME = tag_of(P.PidTagClientSubmitTime, T.TIME)
_CREATION_TIME = tag_of(P.PidTagCreationTime, T.TIME)
_LAST_MODIFIED = tag_of(P.PidTagLastModificationTime, T.TIME)
_SENDER_TAGS = tuple(
    (tag_of(name, T.STRING), tag_of(email, T.STRING), tag_of(kind, T.STRING))
    for name, email, kind in (
        (P.PidTagSenderName, P.PidTagSenderEmailAddress, P.PidTagSenderAddressType),
        (P.PidTagSentRepresentingName, P.PidTagSentRepresentingEmailAddress, P.PidTagSentRepresentingAddressType),
    )
)
_SENDER_SMTP = tag_of(P.PidTagSenderSmtpAddress, T.STRING)
_DISPLAY_TAGS = (
    ("to", tag_of(P.PidTagDisplayTo, T.STRING)),
    ("cc", tag_of(P.PidTagDisplayCc, T.STRING)),
    ("bcc", tag_of(P.PidTagDisplayBcc, T.STRING)),
)
_BODY = tag_of(P.PidTagBody, T.STRING)
_HTML = tag_of(P.PidTagHtml, T.BINARY)
_INTERNET_CODEPAGE = tag_of(P.PidTagInternetCodepage, T.INTEGER32)
_RTF_COMPRESSED = tag_of(P.PidTagRtfCompressed, T.BINARY)
_RTF_IN_SYNC = tag_of(P.PidTagRtfInSync, T.BOOLEAN)
_TRANSPORT_HEADERS = tag_of(P.PidTagTransportMessageHeaders, T.STRING)
_MESSAGE_SIZE = tag_of(P.PidTagMessageSize, T.INTEGER32)
_RECIPIENT_TYPE = tag_of(P.PidTagRecipientType, T.INTEGER32)
_DISPLAY_NAME = tag_of(P.PidTagDisplayName, T.STRING)
_RECIPIENT_DISPLAY_NAME = tag_of(P.PidTagRecipientDisplayName, T.STRING)
_EMAIL_ADDRESS = tag_of(P.PidTagEmailAddress, T.STRING)
_ADDRESS_TYPE = tag_of(P.PidTagAddressType, T.STRING)
_SMTP_ADDRESS = tag_of(P.PidTagSmtpAddress, T.STRING)
_SEARCH_KEY = tag_of(P.PidTagSearchKey, T.BINARY)
_ROW_ID = tag_of(P.PidTagRowid, T.INTEGER32)
_ATTACH_NUMBER = tag_of(P.PidTagAttachNumber, T.INTEGER32)
_OBJECT_TYPE = tag_of(P.PidTagObjectType, T.INTEGER32)
_RENDERING_POSITION = tag_of(P.PidTagRenderingPosition, T.INTEGER32)
_MIME_TAG = tag_of(P.PidTagAttachMimeTag, T.STRING)
_CONTENT_ID = tag_of(P.PidTagAttachContentId, T.STRING)
_ATTACH_METHOD = tag_of(P.PidTagAttachMethod, T.INTEGER32)
_ATTACH_FILENAME = tag_of(P.PidTagAttachFilename, T.STRING)
_ATTACH_LONG_FILENAME = tag_of(P.PidTagAttachLongFilename, T.STRING)
_ATTACH_OBJECT, _BY_VALUE = _INT32.pack(MAPI_ATTACH), _INT32.pack(ATTACH_BY_VALUE)
_NO_POSITION = b"\xff\xff\xff\xff"
"""PidTagRenderingPosition 0xFFFFFFFF: not rendered in the body."""
_RECIPIENT_CONSTANTS = {
    tag_of(P.PidTagObjectType, T.INTEGER32): _INT32.pack(MAPI_MAILUSER),
    tag_of(P.PidTagDisplayType, T.INTEGER32): _INT32.pack(0),
    tag_of(P.PidTagResponsibility, T.BOOLEAN): b"\x01",
    tag_of(P.PidTagSendRichInfo, T.BOOLEAN): b"\x00",
}


def _filetime(when: datetime) -> bytes:
    """``encode_value(T.TIME, when)`` without its dispatch, for the four times of every message."""
    try:
        return _FILETIME.pack(filetime_of(when))
    except (struct.error, AttributeError, TypeError):
        return encode_value(T.TIME, when)  # which says what is wrong


_utf16: Callable[[str], bytes] = methodcaller("encode", "utf-16-le", "surrogatepass")
"""A str as PtypString stores it (a C call: messages have a dozen strings each)."""


def _text(value: Any) -> bytes:
    """A PtypString field given by the caller: ``encode_value`` for anything but a str."""
    return _utf16(value) if value.__class__ is str else encode_value(T.STRING, value)


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
        recipient_tags = _RECIPIENT_COLUMNS.union(*[row for _, row in recipient_rows])
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
            bid = write_tc(self.ndb, _ATTACHMENT_COLUMNS, attachment_rows, table_subnodes)
            subnodes.add(NID_ATTACHMENT_TABLE, bid, table_subnodes.tree())
        bid_data = write_pc(self.ndb, props, subnodes)
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
        if m.raw:
            for key, value in m.properties.items():
                self._put(props, key, value)
            return props
        flags = (MSGFLAG_READ if m.is_read else 0) | (MSGFLAG_HASATTACH if m.attachments else 0)
        subject = _utf16(m.subject)
        props[_MESSAGE_CLASS] = _utf16(m.message_class)
        props[_SUBJECT] = subject
        props[_CONVERSATION_TOPIC] = subject
        props[_MESSAGE_FLAGS] = _INT32.pack(flags)
        props[_IMPORTANCE] = _SMALL_INT32.get(m.importance) or encode_value(T.INTEGER32, m.importance)
        props[_SENSITIVITY] = _SMALL_INT32[0]
        props[_HAS_ATTACHMENTS] = b"\x01" if m.attachments else b"\x00"
        for tag, when in (
            (_DELIVERY_TIME, m.delivery_time),
            (_SUBMIT_TIME, m.submit_time),
            (_CREATION_TIME, m.creation_time or m.delivery_time),
            (_LAST_MODIFIED, m.last_modified or m.delivery_time),
        ):
            if when is not None:
                props[tag] = _filetime(when)
        if m.sender_name is not None or m.sender_email is not None:
            shown = m.sender_name or m.sender_email
            for name_tag, email_tag, type_tag in _SENDER_TAGS:
                if shown is not None:
                    props[name_tag] = _utf16(shown)
                if m.sender_email is not None:
                    props[email_tag] = _utf16(m.sender_email)
                if m.sender_email:
                    props[type_tag] = _SMTP
            if m.sender_email is not None:
                props[_SENDER_SMTP] = _utf16(m.sender_email)
        for kind, tag in _DISPLAY_TAGS:
            props[tag] = _utf16("; ".join(r.name for r in recipients if r.kind == kind))
        if m.body is not None:
            props[_BODY] = _utf16(m.body)
        if m.html_body is not None:
            props[_HTML] = m.html_body.encode("utf-8") if isinstance(m.html_body, str) else bytes(m.html_body)
            if isinstance(m.html_body, str):
                props[_INTERNET_CODEPAGE] = _INT32.pack(65001)
        if m.rtf_body is not None:
            props[_RTF_COMPRESSED] = compress_rtf(m.rtf_body)
            props[_RTF_IN_SYNC] = b"\x01"
        if m.internet_headers is not None:
            props[_TRANSPORT_HEADERS] = _utf16(m.internet_headers)
        for key, value in m.properties.items():
            self._put(props, key, value)
        size = sum(map(len, filter(bytes.__instancecheck__, props.values())))
        props.setdefault(_MESSAGE_SIZE, struct.pack("<I", min(size, 0x7FFFFFFF)))
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
            props[_ATTACH_NUMBER] = _INT32.pack(index)
            props[_OBJECT_TYPE] = _ATTACH_OBJECT
            props[_RENDERING_POSITION] = _NO_POSITION
            if a.mime_type is not None:
                props[_MIME_TAG] = _text(a.mime_type)
            if a.content_id is not None:
                props[_CONTENT_ID] = _text(a.content_id)
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
                props[_ATTACH_METHOD] = _BY_VALUE
                if a.filename is not None:
                    props[_ATTACH_FILENAME] = props[_ATTACH_LONG_FILENAME] = props[_DISPLAY_NAME] = _text(a.filename)
            value, size = self._attachment_data(a.data, subnodes)
            if a.ole:  # PtypObject: (NID, size) of a subnode, even for a small object
                object_nid = value.nid if isinstance(value, InSubnode) else subnodes.add_value(value)
                props[tag_of(P.PidTagAttachDataBinary, T.OBJECT)] = struct.pack("<II", object_nid, size)
            else:
                props[tag_of(P.PidTagAttachDataBinary, T.BINARY)] = value
        for key, value in a.properties.items():
            put(key, value)
        props.setdefault(tag_of(P.PidTagAttachSize, T.INTEGER32), struct.pack("<I", min(size, 0x7FFFFFFF)))
        parent.add(nid, write_pc(self.ndb, props, subnodes), subnodes.tree())
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



def _size_of(props: Mapping[int, Value]) -> int:
    size = props.get(tag_of(P.PidTagMessageSize, T.INTEGER32))
    return struct.unpack("<I", size)[0] if isinstance(size, bytes) else 0
