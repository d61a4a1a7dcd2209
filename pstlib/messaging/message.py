"""Messages of every class ([MS-PST] 2.4.4, [MS-OXCMSG] 2.2.1): a property context
with a recipient table and an attachment table among its subnodes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pstlib.errors import LimitExceeded, MessagingError
from pstlib.ltp.node import Node
from pstlib.ltp.propertycontext import PropertyContext
from pstlib.messaging import values
from pstlib.messaging.attachment import Attachment
from pstlib.messaging.lazy import cached_property
from pstlib.messaging.recipient import Recipient
from pstlib.messaging.rtf import decompress_rtf
from pstlib.ndb.nid import NID_ATTACHMENT_TABLE, NID_RECIPIENT_TABLE
from pstlib.tags import PropertyId

MSGFLAG_READ = 0x0001
SUBJECT_PREFIX_MARK = "\x01"


def _without_prefix_marker(subject: str) -> str:
    """PidTagSubject without the two characters (0x01 and the prefix length) Outlook may store first."""
    return subject[2:] if subject.startswith(SUBJECT_PREFIX_MARK) else subject


class Message:
    """A message (or an embedded one): its common properties, bodies, recipients, attachments."""

    def __init__(self, node: Node, depth: int = 0) -> None:
        limit = node.limits.max_embedded_depth
        if depth > limit:
            raise LimitExceeded(f"messages embedded deeper than {limit}", nid=node.nid)
        self.node = node
        self._depth = depth

    @property
    def nid(self) -> int:
        return self.node.nid

    @cached_property
    def properties(self) -> PropertyContext:
        return self.node.properties()

    def __getitem__(self, tag: int) -> Any:
        """A property by id, or by full tag (id and type)."""
        if tag > 0xFFFF:
            return self.properties.value(tag >> 16, tag & 0xFFFF)
        return self.properties[tag]

    def get(self, tag: int, default: Any = None) -> Any:
        try:
            return self[tag]
        except KeyError:
            return default

    @property
    def message_class(self) -> str | None:
        return values.text(self.properties, PropertyId.PidTagMessageClass)

    @property
    def subject(self) -> str | None:
        subject = values.text(self.properties, PropertyId.PidTagSubject)
        return None if subject is None else _without_prefix_marker(subject)

    @property
    def sender_name(self) -> str | None:
        props = self.properties
        return values.text(props, PropertyId.PidTagSenderName) or values.text(
            props, PropertyId.PidTagSentRepresentingName
        )

    @property
    def sender_email(self) -> str | None:
        """The sender's SMTP address where the message has one, else the stored address."""
        for prop_id in (
            PropertyId.PidTagSenderSmtpAddress,
            PropertyId.PidTagSenderEmailAddress,
            PropertyId.PidTagSentRepresentingSmtpAddress,
            PropertyId.PidTagSentRepresentingEmailAddress,
        ):
            address = values.text(self.properties, prop_id)
            if address:
                return address
        return None

    @property
    def delivery_time(self) -> datetime | None:
        return values.time(self.properties, PropertyId.PidTagMessageDeliveryTime)

    @property
    def submit_time(self) -> datetime | None:
        return values.time(self.properties, PropertyId.PidTagClientSubmitTime)

    @property
    def creation_time(self) -> datetime | None:
        return values.time(self.properties, PropertyId.PidTagCreationTime)

    @property
    def last_modified(self) -> datetime | None:
        return values.time(self.properties, PropertyId.PidTagLastModificationTime)

    @property
    def importance(self) -> int | None:
        return values.integer(self.properties, PropertyId.PidTagImportance)

    @property
    def is_read(self) -> bool:
        return bool((values.integer(self.properties, PropertyId.PidTagMessageFlags) or 0) & MSGFLAG_READ)

    @property
    def internet_headers(self) -> str | None:
        return values.text(self.properties, PropertyId.PidTagTransportMessageHeaders)

    @property
    def body(self) -> str | None:
        return values.text(self.properties, PropertyId.PidTagBody)

    @property
    def html_body(self) -> bytes | None:
        """PidTagHtml as bytes (UTF-8 where it is stored as a string)."""
        html = self.properties.get(PropertyId.PidTagHtml)
        if isinstance(html, str):
            return html.encode("utf-8")
        return html if isinstance(html, bytes) else None

    @property
    def rtf_body(self) -> bytes | None:
        """PidTagRtfCompressed, decompressed ([MS-OXRTFCP])."""
        compressed = values.binary(self.properties, PropertyId.PidTagRtfCompressed)
        if compressed is None:
            return None
        try:
            return decompress_rtf(compressed, self.node.limits.max_decompressed_size)
        except MessagingError as exc:
            raise MessagingError(exc.message, nid=self.nid) from None

    def _table_rows(self, nid: int) -> list:
        subnode = self.node.subnodes().get(nid)
        return list(subnode.table()) if subnode is not None else []

    @cached_property
    def recipients(self) -> list[Recipient]:
        """The recipient table's rows ([MS-PST] 2.4.5)."""
        return [Recipient(row) for row in self._table_rows(NID_RECIPIENT_TABLE)]

    @cached_property
    def attachments(self) -> list[Attachment]:
        """The attachments the attachment table lists ([MS-PST] 2.4.6)."""
        subnodes = self.node.subnodes()
        out = []
        for row in self._table_rows(NID_ATTACHMENT_TABLE):
            node = subnodes.get(row.row_id)
            if node is None:
                raise MessagingError(
                    f"attachment table lists subnode 0x{row.row_id:X}, which is missing", nid=self.nid
                )
            out.append(Attachment(node, self._depth))
        return out

    def __repr__(self) -> str:
        return f"Message(nid=0x{self.nid:X}, class={self.message_class!r}, subject={self.subject!r})"

