"""The NDB parsers against the annotated hex dumps of [MS-PST] section 3.

A round trip through our own schemas cannot catch a misread spec; these
dumps, transcribed from the spec (CRCs verified), can.
"""

from __future__ import annotations

import pytest

from pstlib.errors import PageError
from pstlib.ndb.block import check_block
from pstlib.ndb.btree import parse_btpage
from pstlib.ndb.datatree import parse_xblock
from pstlib.ndb.format import FORMATS
from pstlib.ndb.header import HEADER_READ_SIZE, read_header
from pstlib.ndb.page import PTYPE_BBT, PTYPE_NBT, read_trailer
from pstlib.ndb.subnode import parse_subnode_block
from tests.golden_data import expectations, load_hex_with_base

UNICODE = FORMATS["unicode"]


def number(text: str) -> int:
    return int(text, 0)


def entry_expectations(expect: dict[str, str]) -> dict[int, dict[str, int]]:
    """``entryN.field=value`` lines grouped by N."""
    out: dict[int, dict[str, int]] = {}
    for key, value in expect.items():
        if key.startswith("entry") and "." in key:
            index, field = key[len("entry"):].split(".", 1)
            out.setdefault(int(index), {})[field] = number(value)
    return out


def test_sample_header() -> None:
    """[MS-PST] 3.2: the dump stops at 0x210; the rest is outside both CRCs."""
    expect = expectations("ms_pst_3_2_header")
    _, dump = load_hex_with_base("ms_pst_3_2_header")
    header = read_header(dump.ljust(HEADER_READ_SIZE, b"\0"))
    assert (header.format, header.kind, header.crypt) == ("unicode", "pst", "permute")
    assert header.version == number(expect["wVer"])
    assert header.client_version == number(expect["wVerClient"])
    assert header.crc_partial == number(expect["dwCRCPartial"])
    assert header.crc_full == number(expect["dwCRCFull"])
    assert header.next_bid == number(expect["bidNextB"])
    assert header.next_page == number(expect["bidNextP"])
    assert header.unique == number(expect["dwUnique"])
    assert list(header.nid_high_water) == [number(v) for v in expect["rgnid"].split(",")]
    root = header.root
    assert root.file_eof == number(expect["root.ibFileEof"])
    assert root.amap_last == number(expect["root.ibAMapLast"])
    assert root.amap_free == number(expect["root.cbAMapFree"])
    assert root.pmap_free == number(expect["root.cbPMapFree"])
    assert (root.nbt.bid, root.nbt.ib) == (
        number(expect["root.BREFNBT.bid"]),
        number(expect["root.BREFNBT.ib"]),
    )
    assert (root.bbt.bid, root.bbt.ib) == (
        number(expect["root.BREFBBT.bid"]),
        number(expect["root.BREFBBT.ib"]),
    )
    assert root.amap_valid == number(expect["root.fAMapValid"])


@pytest.mark.parametrize(
    ("name", "ptype"),
    [
        ("ms_pst_3_3_intermediate_bt_page", PTYPE_NBT),
        ("ms_pst_3_4_leaf_nbt_page", PTYPE_NBT),
        # The spec's prose calls 3.5 a leaf page; its CRC-checked bytes say cLevel 1.
        ("ms_pst_3_5_leaf_bbt_page", PTYPE_BBT),
    ],
)
def test_sample_btree_pages(name: str, ptype: int) -> None:
    expect = expectations(name)
    ib, page = load_hex_with_base(name)
    page_bid = number(expect["bid"])
    parsed = parse_btpage(UNICODE, page, ib, ptype, page_bid)
    trailer = read_trailer(UNICODE, page)
    assert trailer["wSig"] == number(expect["wSig"])
    assert trailer["dwCRC"] == number(expect["dwCRC"])
    assert parsed.level == number(expect["cLevel"])
    assert len(parsed.entries) == number(expect["cEnt"])
    expected = entry_expectations(expect)
    assert sorted(expected) == list(range(len(parsed.entries)))
    for index, fields in expected.items():
        entry = parsed.entries[index]
        for field, value in fields.items():
            if field in ("bid", "ib"):
                actual = int(entry["BREF"][field])
            else:
                actual = int(entry[field]) & (0xFFFFFFFF if field == "nid" else -1)
            assert actual == value, f"entry{index}.{field}"


def test_sample_leaf_nbt_page_stops_at_cent() -> None:
    """[MS-PST] 3.4 fills a 15th slot (nid 0x8042) past cEnt 14: it is not an entry."""
    ib, page = load_hex_with_base("ms_pst_3_4_leaf_nbt_page")
    parsed = parse_btpage(UNICODE, page, ib, PTYPE_NBT, 0x6B)
    assert 0x8042 not in parsed.entries["nid"].tolist()
    assert parsed.entries[10]["nidParent"] == 0x122


def test_sample_data_tree() -> None:
    """[MS-PST] 3.6: an XBLOCK of 53 data blocks."""
    expect = expectations("ms_pst_3_6_data_tree_xblock")
    ib, raw = load_hex_with_base("ms_pst_3_6_data_tree_xblock")
    bid, cb = number(expect["trailer.bid"]), number(expect["trailer.cb"])
    trailer = check_block(UNICODE, raw, ib, bid, cb)
    assert trailer["wSig"] == number(expect["trailer.wSig"])
    level, total, children = parse_xblock(raw[:cb], UNICODE.id_size, (1, 2), bid)
    assert level == number(expect["cLevel"])
    assert total == number(expect["lcbTotal"])
    assert children == [number(v) for v in expect["rgbid"].split(",")]


def test_sample_slblock() -> None:
    """[MS-PST] 3.7: an SLBLOCK with one subnode."""
    expect = expectations("ms_pst_3_7_slblock")
    ib, raw = load_hex_with_base("ms_pst_3_7_slblock")
    bid, cb = number(expect["trailer.bid"]), number(expect["trailer.cb"])
    check_block(UNICODE, raw, ib, bid, cb)
    entries = parse_subnode_block(UNICODE, raw[:cb], 0, bid)
    assert entries == [
        (number(expect["entry0.nid"]), number(expect["entry0.bidData"]), number(expect["entry0.bidSub"]))
    ]


def test_sample_pages_reject_a_wrong_referrer() -> None:
    """A page whose trailer names another bid than its referrer is refused, naming both."""
    ib, page = load_hex_with_base("ms_pst_3_4_leaf_nbt_page")
    with pytest.raises(PageError, match="0x6B") as caught:
        parse_btpage(UNICODE, page, ib, PTYPE_NBT, 0x141)
    assert (caught.value.offset, caught.value.bid) == (ib, 0x141)
