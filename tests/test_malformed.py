"""Malformed input ends in a PSTError naming where, never in another exception or a hang."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest

import pstlib
from pstlib.ndb.block import is_internal
from tests.conftest import corpus_path
from tests.mutate import fix_block_crc, fix_header_crcs, fix_page_crc

UNICODE_FILE = "pstsdk__test_unicode.pst"
ANSI_FILE = "pstsdk__test_ansi.pst"


def read_everything(pst: pstlib.PSTFile) -> None:
    """Every public NDB entry point, to the bottom of every tree."""
    list(pst.blocks())
    for entry in pst.nodes():
        node = pst.node(entry.nid)
        node.read()
        with node.open() as stream:
            while stream.read(4096):
                pass
        for sub in node.walk_subnodes():
            sub.read()


def load(name: str) -> bytearray:
    return bytearray(corpus_path(name).read_bytes())


@pytest.mark.parametrize("data", [b"", b"!BDN", b"\0" * 100, b"!BDN" + b"\0" * 1000])
def test_not_a_pst(data: bytes) -> None:
    with pytest.raises(pstlib.HeaderError) as caught:
        pstlib.open(data)
    assert caught.value.offset is not None


def test_wrong_magic() -> None:
    data = load(UNICODE_FILE)
    data[0:4] = b"PK\3\4"
    with pytest.raises(pstlib.HeaderError, match="magic"):
        pstlib.open(bytes(data))


@pytest.mark.parametrize(
    ("offset", "value", "message"),
    [(8, b"AB", "client magic"), (10, struct.pack("<H", 16), "wVer=16")],
)
def test_unsupported_variants(offset: int, value: bytes, message: str) -> None:
    data = load(UNICODE_FILE)
    data[offset:offset + len(value)] = value
    with pytest.raises(pstlib.UnsupportedFormat, match=message):
        pstlib.open(bytes(fix_header_crcs(data)))


def test_unknown_encoding() -> None:
    """bCryptMethod 0x10 (Windows Information Protection) is named, not misread."""
    data = load(UNICODE_FILE)
    data[513] = 0x10
    with pytest.raises(pstlib.UnsupportedFormat, match="bCryptMethod 0x10") as caught:
        pstlib.open(bytes(fix_header_crcs(data)))
    assert caught.value.offset == 513


@pytest.mark.parametrize("name", [UNICODE_FILE, ANSI_FILE])
def test_header_crc_damage(name: str) -> None:
    data = load(name)
    data[40] ^= 0xFF
    with pytest.raises(pstlib.CRCMismatch, match="dwCRCPartial"):
        pstlib.open(bytes(data))


def node_data(pst: pstlib.PSTFile) -> dict[int, bytes]:
    return {entry.nid: pst.node(entry.nid).read() for entry in pst.nodes()}


@pytest.mark.parametrize("name", [UNICODE_FILE, ANSI_FILE])
@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.5, 0.9])
def test_truncated_file(name: str, fraction: float) -> None:
    """A copy cut short opens (only the header is read); what is cut off fails where it is read.

    These files end in allocated but unused space, so a late cut may lose nothing:
    then every node must read exactly as in the whole file.
    """
    data = load(name)
    with pstlib.open(bytes(data)) as pst:
        expected = node_data(pst)
    cut = bytes(data[: int(len(data) * fraction)])
    with pstlib.open(cut) as pst:
        try:
            assert node_data(pst) == expected
            read_everything(pst)
        except pstlib.NDBError as caught:
            assert "past the end" in str(caught)
            assert caught.offset is not None and len(cut) <= caught.offset + 4096
            assert fraction < 0.5


def test_zeroed_nbt_root_page() -> None:
    data = load(UNICODE_FILE)
    with pstlib.open(bytes(data)) as pst:
        root = pst.header.root.nbt
    data[root.ib:root.ib + 512] = bytes(512)
    with pstlib.open(bytes(data)) as pst:
        with pytest.raises(pstlib.PageError, match="expected a NBT page") as caught:
            list(pst.nodes())
    assert (caught.value.offset, caught.value.bid) == (root.ib, root.bid)


def test_page_pointing_to_itself() -> None:
    """An intermediate page whose child is itself is refused by the cLevel check, not followed."""
    data = load(UNICODE_FILE)
    with pstlib.open(bytes(data)) as pst:
        root = pst.header.root.nbt
        ndb = pst.header.ndb
        assert pst.nbt._page(root.ib, root.bid).level == 1
    struct.pack_into("<QQ", data, root.ib + 8, root.bid, root.ib)
    fix_page_crc(data, ndb, root.ib)
    with pstlib.open(bytes(data)) as pst:
        with pytest.raises(pstlib.PageError, match="reached twice") as caught:
            list(pst.nodes())
        assert caught.value.offset == root.ib
        with pytest.raises(pstlib.PageError, match="cLevel") as caught:
            pst.node(0x21)
        assert caught.value.offset == root.ib


def test_block_crc_damage_names_the_block() -> None:
    data = load(UNICODE_FILE)
    with pstlib.open(bytes(data)) as pst:
        target = next(b for b in pst.blocks() if not is_internal(b.bid) and b.size > 16)
    data[target.offset + 5] ^= 0x55
    with pstlib.open(bytes(data)) as pst:
        with pytest.raises(pstlib.CRCMismatch) as caught:
            pst.read_block(target.bid)
    assert (caught.value.offset, caught.value.bid) == (target.offset, target.bid)


def test_data_tree_claiming_too_many_children() -> None:
    """An XBLOCK whose cEnt exceeds its size is refused, with a valid CRC to get past the trailer check."""
    data = load("pst-extractor__enron.pst")
    with pstlib.open(bytes(data)) as pst:
        ndb = pst.header.ndb
        xblock = next(
            pst.block_store.entry(e.bid_data) for e in pst.nodes() if is_internal(e.bid_data)
        )
        owner = next(e.nid for e in pst.nodes() if e.bid_data == xblock.bid)
    struct.pack_into("<H", data, xblock.offset + 2, 0xFFFF)
    fix_block_crc(data, ndb, xblock.offset, xblock.size)
    with pstlib.open(bytes(data)) as pst:
        with pytest.raises(pstlib.BlockError, match="65535 children") as caught:
            pst.node(owner).read()
    assert caught.value.bid == xblock.bid
    assert caught.value.nid == owner


def test_tight_limits_are_enforced() -> None:
    path = corpus_path("pst-extractor__enron.pst")
    with pstlib.open(path, limits=pstlib.Limits(max_node_size=1000)) as pst:
        big = next(e for e in pst.nodes() if is_internal(e.bid_data))
        with pytest.raises(pstlib.LimitExceeded):
            pst.node(big.nid).read()
    with pstlib.open(path, limits=pstlib.Limits(max_btree_depth=0)) as pst:
        with pytest.raises(pstlib.LimitExceeded, match="deeper"):
            list(pst.nodes())


def test_tree_depth_limits_can_only_tighten_the_spec() -> None:
    """The spec caps data trees and subnode trees at two levels; a Limits of fewer refuses more."""
    enron = corpus_path("pst-extractor__enron.pst")
    with pstlib.open(enron, limits=pstlib.Limits(max_data_tree_depth=0)) as pst:
        big = next(e for e in pst.nodes() if is_internal(e.bid_data))
        with pytest.raises(pstlib.LimitExceeded, match="levels of XBLOCK") as caught:
            pst.node(big.nid).read()
        assert (caught.value.nid, caught.value.bid) == (big.nid, big.bid_data)
    # The one corpus subnode tree with an SIBLOCK level (cLevel 1).
    siblock_file = corpus_path("pst2john__97_outlook_pass12345.pst")
    with pstlib.open(siblock_file) as pst:
        owner = next(
            e for e in pst.nodes() if is_internal(e.bid_sub) and pst.read_block(e.bid_sub)[1] == 1
        )
        assert pst.node(owner.nid).subnodes()
    with pstlib.open(siblock_file, limits=pstlib.Limits(max_subnode_tree_depth=1)) as pst:
        with pytest.raises(pstlib.LimitExceeded, match="subnode tree has 2 levels") as caught:
            pst.node(owner.nid).subnodes()
        assert caught.value.bid == owner.bid_sub


@pytest.mark.parametrize("name", [UNICODE_FILE, ANSI_FILE, "pst-extractor__pstextractortest@outlook.com.ost"])
def test_random_damage_raises_only_pst_errors(name: str) -> None:
    """Seeded byte damage over the whole file: every failure is a PSTError (issue 6 fuzzes deeper)."""
    original = load(name)
    rng = random.Random(name)
    for _ in range(40):
        data = bytearray(original)
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            with pstlib.open(bytes(data)) as pst:
                read_everything(pst)
        except pstlib.PSTError:
            pass


def test_reading_never_writes(tmp_path: Path) -> None:
    """The file is opened read-only: its bytes and mtime are unchanged after a full read."""
    source = corpus_path(ANSI_FILE)
    copy = tmp_path / "copy.pst"
    copy.write_bytes(source.read_bytes())
    before = (copy.read_bytes(), copy.stat().st_mtime_ns)
    copy.chmod(0o444)
    with pstlib.open(copy) as pst:
        read_everything(pst)
    assert (copy.read_bytes(), copy.stat().st_mtime_ns) == before


def test_table_and_property_limits() -> None:
    """Tables and property contexts larger than the limits are refused, not read."""
    path = corpus_path("pst-extractor__enron.pst")
    with pstlib.open(path, limits=pstlib.Limits(max_table_rows=10, max_properties=5)) as pst:
        contents = [e.nid for e in pst.nodes() if e.nid & 0x1F == 0x0E]
        with pytest.raises(pstlib.LimitExceeded, match="rows"):
            for nid in contents:
                pst.node(nid).table()
        with pytest.raises(pstlib.LimitExceeded, match="properties"):
            pst.node(0x21).properties()


SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample.pst"


def test_a_missing_subfolder_does_not_hide_its_siblings() -> None:
    """A folder listed by its parent's hierarchy table but gone from the NBT fails where it is
    used; the folders listed after it are still there."""
    from pstlib.messaging.folder import Folder

    with pstlib.open(SAMPLE) as pst:
        top = pst.ipm_subtree
        names = [folder.name for folder in top.subfolders()]
        victim = list(top.subfolders())[1].nid

        def node_of(nid: int) -> pstlib.Node:
            if nid == victim:
                raise pstlib.NodeNotFound(f"node 0x{nid:X} is not in the NBT", nid=nid)
            return pst.node(nid)

        children = list(Folder(node_of, top.nid, "/").subfolders())
        assert len(children) == len(names) > 2
        with pytest.raises(pstlib.NodeNotFound):
            children[1].name  # noqa: B018 - reading it is the test
        assert [c.name for i, c in enumerate(children) if i != 1] == [n for i, n in enumerate(names) if i != 1]


def test_objects_of_a_closed_file_raise_pst_errors() -> None:
    with pstlib.open(SAMPLE) as pst:
        folder = pst.ipm_subtree
    with pytest.raises(pstlib.PSTError, match="closed"):
        list(folder.subfolders())
