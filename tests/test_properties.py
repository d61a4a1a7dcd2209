"""Property tests: pstlib's fast paths against the slow references in reference.py.

The encodings and the CRC are vectorised or zlib-backed, and fixed-size records
are parsed through numpy dtypes and struct formats derived from construct
declarations; each must agree with a plain reading of the spec for any input.
"""

from __future__ import annotations

import random

import construct
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import pstlib
from pstlib.ndb import crypt
from pstlib.ndb.block import block_trailer
from pstlib.ndb.btree import PADDING, btree_schema, parse_btpage
from pstlib.ndb.crc import crc32
from pstlib.ndb.datatree import XBLOCK_HEAD
from pstlib.ndb.format import ANSI, FORMATS, Format
from pstlib.ndb.header import BREF_ANSI, BREF_UNICODE
from pstlib.ndb.page import PTYPE_BBT, PTYPE_NBT, page_trailer
from pstlib.ndb.schema import field_names, numpy_dtype, struct_format
from pstlib.ndb.subnode import (
    SIENTRY_ANSI,
    SIENTRY_UNICODE,
    SLENTRY_ANSI,
    SLENTRY_UNICODE,
    SUBNODE_HEAD_ANSI,
    SUBNODE_HEAD_UNICODE,
)
from tests import reference
from tests.conftest import corpus_path

SETTINGS = settings(max_examples=200, deadline=None)
KEYS = st.integers(min_value=0, max_value=2**64 - 1)
"""BIDs used as cyclic keys: 64-bit in Unicode files, of which only the low DWORD counts."""
DATA = st.binary(max_size=2048)


@SETTINGS
@given(DATA)
def test_permute_matches_reference(data: bytes) -> None:
    """mpbbR encodes and mpbbI decodes, exactly as 5.1's loop does."""
    assert crypt.permute_encode(data) == reference.crypt_permute(data, encrypt=True)
    assert crypt.permute_decode(data) == reference.crypt_permute(data, encrypt=False)


@SETTINGS
@given(DATA)
def test_permute_encode_and_decode_invert_each_other(data: bytes) -> None:
    """A writer's encoding must read back unchanged, in either order."""
    assert crypt.permute_decode(crypt.permute_encode(data)) == data
    assert crypt.permute_encode(crypt.permute_decode(data)) == data


@SETTINGS
@given(DATA, KEYS)
@example(b"\x00" * 600, 0x0000FFFF)  # w starts at 0xFFFF and wraps to 0 after one byte
@example(b"\xff" * 600, 0xFFFFFFFF)  # dwKey ^ dwKey >> 16 == 0
@example(b"\x5a" * 600, 0x12345678_0000FF00)  # high DWORD must be ignored
def test_cyclic_matches_reference(data: bytes, key: int) -> None:
    """The numpy key ramp reproduces 5.2's running 16-bit key, wrap included."""
    assert crypt.cyclic(data, key) == reference.crypt_cyclic(data, key)


@settings(max_examples=3, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    size=st.integers(min_value=65537, max_value=200_000),
    key=KEYS,
)
@example(seed=1, size=65536 * 2 + 3, key=0xFFFE)
def test_cyclic_matches_reference_past_one_chunk(seed: int, size: int, key: int) -> None:
    """Data longer than 65536 bytes spans several numpy chunks; the key must carry over."""
    data = random.Random(seed).randbytes(size)
    assert crypt.cyclic(data, key) == reference.crypt_cyclic(data, key)


@SETTINGS
@given(DATA, KEYS)
def test_cyclic_is_its_own_inverse(data: bytes, key: int) -> None:
    """5.2 uses the same call to encode and decode."""
    assert crypt.cyclic(crypt.cyclic(data, key), key) == data


@SETTINGS
@given(DATA, KEYS)
def test_decode_and_encode_dispatch_by_crypt_method(data: bytes, bid: int) -> None:
    """bCryptMethod 0/1/2 select none, permute and cyclic keyed by the BID."""
    decoded = {
        crypt.CRYPT_NONE: data,
        crypt.CRYPT_PERMUTE: reference.crypt_permute(data, encrypt=False),
        crypt.CRYPT_CYCLIC: reference.crypt_cyclic(data, bid),
    }
    encoded = {
        crypt.CRYPT_NONE: data,
        crypt.CRYPT_PERMUTE: reference.crypt_permute(data, encrypt=True),
        crypt.CRYPT_CYCLIC: reference.crypt_cyclic(data, bid),
    }
    for method in crypt.CRYPT_NAMES:
        assert crypt.decode(data, method, bid) == decoded[method]
        assert crypt.encode(data, method, bid) == encoded[method]


def test_crc_table_is_the_standard_reflected_table() -> None:
    """Guards the reference itself: entry 1 and 128 of the 0xEDB88320 table are well known."""
    assert reference.CRC_TABLE[0] == 0
    assert reference.CRC_TABLE[1] == 0x77073096
    assert reference.CRC_TABLE[128] == 0xEDB88320


def test_crc_known_vector() -> None:
    """Initial value 0 and no final xor turn the usual check value into 0x2DFD2D88."""
    assert reference.compute_crc(0, b"123456789") == 0x2DFD2D88
    assert crc32(b"123456789") == 0x2DFD2D88


@SETTINGS
@given(DATA, st.integers(min_value=0, max_value=2**32 - 1))
def test_crc_matches_reference(data: bytes, initial: int) -> None:
    """zlib with both inversions undone equals 5.3's table loop, for any dwCRC."""
    assert crc32(data, initial) == reference.compute_crc(initial, data)
    assert crc32(bytearray(data), initial) == crc32(memoryview(data), initial)


@SETTINGS
@given(DATA, DATA)
def test_crc_chains(first: bytes, second: bytes) -> None:
    """Passing one CRC as the next call's dwCRC continues the same computation."""
    assert crc32(first + second) == crc32(second, crc32(first))


def _declarations(ndb: Format) -> dict[str, construct.Struct]:
    """Every fixed-size declaration pstlib parses through a derived dtype or struct."""
    schema = btree_schema(ndb)
    ansi = ndb.name == ANSI
    return {
        "BTENTRY": schema.btentry,
        "NBTENTRY": schema.nbtentry,
        "BBTENTRY": schema.bbtentry,
        "BTPAGE_INFO": schema.info,
        "BREF": BREF_ANSI if ansi else BREF_UNICODE,
        "SLENTRY": SLENTRY_ANSI if ansi else SLENTRY_UNICODE,
        "SIENTRY": SIENTRY_ANSI if ansi else SIENTRY_UNICODE,
        "SUBNODE_HEAD": SUBNODE_HEAD_ANSI if ansi else SUBNODE_HEAD_UNICODE,
        "XBLOCK_HEAD": XBLOCK_HEAD,
        "PAGETRAILER": page_trailer(ndb),
        "BLOCKTRAILER": block_trailer(ndb),
    }


DECLARATIONS = [
    pytest.param(decl, id=f"{name}-{label}")
    for name, ndb in FORMATS.items()
    for label, decl in _declarations(ndb).items()
]


def flatten_record(record: np.void) -> tuple:
    """A structured numpy record's leaf values in field order, as ints and bytes."""
    out: list = []
    for name in record.dtype.names:
        value = record[name]
        if value.dtype.names:
            out.extend(flatten_record(value))
        elif value.dtype.kind == "V":
            out.append(bytes(value))
        else:
            out.append(int(value))
    return tuple(out)


@pytest.mark.parametrize("declaration", DECLARATIONS)
@SETTINGS
@given(data=st.data())
def test_derived_parsers_agree_with_construct(
    declaration: construct.Struct, data: st.DataObject
) -> None:
    """numpy_dtype and struct_format place every field where construct does."""
    size = declaration.sizeof()
    count = data.draw(st.integers(min_value=1, max_value=8), label="count")
    raw = data.draw(st.binary(min_size=count * size, max_size=count * size), label="raw")
    expected = reference.parse_entries(declaration, raw, count)
    records = np.frombuffer(raw, numpy_dtype(declaration))
    assert [flatten_record(record) for record in records] == expected
    assert list(struct_format(declaration).iter_unpack(raw)) == expected


BTREE_ENTRIES = [
    pytest.param(getattr(btree_schema(ndb), kind), id=f"{kind}-{name}")
    for name, ndb in FORMATS.items()
    for kind in ("btentry", "nbtentry", "bbtentry")
]


@pytest.mark.parametrize("declaration", BTREE_ENTRIES)
@SETTINGS
@given(data=st.data())
def test_btpage_row_format_skips_padding(declaration: construct.Struct, data: st.DataObject) -> None:
    """``BTPage.rows``' struct (padding skipped, records cbEnt apart) unpacks what construct
    parses, less the padding fields, and ``field_names`` names what it keeps."""
    size = declaration.sizeof()
    stride = size + data.draw(st.integers(min_value=0, max_value=8), label="extra")
    count = data.draw(st.integers(min_value=1, max_value=8), label="count")
    raw = data.draw(st.binary(min_size=count * stride, max_size=count * stride), label="raw")
    names = field_names(declaration)
    keep = [index for index, name in enumerate(names) if name not in PADDING]
    expected = [tuple(entry[i] for i in keep) for entry in reference.parse_entries(declaration, raw, count, stride)]
    assert list(struct_format(declaration, PADDING, stride).iter_unpack(raw)) == expected
    assert field_names(declaration, PADDING) == tuple(names[i] for i in keep)


REAL_TREES = [
    pytest.param(name, tree, id=f"{name}-{tree}")
    for name in (
        "pstsdk__test_ansi.pst",
        "pstsdk__test_unicode.pst",
        "pst-extractor__pstextractortestpdf@outlook.com.ost",
    )
    for tree in ("nbt", "bbt")
]


@pytest.mark.parametrize(("name", "tree"), REAL_TREES)
def test_real_btree_entries_agree_with_construct(name: str, tree: str) -> None:
    """Leaf entries of real NBT/BBT pages read the same through numpy, struct, ``BTPage.rows``
    (padding left out) and construct.

    The construct side walks the tree on its own (intermediate BTENTRYs included),
    so this also checks that ``leaf_pages`` visits every leaf page in order.
    """
    pst = pstlib.open(corpus_path(name))
    schema = btree_schema(pst.header.ndb)
    btree = pst.nbt if tree == "nbt" else pst.bbt
    leaf = schema.nbtentry if tree == "nbt" else schema.bbtentry
    pages = list(btree.leaf_pages())
    through_numpy = [flatten_record(record) for page in pages for record in page]
    packed = struct_format(leaf)
    through_struct = [packed.unpack_from(record.tobytes()) for page in pages for record in page]
    through_construct = reference.btree_leaf_entries(
        pst.read_at, schema.btpage, schema.btentry, leaf, btree.root.ib
    )
    assert len(through_construct) > 0
    assert through_numpy == through_construct
    assert through_struct == through_construct
    ndb, ptype = pst.header.ndb, PTYPE_NBT if tree == "nbt" else PTYPE_BBT
    through_rows = [
        row
        for ref, _ in btree.leaves()
        for row in parse_btpage(ndb, pst.read_at(ref.ib, ndb.page_size), ref.ib, ptype, ref.bid).rows
    ]
    keep = [index for index, name in enumerate(field_names(leaf)) if name not in PADDING]
    assert through_rows == [tuple(entry[i] for i in keep) for entry in through_construct]
