"""Internal blocks read many at a time: XBLOCK, XXBLOCK, SLBLOCK and SIBLOCK.

``verify`` parses every internal block of a file to count the references it
holds.  One block at a time through ``parse_xblock`` and
``parse_subnode_block`` that was half the NDB phase of a 1 GB store, so here
the heads of a whole batch are read with numpy and the BIDs the entries name
are gathered a chunk at a time.  Each block is judged as those two parsers
judge it (same checks, in the same order, with the same messages); they stay
the reference.  Internal blocks are never encoded ([MS-PST] 2.2.2.8.3), so a
batch can be read straight from the file's map.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from pstlib.errors import PSTError
from pstlib.ndb.datatree import BTYPE_DATA_TREE, XBLOCK_HEAD, parse_xblock
from pstlib.ndb.format import Format
from pstlib.ndb.schema import numpy_dtype
from pstlib.ndb.subnode import BTYPE_SUBNODE_TREE, entry_dtypes, parse_subnode_block

INVALID, XBLOCK, XXBLOCK, SLBLOCK, SIBLOCK = range(5)
"""What a block is; INVALID where ``parse_xblock`` or ``parse_subnode_block`` would refuse it."""
CHUNK = 1 << 18
"""BIDs gathered at once: about 10 MB of index arrays, however many entries the file holds."""
_HEAD = numpy_dtype(XBLOCK_HEAD)
"""The XBLOCK head; SLBLOCK and SIBLOCK heads open with the same btype, cLevel and cEnt."""


def every_offset(buffer: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``buffer`` read as ``dtype`` at every byte offset: element k is the value at byte k."""
    count = max(len(buffer) - dtype.itemsize + 1, 0)
    return np.ndarray((count,), dtype, buffer, strides=(1,))


def _head_field(
    buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray, name: str
) -> np.ndarray:
    """A head field of every block, as int64; 0 where the block is too short to hold it."""
    dtype, offset = _HEAD.fields[name][:2]
    fits = lengths >= offset + dtype.itemsize
    out = np.zeros(len(starts), np.int64)
    out[fits] = every_offset(buffer, dtype)[starts[fits] + offset]
    return out


def _refusal(ndb: Format, data: bytes) -> str:
    """Why a block is INVALID: the message of the error the block-at-a-time parsers raise."""
    try:
        if len(data) >= 2 and data[0] == BTYPE_DATA_TREE:
            parse_xblock(data, ndb.id_size, (1, 2), 0)
        elif len(data) >= 2 and data[0] == BTYPE_SUBNODE_TREE:
            parse_subnode_block(ndb, data, data[1], 0)
        else:
            btype = data[0] if data else None
            return f"internal block has btype {btype}, neither a data nor a subnode tree"
    except PSTError as exc:
        return exc.message
    raise AssertionError("the parsers accept a block the numpy checks refuse")


class InternalBlocks:
    """A batch of decoded internal blocks: block i is ``buffer[starts[i]:starts[i] + lengths[i]]``.

    ``kind`` says what each block is, ``total`` is a data tree's lcbTotal, and
    ``errors`` holds, for each INVALID block, the message of its parser's error.
    """

    def __init__(
        self, ndb: Format, buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray
    ) -> None:
        starts, lengths = starts.astype(np.int64), lengths.astype(np.int64)
        btype = _head_field(buffer, starts, lengths, "btype")
        level = _head_field(buffer, starts, lengths, "cLevel")
        count = _head_field(buffer, starts, lengths, "cEnt")
        self.total = _head_field(buffer, starts, lengths, "lcbTotal")
        subnode_head, slentry, sientry = entry_dtypes(ndb)
        id_size = ndb.id_size
        tree = lengths >= 2
        data, sub = tree & (btype == BTYPE_DATA_TREE), tree & (btype == BTYPE_SUBNODE_TREE)
        # parse_xblock's checks, in its order
        data_short = data & (lengths < _HEAD.itemsize)
        data_level = data & ~data_short & (level != 1) & (level != 2)
        data_over = data & ~data_short & ~data_level & (_HEAD.itemsize + count * id_size > lengths)
        data_ok = data & ~(data_short | data_level | data_over)
        # parse_subnode_block's, called with the block's own cLevel: 0 an SLBLOCK, any other an SIBLOCK
        sub_short = sub & (lengths < subnode_head.size)
        entry_size = np.where(level == 0, slentry.itemsize, sientry.itemsize)
        sub_over = sub & ~sub_short & (subnode_head.size + count * entry_size > lengths)
        sub_ok = sub & ~(sub_short | sub_over)
        kind = np.full(len(starts), INVALID, np.int8)
        kind[data_ok & (level == 1)] = XBLOCK
        kind[data_ok & (level == 2)] = XXBLOCK
        kind[sub_ok & (level == 0)] = SLBLOCK
        kind[sub_ok & (level != 0)] = SIBLOCK
        self.kind = kind

        self.errors = {
            i: _refusal(ndb, buffer[starts[i] : starts[i] + lengths[i]].tobytes())
            for i in np.nonzero(kind == INVALID)[0].tolist()
        }

        # Groups of BIDs: (blocks, offset of each one's first BID, stride, whether a zero BID is
        # left out), each block's groups in the order it lists them (an SLBLOCK's bidData, then bidSub).
        entries = starts + subnode_head.size
        trees, leaves, branches = (
            np.nonzero(data_ok)[0],
            np.nonzero(kind == SLBLOCK)[0],
            np.nonzero(kind == SIBLOCK)[0],
        )
        groups = [
            (trees, starts[trees] + _HEAD.itemsize, id_size, False),
            (leaves, entries[leaves] + slentry.fields["bidData"][1], slentry.itemsize, True),
            (leaves, entries[leaves] + slentry.fields["bidSub"][1], slentry.itemsize, True),
            (branches, entries[branches] + sientry.fields["bid"][1], sientry.itemsize, False),
        ]
        blocks = np.concatenate([g[0] for g in groups])
        order = np.argsort(blocks, kind="stable")
        self._block = blocks[order]
        self._first = np.concatenate([g[1] for g in groups])[order]
        self._stride = np.concatenate([np.full(len(g[0]), g[2], np.int64) for g in groups])[order]
        self._skip_zero = np.concatenate([np.full(len(g[0]), g[3]) for g in groups])[order]
        self._count = count[self._block]
        self._ids = every_offset(buffer, np.dtype(f"<u{id_size}"))

    def children(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(block, BID) pairs, CHUNK or so at a time: by block, each block's BIDs in its parser's order."""
        counts = self._count
        ends = np.cumsum(counts)
        start = 0
        while start < len(counts):
            base = int(ends[start] - counts[start])
            stop = max(int(np.searchsorted(ends, base + CHUNK, "right")), start + 1)
            n = counts[start:stop]
            within = np.arange(int(n.sum())) - np.repeat(ends[start:stop] - n - base, n)
            offsets = np.repeat(self._first[start:stop], n) + within * np.repeat(
                self._stride[start:stop], n
            )
            bids = self._ids[offsets].astype(np.uint64)
            keep = ~(np.repeat(self._skip_zero[start:stop], n) & (bids == 0))
            yield np.repeat(self._block[start:stop], n)[keep], bids[keep]
            start = stop
