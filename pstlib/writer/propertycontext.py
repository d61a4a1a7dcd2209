"""Property contexts ([MS-PST] 2.3.3): a BTH of (id -> type, value or HNID) in a heap.

Values of four bytes or less sit in the record; larger ones in the heap, and
those over 3,580 bytes in a subnode of the node, which ``Subnodes`` collects.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import compress, count, repeat
from operator import and_, gt, is_, not_, rshift
from typing import Any

from pstlib.ltp.heap import CLIENT_SIG_PC
from pstlib.ltp.proptypes import FIXED_SIZES
from pstlib.ndb.nid import NIDType
from pstlib.writer.heap import MAX_ITEM, HeapWriter, reserve_bth, write_bth
from pstlib.writer.ndb import NDBWriter

_RECORD = struct.Struct("<HH4s")
"""A PC record: wPropId, wPropType, dwValueHnid (a value of up to 4 bytes, zero-padded,
or an HNID)."""
_PLAIN = {bytes, type(None)}
"""Values ``place_all`` handles in one step: bytes, and None for an absent cell."""
_INLINE = {ptype: size for ptype, size in FIXED_SIZES.items() if size <= 4}
"""Types whose values sit in dwValueHnid itself, and their sizes."""


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


def place_all(heap: HeapWriter, subnodes: Subnodes, values: list[Value | None]) -> list[int]:
    """``place`` for each of ``values`` (None stays 0), the heap's in one batch: a table
    places a few per row and a message a dozen, so work per value is what costs."""
    if not set(map(type, values)) <= _PLAIN:  # an InSubnode among them: one at a time
        return [0 if value is None else place(heap, subnodes, value) for value in values]
    present = list(compress(values, values))  # neither None nor empty
    positions = compress(count(), values)
    if not present or max(map(len, present)) <= MAX_ITEM:
        hids = heap.allocate_many(present)
        if len(present) == len(values):
            return hids
        placed = dict(zip(positions, hids))
    else:  # the large ones go to subnodes, in order, the rest to the heap in one batch
        large = list(map(gt, map(len, present), repeat(MAX_ITEM)))
        small = list(map(not_, large))
        positions = list(positions)
        placed = dict(zip(compress(positions, small), heap.allocate_many(list(compress(present, small)))))
        placed.update(zip(compress(positions, large), map(subnodes.add_value, compress(present, large))))
    return list(map(placed.get, range(len(values)), repeat(0)))


def write_pc(ndb: NDBWriter, properties: Mapping[int, Value], subnodes: Subnodes) -> int:
    """Write a PC of {tag: stored value} and return its data BID.

    Of tags that share a property id the last one given stays: a PC has one record per id.
    """
    tags = list(properties)
    if len(set(map(rshift, tags, repeat(16)))) < len(tags):
        last = {tag >> 16: tag for tag in tags}
        properties = {tag: properties[tag] for tag in last.values()}
        tags = list(properties)
    cells: list[Any] = list(properties.values())
    heap = HeapWriter(CLIENT_SIG_PC)
    heap.user_root = reserve_bth(heap)
    sizes: list[int | None] = list(map(_INLINE.get, map(and_, tags, repeat(0xFFFF))))
    for i in compress(count(), sizes):  # values that sit in the record itself
        value = cells[i]
        if value.__class__ is not bytes:
            sizes[i] = None  # placed as a variable-size one is (an InSubnode, say)
        elif len(value) > sizes[i]:  # type: ignore[operator]
            cells[i] = value[:sizes[i]]
    pending = list(compress(count(), map(is_, sizes, repeat(None))))
    hnids = place_all(heap, subnodes, list(map(cells.__getitem__, pending)))
    placed = dict(zip(pending, map(int.to_bytes, hnids, repeat(4), repeat("little"))))
    cells = list(map(placed.get, range(len(cells)), cells))
    order = sorted(range(len(tags)), key=tags.__getitem__)  # int keys: CPython's fast compare
    tags, cells = list(map(tags.__getitem__, order)), list(map(cells.__getitem__, order))
    ids, types = map(rshift, tags, repeat(16)), map(and_, tags, repeat(0xFFFF))
    records = b"".join(map(_RECORD.pack, ids, types, cells))
    write_bth(heap, heap.user_root, 2, 6, records)
    return ndb.add_blocks(heap.blocks())
