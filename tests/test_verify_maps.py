"""Map pages past the first 32 MB: a store the writer makes reaches the first FMap (0x1F04800),
which no corpus file does, so verify's FMap and PMap checks are tested on one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import pstlib
from pstlib.ndb.format import FORMATS, UNICODE
from pstlib.ndb.maps import interval_start, map_pages
from pstlib.ndb.page import PTYPE_AMAP, PTYPE_FMAP, PTYPE_PMAP
from pstlib.writer import NewAttachment

NDB = FORMATS[UNICODE]
FIRST_FMAP = 0x1F04800


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A 34 MB store: 130 intervals, so AMaps, PMaps and the first FMap."""
    path = tmp_path_factory.mktemp("maps") / "big.pst"
    chunk = os.urandom(1 << 20)
    with pstlib.create(path, crypt="none") as writer:
        folder = writer.root_folder.add_folder("Big")
        for i in range(34):
            folder.add_message(subject=f"part {i}", attachments=[NewAttachment(f"{i}.bin", chunk)])
    return Path(path).read_bytes()


def test_the_first_fmap_is_where_the_spec_puts_it(big_store: bytes) -> None:
    assert len(big_store) > FIRST_FMAP + NDB.page_size
    assert map_pages(NDB, 128) == [
        (interval_start(NDB, 128), PTYPE_AMAP),
        (interval_start(NDB, 128) + 0x200, PTYPE_PMAP),
        (FIRST_FMAP, PTYPE_FMAP),
    ]
    trailer = big_store[FIRST_FMAP + NDB.page_crc_size:FIRST_FMAP + NDB.page_size]
    assert trailer[0] == trailer[1] == PTYPE_FMAP
    assert int.from_bytes(trailer[8:16], "little") == FIRST_FMAP  # a map page's BID is its offset
    assert pstlib.verify_file(big_store).problems == []


@pytest.mark.parametrize(
    ("offset", "name"), [(FIRST_FMAP + 100, "FMap"), (interval_start(NDB, 8) + 0x200 + 7, "PMap")]
)
def test_a_damaged_map_page_is_found(big_store: bytes, offset: int, name: str) -> None:
    data = bytearray(big_store)
    data[offset] ^= 0x01
    report = pstlib.verify_file(bytes(data))
    crc = [p for p in report.problems if p.code == "map-page-crc"]
    assert [(p.severity, p.layer, p.offset) for p in crc] == [("error", "ndb", offset - offset % NDB.page_size)]
    assert not report.consistent, name
