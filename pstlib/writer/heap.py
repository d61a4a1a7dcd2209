"""Heap-on-node and BTH building ([MS-PST] 2.3.1-2.3.2): allocations packed into 8 KB blocks.

A heap's blocks become the node's data blocks one for one, so each is kept
whole; items go into the last block while they fit (with its page map) and
start a new block otherwise.  Blocks 8, 136, 264, ... carry the 66-byte
HNBITMAPHDR, every other block after the first the 2-byte HNPAGEHDR.
"""

from __future__ import annotations

import struct
from itertools import accumulate

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


class HeapWriter:
    """The allocations of one heap, block by block; ``blocks()`` lays them out."""

    def __init__(self, client_signature: int) -> None:
        self.client_signature = client_signature
        self.user_root = 0
        self._items: list[list[bytes]] = [[]]
        self._last = self._items[0]
        self._block = 0
        """The last block's items and index (``allocate`` runs per value)."""
        self._used = header_size(0)
        """Bytes of the last block's header and items."""

    def allocate(self, data: bytes) -> int:
        """Store ``data`` (bytes, at most 3,580 of them) and return its HID."""
        size = len(data)
        if size > MAX_ITEM:
            raise WriterError(f"a heap item holds at most {MAX_ITEM} bytes, not {size}")
        items = self._last
        count = len(items)
        # the page map grows by one offset per item; keep 1 byte for aligning it
        if self._used + size + 2 * count + 9 > MAX_DATA or count >= MAX_ITEMS_PER_BLOCK:
            block = self._block + 1
            if block > 0xFFFF:
                raise WriterError("a heap holds at most 65,536 blocks")
            items = self._last = []
            self._items.append(items)
            self._block = block
            self._used = header_size(block)
            count = 0
        items.append(data)
        self._used += size
        return self._block << 16 | (count + 1) << 5

    def set(self, hid: int, data: bytes) -> None:
        """Fill an allocation made earlier with bytes of the same size."""
        items = self._items[hid >> 16]
        index = ((hid >> 5) & 0x7FF) - 1
        if len(items[index]) != len(data):
            raise WriterError(f"heap item 0x{hid:X} is {len(items[index])} bytes, not {len(data)}")
        items[index] = bytes(data)

    def blocks(self) -> list[bytes]:
        """The heap's blocks, headers and page maps included."""
        levels = []
        out = []
        for index, items in enumerate(self._items):
            start = header_size(index)
            offsets = list(accumulate(map(len, items), initial=start))
            ibhnpm = offsets[-1] + (offsets[-1] & 1)
            pagemap = struct.pack(f"<HH{len(offsets)}H", len(items), 0, *offsets)
            body = b"".join(items).ljust(ibhnpm - start, b"\0") + pagemap
            levels.append(_fill_level(MAX_DATA - start - len(body)))
            out.append((index, ibhnpm, body))
        blocks = []
        for index, ibhnpm, body in out:
            if index == 0:
                fill = _pack_levels(levels[:8], 4)
                head = struct.pack("<HBBI", ibhnpm, HN_SIGNATURE, self.client_signature, self.user_root) + fill
            elif index % 128 == 8:
                head = struct.pack("<H", ibhnpm) + _pack_levels(levels[index:index + 128], 64)
            else:
                head = struct.pack("<H", ibhnpm)
            blocks.append(head + body)
        return blocks


def _pack_levels(levels: list[int], size: int) -> bytes:
    """``size`` bytes of fill levels, two to a byte, low nibble first; absent blocks read 0."""
    levels = levels[: 2 * size] + [0] * (2 * size - min(len(levels), 2 * size))
    return bytes(low | (high << 4) for low, high in zip(levels[::2], levels[1::2]))


BTH_HEADER_SIZE = 8


def reserve_bth(heap: HeapWriter) -> int:
    """Allocate a BTHHEADER to fill in later: Outlook puts it first (HID 0x20), and
    some readers (pst-extractor) look for it there."""
    return heap.allocate(bytes(BTH_HEADER_SIZE))


def write_bth(heap: HeapWriter, header: int, key_size: int, data_size: int, records: list[tuple[int, bytes]]) -> None:
    """Fill the reserved BTHHEADER ``header`` for (key, data) records (sorted here by key).

    Leaves hold as many records as fit one heap item; index levels above them
    list each child's first key and HID ([MS-PST] 2.3.2.2-3).
    """
    records = sorted(records)
    level = 0
    hid_root = 0
    if records:
        entries = [key.to_bytes(key_size, "little") + data for key, data in records]
        keys = [key for key, _ in records]
        while True:
            per_item = MAX_ITEM // len(entries[0])
            children = []
            for start in range(0, len(entries), per_item):
                children.append((keys[start], heap.allocate(b"".join(entries[start:start + per_item]))))
            if len(children) == 1:
                hid_root = children[0][1]
                break
            entries = [key.to_bytes(key_size, "little") + hid.to_bytes(4, "little") for key, hid in children]
            keys = [key for key, _ in children]
            level += 1
    heap.set(header, struct.pack("<BBBBI", CLIENT_SIG_BTH, key_size, data_size, level, hid_root))
