"""Round trips through the LTP readers: build [MS-PST] 2.3 structures, read them back.

``tests/ltp_builder.py`` writes heaps, BTHs, PCs and TCs from random content;
pstlib must return exactly that content, decoded by its documented conventions
(proptypes.py).  Structures damaged in one place must end in an ``LTPError``
naming the node, never in another exception.
"""

from __future__ import annotations

import math
import struct
from datetime import datetime, timezone
from decimal import Decimal
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import pstlib
from pstlib.ltp.bth import BTH, BTHHEADER
from pstlib.ltp.heap import CLIENT_SIG_BTH, CLIENT_SIG_PC, CLIENT_SIG_TC, HNBITMAPHDR, Heap
from pstlib.ltp.propertycontext import PC_RECORD, PropertyContext
from pstlib.ltp.proptypes import MULTIPLE, PropertyType as T
from pstlib.ltp.tablecontext import TCINFO_HEAD, TCOLDESC, TableContext
from tests.ltp_builder import (
    MAX_ALLOCATION,
    MAX_BLOCK_SIZE,
    NID_TYPE_LTP,
    ROW_ID_TAG,
    ROW_VER_TAG,
    FakeNode,
    HeapBuilder,
    NodeBuilder,
    build_bth,
    build_pc,
    build_tc,
    currency_of,
    encode,
    filetime_of,
    header_size,
    make_hid,
    ole_date_of,
    page_map,
    with_page_map,
)

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------- values by type


class Sample(NamedTuple):
    """A value as the builder stores it, and what pstlib must decode it to."""

    stored: Any
    expected: Any


def _same(stored: st.SearchStrategy[Any]) -> st.SearchStrategy[Sample]:
    return stored.map(lambda value: Sample(value, value))


_MAX_TIME = filetime_of(datetime.max.replace(tzinfo=timezone.utc)) + 9
_OLE_LAST_EXACT = datetime(2079, 6, 1)
"""Below 2**16 days a double's spacing is under 1 microsecond, so OLE dates round-trip exactly."""
_CP1252 = st.characters(codec="cp1252")


def _time() -> st.SearchStrategy[Sample]:
    """FILETIMEs: a datetime plus 0-9 ticks (truncated away), or past datetime.max (None)."""
    in_range = st.tuples(
        st.datetimes(timezones=st.just(timezone.utc), min_value=datetime(1601, 1, 1)),
        st.integers(0, 9),
    ).map(lambda pair: Sample(filetime_of(pair[0]) + pair[1], pair[0]))
    beyond = st.integers(_MAX_TIME + 1, 2**64 - 1).map(lambda ticks: Sample(ticks, None))
    return st.one_of(in_range, beyond)


def _floating_time() -> st.SearchStrategy[Sample]:
    """OLE dates from 1899-12-30 on (earlier ones: ``test_ole_date_before_1899``), or None."""
    in_range = st.datetimes(min_value=datetime(1899, 12, 30), max_value=_OLE_LAST_EXACT).map(
        lambda moment: Sample(ole_date_of(moment), moment)
    )
    beyond = st.sampled_from([math.inf, -math.inf, math.nan, 1e300]).map(
        lambda days: Sample(days, None)
    )
    return st.one_of(in_range, beyond)


def _currency() -> st.SearchStrategy[Sample]:
    amounts = st.decimals(
        min_value=Decimal(-(2**63)).scaleb(-4), max_value=Decimal(2**63 - 1).scaleb(-4), places=4
    )
    return amounts.map(lambda amount: Sample(currency_of(amount), amount))


def _text(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[Sample]:
    """Text whose trailing NULs pstlib strips."""
    return st.text(alphabet, max_size=40).map(lambda text: Sample(text, text.rstrip("\0")))


SCALARS: dict[int, st.SearchStrategy[Sample]] = {
    T.NULL: st.just(Sample(None, None)),
    T.INTEGER16: _same(st.integers(-(2**15), 2**15 - 1)),
    T.INTEGER32: _same(st.integers(-(2**31), 2**31 - 1)),
    T.FLOATING32: _same(st.floats(width=32)),
    T.FLOATING64: _same(st.floats()),
    T.CURRENCY: _currency(),
    T.FLOATING_TIME: _floating_time(),
    T.ERROR_CODE: _same(st.integers(0, 2**32 - 1)),
    T.BOOLEAN: _same(st.booleans()),
    T.INTEGER64: _same(st.integers(-(2**63), 2**63 - 1)),
    T.TIME: _time(),
    T.GUID: _same(st.uuids()),
    T.STRING: _text(st.characters()),
    T.STRING8: _text(_CP1252),
    T.BINARY: _same(st.binary(max_size=64)),
    T.OBJECT: _same(st.binary(max_size=16)),
    T.SERVER_ID: _same(st.binary(max_size=16)),
    T.RESTRICTION: _same(st.binary(max_size=16)),
    T.RULE_ACTION: _same(st.binary(max_size=16)),
}


def _multiple(base: int) -> st.SearchStrategy[Sample]:
    return st.lists(SCALARS[base], max_size=6).map(
        lambda items: Sample([item.stored for item in items], [item.expected for item in items])
    )


VALUES: dict[int, st.SearchStrategy[Sample]] = {
    **SCALARS,
    **{ptype: _multiple(ptype & ~MULTIPLE) for ptype in T if ptype & MULTIPLE},
}
"""Every type pstlib names except Unspecified (never stored)."""

NUMPY_COLUMN_TYPES = {
    T.INTEGER16,
    T.INTEGER32,
    T.INTEGER64,
    T.ERROR_CODE,
    T.BOOLEAN,
    T.FLOATING32,
    T.FLOATING64,
    T.TIME,
}
"""Columns ``TableContext.column`` returns as numpy arrays (times as raw FILETIMEs)."""
TC_TYPES = sorted(set(VALUES) - {T.NULL})

CODEPAGE_IDS = {0x3FFD, 0x3FDE, 0x3FF1}
"""Code page hints; random properties avoid them so String8 stays cp1252."""
PROP_IDS = st.integers(1, 0xFFFF).filter(
    lambda prop_id: prop_id not in CODEPAGE_IDS | {ROW_ID_TAG >> 16, ROW_VER_TAG >> 16}
)


def same(actual: Any, expected: Any) -> bool:
    """Equality where NaN equals NaN (it round-trips too) and types must match."""
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(map(same, actual, expected))
        )
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    return type(actual) is type(expected) and actual == expected


# ---------------------------------------------------------------- heaps


@SETTINGS
@given(
    blocks=st.lists(st.lists(st.binary(max_size=120), max_size=6), min_size=1, max_size=20),
    block_size=st.integers(300, MAX_BLOCK_SIZE),
    client_signature=st.sampled_from([CLIENT_SIG_PC, CLIENT_SIG_TC, CLIENT_SIG_BTH]),
    root_choice=st.integers(0),
)
@example(blocks=[[b"x" * 100]] * 12, block_size=300, client_signature=CLIENT_SIG_PC, root_choice=3)
def test_heap_reads_back_every_allocation(
    blocks: list[list[bytes]], block_size: int, client_signature: int, root_choice: int
) -> None:
    """Allocations over 1-20+ blocks (past block 8, with its bitmap header) read back by HID."""
    builder = HeapBuilder(client_signature, block_size)
    hids = []
    for index, items in enumerate(blocks):
        if index:
            builder.new_block()
        hids += [(builder.allocate(item), item) for item in items]
    builder.user_root = hids[root_choice % len(hids)][0] if hids else 0
    built = builder.build()
    for index, block in enumerate(built):
        assert page_map(block)[1][0] == header_size(index)
    if len(built) > 8:
        assert page_map(built[8])[1][0] == HNBITMAPHDR.sizeof()

    heap = Heap(FakeNode(built))
    assert heap.client_signature == client_signature
    assert heap.user_root == builder.user_root
    for hid, item in hids:
        assert heap.item(hid) == item
    assert heap.item(0) == b""


# ---------------------------------------------------------------- BTHs


@st.composite
def bth_records(draw: st.DrawFn) -> tuple[int, int, list[tuple[bytes, bytes]]]:
    """(cbKey, cbEnt, records with distinct keys)."""
    key_size = draw(st.sampled_from([2, 4, 8, 16]))
    data_size = draw(st.integers(1, 32))
    records = draw(
        st.lists(
            st.tuples(
                st.binary(min_size=key_size, max_size=key_size),
                st.binary(min_size=data_size, max_size=data_size),
            ),
            max_size=60,
            unique_by=lambda record: record[0],
        )
    )
    return key_size, data_size, records


@SETTINGS
@given(
    shape=bth_records(),
    levels=st.integers(0, 2),
    fanout=st.integers(1, 8),
    block_size=st.integers(3700, MAX_BLOCK_SIZE),
)
def test_bth_reads_back_in_key_order(
    shape: tuple[int, int, list[tuple[bytes, bytes]]], levels: int, fanout: int, block_size: int
) -> None:
    """Leaves under 0-2 index levels, possibly over several heap blocks, come back sorted."""
    key_size, data_size, records = shape
    builder = HeapBuilder(CLIENT_SIG_BTH, block_size)
    builder.user_root = build_bth(
        builder, key_size, data_size, records, levels=levels, fanout=fanout
    )
    bth = BTH(Heap(FakeNode(builder.build())), builder.user_root)
    assert (bth.key_size, bth.data_size, bth.levels) == (key_size, data_size, levels)

    expected = sorted(records, key=lambda record: int.from_bytes(record[0], "little"))
    found = bth.records()
    if key_size <= 8:
        assert found["key"].tolist() == [int.from_bytes(key, "little") for key, _ in expected]
    else:
        assert [bytes(key) for key in found["key"]] == [key for key, _ in expected]
    assert [bytes(data) for data in found["data"]] == [data for _, data in expected]


# ---------------------------------------------------------------- property contexts


@st.composite
def pc_properties(draw: st.DrawFn) -> list[tuple[int, int, Sample]]:
    """(prop_id, type, sample) with distinct ids, types drawn from every storable type."""
    ids = draw(st.lists(PROP_IDS, unique=True, max_size=30))
    types = [draw(st.sampled_from(sorted(VALUES))) for _ in ids]
    return [(prop_id, ptype, draw(VALUES[ptype])) for prop_id, ptype in zip(ids, types)]


@SETTINGS
@given(
    props=pc_properties(),
    subnode_threshold=st.sampled_from([MAX_ALLOCATION, 8, 0]),
    levels=st.integers(0, 2),
    fanout=st.integers(1, 16),
)
def test_pc_values_decode_to_what_was_stored(
    props: list[tuple[int, int, Sample]], subnode_threshold: int, levels: int, fanout: int
) -> None:
    """Every type, inline, in the heap or in a subnode, under a BTH of 0-2 index levels."""
    built = build_pc(
        [(prop_id, ptype, sample.stored) for prop_id, ptype, sample in props],
        subnode_threshold=subnode_threshold,
        levels=levels,
        fanout=fanout,
    )
    pc = PropertyContext(built.node())
    assert sorted(pc) == sorted(prop_id for prop_id, _, _ in props)
    for prop_id, ptype, sample in props:
        assert pc.type_of(prop_id) == ptype
        assert pc.raw(prop_id) == encode(ptype, sample.stored)
        assert same(pc[prop_id], sample.expected), (hex(prop_id), hex(ptype), pc[prop_id])
        assert same(pc.value(prop_id, ptype), sample.expected)


def test_pc_value_spread_over_subnode_blocks() -> None:
    """A value too big for the heap goes to a subnode of several blocks, read whole."""
    big = bytes(range(256)) * 80
    text = "\u00e9t\u00e9 " * 3000
    built = build_pc([(0x1000, T.BINARY, big), (0x1001, T.STRING, text)])
    assert all(len(sub.blocks) > 1 for sub in built.subnodes.values())
    pc = PropertyContext(built.node())
    assert pc[0x1000] == big
    assert pc[0x1001] == text.rstrip("\0")


@pytest.mark.parametrize(
    ("hint", "codec"),
    [
        ((0x3FFD, 1251), "cp1251"),  # PidTagMessageCodepage names it
        ((0x3FDE, 20866), "cp1251"),  # PidTagInternetCodepage KOI8-R: String8 is in Windows-1251
        ((0x3FF1, 0x0408), "cp1253"),  # PidTagMessageLocaleId Greek
    ],
)
def test_pc_string8_follows_the_objects_code_page(hint: tuple[int, int], codec: str) -> None:
    text = "\u0416\u0436" if codec == "cp1251" else "\u03a9\u03c9"
    built = build_pc([(hint[0], T.INTEGER32, hint[1]), (0x0037, T.STRING8, text)], codec=codec)
    assert PropertyContext(built.node())[0x0037] == text


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (-1.0, datetime(1899, 12, 29)),
        (-1.25, datetime(1899, 12, 29, 6)),
        (-0.5, datetime(1899, 12, 30, 12)),
        (-2.75, datetime(1899, 12, 28, 18)),
    ],
)
def test_ole_date_before_1899(days: float, expected: datetime) -> None:
    """Before 1899-12-30 the whole part counts days back, the fraction's absolute value is the
    time of day ([MS-OXCDATA] 2.11.1; the DATE type and DateTime.ToOADate: -1.25 is 6 A.M.,
    29 December 1899), so the time line is not continuous there.
    """
    built = build_pc([(0x1000, T.FLOATING_TIME, days)])
    assert PropertyContext(built.node())[0x1000] == expected


# ---------------------------------------------------------------- table contexts


class Table(NamedTuple):
    columns: list[tuple[int, int]]
    """(prop_id, type) in bit order."""
    rows: list[tuple[int, dict[int, Sample]]]
    """(dwRowID, {tag: sample}) of present cells."""


@st.composite
def tables(draw: st.DrawFn) -> Table:
    """Up to 10 columns of any type but Null, up to 30 rows, each cell present or not."""
    ids = draw(st.lists(PROP_IDS, unique=True, max_size=10))
    columns = [(prop_id, draw(st.sampled_from(TC_TYPES))) for prop_id in ids]
    row_ids = draw(st.lists(st.integers(0, 2**32 - 1), unique=True, max_size=30))
    rows = []
    for row_id in row_ids:
        cells = {
            prop_id << 16 | ptype: draw(VALUES[ptype])
            for prop_id, ptype in [*columns, (ROW_VER_TAG >> 16, T.INTEGER32)]
            if draw(st.booleans())
        }
        rows.append((row_id, cells))
    return Table(columns, rows)


def _signed32(value: int) -> int:
    """dwRowID as PidTagLtpRowId (PtypInteger32) decodes it."""
    return value - (1 << 32) if value >= 1 << 31 else value


@SETTINGS
@given(
    table=tables(),
    rows_per_block=st.none() | st.integers(1, 5),
    pad_blocks=st.booleans(),
    subnode_threshold=st.sampled_from([MAX_ALLOCATION, 8]),
    index_levels=st.integers(0, 2),
    index_fanout=st.integers(1, 8),
    index_entry_size=st.sampled_from([2, 4]),
)
def test_tc_reads_back_rows_and_columns(
    table: Table,
    rows_per_block: int | None,
    pad_blocks: bool,
    subnode_threshold: int,
    index_levels: int,
    index_fanout: int,
    index_entry_size: int,
) -> None:
    """Cells by row and by column; missing cells hold junk the bitmap must hide."""
    built = build_tc(
        [prop_id << 16 | ptype for prop_id, ptype in table.columns],
        [(row_id, {tag: s.stored for tag, s in cells.items()}) for row_id, cells in table.rows],
        rows_per_block=rows_per_block,
        pad_blocks=pad_blocks,
        subnode_threshold=subnode_threshold,
        index_levels=index_levels,
        index_fanout=index_fanout,
        index_entry_size=index_entry_size,
    )
    tc = TableContext(built.node())
    tags = [ROW_ID_TAG, ROW_VER_TAG, *(prop_id << 16 | ptype for prop_id, ptype in table.columns)]
    assert sorted(column.tag for column in tc.columns) == sorted(tags)
    assert len(tc) == len(table.rows)
    assert tc.row_ids.tolist() == [row_id for row_id, _ in table.rows]
    assert tc.column(ROW_ID_TAG).tolist() == [_signed32(row_id) for row_id, _ in table.rows]

    for row, (row_id, cells) in zip(tc, table.rows):
        expected = {tag >> 16: sample.expected for tag, sample in cells.items()}
        expected[ROW_ID_TAG >> 16] = _signed32(row_id)
        assert row.row_id == row_id
        assert sorted(row) == sorted(expected)
        for prop_id, value in expected.items():
            assert same(row[prop_id], value), (hex(prop_id), row[prop_id], value)

    for tag in tags[1:]:
        present = [tag in cells for _, cells in table.rows]
        assert tc.exists(tag).tolist() == present
        column = tc.column(tag)
        samples = [cells.get(tag) for _, cells in table.rows]
        if tag & 0xFFFF in NUMPY_COLUMN_TYPES:
            assert isinstance(column, np.ndarray)
            np.testing.assert_array_equal(column, [s.stored if s else 0 for s in samples])
        else:
            assert isinstance(column, list)
            assert same(column, [s.expected if s else None for s in samples])


def test_tc_row_matrix_over_many_subnode_blocks() -> None:
    """Whole rows per block, as many as fit in 8176 bytes, the rest of each block unused."""
    tag = 0x3001 << 16 | T.INTEGER64
    rows = [(row_id, {tag: row_id * 3}) for row_id in range(1500)]
    built = build_tc([tag], rows, pad_blocks=True, index_levels=1)
    (matrix,) = built.subnodes.values()
    assert len(matrix.blocks) > 2
    tc = TableContext(built.node())
    assert tc.column(tag).tolist() == [row_id * 3 for row_id in range(1500)]


# ---------------------------------------------------------------- damage


def _raises_ltp(call: Callable[[], object], nid: int) -> None:
    """``call`` fails with an LTPError (no other kind) that names node ``nid``."""
    with pytest.raises(pstlib.LTPError) as caught:
        call()
    assert caught.value.nid == nid


def _small_tc() -> NodeBuilder:
    """A valid three-row table to damage."""
    tag = 0x3001 << 16 | T.STRING
    return build_tc([tag], [(row_id, {tag: f"row {row_id}"}) for row_id in (10, 20, 30)])


def _tcinfo(built: NodeBuilder) -> tuple[Any, bytes]:
    raw = built.heap[built.heap.user_root]
    return TCINFO_HEAD.parse(raw), raw[TCINFO_HEAD.sizeof():]


def test_page_map_out_of_order() -> None:
    builder = HeapBuilder(CLIENT_SIG_PC)
    first, _ = builder.allocate(b"first"), builder.allocate(b"second")
    (block,) = builder.build()
    offsets = page_map(block)[1]
    offsets[1], offsets[2] = offsets[2], offsets[1]
    node = FakeNode([with_page_map(block, offsets)])
    _raises_ltp(lambda: Heap(node).item(first), node.nid)


@pytest.mark.parametrize("hid", [make_hid(3, 0), make_hid(1, 1), make_hid(0, 0) | 1 << 16, 0x21])
def test_hid_naming_nothing(hid: int) -> None:
    """A third allocation of a two-allocation block, a second block, index 0, a NID."""
    builder = HeapBuilder(CLIENT_SIG_PC)
    builder.allocate(b"a")
    builder.allocate(b"b")
    node = FakeNode(builder.build())
    _raises_ltp(lambda: Heap(node).item(hid), node.nid)


def _retype_pc_record(built: NodeBuilder, **changes: int) -> FakeNode:
    """The node of a one-property PC with fields of its only PC_RECORD changed."""
    leaf = BTHHEADER.parse(built.heap[built.heap.user_root]).hidRoot
    record = PC_RECORD.parse(built.heap[leaf])
    built.heap[leaf] = PC_RECORD.build({**record, **changes})
    return built.node()


def test_pc_value_hid_naming_a_missing_allocation() -> None:
    node = _retype_pc_record(build_pc([(0x1000, T.BINARY, b"value")]), dwValueHnid=make_hid(40, 0))
    pc = PropertyContext(node)
    _raises_ltp(lambda: pc.raw(0x1000), node.nid)
    _raises_ltp(lambda: pc[0x1000], node.nid)


def test_pc_root_naming_a_missing_block() -> None:
    built = build_pc([(0x1000, T.INTEGER32, 1)])
    built.heap.user_root = make_hid(1, 5)
    node = built.node()
    _raises_ltp(lambda: PropertyContext(node), node.nid)


def test_bth_with_wrong_btype() -> None:
    built = build_pc([(0x1000, T.INTEGER32, 1)])
    header = BTHHEADER.parse(built.heap[built.heap.user_root])
    built.heap[built.heap.user_root] = BTHHEADER.build({**header, "bType": 0xB6})
    node = built.node()
    _raises_ltp(lambda: PropertyContext(node), node.nid)


def test_bth_index_cycle() -> None:
    """An index record pointing back at its own allocation is refused, not followed forever."""
    builder = HeapBuilder(CLIENT_SIG_BTH)
    builder.user_root = build_bth(builder, 4, 4, [(bytes(4), bytes(4))], levels=1)
    index = BTHHEADER.parse(builder[builder.user_root]).hidRoot
    builder[index] = bytes(4) + index.to_bytes(4, "little")
    node = FakeNode(builder.build())
    heap = Heap(node)
    _raises_ltp(lambda: BTH(heap, builder.user_root).records(), node.nid)


def test_tcinfo_claims_more_columns_than_fit() -> None:
    built = _small_tc()
    info, descriptors = _tcinfo(built)
    claimed = TCINFO_HEAD.build({**info, "cCols": info.cCols + 1})
    built.heap[built.heap.user_root] = claimed + descriptors
    node = built.node()
    _raises_ltp(lambda: TableContext(node), node.nid)


@pytest.mark.parametrize("field", ["ibData", "iBit"])
def test_tc_column_outside_the_row(field: str) -> None:
    """A cell reaching into the bitmap, or a bit past the column count."""
    built = _small_tc()
    info, descriptors = _tcinfo(built)
    size = TCOLDESC.sizeof()
    last = TCOLDESC.parse(descriptors[-size:])
    moved = {**last, field: info.rgib[2] - 2 if field == "ibData" else info.cCols}
    damaged = descriptors[:-size] + TCOLDESC.build(moved)
    built.heap[built.heap.user_root] = TCINFO_HEAD.build(info) + damaged
    node = built.node()
    _raises_ltp(lambda: TableContext(node), node.nid)


def test_tc_row_index_with_a_gap() -> None:
    built = _small_tc()
    info, _ = _tcinfo(built)
    leaf = BTHHEADER.parse(built.heap[info.hidRowIndex]).hidRoot
    records = bytearray(built.heap[leaf])
    records[-4:] = (3).to_bytes(4, "little")  # rows 0, 1, 3
    built.heap[leaf] = bytes(records)
    node = built.node()
    _raises_ltp(lambda: TableContext(node), node.nid)


def test_tc_row_matrix_shorter_than_its_index() -> None:
    built = _small_tc()
    info, _ = _tcinfo(built)
    built.heap[info.hnidRows] = built.heap[info.hnidRows][: 2 * info.rgib[3]]
    node = built.node()
    _raises_ltp(lambda: TableContext(node), node.nid)


def test_tc_row_matrix_in_a_missing_subnode() -> None:
    built = _small_tc()
    info, descriptors = _tcinfo(built)
    missing = TCINFO_HEAD.build({**info, "hnidRows": 0x7FF << 5 | NID_TYPE_LTP})
    built.heap[built.heap.user_root] = missing + descriptors
    node = built.node()
    _raises_ltp(lambda: TableContext(node), node.nid)


def test_pc_value_too_short_for_its_type() -> None:
    """A 15-byte GUID: ``value()`` and ``pc[id]`` must both name the node."""
    node = _retype_pc_record(build_pc([(0x1000, T.BINARY, bytes(15))]), wPropType=T.GUID)
    pc = PropertyContext(node)
    _raises_ltp(lambda: pc.value(0x1000), node.nid)
    _raises_ltp(lambda: pc[0x1000], node.nid)


def test_tc_cell_too_short_for_its_type() -> None:
    """A multi-valued string cell whose count claims more items than its bytes hold."""
    tag = 0x3001 << 16 | T.MULTIPLE_STRING
    built = build_tc([tag], [(1, {tag: ["a"]})])
    cell_hid = make_hid(1, 0)  # build_tc stores cell values before its other allocations
    assert built.heap[cell_hid] == encode(T.MULTIPLE_STRING, ["a"])
    built.heap[cell_hid] = struct.pack("<I", 9)
    node = built.node()
    tc = TableContext(node)
    _raises_ltp(lambda: tc[0][0x3001], node.nid)
    _raises_ltp(lambda: tc.column(tag), node.nid)


def test_pc_with_an_id_stored_twice_and_zero_padding() -> None:
    """Most PCs store each id once, and are read through a flat map; one that stores an id
    with two types, or is padded with all-zero records, is read through the per-type map:
    both string forms stay readable, the Unicode one is preferred, the padding is no
    property, and an id's missing type is a KeyError."""
    built = build_pc(
        [
            (0x0000, T.UNSPECIFIED, b""),
            (0x0037, T.STRING, "unicode"),
            (0x0037, T.STRING8, "ansi"),
            (0x0E07, T.INTEGER32, 9),
        ]
    )
    pc = PropertyContext(built.node())
    assert sorted(pc) == [0x0037, 0x0E07] and len(pc) == 2 and 0 not in pc
    assert sorted(pc.types_of(0x0037)) == [T.STRING8, T.STRING]
    assert pc.type_of(0x0037) == T.STRING and pc[0x0037] == "unicode"
    assert pc.value(0x0037, T.STRING8) == "ansi"
    assert pc[0x0E07] == 9 and pc.types_of(0x0E07) == (T.INTEGER32,)
    with pytest.raises(KeyError):
        pc.raw(0x0E07, T.INTEGER16)
    single = PropertyContext(build_pc([(0x0037, T.STRING, "only"), (0x0E07, T.INTEGER32, 9)]).node())
    assert single.types_of(0x0037) == (T.STRING,) and single[0x0037] == "only"
    with pytest.raises(KeyError):
        single.raw(0x0037, T.STRING8)
    with pytest.raises(KeyError):
        single.type_of(0x1000)
