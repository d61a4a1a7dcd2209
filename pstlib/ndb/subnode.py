"""Subnode trees of [MS-PST] 2.2.2.8.3.3: SLBLOCK and SIBLOCK.

A node's bidSub names an internal block: an SLBLOCK (cLevel 0) listing
subnodes, or an SIBLOCK (cLevel 1) listing SLBLOCKs.  Entries are parsed with
``struct`` formats derived from the declarations below: most subnode blocks
hold a handful of entries, where numpy's per-call cost would dominate.
"""

from __future__ import annotations

import struct
from functools import cache
from typing import NamedTuple

import numpy as np
from construct import Int8ul, Int16ul, Int32ul, Int64ul, Struct

from pstlib.errors import BlockError, LimitExceeded
from pstlib.ndb.block import BlockStore, is_internal
from pstlib.ndb.format import ANSI, Format
from pstlib.ndb.schema import numpy_dtype, struct_format

BTYPE_SUBNODE_TREE = 0x02

# SLBLOCK/SIBLOCK heads, [MS-PST] 2.2.2.8.3.3.1.2 and 2.2.2.8.3.3.2.2.
SUBNODE_HEAD_ANSI = Struct("btype" / Int8ul, "cLevel" / Int8ul, "cEnt" / Int16ul)
SUBNODE_HEAD_UNICODE = Struct(
    "btype" / Int8ul, "cLevel" / Int8ul, "cEnt" / Int16ul, "dwPadding" / Int32ul
)
# SLENTRY and SIENTRY, [MS-PST] 2.2.2.8.3.3.1.1 and 2.2.2.8.3.3.2.1.
SLENTRY_ANSI = Struct("nid" / Int32ul, "bidData" / Int32ul, "bidSub" / Int32ul)
SLENTRY_UNICODE = Struct("nid" / Int64ul, "bidData" / Int64ul, "bidSub" / Int64ul)
SIENTRY_ANSI = Struct("nid" / Int32ul, "bid" / Int32ul)
SIENTRY_UNICODE = Struct("nid" / Int64ul, "bid" / Int64ul)


class SubnodeEntry(NamedTuple):
    """One SLENTRY: a subnode's NID and the roots of its data and subnode trees."""

    nid: int
    bid_data: int
    bid_sub: int


def _declarations(ndb: Format) -> tuple[Struct, Struct, Struct]:
    if ndb.name == ANSI:
        return SUBNODE_HEAD_ANSI, SLENTRY_ANSI, SIENTRY_ANSI
    return SUBNODE_HEAD_UNICODE, SLENTRY_UNICODE, SIENTRY_UNICODE


@cache
def _schema(ndb: Format) -> tuple[struct.Struct, struct.Struct, struct.Struct]:
    head, slentry, sientry = _declarations(ndb)
    return struct_format(head), struct_format(slentry), struct_format(sientry)


@cache
def entry_dtypes(ndb: Format) -> tuple[struct.Struct, np.dtype, np.dtype]:
    """The head's format and SLENTRY and SIENTRY as numpy dtypes, for checking many
    blocks at once (verify)."""
    head, slentry, sientry = _declarations(ndb)
    return struct_format(head), numpy_dtype(slentry), numpy_dtype(sientry)


def parse_subnode_block(
    ndb: Format, data: bytes, level: int, bid: int, nid: int | None = None
) -> list[tuple[int, ...]]:
    """The SIENTRY (nid, bid) records (level 1) or SLENTRY (nid, bidData, bidSub)
    records (level 0) of a decoded subnode block."""
    head, slentry, sientry = _schema(ndb)
    if len(data) < head.size:
        raise BlockError("subnode block too short for its header", bid=bid, nid=nid)
    btype, clevel, count = head.unpack_from(data)[:3]
    if btype != BTYPE_SUBNODE_TREE or clevel != level:
        raise BlockError(
            f"expected an {'SI' if level else 'SL'}BLOCK (btype 2, cLevel {level}),"
            f" found btype {btype} cLevel {clevel}",
            bid=bid,
            nid=nid,
        )
    entry = sientry if level else slentry
    end = head.size + count * entry.size
    if end > len(data):
        raise BlockError(
            f"subnode block claims {count} entries, more than its {len(data)} bytes hold",
            bid=bid,
            nid=nid,
        )
    return list(entry.iter_unpack(memoryview(data)[head.size:end]))


def _read_tree_block(store: BlockStore, bid: int, nid: int | None) -> bytes:
    if not is_internal(bid):
        raise BlockError(f"subnode tree block 0x{bid:X} is not an internal block", bid=bid, nid=nid)
    return store.read(bid)


def subnode_entries(
    store: BlockStore, bid: int, nid: int | None = None, max_depth: int = 2
) -> list[SubnodeEntry]:
    """Every SLENTRY under the subnode tree rooted at ``bid``, in NID order.

    ``max_depth`` (``Limits.max_subnode_tree_depth``) can only lower the spec's
    two levels: with 1, an SIBLOCK is refused as over the limit.
    """
    data = _read_tree_block(store, bid, nid)
    level = data[1] if len(data) > 1 else 0
    if level + 1 > max_depth:
        raise LimitExceeded(
            f"subnode tree has {level + 1} levels, over the limit of {max_depth}", bid=bid, nid=nid
        )
    ndb = store.format
    slblocks = [child for _, child in parse_subnode_block(ndb, data, 1, bid, nid)] if level == 1 else [bid]
    out: list[SubnodeEntry] = []
    for slblock in slblocks:
        block = data if slblock == bid else _read_tree_block(store, slblock, nid)  # the root read once
        out += [
            SubnodeEntry(sub_nid & 0xFFFFFFFF, bid_data, bid_sub)
            for sub_nid, bid_data, bid_sub in parse_subnode_block(ndb, block, 0, slblock, nid)
        ]
    return out
