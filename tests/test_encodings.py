"""Every format variant read back under every encoding, from re-encoded corpus files.

The corpus lacks most (format, encoding) pairs: no ANSI or OST file is cyclic,
no 4K file is encoded at all.  ``reencode`` makes each pair from a real file,
and the node data read from the copy must equal the original's byte for byte.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

import pstlib
from pstlib.ndb.block import is_internal
from pstlib.ndb.format import ANSI, UNICODE, UNICODE4K
from tests.conftest import corpus_path
from tests.reencode import CRYPT_METHOD_OFFSET, CRYPT_METHODS, WVER_OFFSET, reencode

# name -> (format, kind, wVer, crypt) it is chosen to stand for, and the other wVer to try.
VARIANTS = {
    "pstsdk__test_ansi.pst": ((ANSI, "pst", 14, "permute"), 15),
    "pstsdk__test_unicode.pst": ((UNICODE, "pst", 23, "permute"), None),
    "pst-extractor__pstextractortestpdf@outlook.com.ost": ((UNICODE4K, "ost", 36, "none"), 37),
    "pst2john__2003_high-encryption_quickquick.pst": ((UNICODE, "pst", 23, "cyclic"), None),
    "groupdocs-net__sample.ost": ((UNICODE, "ost", 23, "permute"), None),
}

CASES = [
    pytest.param(name, target, wver, id=f"{name}-{target}" + (f"-wVer{wver}" if wver else ""))
    for name, (_, other_wver) in VARIANTS.items()
    for wver in ((None, other_wver) if other_wver else (None,))
    for target in CRYPT_METHODS
]

NodeRow = tuple[int, int, int, bytes]
"""(node NID, parent NID, NID, data): the node itself has its own NID as node NID and NID."""


@cache
def original(name: str) -> tuple[bytes, list, list, list[NodeRow]]:
    """A corpus file's bytes, NBT and BBT entries and node contents, read once per run."""
    data = corpus_path(name).read_bytes()
    return (data, *contents(pstlib.open(data)))


def contents(pst: pstlib.PSTFile) -> tuple[list, list, list[NodeRow]]:
    """NBT and BBT entries, then every node's and every subnode's data in walk order."""
    nodes = list(pst.nodes())
    rows: list[NodeRow] = []
    for entry in nodes:
        node = pst.node(entry.nid)
        rows.append((node.nid, node.nid_parent, node.nid, node.read()))
        rows.extend((node.nid, sub.nid_parent, sub.nid, sub.read()) for sub in node.walk_subnodes())
    return nodes, list(pst.blocks()), rows


@pytest.mark.parametrize("name", VARIANTS)
def test_corpus_file_is_the_variant_it_stands_for(name: str) -> None:
    """The re-encoding cases only cover every variant if each file is what it is chosen as."""
    header = pstlib.open(corpus_path(name)).header
    expected, _ = VARIANTS[name]
    assert (header.format, header.kind, header.version, header.crypt) == expected


@pytest.mark.parametrize(("name", "target", "wver"), CASES)
def test_reencoded_file_reads_the_same(name: str, target: str, wver: int | None) -> None:
    """Same NBT, BBT and node data under the new encoding (and wVer); only the
    header fields and external blocks' bytes may change, and those must."""
    data, nodes, blocks, rows = original(name)
    source = pstlib.open(data).header
    new = reencode(data, target, wver)

    pst = pstlib.open(new)
    assert pst.header.crypt == target
    assert pst.header.version == (wver if wver is not None else source.version)
    assert (pst.header.format, pst.header.kind) == (source.format, source.kind)
    assert contents(pst) == (nodes, blocks, rows)

    ndb = source.ndb
    external = [block for block in blocks if not is_internal(block.bid) and block.size > 0]
    assert external
    old_bytes = np.frombuffer(data, np.uint8)
    new_bytes = np.frombuffer(new, np.uint8)
    allowed = np.zeros(len(data), bool)
    # dwCRCPartial, wVer, bCryptMethod and dwCRCFull ([MS-PST] 2.2.2.6).
    for start, size in ((4, 4), (WVER_OFFSET, 2), (CRYPT_METHOD_OFFSET[ndb.name], 1), (524, 4)):
        allowed[start:start + size] = True
    for block in external:
        allowed[block.offset:block.offset + ndb.block_span(block.size)] = True
    assert not np.any((old_bytes != new_bytes) & ~allowed)

    changed = [
        data[block.offset:block.offset + block.size] != new[block.offset:block.offset + block.size]
        for block in external
    ]
    if target == source.crypt:
        assert not any(changed)
        if wver is None:
            assert new == data
    else:
        # True of every block in these files, though a tiny block could in principle
        # encode to the same bytes both ways.
        assert all(changed)
