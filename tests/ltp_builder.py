"""A test-only writer of [MS-PST] 2.3 structures, so the LTP readers can be fed known input.

Every on-disk record pstlib declares (HNHDR, HNPAGEHDR, HNBITMAPHDR,
HNPAGEMAP_HEAD, BTHHEADER, PC_RECORD, TCINFO_HEAD, TCOLDESC) is written with
that declaration's ``build``, so the builder and the reader cannot disagree
about a layout, only about what the spec says goes where.  ``FakeNode`` stands
in for ``pstlib.ndb.node.Node`` so PCs, TCs and heaps need no PST file.

Builders return a ``NodeBuilder`` rather than a node so a test can still damage
one allocation (``builder.heap[hid] = ...``) before calling ``node()``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from pstlib.errors import BlockError
from pstlib.limits import Limits
from pstlib.ltp.bth import BTHHEADER
from pstlib.ltp.heap import (
    CLIENT_SIG_BTH,
    CLIENT_SIG_PC,
    CLIENT_SIG_TC,
    HN_SIGNATURE,
    HNBITMAPHDR,
    HNHDR,
    HNPAGEHDR,
    HNPAGEMAP_HEAD,
)
from pstlib.ltp.propertycontext import PC_RECORD
from pstlib.ltp.proptypes import FIXED_SIZES, MULTIPLE, PropertyType
from pstlib.ltp.tablecontext import TCINFO_HEAD, TCOLDESC

MAX_BLOCK_SIZE = 8176
"""Data bytes of one Unicode PST block (8192 less its 16-byte trailer), [MS-PST] 2.2.2.8."""
MAX_ALLOCATION = 3580
"""Largest heap allocation, [MS-PST] 2.3.1; bigger values go to subnodes."""
MAX_ALLOCATIONS_PER_BLOCK = 0x7FF
"""hidIndex has 11 bits, so a block can name no more allocations."""
NID_TYPE_LTP = 0x1F
"""nidType of the subnodes a PC or TC keeps large values in, [MS-PST] 2.2.2.1."""
DEFAULT_NID = 0x200024
"""NID of built nodes: distinctive, so tests can check errors name it."""
JUNK = 0xA5
"""Fills bytes a reader must ignore (missing cells, block padding), so ignoring them is tested."""

ROW_ID_TAG = 0x67F20003
"""PidTagLtpRowId, always the first column of a TC row, [MS-PST] 2.3.4.4.1."""
ROW_VER_TAG = 0x67F30003
"""PidTagLtpRowVer, the second 4-byte column."""

_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)
_OLE_EPOCH = datetime(1899, 12, 30)

_SCALAR_FORMATS = {
    PropertyType.INTEGER16: struct.Struct("<h"),
    PropertyType.INTEGER32: struct.Struct("<i"),
    PropertyType.FLOATING32: struct.Struct("<f"),
    PropertyType.FLOATING64: struct.Struct("<d"),
    PropertyType.CURRENCY: struct.Struct("<q"),
    PropertyType.FLOATING_TIME: struct.Struct("<d"),
    PropertyType.ERROR_CODE: struct.Struct("<I"),
    PropertyType.BOOLEAN: struct.Struct("<B"),
    PropertyType.INTEGER64: struct.Struct("<q"),
    PropertyType.TIME: struct.Struct("<Q"),
}


def filetime_of(moment: datetime) -> int:
    """The FILETIME (100 ns ticks since 1601 UTC) of an aware datetime."""
    return (moment - _FILETIME_EPOCH) // timedelta(microseconds=1) * 10


def ole_date_of(moment: datetime) -> float:
    """The PtypFloatingTime (days since 1899-12-30) of a naive datetime."""
    return (moment - _OLE_EPOCH) / timedelta(days=1)


def currency_of(amount: Decimal) -> int:
    """The PtypCurrency integer (units of 1/10000) of an amount with at most 4 decimals."""
    return int(amount.scaleb(4))


def encode(ptype: int, value: Any, codec: str = "cp1252") -> bytes:
    """The stored bytes of a property value, [MS-OXCDATA] 2.11.1 and [MS-PST] 2.3.3.4.

    Scalars are given as stored: FILETIMEs, currency and OLE dates as their raw
    int/float (see ``filetime_of`` etc.); String8 text is encoded with ``codec``.
    """
    if ptype in _SCALAR_FORMATS:
        return _SCALAR_FORMATS[ptype].pack(value)
    if ptype == PropertyType.NULL:
        return b""
    if ptype == PropertyType.GUID:
        return value.bytes_le
    if ptype == PropertyType.STRING:
        return value.encode("utf-16-le", "surrogatepass")
    if ptype == PropertyType.STRING8:
        return value.encode(codec)
    if ptype & MULTIPLE:
        base = ptype & ~MULTIPLE
        items = [encode(base, item, codec) for item in value]
        if base in FIXED_SIZES:
            return b"".join(items)
        start = 4 + 4 * len(items)
        offsets = []
        for item in items:
            offsets.append(start)
            start += len(item)
        return struct.pack(f"<I{len(items)}I", len(items), *offsets) + b"".join(items)
    return bytes(value)


def make_hid(index: int, block_index: int) -> int:
    """A HID, [MS-PST] 2.3.1.1: hidType 0, 1-based hidIndex, hidBlockIndex."""
    return index << 5 | block_index << 16


def header_size(block_index: int) -> int:
    """Bytes of the header heap block ``block_index`` starts with, [MS-PST] 2.3.1.2-4."""
    if block_index == 0:
        return HNHDR.sizeof()
    if block_index % 128 == 8:
        return HNBITMAPHDR.sizeof()
    return HNPAGEHDR.sizeof()


def _block_bytes(block_index: int, sizes: list[int]) -> int:
    """Bytes a heap block takes: header, allocations, 2-byte alignment, page map."""
    end = header_size(block_index) + sum(sizes)
    return end + end % 2 + HNPAGEMAP_HEAD.sizeof() + 2 * (len(sizes) + 1)


@dataclass
class FakeNode:
    """The part of ``pstlib.ndb.node.Node`` the LTP layer uses, over in-memory blocks."""

    blocks: list[bytes]
    nid: int = DEFAULT_NID
    children: dict[int, FakeNode] = field(default_factory=dict)
    bid_data: int = 0x4
    limits: Limits = field(default_factory=Limits)

    @property
    def data_block_count(self) -> int:
        return len(self.blocks)

    def data_block_location(self, index: int) -> tuple[int, int]:
        """(BID, file offset) of a block, made up: consecutive BIDs, 8 KB apart."""
        return self.bid_data + 4 * index, 8192 * (index + 1)

    def read_data_block(self, index: int) -> bytes:
        """Like Node's: a BlockError (not IndexError) for a block the node lacks."""
        if not 0 <= index < len(self.blocks):
            raise BlockError(f"data block {index} of a node with {len(self.blocks)}", nid=self.nid)
        return self.blocks[index]

    def read(self) -> bytes:
        return b"".join(self.blocks)

    def subnodes(self) -> dict[int, FakeNode]:
        return dict(self.children)


class HeapBuilder:
    """Packs allocations into heap blocks in order, starting a block when one is full."""

    def __init__(self, client_signature: int, block_size: int = MAX_BLOCK_SIZE) -> None:
        self.client_signature = client_signature
        self.block_size = block_size
        self.user_root = 0
        self._blocks: list[list[bytes]] = [[]]

    def allocate(self, data: bytes) -> int:
        """Adds an allocation and returns its HID (known at once, so parents can point at it)."""
        if len(data) > MAX_ALLOCATION:
            raise ValueError(f"a {len(data)}-byte allocation exceeds {MAX_ALLOCATION}")
        items = self._blocks[-1]
        if (
            len(items) == MAX_ALLOCATIONS_PER_BLOCK
            or _block_bytes(len(self._blocks) - 1, [*map(len, items), len(data)]) > self.block_size
        ):
            self.new_block()
            items = self._blocks[-1]
            if _block_bytes(len(self._blocks) - 1, [len(data)]) > self.block_size:
                raise ValueError(f"{len(data)} bytes do not fit a {self.block_size}-byte block")
        items.append(bytes(data))
        return make_hid(len(items), len(self._blocks) - 1)

    def new_block(self) -> None:
        """Starts a new heap block (an empty one stays, with an empty page map)."""
        self._blocks.append([])

    def _locate(self, hid: int) -> tuple[list[bytes], int]:
        return self._blocks[hid >> 16], (hid >> 5 & 0x7FF) - 1

    def __getitem__(self, hid: int) -> bytes:
        items, index = self._locate(hid)
        return items[index]

    def __setitem__(self, hid: int, data: bytes) -> None:
        """Replaces an allocation; HIDs do not change, since they name no offsets."""
        items, index = self._locate(hid)
        items[index] = bytes(data)

    def build(self) -> list[bytes]:
        """The heap's blocks: header, allocations, then the HNPAGEMAP at ibHnpm."""
        out = []
        for block_index, items in enumerate(self._blocks):
            offsets = [header_size(block_index)]
            for item in items:
                offsets.append(offsets[-1] + len(item))
            map_offset = offsets[-1] + offsets[-1] % 2
            if block_index == 0:
                header = HNHDR.build(
                    dict(
                        ibHnpm=map_offset,
                        bSig=HN_SIGNATURE,
                        bClientSig=self.client_signature,
                        hidUserRoot=self.user_root,
                        rgbFillLevel=bytes(4),
                    )
                )
            elif header_size(block_index) == HNBITMAPHDR.sizeof():
                header = HNBITMAPHDR.build(dict(ibHnpm=map_offset, rgbFillLevel=bytes(64)))
            else:
                header = HNPAGEHDR.build(dict(ibHnpm=map_offset))
            page_map = HNPAGEMAP_HEAD.build(dict(cAlloc=len(items), cFree=0))
            page_map += struct.pack(f"<{len(offsets)}H", *offsets)
            block = header + b"".join(items) + bytes(map_offset - offsets[-1]) + page_map
            if len(block) > self.block_size:
                raise ValueError(f"heap block {block_index} grew to {len(block)} bytes")
            out.append(block)
        return out


def page_map(block: bytes) -> tuple[int, list[int]]:
    """(ibHnpm, rgibAlloc) of a built heap block, for tests that damage them."""
    map_offset = HNPAGEHDR.parse(block).ibHnpm
    count = HNPAGEMAP_HEAD.parse(block[map_offset:]).cAlloc
    start = map_offset + HNPAGEMAP_HEAD.sizeof()
    return map_offset, list(struct.unpack_from(f"<{count + 1}H", block, start))


def with_page_map(block: bytes, offsets: Sequence[int]) -> bytes:
    """``block`` with its rgibAlloc replaced (same count)."""
    map_offset, old = page_map(block)
    if len(offsets) != len(old):
        raise ValueError("rgibAlloc must keep its length")
    start = map_offset + HNPAGEMAP_HEAD.sizeof()
    packed = struct.pack(f"<{len(offsets)}H", *offsets)
    return block[:start] + packed + block[start + len(packed):]


class NodeBuilder:
    """A heap plus the subnodes its values spill into: what a PC or TC node holds."""

    def __init__(
        self, client_signature: int, *, nid: int = DEFAULT_NID, block_size: int = MAX_BLOCK_SIZE
    ) -> None:
        self.nid = nid
        self.heap = HeapBuilder(client_signature, block_size)
        self.subnodes: dict[int, FakeNode] = {}

    def add_subnode(self, blocks: list[bytes]) -> int:
        """Adds a subnode of type NID_TYPE_LTP over ``blocks``; returns its NID."""
        nid = (len(self.subnodes) + 1) << 5 | NID_TYPE_LTP
        self.subnodes[nid] = FakeNode(blocks, nid=nid)
        return nid

    def store(self, data: bytes, threshold: int = MAX_ALLOCATION) -> int:
        """The HNID of a variable-size value: a heap allocation, or a subnode past ``threshold``."""
        if len(data) <= min(threshold, MAX_ALLOCATION):
            return self.heap.allocate(data)
        return self.add_subnode(_chunks(data, MAX_BLOCK_SIZE))

    def node(self) -> FakeNode:
        return FakeNode(self.heap.build(), nid=self.nid, children=dict(self.subnodes))


def _chunks(items: Sequence[Any], size: int) -> list[Any]:
    """``items`` in consecutive slices of ``size`` (bytes stay bytes)."""
    return [items[i:i + size] for i in range(0, len(items), size)]


def _pad(block: bytes, size: int) -> bytes:
    """``block`` filled up to ``size`` with JUNK."""
    return block.ljust(size, bytes([JUNK]))


def _u32(value: int) -> bytes:
    return value.to_bytes(4, "little")


def build_bth(
    heap: HeapBuilder,
    key_size: int,
    data_size: int,
    records: Iterable[tuple[bytes, bytes]],
    *,
    levels: int = 0,
    fanout: int | None = None,
) -> int:
    """A BTH of (key, data) records; returns the HID of its BTHHEADER, [MS-PST] 2.3.2.

    Records are sorted by key as a little-endian integer.  With ``levels`` > 0
    leaves and all but the top index level hold at most ``fanout`` records (as
    many as fit an allocation by default); the top level holds the rest, so the
    tree has exactly ``levels`` index levels of (key, hidNextLevel) records.
    """
    rows = sorted(records, key=lambda record: int.from_bytes(record[0], "little"))
    if any(len(key) != key_size or len(data) != data_size for key, data in rows):
        raise ValueError("record widths differ from cbKey/cbEnt")
    header = heap.allocate(bytes(BTHHEADER.sizeof()))
    root = 0
    if rows:
        per_leaf = min(fanout or MAX_ALLOCATION, MAX_ALLOCATION // (key_size + data_size))
        per_index = min(fanout or MAX_ALLOCATION, MAX_ALLOCATION // (key_size + 4))
        step = per_leaf if levels else len(rows)
        nodes = [
            (group[0][0], heap.allocate(b"".join(key + data for key, data in group)))
            for group in _chunks(rows, step)
        ]
        for level in range(levels):
            step = len(nodes) if level == levels - 1 else per_index
            nodes = [
                (group[0][0], heap.allocate(b"".join(key + _u32(hid) for key, hid in group)))
                for group in _chunks(nodes, step)
            ]
        (_, root), = nodes
    heap[header] = BTHHEADER.build(
        dict(bType=CLIENT_SIG_BTH, cbKey=key_size, cbEnt=data_size, bIdxLevels=levels, hidRoot=root)
    )
    return header


def build_pc(
    props: Iterable[tuple[int, int, Any]],
    *,
    codec: str = "cp1252",
    subnode_threshold: int = MAX_ALLOCATION,
    levels: int = 0,
    fanout: int | None = None,
    nid: int = DEFAULT_NID,
) -> NodeBuilder:
    """A property context of (wPropId, wPropType, value) triples, [MS-PST] 2.3.3.

    Fixed types of up to 4 bytes sit in dwValueHnid; other values are a HID,
    or a subnode NID where longer than ``subnode_threshold``.
    """
    builder = NodeBuilder(CLIENT_SIG_PC, nid=nid)
    records = []
    for prop_id, ptype, value in props:
        data = encode(ptype, value, codec)
        size = FIXED_SIZES.get(ptype)
        if size is not None and size <= 4:
            hnid = int.from_bytes(data.ljust(4, b"\0"), "little")
        else:
            hnid = builder.store(data, subnode_threshold)
        record = PC_RECORD.build(dict(wPropId=prop_id, wPropType=ptype, dwValueHnid=hnid))
        records.append((record[:2], record[2:]))
    builder.heap.user_root = build_bth(builder.heap, 2, 6, records, levels=levels, fanout=fanout)
    return builder


def cell_size(ptype: int) -> int:
    """Bytes of a TC cell: fixed types of up to 8 bytes inline, everything else an HNID."""
    size = FIXED_SIZES.get(ptype)
    return size if size is not None and size <= 8 else 4


def _layout_rank(tag: int, size: int) -> int:
    """Row order of cells: dwRowID and the row version first, then 8-, 4-, 2- and 1-byte cells."""
    if tag in (ROW_ID_TAG, ROW_VER_TAG):
        return 0
    return {8: 1, 4: 2, 2: 3, 1: 4}[size]


def build_tc(
    columns: Sequence[int],
    rows: Sequence[tuple[int, Mapping[int, Any]]],
    *,
    codec: str = "cp1252",
    subnode_threshold: int = MAX_ALLOCATION,
    rows_per_block: int | None = None,
    pad_blocks: bool = False,
    index_levels: int = 0,
    index_fanout: int | None = None,
    index_entry_size: int = 4,
    nid: int = DEFAULT_NID,
) -> NodeBuilder:
    """A table context, [MS-PST] 2.3.4: rows of (dwRowID, {tag: value}) in row order.

    The columns are PidTagLtpRowId (always present, holding dwRowID) and
    PidTagLtpRowVer, then ``columns``; cell-existence bits follow that order,
    offsets group 8/4-byte, 2-byte, then 1-byte cells.  The row matrix is one
    heap allocation where it fits and ``rows_per_block`` is None, else a
    subnode of ``rows_per_block`` (default: as many as fit) whole rows per
    block, each block optionally padded with junk short of a whole row.
    """
    builder = NodeBuilder(CLIENT_SIG_TC, nid=nid)
    tags = [ROW_ID_TAG, ROW_VER_TAG, *columns]
    bits = {tag: bit for bit, tag in enumerate(tags)}
    sizes = {tag: cell_size(tag & 0xFFFF) for tag in tags}
    offsets: dict[int, int] = {}
    end = 0
    for tag in sorted(tags, key=lambda tag: _layout_rank(tag, sizes[tag])):
        offsets[tag] = end
        end += sizes[tag]
    rgib = [sum(size for size in sizes.values() if size >= limit) for limit in (4, 2, 1)]
    rgib.append(rgib[-1] + (len(tags) + 7) // 8)
    row_size = rgib[-1]

    matrix = []
    for row_id, cells in rows:
        row = bytearray(_pad(b"", rgib[2])) + bytearray(row_size - rgib[2])
        for tag, value in {**cells, ROW_ID_TAG: row_id}.items():
            ptype = tag & 0xFFFF
            if tag == ROW_ID_TAG:  # unsigned, though PidTagLtpRowId is typed Int32
                cell = _u32(row_id)
            elif ptype in FIXED_SIZES and FIXED_SIZES[ptype] <= 8:
                cell = encode(ptype, value, codec)
            else:
                cell = _u32(builder.store(encode(ptype, value, codec), subnode_threshold))
            row[offsets[tag]:offsets[tag] + len(cell)] = cell
            row[rgib[2] + bits[tag] // 8] |= 0x80 >> bits[tag] % 8
        matrix.append(bytes(row))

    if not matrix:
        hnid_rows = 0
    elif rows_per_block is None and row_size * len(matrix) <= MAX_ALLOCATION:
        hnid_rows = builder.heap.allocate(b"".join(matrix))
    else:
        per_block = rows_per_block or MAX_BLOCK_SIZE // row_size
        blocks = [b"".join(group) for group in _chunks(matrix, per_block)]
        if pad_blocks:
            # short of a whole row, so a reader must not take it for one
            blocks = [_pad(b, min(len(b) + row_size - 1, MAX_BLOCK_SIZE)) for b in blocks]
        hnid_rows = builder.add_subnode(blocks)

    index = [
        (_u32(row_id), number.to_bytes(index_entry_size, "little"))
        for number, (row_id, _) in enumerate(rows)
    ]
    hid_row_index = build_bth(
        builder.heap, 4, index_entry_size, index, levels=index_levels, fanout=index_fanout
    )
    info = TCINFO_HEAD.build(
        dict(
            bType=CLIENT_SIG_TC,
            cCols=len(tags),
            rgib=rgib,
            hidRowIndex=hid_row_index,
            hnidRows=hnid_rows,
            hidIndex=0,
        )
    )
    descriptors = b"".join(
        TCOLDESC.build(dict(tag=tag, ibData=offsets[tag], cbData=sizes[tag], iBit=bits[tag]))
        for tag in sorted(tags)
    )
    builder.heap.user_root = builder.heap.allocate(info + descriptors)
    return builder
