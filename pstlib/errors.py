"""The exceptions pstlib raises: one root, one class per layer, specific leaves.

Every error names where the damage is (file ``offset``, ``nid``, ``bid``) so a
caller can report it; the message already includes them.  Lookup failures
also inherit ``KeyError`` so mapping-style callers can catch either.
"""

from __future__ import annotations


class PSTError(Exception):
    """Root of every error pstlib raises on a malformed or unsupported file."""

    def __init__(
        self,
        message: str,
        *,
        offset: int | None = None,
        nid: int | None = None,
        bid: int | None = None,
    ) -> None:
        self.message = message
        self.offset = offset
        self.nid = nid
        self.bid = bid
        where = [
            f"{name} 0x{value:X}"
            for name, value in (("offset", offset), ("nid", nid), ("bid", bid))
            if value is not None
        ]
        super().__init__(f"{message} ({', '.join(where)})" if where else message)

    def __str__(self) -> str:
        return str(self.args[0])


class NDBError(PSTError):
    """Damage in the node database layer ([MS-PST] 2.2): header, pages, blocks."""


class HeaderError(NDBError):
    """The file header is not a PST/OST header pstlib can read."""


class UnsupportedFormat(HeaderError):
    """A well-formed header of a variant pstlib does not read (e.g. WIP encryption)."""


class CRCMismatch(NDBError):
    """A stored CRC does not match the bytes it covers."""


class PageError(NDBError):
    """A B-tree or map page is malformed (type, trailer, counts, order)."""


class BlockError(NDBError):
    """A block, data tree or subnode tree is malformed."""


class NodeNotFound(NDBError, KeyError):
    """A NID is not in the node B-tree (or a subnode tree)."""


class BlockNotFound(NDBError, KeyError):
    """A BID is not in the block B-tree."""


class LimitExceeded(PSTError):
    """A structure exceeds a configured ``pstlib.Limits`` bound."""


class LTPError(PSTError):
    """Damage in the lists, tables and properties layer ([MS-PST] 2.3)."""


class HeapError(LTPError):
    """A malformed heap-on-node ([MS-PST] 2.3.1): header, page map or HID."""


class BTHError(LTPError):
    """A malformed BTree-on-Heap ([MS-PST] 2.3.2)."""


class PropertyContextError(LTPError):
    """A malformed property context ([MS-PST] 2.3.3)."""


class TableContextError(LTPError):
    """A malformed table context ([MS-PST] 2.3.4)."""


class NamedPropertyError(LTPError):
    """A malformed named property lookup map ([MS-PST] 2.4.7)."""


class PropertyValueError(LTPError):
    """Stored bytes that cannot be a value of the property's type."""


class MessagingError(PSTError):
    """Damage in the messaging layer ([MS-PST] 2.4)."""


class WriterError(PSTError):
    """What the writer was asked to store does not fit the format."""
