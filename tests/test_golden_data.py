"""Self-checks of the golden [MS-PST] section 3 dumps (no pstlib needed).

They guard the transcription: lengths as the spec's dumps show them, and the
CRCs / signatures the dumps carry.
"""

import struct

import pytest

try:
    from golden_data import crc32_pst, expectations, golden_names, load_hex, load_hex_with_base
except ImportError:  # tests/ imported as a package
    from tests.golden_data import crc32_pst, expectations, golden_names, load_hex, load_hex_with_base

# name -> number of bytes the spec's dump shows
EXPECTED_LENGTHS = {
    "ms_pst_3_2_header": 528,  # Unicode HEADER is 564 bytes; the spec's dump stops at 0x210
    "ms_pst_3_3_intermediate_bt_page": 512,
    "ms_pst_3_4_leaf_nbt_page": 512,
    "ms_pst_3_5_leaf_bbt_page": 512,
    "ms_pst_3_6_data_tree_xblock": 448,
    "ms_pst_3_7_slblock": 64,
    "ms_pst_3_8_heap_on_node": 258,
    "ms_pst_3_11_table_context": 464,
}

PAGES = ["ms_pst_3_3_intermediate_bt_page", "ms_pst_3_4_leaf_nbt_page", "ms_pst_3_5_leaf_bbt_page"]
BLOCKS = ["ms_pst_3_6_data_tree_xblock", "ms_pst_3_7_slblock"]

LENGTH_KEYS = ("dump_len", "page_len", "block_len", "data_len")


def _sig(ib: int, bid: int) -> int:
    x = ib ^ bid
    return ((x >> 16) ^ x) & 0xFFFF


def test_all_files_listed():
    assert sorted(EXPECTED_LENGTHS) == golden_names()


@pytest.mark.parametrize("name", sorted(EXPECTED_LENGTHS))
def test_length_and_offset(name):
    base, data = load_hex_with_base(name)
    assert len(data) == EXPECTED_LENGTHS[name]
    exp = expectations(name)
    (length_key,) = [k for k in LENGTH_KEYS if k in exp]
    assert len(data) == int(exp[length_key], 0)
    if "ib" in exp:
        assert base == int(exp["ib"], 16)


def test_header_crcs():
    name = "ms_pst_3_2_header"
    data = load_hex(name)
    exp = expectations(name)
    partial, = struct.unpack_from("<I", data, 4)
    full, = struct.unpack_from("<I", data, 524)
    assert partial == int(exp["dwCRCPartial"], 16) == crc32_pst(data[8:8 + 471])
    assert full == int(exp["dwCRCFull"], 16) == crc32_pst(data[8:8 + 516])


@pytest.mark.parametrize("name", PAGES)
def test_page_trailer(name):
    base, data = load_hex_with_base(name)
    exp = expectations(name)
    ptype, ptype_repeat, wsig, crc, bid = struct.unpack_from("<BBHIQ", data, 496)
    assert ptype == ptype_repeat == int(exp["ptype"], 16)
    assert crc == int(exp["dwCRC"], 16) == crc32_pst(data[:496])
    assert bid == int(exp["bid"], 16)
    assert wsig == int(exp["wSig"], 16) == _sig(base, bid)
    c_ent, c_ent_max, cb_ent, c_level = struct.unpack_from("<BBBB", data, 488)
    assert (c_ent, c_ent_max, cb_ent, c_level) == tuple(
        int(exp[k], 0) for k in ("cEnt", "cEntMax", "cbEnt", "cLevel")
    )


@pytest.mark.parametrize("name", BLOCKS)
def test_block_trailer(name):
    base, data = load_hex_with_base(name)
    exp = expectations(name)
    cb, wsig, crc, bid = struct.unpack_from("<HHIQ", data, len(data) - 16)
    assert cb == int(exp["trailer.cb"], 16)
    assert crc == int(exp["trailer.dwCRC"], 16) == crc32_pst(data[:cb])
    assert bid == int(exp["trailer.bid"], 16)
    assert wsig == int(exp["trailer.wSig"], 16) == _sig(base, bid)
