"""The NDB layer of a new Unicode PST: blocks, data and subnode trees, nodes, B-trees, maps, header.

Blocks are written as they are added, front to back, so a store of any size
is written in bounded memory: only the BBT and NBT entries (a few dozen bytes
per block and node) stay in memory until ``finish()``, which appends the two
B-trees, fills in the allocation maps around them and writes the header last.
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate, chain, repeat
from operator import add, sub
from typing import BinaryIO

import numpy as np

from pstlib.errors import WriterError
from pstlib.ndb.block import BID_INTERNAL
from pstlib.ndb.btree import btree_schema
from pstlib.ndb.crc import crc32
from pstlib.ndb.crypt import CRYPT_PERMUTE, encode, permute_encode
from pstlib.ndb.header import (
    CRC_FULL_SIZE,
    CRC_PARTIAL_SIZE,
    CRC_PARTIAL_START,
    HEADER_UNICODE,
    MAGIC,
    SENTINEL,
)
from pstlib.ndb.nid import NIDType
from pstlib.ndb.page import PTYPE_AMAP, PTYPE_BBT, PTYPE_FMAP, PTYPE_NBT, compute_signature
from pstlib.writer import allocation
from pstlib.writer.allocation import FIRST_AMAP, INTERVAL, NDB, PAGE
from pstlib.writer.output import Output, Piece

MAX_DATA = NDB.max_block_size - NDB.block_trailer_size
"""Bytes of data in one block (8,176)."""
XBLOCK_FANOUT = (MAX_DATA - 8) // 8
"""BIDs one XBLOCK or XXBLOCK lists (1,021)."""
SL_FANOUT = (MAX_DATA - 8) // 24
"""SLENTRYs in one SLBLOCK (340)."""
SI_FANOUT = (MAX_DATA - 8) // 16
"""SIENTRYs in one SIBLOCK (510)."""
MAX_NODE_DATA = 0xFFFFFFFF
"""lcbTotal is 32 bits: the most one node's data can hold."""
VALID_AMAP2 = 0x02
CREF = 2
"""A block named once, plus the BBT's own reference ([MS-PST] 2.2.2.7.7.3)."""

_BLOCK_TRAILER = struct.Struct("<HHIQ")
_TREE_HEAD = struct.Struct("<BBHI")
_SCHEMA = btree_schema(NDB)
_FLUSH_AT = 1 << 20
_ALIGN = NDB.block_alignment
_TRAILER = NDB.block_trailer_size
_SPANS = [NDB.block_span(size) for size in range(MAX_DATA + 1)]
"""Bytes on disk of a block of each size, trailer and padding included."""
_PLACE_AT = 1 << 18
"""Bytes of pending blocks that ``_place`` waits for."""
_ZEROS = bytes(_ALIGN)
MAP_CHUNK = 64
"""Intervals whose AMap bits are built at once in ``finish()`` (16 MB of file, 1 MB of counters)."""

# The first index handed out per NID type ([MS-PST] 2.2.2.6 rgnid): low
# indexes are the spec's well-known nodes, so user objects start above them.
FIRST_INDEX = {
    NIDType.NORMAL_FOLDER: 0x400,
    NIDType.SEARCH_FOLDER: 0x4000,
    NIDType.NORMAL_MESSAGE: 0x10000,
    NIDType.ASSOC_MESSAGE: 0x8000,
}
DEFAULT_FIRST_INDEX = 0x400


class NDBWriter:
    """Allocates and writes blocks into a new file and records the nodes that use them."""

    def __init__(self, file: BinaryIO, crypt_method: int) -> None:
        self._file = file
        self.crypt_method = crypt_method
        self._next_bid = 4
        self._next_page_bid = 1
        self._next_index = [FIRST_INDEX.get(t, DEFAULT_FIRST_INDEX) for t in range(32)]
        self._interval = 0
        self._pos = allocation.first_free(0)
        self._limit = allocation.interval_start(1)
        self._chunks: list[Piece] = []
        """What goes to the file from ``_buffer_start`` on, ``_filled`` bytes of it so far:
        each block's bytes, padding and trailer as they are, gathered by ``write_at``."""
        self._buffer_start = 0
        self._filled = 0
        self._bbt = (array("Q"), array("Q"), array("H"))  # bid, ib, cb
        self._pending: list[bytes | bytearray | memoryview] = []
        """Blocks added but not yet placed (``_place``), stored bytes, and their BIDs."""
        self._pending_bids: list[int] = []
        self._pending_size = 0
        self._nodes: dict[int, tuple[int, int, int]] = {}
        self.bytes_written = 0
        self._output = Output(file)

    # Space ---------------------------------------------------------------------------

    def _allocate(self, span: int, align: int) -> int:
        """The offset of ``span`` free bytes, never across an interval's map pages."""
        pos = -(-self._pos // align) * align
        if pos + span > self._limit:  # spans are far smaller than an interval: one step on
            self._interval += 1
            pos = allocation.first_free(self._interval)
            self._limit = allocation.interval_start(self._interval + 1)
        self._pos = pos + span
        return pos

    def _emit(self, offset: int, data: bytes | bytearray) -> None:
        """Write ``data`` at ``offset`` (never before what was emitted), zero-filling the gap."""
        self._pad_to(offset)
        self._chunks.append(data)
        self._filled += len(data)
        if self._filled >= _FLUSH_AT:
            self._flush()

    def _pad_to(self, offset: int) -> None:
        """Zero-fill up to ``offset`` (map pages come later; skipped space stays zero)."""
        gap = offset - self._buffer_start - self._filled
        if gap:
            self._chunks.append(bytes(gap))
            self._filled += gap

    def _flush(self) -> None:
        self._output.write(self._buffer_start, self._chunks)
        self._buffer_start += self._filled
        self.bytes_written += self._filled
        self._chunks = []
        self._filled = 0

    # Blocks and trees ----------------------------------------------------------------

    def add_block(self, data: bytes | bytearray | memoryview, *, internal: bool = False) -> int:
        """Store one block (at most 8,176 bytes) and return its BID."""
        if len(data) > MAX_DATA:
            raise WriterError(f"a block holds at most {MAX_DATA} bytes, not {len(data)}")
        bid = self._next_bid | (BID_INTERNAL if internal else 0)
        self._next_bid += 4
        stored = data if internal else encode(bytes(data), self.crypt_method, bid)
        self._pending.append(stored)
        self._pending_bids.append(bid)
        self._pending_size += len(stored)
        if self._pending_size >= _PLACE_AT:
            self._place()
        return bid

    def _place(self) -> None:
        """Give the pending blocks their offsets, signatures, CRCs and trailers, queue them
        for the file and list them in the BBT.

        Blocks wait until some 256 KB have gathered, as each step here is then one
        C-level pass over all of them rather than a dozen Python steps per block.
        They go back to back, a run at a time: a run ends where the next interval's
        map pages would come.
        """
        blocks, bids = self._pending, self._pending_bids
        sizes = list(map(len, blocks))
        spans = list(map(_SPANS.__getitem__, sizes))
        offsets = list(accumulate(spans, initial=0))
        start = 0
        while start < len(blocks):
            ib = self._allocate(spans[start], _ALIGN)
            self._pad_to(ib)
            stop = bisect_right(offsets, offsets[start] + self._limit - ib) - 1
            ibs = list(map(add, offsets[start:stop], repeat(ib - offsets[start])))
            self._pos = ibs[-1] + spans[stop - 1]
            run, run_bids, run_sizes = blocks[start:stop], bids[start:stop], sizes[start:stop]
            signatures = map(compute_signature, ibs, run_bids)
            trailers = map(_BLOCK_TRAILER.pack, run_sizes, signatures, map(crc32, run), run_bids)
            padding_sizes = map(sub, spans[start:stop], map(add, run_sizes, repeat(_TRAILER)))
            paddings = map(_ZEROS.__getitem__, map(slice, padding_sizes))
            self._chunks += chain.from_iterable(zip(run, paddings, trailers))
            self._filled += offsets[stop] - offsets[start]
            bbt_bids, bbt_ibs, bbt_cbs = self._bbt
            bbt_bids += array("Q", run_bids)
            bbt_ibs += array("Q", ibs)
            bbt_cbs += array("H", run_sizes)
            if self._filled >= _FLUSH_AT:
                self._flush()
            start = stop
        blocks.clear()
        bids.clear()
        self._pending_size = 0

    def _add_run(self, data: bytes | bytearray | memoryview) -> list[tuple[int, int]]:
        """Store ``data`` as data blocks of 8,176 bytes (the last one shorter); their (bid, size).

        CryptPermute does not depend on the BID, so a run is encoded in one step
        and its blocks are views of that: one copy of the bytes fewer per block.
        """
        if self.crypt_method != CRYPT_PERMUTE:
            view = memoryview(data)
            pieces = [view[i:i + MAX_DATA] for i in range(0, len(view), MAX_DATA)]
            return [(self.add_block(piece), len(piece)) for piece in pieces]
        view = memoryview(permute_encode(bytes(data)))
        blocks = [view[i:i + MAX_DATA] for i in range(0, len(view), MAX_DATA)]
        bids = range(self._next_bid, self._next_bid + 4 * len(blocks), 4)
        self._next_bid += 4 * len(blocks)
        self._pending += blocks
        self._pending_bids += bids
        self._pending_size += len(view)
        if self._pending_size >= _PLACE_AT:
            self._place()
        return list(zip(bids, map(len, blocks)))

    def add_data(self, data: bytes | bytearray | memoryview) -> int:
        """Store a node's data (one block, or blocks under an XBLOCK/XXBLOCK); 0 for none."""
        if not data:
            return 0
        if len(data) <= MAX_DATA:
            return self.add_block(data)
        return self.data_tree(self._add_run(data))

    def add_blocks(self, blocks: list[bytes] | list[memoryview]) -> int:
        """Store a node's data as exactly these blocks (a heap's pages stay whole); 0 for none."""
        if not blocks:
            return 0
        if len(blocks) == 1:
            return self.add_block(blocks[0])
        return self.data_tree([(self.add_block(block), len(block)) for block in blocks])

    def add_stream(self, chunks: Iterable[bytes]) -> tuple[int, int]:
        """Store a node's data from an iterable of byte strings; (bid, total size)."""
        leaves: list[tuple[int, int]] = []
        pending = bytearray()
        total = 0
        for chunk in chunks:
            pending += chunk
            total += len(chunk)
            if total > MAX_NODE_DATA:
                raise WriterError(f"a node's data is limited to {MAX_NODE_DATA} bytes")
            if len(pending) > MAX_DATA:
                whole = (len(pending) - 1) // MAX_DATA * MAX_DATA  # keep the tail, which may grow
                leaves += self._add_run(memoryview(pending)[:whole])
                del pending[:whole]
        if pending:
            leaves += self._add_run(pending)
        if not leaves:
            return 0, 0
        return (leaves[0][0] if len(leaves) == 1 else self.data_tree(leaves)), total

    def data_tree(self, leaves: list[tuple[int, int]]) -> int:
        """An XBLOCK over (bid, size) data blocks, or an XXBLOCK over XBLOCKs of them."""
        total = sum(size for _, size in leaves)
        if total > MAX_NODE_DATA:
            raise WriterError(f"a node's data is limited to {MAX_NODE_DATA} bytes, not {total}")
        if len(leaves) <= XBLOCK_FANOUT:
            return self._xblock(1, [bid for bid, _ in leaves], total)
        if len(leaves) > XBLOCK_FANOUT * XBLOCK_FANOUT:
            raise WriterError(f"{len(leaves)} data blocks are more than an XXBLOCK can list")
        children = []
        for start in range(0, len(leaves), XBLOCK_FANOUT):
            group = leaves[start:start + XBLOCK_FANOUT]
            children.append(self._xblock(1, [bid for bid, _ in group], sum(size for _, size in group)))
        return self._xblock(2, children, total)

    def _xblock(self, level: int, bids: list[int], total: int) -> int:
        body = _TREE_HEAD.pack(0x01, level, len(bids), total) + array("Q", bids).tobytes()
        return self.add_block(body, internal=True)

    def subnode_tree(self, entries: list[tuple[int, int, int]]) -> int:
        """An SLBLOCK (or SIBLOCK over SLBLOCKs) of (nid, bid_data, bid_sub); 0 for none."""
        if not entries:
            return 0
        entries = sorted(entries)
        groups = [entries[i:i + SL_FANOUT] for i in range(0, len(entries), SL_FANOUT)]
        if len(groups) > SI_FANOUT:
            raise WriterError(f"{len(entries)} subnodes are more than one subnode tree can list")
        leaves = []
        for group in groups:
            body = _TREE_HEAD.pack(0x02, 0, len(group), 0) + array("Q", [v for e in group for v in e]).tobytes()
            leaves.append((group[0][0], self.add_block(body, internal=True)))
        if len(leaves) == 1:
            return leaves[0][1]
        body = _TREE_HEAD.pack(0x02, 1, len(leaves), 0) + array("Q", [v for e in leaves for v in e]).tobytes()
        return self.add_block(body, internal=True)

    def mark(self) -> int:
        """A point to ``rollback()`` to: the blocks written so far."""
        return len(self._bbt[0]) + len(self._pending)

    def rollback(self, mark: int) -> None:
        """Forget the blocks written since ``mark`` (an object that failed halfway): those
        still pending are dropped; placed ones leave the BBT, and their space is left
        unallocated in the AMaps."""
        placed = len(self._bbt[0])
        if mark >= placed:
            del self._pending[mark - placed:], self._pending_bids[mark - placed:]
            self._pending_size = sum(map(len, self._pending))
            return
        for column in self._bbt:
            del column[mark:]
        self._pending.clear()
        self._pending_bids.clear()
        self._pending_size = 0

    # Nodes ---------------------------------------------------------------------------

    def new_nid(self, node_type: int) -> int:
        """A fresh NID of ``node_type``, counted in the header's rgnid."""
        index = self._next_index[node_type]
        self._next_index[node_type] = index + 1
        return (index << 5) | node_type

    def add_node(self, nid: int, bid_data: int, bid_sub: int = 0, parent: int = 0) -> None:
        """Record a top-level node in the NBT."""
        if nid in self._nodes:
            raise WriterError(f"node 0x{nid:X} was written twice", nid=nid)
        self._nodes[nid] = (bid_data, bid_sub, parent)
        node_type, index = nid & 0x1F, nid >> 5
        self._next_index[node_type] = max(self._next_index[node_type], index + 1)

    # Finishing -----------------------------------------------------------------------

    def close(self) -> None:
        """Wait for the writes still in flight (raising the first that failed): the file
        may be closed after this, whether ``finish()`` ran or not."""
        self._output.close()

    def finish(self) -> None:
        """Write the B-trees, the maps and the header; the file is valid from here on."""
        self._place()
        nbt_entries = np.zeros(len(self._nodes), _SCHEMA.nbtentry_dtype)
        if self._nodes:
            nids = np.fromiter(self._nodes, np.uint64, len(self._nodes))
            values = np.array(list(self._nodes.values()), np.uint64).reshape(-1, 3)
            order = np.argsort(nids)
            nbt_entries["nid"] = nids[order]
            nbt_entries["bidData"] = values[order, 0]
            nbt_entries["bidSub"] = values[order, 1]
            nbt_entries["nidParent"] = values[order, 2]
        bids = np.frombuffer(self._bbt[0], np.uint64)
        ibs = np.frombuffer(self._bbt[1], np.uint64)
        cbs = np.frombuffer(self._bbt[2], np.uint16)
        bbt_entries = np.zeros(len(bids), _SCHEMA.bbtentry_dtype)
        bbt_entries["BREF"]["bid"] = bids
        bbt_entries["BREF"]["ib"] = ibs
        bbt_entries["cb"] = cbs
        bbt_entries["cRef"] = CREF
        page_ibs: list[int] = []
        nbt_root = self._btree(PTYPE_NBT, nbt_entries, nbt_entries["nid"], page_ibs)
        bbt_root = self._btree(PTYPE_BBT, bbt_entries, bbt_entries["BREF"]["bid"], page_ibs)
        self._flush()
        self._output.wait()  # what follows seeks and writes the file itself

        intervals = (self._pos - 1 - FIRST_AMAP) // INTERVAL + 1
        eof = allocation.interval_start(intervals)
        meta = [(ib, ptype) for k in range(intervals) for ib, ptype in allocation.map_pages(k)]
        unit = NDB.block_alignment
        block_spans = (cbs.astype(np.int64) + NDB.block_trailer_size + unit - 1) // unit * unit
        starts = np.concatenate([
            np.array([ib for ib, _ in meta], np.int64),
            np.array(page_ibs, np.int64),
            ibs.astype(np.int64),
        ])
        ends = starts + np.concatenate([
            np.full(len(meta) + len(page_ibs), PAGE, np.int64),
            block_spans,
        ])
        order = np.argsort(starts, kind="stable")
        starts, ends = starts[order], ends[order]
        runs = np.zeros(intervals, np.int64)
        free_units = np.zeros(intervals, np.int64)
        for first in range(0, intervals, MAP_CHUNK):  # a few MB of bits at a time, whatever the file size
            count = min(MAP_CHUNK, intervals - first)
            lo, hi = np.searchsorted(starts, [allocation.interval_start(first), allocation.interval_start(first + count)])
            bits = allocation.amap_bits(starts[lo:hi], ends[lo:hi], first, count)
            runs[first:first + count] = allocation.longest_free_runs(bits)
            free_units[first:first + count] = (~bits).sum(axis=1)
            for k in range(first, first + count):
                ib = allocation.interval_start(k)
                self._file.seek(ib)
                self._file.write(allocation.map_page(PTYPE_AMAP, np.packbits(bits[k - first]).tobytes(), ib))
        for ib, ptype in meta:
            if ptype == PTYPE_AMAP:
                continue
            if ptype == PTYPE_FMAP:
                k = (ib - FIRST_AMAP) // INTERVAL
                body = runs[k:k + allocation.MAP_BYTES].astype(np.uint8).tobytes()
            else:  # PMap and FPMap: deprecated, kept all-allocated as their trailers require
                body = b"\xff" * allocation.MAP_BYTES
            self._file.seek(ib)
            self._file.write(allocation.map_page(ptype, body, ib))
        self._file.seek(allocation.DLIST_OFFSET)
        self._file.write(allocation.dlist_page(free_units * allocation.UNIT // PAGE, self._next_page_bid))
        self._next_page_bid += 1
        if self._file.seek(0, 2) < eof:  # the file ends with its last interval
            self._file.seek(eof - 1)
            self._file.write(b"\0")
        header = self._header(eof, nbt_root, bbt_root, int(free_units.sum()) * allocation.UNIT)
        self._file.seek(0)
        self._file.write(header)
        self._file.flush()

    def _btree(self, ptype: int, entries: np.ndarray, keys: np.ndarray, page_ibs: list[int]) -> tuple[int, int]:
        """Write a B-tree's pages bottom up; (bid, ib) of its root."""
        level = 0
        while True:
            size = entries.dtype.itemsize
            per_page = NDB.btree_entries_size // size
            refs: list[tuple[int, int, int]] = []
            for start in range(0, max(len(entries), 1), per_page):
                chunk = entries[start:start + per_page]
                bid = self._next_page_bid
                self._next_page_bid += 1
                ib = self._allocate(PAGE, PAGE)
                page_ibs.append(ib)
                self._emit(ib, _btpage(ptype, chunk.tobytes(), len(chunk), per_page, size, level, ib, bid))
                refs.append((int(keys[start]) if len(keys) else 0, bid, ib))
            if len(refs) == 1:
                return refs[0][1], refs[0][2]
            entries = np.zeros(len(refs), _SCHEMA.btentry_dtype)
            entries["btkey"] = [r[0] for r in refs]
            entries["BREF"]["bid"] = [r[1] for r in refs]
            entries["BREF"]["ib"] = [r[2] for r in refs]
            keys = entries["btkey"]
            level += 1

    def _header(self, eof: int, nbt: tuple[int, int], bbt: tuple[int, int], amap_free: int) -> bytes:
        last_amap = allocation.interval_start((eof - FIRST_AMAP) // INTERVAL - 1)
        fields = {
            "dwMagic": MAGIC,
            "dwCRCPartial": 0,
            "wMagicClient": b"SM",
            "wVer": 23,
            "wVerClient": 19,
            "bPlatformCreate": 1,
            "bPlatformAccess": 1,
            "dwReserved1": 0,
            "dwReserved2": 0,
            "bidUnused": 0,
            "bidNextP": self._next_page_bid,
            "dwUnique": 1,
            "rgnid": self._next_index,
            "qwUnused": 0,
            "root": {
                "dwReserved": 0,
                "ibFileEof": eof,
                "ibAMapLast": last_amap,
                "cbAMapFree": amap_free,
                "cbPMapFree": 0,
                "BREFNBT": {"bid": nbt[0], "ib": nbt[1]},
                "BREFBBT": {"bid": bbt[0], "ib": bbt[1]},
                "fAMapValid": VALID_AMAP2,
                "bReserved": 0,
                "wReserved": 0,
            },
            "dwAlign": 0,
            "rgbFM": b"\xff" * 128,  # no longer used: "MUST be filled with 0xFF"
            "rgbFP": b"\xff" * 128,  # likewise
            "bSentinel": SENTINEL,
            "bCryptMethod": self.crypt_method,
            "rgbReserved": bytes(2),
            "bidNextB": self._next_bid,
            "dwCRCFull": 0,
            "rgbReserved2": bytes(3),
            "bReserved": 0,
            "rgbReserved3": bytes(32),
        }
        data = bytearray(HEADER_UNICODE.build(fields))
        partial = crc32(data[CRC_PARTIAL_START:CRC_PARTIAL_START + CRC_PARTIAL_SIZE])
        struct.pack_into("<I", data, 4, partial)
        full = crc32(data[CRC_PARTIAL_START:CRC_PARTIAL_START + CRC_FULL_SIZE])
        struct.pack_into("<I", data, HEADER_UNICODE.sizeof() - 40, full)
        return bytes(data)


def _btpage(ptype: int, body: bytes, count: int, per_page: int, size: int, level: int, ib: int, bid: int) -> bytes:
    """One BTPAGE: entries, cEnt/cEntMax/cbEnt/cLevel, and a trailer signed for ``ib``."""
    data = body.ljust(NDB.btree_entries_size, b"\0") + struct.pack("<BBBBI", count, per_page, size, level, 0)
    trailer = struct.pack("<BBHIQ", ptype, ptype, compute_signature(ib, bid), crc32(data), bid)
    return data + trailer

