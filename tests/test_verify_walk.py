"""verify walks B-trees a level at a time through numpy, falling back to a page-by-page
walk that names each problem; the two must agree wherever the fast one answers."""

from __future__ import annotations

from pathlib import Path

from pstlib.ndb.btree import btree_schema
from pstlib.ndb.header import HEADER_READ_SIZE
from pstlib.ndb.page import PTYPE_BBT, PTYPE_NBT
from pstlib.verify.header import check_header
from pstlib.verify.ndb import NDBCheck
from pstlib.verify.report import Report
from tests.conftest import corpus_path
from tests.mutate import fix_page_crc


def walks(data: bytes) -> list[tuple[object, object, NDBCheck, NDBCheck]]:
    """(fast leaves or None, page-by-page leaves, fast checker, slow checker) for both trees."""
    view = memoryview(data)
    header = check_header(bytes(view[:HEADER_READ_SIZE]), len(view), Report("f", "full"))
    assert header is not None
    fast, slow = NDBCheck(view, header, Report("f", "full"), 32), NDBCheck(view, header, Report("s", "full"), 32)
    schema = btree_schema(fast.ndb)
    out = []
    for ptype, root, dtype, key in (
        (PTYPE_NBT, header.root.nbt, schema.nbtentry_dtype, "nid"),
        (PTYPE_BBT, header.root.bbt, schema.bbtentry_dtype, "BREF"),
    ):
        out.append((fast._walk_levels(ptype, root, dtype, key), slow._walk(ptype, root, dtype, key), fast, slow))
    return out


def test_both_walks_agree_on_every_corpus_file(corpus_file: Path) -> None:
    for fast, slow, fast_check, slow_check in walks(corpus_file.read_bytes()):
        assert fast is not None, "a healthy tree took the slow path"
        assert fast.tobytes() == slow.tobytes()
        assert slow_check.report.problems == []
    assert sorted(fast_check.page_offsets) == sorted(slow_check.page_offsets)
    assert fast_check.report.stats == slow_check.report.stats


def test_an_out_of_order_key_sends_the_walk_page_by_page() -> None:
    """A CRC-valid swap of two BBT leaf keys: the fast walk declines, the slow one names the page."""
    data = bytearray(corpus_path("pstsdk__test_unicode.pst").read_bytes())
    (_, _, _, _), (_, _, _, check) = walks(bytes(data))
    ndb = check.ndb
    leaf = next(
        ib
        for ib in check.page_offsets
        if data[ib + ndb.page_crc_size] == PTYPE_BBT and data[ib + 491] == 0 and data[ib + 488] >= 2
    )
    size = data[leaf + 490]
    first, second = bytes(data[leaf:leaf + 8]), bytes(data[leaf + size:leaf + size + 8])
    data[leaf:leaf + 8], data[leaf + size:leaf + size + 8] = second, first
    fix_page_crc(data, ndb, leaf)
    _, (fast, _, _, slow_check) = walks(bytes(data))
    assert fast is None
    assert any(p.code == "page-invalid" and p.offset == leaf for p in slow_check.report.problems)
