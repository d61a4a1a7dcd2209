"""Table contexts ([MS-PST] 2.3.4): TCINFO, a row index BTH and a row matrix, in a heap.

Cells are laid out as the spec orders them: the 8- and 4-byte columns (row
id and row version first), then 2-byte, then 1-byte ones, then the
cell-existence bitmap.  A row matrix too big for one heap item goes to a
subnode, whole rows per block.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from functools import lru_cache

from pstlib.ltp.heap import CLIENT_SIG_TC
from pstlib.ltp.proptypes import FIXED_SIZES
from pstlib.ndb.nid import NIDType
from pstlib.writer.heap import MAX_ITEM, HeapWriter, reserve_bth, write_bth
from pstlib.writer.ndb import MAX_DATA, NDBWriter
from pstlib.writer.propertycontext import Subnodes, Value, place

_TCINFO = struct.Struct("<BB4HIII")
_HNID = struct.Struct("<I")
ROW_ID = 0x67F20003
ROW_VERSION = 0x67F30003


def inline(tag: int) -> bool:
    """Whether a column's cells hold the value itself (fixed types up to 8 bytes), not an HNID."""
    return 0 < FIXED_SIZES.get(tag & 0xFFFF, 0) <= 8


def cell_size(tag: int) -> int:
    """Bytes of a column's cell."""
    return FIXED_SIZES[tag & 0xFFFF] if inline(tag) else 4


@lru_cache(maxsize=256)
def layout(tags: frozenset[int]) -> tuple[tuple[tuple[int, int, int, int], ...], tuple[int, ...]]:
    """(tag, ibData, cbData, iBit) per column, sorted by tag, and TCINFO's rgib (cached:
    most tables of a store share a handful of column sets)."""
    others = sorted(tags - {ROW_ID, ROW_VERSION})
    ordered = [ROW_ID, ROW_VERSION, *sorted(others, key=lambda t: -cell_size(t))]
    columns, offset, rgib = [], 0, []
    for bit, tag in enumerate(ordered):
        size = cell_size(tag)
        if size < 4 and not rgib:
            rgib.append(offset)
        if size < 2 and len(rgib) == 1:
            rgib.append(offset)
        columns.append((tag, offset, size, bit))
        offset += size
    while len(rgib) < 3:
        rgib.append(offset)
    rgib.append(offset + (len(ordered) + 7) // 8)
    return tuple(sorted(columns)), tuple(rgib)


Step = tuple[int, int, int, int, int]
"""A column's tag, ibData, cbData, and the bitmap byte and bit that say a cell exists."""


@lru_cache(maxsize=256)
def _plan(
    columns: tuple[tuple[int, int, int, int], ...], rgib: tuple[int, ...]
) -> tuple[list[Step], list[Step], dict[int, Step], bytes]:
    """How ``write_tc`` fills a row: fixed-size cells, HNID cells, and the row id and
    version (always columns, set last); and the TCOLDESCs (cached with the layout)."""
    fixed: list[Step] = []
    hnid: list[Step] = []
    ids: dict[int, Step] = {}
    for tag, offset, size, bit in columns:
        step = (tag, offset, size, rgib[2] + bit // 8, 0x80 >> (bit % 8))
        if tag in (ROW_ID, ROW_VERSION):
            ids[tag] = step
        else:
            (fixed if inline(tag) else hnid).append(step)
    return fixed, hnid, ids, b"".join(struct.pack("<IHBB", *column) for column in columns)


def write_tc(
    ndb: NDBWriter,
    tags: Iterable[int],
    rows: Iterable[tuple[int, Mapping[int, Value]]],
    subnodes: Subnodes,
) -> int:
    """Write a TC with columns ``tags`` and rows of (row id, {tag: stored value}); its data BID.

    Values whose tag is not a column are left out, so callers pass whole
    property sets and the template decides.
    """
    columns, rgib = layout(frozenset(tags))
    fixed_plan, hnid_plan, ids_plan, descriptors = _plan(columns, rgib)
    row_size = rgib[3]
    heap = HeapWriter(CLIENT_SIG_TC)
    # Outlook's order, which some readers rely on: the row index's BTHHEADER, then TCINFO.
    hid_index = reserve_bth(heap)
    heap.user_root = heap.allocate(bytes(_TCINFO.size + len(descriptors)))
    matrix = bytearray()
    index: list[tuple[int, bytes]] = []
    for number, (row_id, values) in enumerate(rows):
        row = bytearray(row_size)
        get = values.get
        for tag, offset, size, bit_byte, bit_mask in fixed_plan:
            value = get(tag)
            if value is not None:
                row[offset:offset + size] = value if len(value) == size else bytes(value)[:size].ljust(size, b"\0")
                row[bit_byte] |= bit_mask
        for tag, offset, size, bit_byte, bit_mask in hnid_plan:
            value = get(tag)
            if value is not None:
                row[offset:offset + 4] = _HNID.pack(place(heap, subnodes, value))
                row[bit_byte] |= bit_mask
        for tag, default in ((ROW_ID, row_id), (ROW_VERSION, number + 1)):
            _, offset, size, bit_byte, bit_mask = ids_plan[tag]
            value = get(tag)
            row[offset:offset + size] = _HNID.pack(default) if value is None else bytes(value)[:size].ljust(size, b"\0")
            row[bit_byte] |= bit_mask
        matrix += row
        index.append((row_id, struct.pack("<I", number)))
    write_bth(heap, hid_index, 4, 4, index)
    hnid_rows = 0
    if matrix and len(matrix) <= MAX_ITEM:
        hnid_rows = heap.allocate(bytes(matrix))
    elif matrix:
        per_block = MAX_DATA // row_size * row_size
        blocks = [bytes(matrix[i:i + per_block]) for i in range(0, len(matrix), per_block)]
        hnid_rows = ndb.new_nid(NIDType.LTP)
        subnodes.add(hnid_rows, ndb.add_blocks(blocks))
    info = _TCINFO.pack(CLIENT_SIG_TC, len(columns), *rgib, hid_index, hnid_rows, 0)
    heap.set(heap.user_root, info + descriptors)
    return ndb.add_blocks(heap.blocks())
