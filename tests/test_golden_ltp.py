"""The LTP parsers against the annotated dumps of [MS-PST] 3.8-3.12 (HN, BTH, PC, TC)."""

from __future__ import annotations

from pstlib.ltp.bth import BTH
from pstlib.ltp.heap import Heap
from pstlib.ltp.propertycontext import PropertyContext
from pstlib.ltp.tablecontext import TableContext
from tests.golden_data import expectations, load_hex
from tests.ltp_builder import FakeNode


def number(text: str) -> int:
    return int(text, 0)


def test_sample_heap_and_bth() -> None:
    """[MS-PST] 3.8-3.9: the message store's heap, its page map and its BTH."""
    expect = expectations("ms_pst_3_8_heap_on_node")
    heap = Heap(FakeNode([load_hex("ms_pst_3_8_heap_on_node")], nid=0x21))
    assert heap.client_signature == number(expect["hn.bClientSig"])
    assert heap.user_root == number(expect["hn.hidUserRoot"])
    offsets = [number(v) for v in expect["hnpm.rgibAlloc"].split(",")]
    for index in range(1, number(expect["hnpm.cAlloc"]) + 1):
        assert len(heap.item(index << 5)) == offsets[index] - offsets[index - 1]
    bth = BTH(heap, heap.user_root)
    assert (bth.key_size, bth.data_size, bth.levels, bth.root) == (
        number(expect["bth.cbKey"]),
        number(expect["bth.cbEnt"]),
        number(expect["bth.bIdxLevels"]),
        number(expect["bth.hidRoot"]),
    )
    assert len(bth.records()) == number(expect["bth.nrecords"])


def test_sample_message_store() -> None:
    """[MS-PST] 3.10: the message store's property context, value by value."""
    expect = expectations("ms_pst_3_8_heap_on_node")
    pc = PropertyContext(FakeNode([load_hex("ms_pst_3_8_heap_on_node")], nid=0x21))
    assert len(pc) == 11  # 3.10 lists 9; the BTH holds 11 records (0x6633 and 0x66FA too)
    for key, value in expect.items():
        if not key.startswith("pc.0x"):
            continue
        tag = number(key[3:])
        prop_id, ptype = tag >> 16, tag & 0xFFFF
        assert pc.type_of(prop_id) == ptype
        if ptype == 0x0102:
            assert pc[prop_id] == bytes.fromhex(value)
        elif ptype == 0x001F:
            assert pc[prop_id] == value
        else:
            assert pc[prop_id] == number(value)
    for index in range(11):
        prop_id, ptype, hnid = (number(v) for v in expect[f"rec{index}"].split(","))
        assert pc.type_of(prop_id) == ptype
        if ptype == 0x0003:  # inline in dwValueHnid ([MS-PST] 2.3.3.3)
            assert pc.raw(prop_id) == hnid.to_bytes(4, "little")
        elif ptype == 0x0102:  # an HID into the heap
            assert pc.raw(prop_id) == pc.heap.item(hnid)


def test_sample_table_context() -> None:
    """[MS-PST] 3.11-3.12: the root folder's hierarchy table."""
    expect = expectations("ms_pst_3_11_table_context")
    table = TableContext(FakeNode([load_hex("ms_pst_3_11_table_context")], nid=0x12D))
    assert len(table.columns) == 13
    for index, column in enumerate(table.columns):
        tag, offset, size, bit = (number(v) for v in expect[f"col{index}"].split(","))
        assert (column.tag, column.offset, column.size, column.bit) == (tag, offset, size, bit)
    assert table.row_size == number(expect["row_size"])
    assert len(table) == number(expect["nrows"])
    for index, row in enumerate(table):
        assert row.row_id == number(expect[f"row{index}.dwRowID"])
        assert row[0x67F3] == number(expect[f"row{index}.dwRowVer"])
        assert row[0x3001] == expect[f"row{index}.DisplayName"].replace("_", " ")
        assert row[0x3602] == number(expect[f"row{index}.ContentCount"])
        assert row[0x3603] == number(expect[f"row{index}.ContentUnreadCount"])
        assert row[0x360A] == bool(number(expect[f"row{index}.Subfolders"]))
        # 3.12 prints PidTagReplChangenum, but the rows' existence bits say it is absent.
        assert 0x0E33 not in row
