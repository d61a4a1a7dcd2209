"""Attachments ([MS-PST] 2.4.6, [MS-OXCMSG] 2.2.2): subnodes of a message.

The message's attachment table (subnode 0x671) lists them; each row's id is
the NID of a subnode holding the attachment's property context.  Its data is
PidTagAttachDataBinary (by value), or a PtypObject naming a subnode: an
embedded message's property context, or an OLE storage.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, BinaryIO

from pstlib.errors import MessagingError
from pstlib.ltp.node import Node
from pstlib.ltp.propertycontext import PropertyContext
from pstlib.ltp.proptypes import PropertyType
from pstlib.messaging import values
from pstlib.messaging.lazy import cached_property
from pstlib.tags import PropertyId

if TYPE_CHECKING:
    from pstlib.messaging.message import Message

ATTACH_BY_VALUE = 1
ATTACH_BY_REFERENCE = 2
ATTACH_BY_REFERENCE_ONLY = 4
ATTACH_EMBEDDED_MESSAGE = 5
ATTACH_OLE = 6
ATTACH_BY_WEB_REFERENCE = 7
_REFERENCES = (ATTACH_BY_REFERENCE, ATTACH_BY_REFERENCE_ONLY, ATTACH_BY_WEB_REFERENCE)

_DATA = PropertyId.PidTagAttachDataBinary
"""PidTagAttachDataBinary and PidTagAttachDataObject share id 0x3701."""


class Attachment:
    """One attachment: its names, size, content, or embedded message."""

    def __init__(self, node: Node, depth: int) -> None:
        self.node = node
        self._depth = depth

    @cached_property
    def properties(self) -> PropertyContext:
        return self.node.properties()

    def __getitem__(self, prop_id: int) -> Any:
        return self.properties[prop_id & 0xFFFF if prop_id > 0xFFFF else prop_id]

    @property
    def nid(self) -> int:
        return self.node.nid

    @cached_property
    def method(self) -> int:
        """PidTagAttachMethod: 1 by value, 2/4/7 by reference, 5 embedded message, 6 OLE."""
        return values.integer(self.properties, PropertyId.PidTagAttachMethod) or 0

    @property
    def is_embedded(self) -> bool:
        return self.method == ATTACH_EMBEDDED_MESSAGE

    @property
    def filename(self) -> str | None:
        """The long filename, else the 8.3 one, else the display name."""
        for prop_id in (
            PropertyId.PidTagAttachLongFilename,
            PropertyId.PidTagAttachFilename,
            PropertyId.PidTagDisplayName,
        ):
            name = values.text(self.properties, prop_id)
            if name:
                return name
        return None

    @property
    def mime_type(self) -> str | None:
        return values.text(self.properties, PropertyId.PidTagAttachMimeTag)

    @property
    def content_id(self) -> str | None:
        return values.text(self.properties, PropertyId.PidTagAttachContentId)

    @property
    def stored_size(self) -> int | None:
        """PidTagAttachSize: the whole attachment object, properties included."""
        return values.integer(self.properties, PropertyId.PidTagAttachSize)

    @property
    def size(self) -> int:
        """Bytes of the attachment's data (``len(read())``); 0 where it has none."""
        if _DATA not in self.properties:
            return 0
        node = self.properties.value_node(_DATA)
        return node.size if node is not None else len(self.properties.raw(_DATA))

    def _check_readable(self) -> None:
        if self.is_embedded:
            raise MessagingError(
                "an embedded message has no bytes to read: use Attachment.message", nid=self.nid
            )
        if self.method in _REFERENCES:
            raise MessagingError(
                "a by-reference attachment has no data in the file: see its"
                " PidTagAttachLongPathname",
                nid=self.nid,
            )

    def read(self) -> bytes:
        """The attachment's data (by value or OLE storage)."""
        self._check_readable()
        if _DATA not in self.properties:
            return b""
        node = self.properties.value_node(_DATA)
        return node.read() if node is not None else self.properties.raw(_DATA)

    def open(self) -> BinaryIO:
        """The data as a stream, one block in memory at a time for large attachments."""
        self._check_readable()
        if _DATA not in self.properties:
            return io.BytesIO()
        node = self.properties.value_node(_DATA)
        if node is None:
            return io.BytesIO(self.properties.raw(_DATA))
        return io.BufferedReader(node.open())

    @cached_property
    def message(self) -> Message | None:
        """The embedded message of an afEmbeddedMessage attachment, else None."""
        if not self.is_embedded or _DATA not in self.properties:
            return None
        if PropertyType.OBJECT not in self.properties.types_of(_DATA):
            raise MessagingError("embedded message attachment has no PtypObject data", nid=self.nid)
        from pstlib.messaging.message import Message

        node = self.properties.value_node(_DATA, PropertyType.OBJECT)
        return Message(node, depth=self._depth + 1)

    def __repr__(self) -> str:
        return f"Attachment({self.filename!r}, method={self.method}, size={self.size})"
