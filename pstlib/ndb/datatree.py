"""Data trees of [MS-PST] 2.2.2.8.3.2: XBLOCK and XXBLOCK.

A node whose data exceeds one block stores an internal XBLOCK listing its data
blocks, or an XXBLOCK listing XBLOCKs.  ``data_tree`` flattens a tree into its
data blocks in order, checking each level's btype, cLevel and lcbTotal,
without reading a single data block.
"""

from __future__ import annotations

from dataclasses import dataclass

from construct import Int8ul, Int16ul, Int32ul, Struct

from pstlib.errors import BlockError, LimitExceeded
from pstlib.ndb.block import BlockStore, is_internal
from pstlib.ndb.schema import struct_format

BTYPE_DATA_TREE = 0x01

# The head of XBLOCK (cLevel 1) and XXBLOCK (cLevel 2), [MS-PST] 2.2.2.8.3.2.1-2;
# rgbid, cEnt BIDs of the format's width, follows it.
XBLOCK_HEAD = Struct(
    "btype" / Int8ul, "cLevel" / Int8ul, "cEnt" / Int16ul, "lcbTotal" / Int32ul
)
_HEAD = struct_format(XBLOCK_HEAD)


@dataclass(frozen=True)
class DataTree:
    """The data blocks of a node in order, and the total size its root declares."""

    leaves: tuple[int, ...]
    total_size: int


def parse_xblock(
    data: bytes, id_size: int, levels: tuple[int, ...], bid: int, nid: int | None = None
) -> tuple[int, int, list[int]]:
    """(cLevel, lcbTotal, rgbid) of a decoded XBLOCK/XXBLOCK whose cLevel is in ``levels``."""
    if len(data) < _HEAD.size:
        raise BlockError("data-tree block too short for its header", bid=bid, nid=nid)
    btype, level, count, total = _HEAD.unpack_from(data)
    if btype != BTYPE_DATA_TREE or level not in levels:
        raise BlockError(
            f"expected a data-tree block (btype 1, cLevel {' or '.join(map(str, levels))}),"
            f" found btype {btype} cLevel {level}",
            bid=bid,
            nid=nid,
        )
    end = _HEAD.size + count * id_size
    if end > len(data):
        raise BlockError(
            f"data-tree block claims {count} children, more than its {len(data)} bytes hold",
            bid=bid,
            nid=nid,
        )
    children = [
        int.from_bytes(data[start:start + id_size], "little")
        for start in range(_HEAD.size, end, id_size)
    ]
    return level, total, children


def _read_xblock(
    store: BlockStore, bid: int, levels: tuple[int, ...], nid: int | None
) -> tuple[int, int, list[int]]:
    return parse_xblock(store.read(bid), store.format.id_size, levels, bid, nid)


def data_tree(
    store: BlockStore, bid: int, nid: int | None, max_size: int, max_depth: int = 2
) -> DataTree:
    """Flatten the data tree rooted at internal block ``bid``.

    ``max_depth`` (``Limits.max_data_tree_depth``) can only lower the spec's
    two levels: with 1, an XXBLOCK is refused as over the limit.
    """
    level, total, children = _read_xblock(store, bid, (1, 2), nid)
    if level > max_depth:
        raise LimitExceeded(
            f"data tree has {level} levels of XBLOCK, over the limit of {max_depth}", bid=bid, nid=nid
        )
    if total > max_size:
        raise LimitExceeded(f"node data is {total} bytes, over the limit of {max_size}", bid=bid, nid=nid)
    if level == 1:
        leaves = children
    else:
        leaves = []
        subtotal = 0
        for child in children:
            if not is_internal(child):
                raise BlockError(f"XXBLOCK child 0x{child:X} is not an internal block", bid=bid, nid=nid)
            _, size, grandchildren = _read_xblock(store, child, (1,), nid)
            subtotal += size
            leaves.extend(grandchildren)
        if subtotal != total:
            raise BlockError(
                f"XXBLOCK lcbTotal is {total}, its XBLOCKs add up to {subtotal}", bid=bid, nid=nid
            )
    for leaf in leaves:
        if is_internal(leaf):
            raise BlockError(f"data-tree leaf 0x{leaf:X} is an internal block, not data", bid=bid, nid=nid)
    return DataTree(tuple(leaves), total)
