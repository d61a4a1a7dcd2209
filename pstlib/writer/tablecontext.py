"""Table contexts ([MS-PST] 2.3.4): TCINFO, a row index BTH and a row matrix, in a heap.

Cells are laid out as the spec orders them: the 8- and 4-byte columns (row
id and row version first), then 2-byte, then 1-byte ones, then the
cell-existence bitmap.  A row matrix too big for one heap item goes to a
subnode, whole rows per block.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from itertools import compress, count, starmap
from operator import itemgetter
from typing import Any, NamedTuple

from pstlib.ltp.heap import CLIENT_SIG_TC
from pstlib.ltp.proptypes import FIXED_SIZES
from pstlib.ndb.nid import NIDType
from pstlib.writer.heap import MAX_ITEM, HeapWriter, reserve_bth, write_bth
from pstlib.writer.ndb import MAX_DATA, NDBWriter
from pstlib.writer.propertycontext import Subnodes, Value, place_all

_TCINFO = struct.Struct("<BB4HIII")
_HNID = struct.Struct("<I")
_INDEX_RECORD = struct.Struct("<II")
"""A row index record: dwRowID, dwRowIndex."""
ROW_ID = 0x67F20003
ROW_VERSION = 0x67F30003


def inline(tag: int) -> bool:
    """Whether a column's cells hold the value itself (fixed types up to 8 bytes), not an HNID."""
    return 0 < FIXED_SIZES.get(tag & 0xFFFF, 0) <= 8


def cell_size(tag: int) -> int:
    """Bytes of a column's cell."""
    return FIXED_SIZES[tag & 0xFFFF] if inline(tag) else 4


def layout(tags: frozenset[int]) -> tuple[tuple[tuple[int, int, int, int], ...], tuple[int, ...]]:
    """(tag, ibData, cbData, iBit) per column, sorted by tag, and TCINFO's rgib."""
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


class _Plan(NamedTuple):
    """A column set's layout and how ``write_tc`` packs its rows (cached: most tables
    of a store share a handful of column sets)."""

    columns: tuple[tuple[int, int, int, int], ...]
    rgib: tuple[int, ...]

    fixed: tuple[int, ...]
    """Tags of the fixed-size cells after the row id and version, in offset order."""
    hnid: tuple[int, ...]
    """Tags of the HNID cells, in offset order."""
    others: tuple[int, ...]
    """Every tag but the row id and version."""
    weights: tuple[int, ...]
    """Each of ``others``' cell-existence bits as a value of the bitmap read as one
    big-endian int: a row's bitmap is the sum of its present cells' weights."""
    always: int
    """The row id's and version's bits: those cells are always written."""
    bitmap_size: int
    row: struct.Struct
    """The row's cells in offset order: fixed ones as bytes (padded or cut), HNIDs as ints."""
    arrange: Callable[[list[Any]], tuple[Any, ...]]
    """(row id, version, *fixed, *HNIDs, bitmap) to the row's offset order."""
    descriptors: bytes
    """The TCOLDESCs."""


@lru_cache(maxsize=256)
def _plan(tags: frozenset[int]) -> _Plan:
    columns, rgib = layout(tags)
    by_offset = sorted(columns, key=lambda column: column[1])
    bitmap_size = rgib[3] - rgib[2]
    others = [column for column in by_offset if column[0] not in (ROW_ID, ROW_VERSION)]
    fixed = [tag for tag, _, _, _ in others if inline(tag)]
    hnid = [tag for tag, _, _, _ in others if not inline(tag)]
    source = {ROW_ID: 0, ROW_VERSION: 1}
    source.update((tag, 2 + i) for i, tag in enumerate(fixed))
    source.update((tag, 2 + len(fixed) + i) for i, tag in enumerate(hnid))
    order = [source[tag] for tag, _, _, _ in by_offset] + [len(source)]
    formats = "".join(f"{size}s" if inline(tag) else "I" for tag, _, size, _ in by_offset)
    weight = {tag: 1 << (8 * bitmap_size - 1 - bit) for tag, _, _, bit in columns}
    return _Plan(
        columns=columns,
        rgib=rgib,
        fixed=tuple(fixed),
        hnid=tuple(hnid),
        others=tuple(tag for tag, _, _, _ in others),
        weights=tuple(weight[tag] for tag, _, _, _ in others),
        always=weight.get(ROW_ID, 0) | weight.get(ROW_VERSION, 0),
        bitmap_size=bitmap_size,
        row=struct.Struct(f"<{formats}{bitmap_size}s"),
        arrange=itemgetter(*order),
        descriptors=b"".join(struct.pack("<IHBB", *column) for column in columns),
    )


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
    plan = _plan(tags if isinstance(tags, frozenset) else frozenset(tags))
    columns, rgib = plan.columns, plan.rgib
    rows = list(rows)
    heap = HeapWriter(CLIENT_SIG_TC)
    # Outlook's order, which some readers rely on: the row index's BTHHEADER, then TCINFO.
    hid_index = reserve_bth(heap)
    heap.user_root = heap.allocate(bytes(_TCINFO.size + len(plan.descriptors)))
    hnid_tags, fixed_tags, others, weights = plan.hnid, plan.fixed, plan.others, plan.weights
    variable: list[Value | None] = []
    for _, values in rows:
        variable += map(values.get, hnid_tags)
    hnids = place_all(heap, subnodes, variable)
    width = len(hnid_tags)
    empty = (b"",) * len(fixed_tags)
    pack, arrange, always, bitmap_size = plan.row.pack, plan.arrange, plan.always, plan.bitmap_size
    matrix = []
    for number, (row_id, values) in enumerate(rows):
        get = values.get
        row_key, version = get(ROW_ID), get(ROW_VERSION)
        cells: list[Any] = [
            _HNID.pack(row_id) if row_key is None else row_key,
            _HNID.pack(number + 1) if version is None else version,
        ]
        cells += map(get, fixed_tags, empty)
        cells += hnids[number * width:(number + 1) * width]
        bits = always + sum(compress(weights, map(values.__contains__, others)))
        cells.append(bits.to_bytes(bitmap_size, "big"))
        matrix.append(pack(*arrange(cells)))
    index = sorted(zip(map(itemgetter(0), rows), count()))
    write_bth(heap, hid_index, 4, 4, b"".join(starmap(_INDEX_RECORD.pack, index)))
    hnid_rows = 0
    data = b"".join(matrix)
    if data and len(data) <= MAX_ITEM:
        hnid_rows = heap.allocate(data)
    elif data:
        per_block = MAX_DATA // len(matrix[0]) * len(matrix[0])
        blocks = [data[i:i + per_block] for i in range(0, len(data), per_block)]
        hnid_rows = ndb.new_nid(NIDType.LTP)
        subnodes.add(hnid_rows, ndb.add_blocks(blocks))
    info = _TCINFO.pack(CLIENT_SIG_TC, len(columns), *rgib, hid_index, hnid_rows, 0)
    heap.set(heap.user_root, info + plan.descriptors)
    return ndb.add_blocks(heap.blocks())
