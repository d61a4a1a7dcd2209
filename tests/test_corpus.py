"""Every real file in the corpus opens and every node and block of it reads."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import pstlib
from tests.conftest import BROKEN_HEADER, corpus_manifest, corpus_path
from tests.mutate import fix_header_crcs


def test_corpus_file_reads_completely(corpus_file: Path) -> None:
    row = next(r for r in corpus_manifest() if r["file"] == corpus_file.name)
    with pstlib.open(corpus_file) as pst:
        assert pst.header.format == row["format"]
        assert pst.header.crypt == row["crypt"]
        assert pst.header.version == int(row["wVer"])
        assert pst.header.kind == {"SM": "pst", "SO": "ost"}[row["magic_client"]]

        nodes = list(pst.nodes())
        blocks = list(pst.blocks())
        assert nodes and blocks
        assert [n.nid for n in nodes] == sorted({n.nid for n in nodes})
        assert [b.bid for b in blocks] == sorted({b.bid for b in blocks})
        for block in blocks:
            # cRef 0 occurs in real OSTs (groupdocs-net__sample.ost): not an error.
            assert 0 < block.offset + block.size <= pst.size

        node_count = subnode_count = 0
        for entry in nodes:
            node = pst.node(entry.nid)
            assert (node.nid, node.bid_data, node.bid_sub, node.nid_parent) == tuple(entry)
            data = node.read()
            assert len(data) == node.size
            node_count += 1
            for sub in node.walk_subnodes():
                assert len(sub.read()) == sub.size
                subnode_count += 1
        assert node_count == len(nodes)


def test_message_store_and_root_folder_are_heaps(corpus_file: Path) -> None:
    """NID 0x21 (store) and 0x122 (root folder) exist in every PST and hold an HN ([MS-PST] 2.3.1.2, bSig 0xEC)."""
    with pstlib.open(corpus_file) as pst:
        for nid in (0x21, 0x122):
            assert pst.node(nid).read()[2] == 0xEC


@pytest.mark.parametrize(
    ("name", "nodes", "blocks"),
    [("pstsdk__test_ansi.pst", 47, 38), ("pstsdk__test_unicode.pst", 48, 41)],
)
def test_pstsdk_counts(name: str, nodes: int, blocks: int) -> None:
    """The counts pstsdk's own tests expect of its sample files."""
    with pstlib.open(corpus_path(name)) as pst:
        assert len(list(pst.nodes())) == nodes
        assert len(list(pst.blocks())) == blocks


def test_broken_header_fails_clearly() -> None:
    """Both header CRCs of this Aspose-written file are wrong: a CRCMismatch naming the field."""
    path = corpus_path(BROKEN_HEADER)
    with pytest.raises(pstlib.CRCMismatch, match="dwCRCPartial") as caught:
        pstlib.open(path)
    assert caught.value.offset == 4


def test_broken_header_file_bbt_root_names_wrong_bid() -> None:
    """With its header CRCs repaired, the file still fails: its BBT root page trailer names 0x148, not 0x138."""
    data = fix_header_crcs(bytearray(corpus_path(BROKEN_HEADER).read_bytes()))
    with pstlib.open(bytes(data)) as pst:
        assert pst.header.root.bbt.bid == 0x138
        with pytest.raises(pstlib.PageError, match="0x148") as caught:
            list(pst.blocks())
    assert caught.value.bid == 0x138
    assert caught.value.offset == pst.header.root.bbt.ib


def test_lookup_of_missing_nid_is_a_key_error() -> None:
    with pstlib.open(corpus_path("pstsdk__test_unicode.pst")) as pst:
        with pytest.raises(KeyError):
            pst.node(0x7FFFFFE1)
        with pytest.raises(pstlib.NodeNotFound) as caught:
            pst.node(0x7FFFFFE1)
        assert caught.value.nid == 0x7FFFFFE1


@pytest.mark.parametrize(
    "name",
    [
        "pst-extractor__pstextractortest@outlook.com.ost",
        "pst2john__2003_high-encryption_quickquick.pst",
        "pst2john__97_outlook_qwerty12345.pst",
        "pst-extractor__enron.pst",
    ],
)
def test_streams_equal_whole_reads(name: str) -> None:
    """Node.open() gives the same bytes as Node.read(), also after seeks, on multi-block nodes."""
    with pstlib.open(corpus_path(name)) as pst:
        nodes = [pst.node(e.nid) for e in pst.nodes()]
        subnodes = [s for n in nodes for s in n.walk_subnodes()]
        largest = sorted(nodes + subnodes, key=lambda n: n.size)[-5:]
        assert largest[-1].size > 8192, "test needs a node that spans several blocks"
        for node in largest:
            data = node.read()
            with node.open() as stream:
                assert stream.read() == data
                for position in (0, 1, 8175, 8176, 8177, len(data) // 2, len(data) - 1, len(data)):
                    stream.seek(position)
                    assert stream.read(100) == data[position:position + 100]
                stream.seek(-10, io.SEEK_END)
                assert stream.read() == data[-10:]
                stream.seek(0)
                chunks = iter(lambda: stream.read(777), b"")
                assert b"".join(chunks) == data


def test_file_object_and_bytes_sources_agree() -> None:
    path = corpus_path("pstsdk__test_ansi.pst")
    with pstlib.open(path) as by_path:
        expected = list(by_path.nodes())
    with path.open("rb") as handle, pstlib.open(handle) as by_handle:
        assert list(by_handle.nodes()) == expected
    with pstlib.open(path.read_bytes()) as by_bytes:
        assert list(by_bytes.nodes()) == expected


def test_caller_file_object_is_left_open() -> None:
    path = corpus_path("pstsdk__test_ansi.pst")
    with path.open("rb") as handle:
        with pstlib.open(handle):
            pass
        assert not handle.closed


def test_opening_reads_only_the_header() -> None:
    """Opening a file must not scan it (a 1 GB file opens as fast as a small one)."""
    with pstlib.open(corpus_path("pst-extractor__enron.pst")) as pst:
        assert pst.bytes_read <= 564


def test_closing_drops_cached_data() -> None:
    """A closed file holds no decoded blocks, even while a reference cycle keeps it alive."""
    with pstlib.open(corpus_path("pst-extractor__enron.pst")) as pst:
        for entry in pst.nodes():
            pst.node(entry.nid).read()
        assert pst.block_store.read.cache_info().currsize > 0
    assert pst.block_store.read.cache_info().currsize == 0
    assert pst.nbt._page.cache_info().currsize == 0
