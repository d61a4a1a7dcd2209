"""Property contexts ([MS-PST] 2.3.3): a BTH of (id -> type, value or HNID) in a heap.

Values of four bytes or less sit in the record; larger ones in the heap, and
those over 3,580 bytes in a subnode of the node, which ``Subnodes`` collects.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from pstlib.ltp.heap import CLIENT_SIG_PC
from pstlib.ltp.proptypes import FIXED_SIZES
from pstlib.ndb.nid import NIDType
from pstlib.writer.heap import MAX_ITEM, HeapWriter, reserve_bth, write_bth
from pstlib.writer.ndb import NDBWriter

_PC_DATA = struct.Struct("<HI")
"""A PC record's wPropType and dwValueHnid; the BTH puts wPropId before them."""


@dataclass(frozen=True)
class InSubnode:
    """A value already written to subnode ``nid`` (a streamed attachment, say)."""

    nid: int


Value = bytes | InSubnode


class Subnodes:
    """The subnodes of one node, gathered while its values are placed."""

    def __init__(self, ndb: NDBWriter) -> None:
        self.ndb = ndb
        self.entries: list[tuple[int, int, int]] = []

    def add(self, nid: int, bid_data: int, bid_sub: int = 0) -> None:
        self.entries.append((nid, bid_data, bid_sub))

    def add_value(self, data: bytes) -> int:
        """Store a large value in a new subnode and return its NID."""
        nid = self.ndb.new_nid(NIDType.LTP)
        self.add(nid, self.ndb.add_data(data))
        return nid

    def tree(self) -> int:
        """The node's bidSub: its subnode tree, or 0."""
        return self.ndb.subnode_tree(self.entries)


def place(heap: HeapWriter, subnodes: Subnodes, value: Value) -> int:
    """The HNID of a variable-size value: 0 when empty, a HID, or a subnode NID."""
    if isinstance(value, InSubnode):
        return value.nid
    if not value:
        return 0
    if len(value) <= MAX_ITEM:
        return heap.allocate(value)
    return subnodes.add_value(value)


def write_pc(ndb: NDBWriter, properties: Iterable[tuple[int, int, Value]], subnodes: Subnodes) -> int:
    """Write a PC of (property id, type, stored value) and return its data BID.

    A property given twice keeps its last value: a PC has one record per id.
    """
    heap = HeapWriter(CLIENT_SIG_PC)
    heap.user_root = reserve_bth(heap)
    records: dict[int, bytes] = {}
    for prop_id, ptype, value in properties:
        size = FIXED_SIZES.get(ptype)
        if size is not None and size <= 4 and isinstance(value, bytes):
            hnid = int.from_bytes(value[:size].ljust(4, b"\0"), "little")
        else:
            hnid = place(heap, subnodes, value)
        records[prop_id] = _PC_DATA.pack(ptype, hnid)
    write_bth(heap, heap.user_root, 2, 6, list(records.items()))
    return ndb.add_blocks(heap.blocks())
