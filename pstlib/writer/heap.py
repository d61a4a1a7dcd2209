"""Heap-on-node and BTH building ([MS-PST] 2.3.1-2.3.2): allocations packed into 8 KB blocks.

A heap's blocks become the node's data blocks one for one, so each is kept
whole; items go into the last block while they fit (with its page map) and
start a new block otherwise.  Blocks 8, 136, 264, ... carry the 66-byte
HNBITMAPHDR, every other block after the first the 2-byte HNPAGEHDR.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from itertools import accumulate, repeat
from operator import add, lshift, or_

from pstlib.errors import WriterError
from pstlib.ltp.heap import CLIENT_SIG_BTH, HN_SIGNATURE
from pstlib.writer.ndb import MAX_DATA

MAX_ITEM = 3580
"""The largest heap allocation ([MS-PST] 2.3.3.3); bigger values go to subnodes."""
MAX_ITEMS_PER_BLOCK = 0x7FF
_HNHDR_SIZE, _PAGEHDR_SIZE, _BITMAPHDR_SIZE = 12, 2, 66


def header_size(block: int) -> int:
    """Bytes before the first allocation of heap block ``block``."""
    if block == 0:
        return _HNHDR_SIZE
    return _BITMAPHDR_SIZE if block % 128 == 8 else _PAGEHDR_SIZE


def _fill_level(free: int) -> int:
    """The 4-bit fill level of a block with ``free`` bytes left ([MS-PST] 2.3.1.2)."""
    for level, floor in enumerate((3584, 2560, 2048, 1792, 1536, 1280, 1024, 768, 512, 256, 128, 64, 32, 16, 8)):
        if free >= floor:
            return level
    return 15


_FILL_LEVELS = bytes(map(_fill_level, range(MAX_DATA + 1)))
"""``_fill_level`` of every possible free count."""
_HNHDR = struct.Struct("<HBBI")
_PAGEHDR = struct.Struct("<H")


class HeapWriter:
    """The allocations of one heap, block by block; ``blocks()`` lays them out."""

    def __init__(self, client_signature: int) -> None:
        self.client_signature = client_signature
        self.user_root = 0
        self._items: list[list[bytes]] = [[]]
        self._last = self._items[0]
        self._block = 0
        """The last block's items and index."""
        self._used = header_size(0)
        """Bytes of the last block's header and items."""

    def allocate(self, data: bytes) -> int:
        """Store ``data`` (bytes, at most 3,580 of them) and return its HID."""
        size = len(data)
        if size > MAX_ITEM:
            raise WriterError(f"a heap item holds at most {MAX_ITEM} bytes, not {size}")
        # the page map grows by one offset per item; keep 1 byte for aligning it
        if self._used + size + 2 * len(self._last) + 9 > MAX_DATA or len(self._last) >= MAX_ITEMS_PER_BLOCK:
            self._next_block()
        items = self._last
        items.append(data)
        self._used += size
        return self._block << 16 | len(items) << 5

    def allocate_many(self, items: list[bytes]) -> list[int]:
        """``allocate`` each of ``items`` in turn, a block's worth at a time: a message's
        values and a table's cells come in batches, and the per-item steps are what cost."""
        if not items:
            return []
        if max(map(len, items)) > MAX_ITEM:
            return [self.allocate(item) for item in items]  # refuses the first too big
        count, last = len(self._last), len(self._last) + len(items)
        size = sum(map(len, items))
        if last <= MAX_ITEMS_PER_BLOCK and self._used + size + 2 * (last - 1) + 9 <= MAX_DATA:
            self._last += items  # the common case: they all fit the last block
            self._used += size
            base = self._block << 16
            return list(range(base | (count + 1) << 5, base | (last + 1) << 5, 1 << 5))
        ends = list(accumulate(map(len, items)))
        # the test in allocate() for item k, with its sizes summed from ``start``:
        # used + ends[k] - ends[start - 1] + 2 * (count + k - start) + 9 <= MAX_DATA
        tests = list(map(add, ends, range(0, 2 * len(items), 2)))
        hids: list[int] = []
        start = 0
        while start < len(items):
            count = len(self._last)
            before = ends[start - 1] if start else 0
            bound = MAX_DATA - 9 - self._used - 2 * count + 2 * start + before
            stop = min(bisect_right(tests, bound, start), start + MAX_ITEMS_PER_BLOCK - count)
            if stop == start:
                self._next_block()
                continue
            self._last.extend(items[start:stop])
            self._used += ends[stop - 1] - before
            base = self._block << 16
            hids += range(base | (count + 1) << 5, base | (count + stop - start + 1) << 5, 1 << 5)
            start = stop
        return hids

    def _next_block(self) -> None:
        block = self._block + 1
        if block > 0xFFFF:
            raise WriterError("a heap holds at most 65,536 blocks")
        self._last = []
        self._items.append(self._last)
        self._block = block
        self._used = header_size(block)

    def set(self, hid: int, data: bytes) -> None:
        """Fill an allocation made earlier with bytes of the same size."""
        items = self._items[hid >> 16]
        index = ((hid >> 5) & 0x7FF) - 1
        if len(items[index]) != len(data):
            raise WriterError(f"heap item 0x{hid:X} is {len(items[index])} bytes, not {len(data)}")
        items[index] = bytes(data)

    def blocks(self) -> list[bytes]:
        """The heap's blocks, headers and page maps included."""
        if len(self._items) == 1:  # most heaps: block 0 alone
            items = self._items[0]
            offsets = list(accumulate(map(len, items), initial=_HNHDR_SIZE))
            end = offsets[-1]
            pagemap = struct.pack(f"<HH{len(offsets)}H", len(items), 0, *offsets)
            level = _FILL_LEVELS[MAX_DATA - (end + (end & 1)) - len(pagemap)]
            head = _HNHDR.pack(end + (end & 1), HN_SIGNATURE, self.client_signature, self.user_root)
            return [b"".join([head, bytes((level, 0, 0, 0)), *items, b"\0" * (end & 1), pagemap])]
        parts = []
        levels = []
        for index, items in enumerate(self._items):
            offsets = list(accumulate(map(len, items), initial=header_size(index)))
            end = offsets[-1]
            pagemap = struct.pack(f"<HH{len(offsets)}H", len(items), 0, *offsets)
            parts.append((end + (end & 1), items, b"\0" * (end & 1), pagemap))
            levels.append(_FILL_LEVELS[MAX_DATA - (end + (end & 1)) - len(pagemap)])
        blocks = []
        for index, (ibhnpm, items, pad, pagemap) in enumerate(parts):
            if index == 0:
                head = _HNHDR.pack(ibhnpm, HN_SIGNATURE, self.client_signature, self.user_root) + _pack_levels(levels[:8], 4)
            elif index % 128 == 8:
                head = _PAGEHDR.pack(ibhnpm) + _pack_levels(levels[index:index + 128], 64)
            else:
                head = _PAGEHDR.pack(ibhnpm)
            blocks.append(b"".join([head, *items, pad, pagemap]))
        return blocks


def _pack_levels(levels: list[int], size: int) -> bytes:
    """``size`` bytes of fill levels, two to a byte, low nibble first; absent blocks read 0."""
    levels = levels + [0] * (2 * size - len(levels))
    return bytes(map(or_, levels[::2], map(lshift, levels[1::2], repeat(4))))


BTH_HEADER_SIZE = 8


def reserve_bth(heap: HeapWriter) -> int:
    """Allocate a BTHHEADER to fill in later: Outlook puts it first (HID 0x20), and
    some readers (pst-extractor) look for it there."""
    return heap.allocate(bytes(BTH_HEADER_SIZE))


def write_bth(heap: HeapWriter, header: int, key_size: int, data_size: int, records: bytes) -> None:
    """Fill the reserved BTHHEADER ``header`` for ``records``: (key, data) packed back to back
    in key order, keys little-endian.

    Leaves hold as many records as fit one heap item; index levels above them
    list each child's first key and HID ([MS-PST] 2.3.2.2-3).
    """
    level = 0
    hid_root = 0
    size = key_size + data_size
    while records:
        per_item = MAX_ITEM // size * size
        if len(records) <= per_item:
            hid_root = heap.allocate(records)
            break
        records = b"".join(
            records[start:start + key_size] + heap.allocate(records[start:start + per_item]).to_bytes(4, "little")
            for start in range(0, len(records), per_item)
        )
        size = key_size + 4
        level += 1
    heap.set(header, struct.pack("<BBBBI", CLIENT_SIG_BTH, key_size, data_size, level, hid_root))
