"""The heap-on-node of [MS-PST] 2.3.1: small allocations inside a node's blocks.

Each data block of the node is one heap page with a page map of allocation
offsets; a HID names an allocation by block index and 1-based item index.
Block 0 starts with the HNHDR, blocks 8, 136, 264, ... with an HNBITMAPHDR,
all others with an HNPAGEHDR; only the ibHnpm field of each is needed here.
"""

from __future__ import annotations

import struct

from construct import Bytes, Int8ul, Int16ul, Int32ul, Struct

from pstlib.errors import HeapError
from pstlib.ndb.node import Node
from pstlib.ndb.schema import struct_format

HN_SIGNATURE = 0xEC

# bClientSig values, [MS-PST] 2.3.1.2.
CLIENT_SIG_TC = 0x7C
CLIENT_SIG_BTH = 0xB5
CLIENT_SIG_PC = 0xBC

# HNHDR, HNPAGEHDR, HNBITMAPHDR and the head of HNPAGEMAP, [MS-PST] 2.3.1.2-5.
HNHDR = Struct(
    "ibHnpm" / Int16ul,
    "bSig" / Int8ul,
    "bClientSig" / Int8ul,
    "hidUserRoot" / Int32ul,
    "rgbFillLevel" / Bytes(4),
)
HNPAGEHDR = Struct("ibHnpm" / Int16ul)
HNBITMAPHDR = Struct("ibHnpm" / Int16ul, "rgbFillLevel" / Bytes(64))
HNPAGEMAP_HEAD = Struct("cAlloc" / Int16ul, "cFree" / Int16ul)

_HNHDR = struct_format(HNHDR)
_PAGEMAP_HEAD = struct_format(HNPAGEMAP_HEAD)
_IBHNPM = struct_format(HNPAGEHDR)
PAGE_CACHE = 64
"""Heap pages a heap keeps decoded at a time."""


def split_hid(hid: int) -> tuple[int, int, int]:
    """(hidType, hidIndex, hidBlockIndex) of a HID, [MS-PST] 2.3.1.1."""
    return hid & 0x1F, (hid >> 5) & 0x7FF, hid >> 16


def is_hid(hnid: int) -> bool:
    """An HNID is a HID when its low 5 bits (the NID type) are zero, [MS-PST] 2.3.3.2."""
    return hnid & 0x1F == 0


class Heap:
    """A node's heap: its client signature, user root, and allocations by HID."""

    def __init__(self, node: Node) -> None:
        self.node = node
        if node.data_block_count == 0:
            raise HeapError("node has no data, so no heap", nid=node.nid)
        first = node.read_data_block(0)
        if len(first) < _HNHDR.size:
            raise HeapError(f"heap block of {len(first)} bytes is too short for an HNHDR", nid=node.nid)
        _, signature, client_signature, user_root, _ = _HNHDR.unpack_from(first)
        if signature != HN_SIGNATURE:
            raise HeapError(
                f"not a heap: bSig 0x{signature:02X}, expected 0xEC", nid=node.nid, bid=node.bid_data
            )
        self.client_signature: int = client_signature
        self.user_root: int = user_root
        self._first = first
        """Block 0, kept for ``_load_page``: nearly every heap is one block."""
        self._pages: dict[int, tuple[bytes, list[int]]] = {}

    def _page(self, block_index: int) -> tuple[bytes, list[int]]:
        """``_load_page`` through a small cache (most heaps are one page)."""
        page = self._pages.get(block_index)
        if page is None:
            if len(self._pages) >= PAGE_CACHE:
                self._pages.clear()
            page = self._pages[block_index] = self._load_page(block_index)
        return page

    def _fail(self, message: str, block_index: int | None = None) -> HeapError:
        """A HeapError naming the node and, where known, the heap block's BID and offset."""
        bid = offset = None
        if block_index is not None and block_index < self.node.data_block_count:
            bid, offset = self.node.data_block_location(block_index)
        return HeapError(message, nid=self.node.nid, bid=bid, offset=offset)

    def _load_page(self, block_index: int) -> tuple[bytes, list[int]]:
        """A heap page's bytes and its rgibAlloc offsets, checked."""
        node = self.node
        if block_index >= node.data_block_count:
            raise self._fail(f"HID names heap block {block_index}, the heap has {node.data_block_count}")
        data = self._first if block_index == 0 else node.read_data_block(block_index)
        if len(data) < 2:
            raise self._fail(f"heap block {block_index} is too short for its header", block_index)
        (map_offset,) = _IBHNPM.unpack_from(data)
        if map_offset + _PAGEMAP_HEAD.size > len(data):
            raise self._fail(
                f"heap block {block_index} puts its page map at {map_offset}, past its {len(data)} bytes",
                block_index,
            )
        count, _ = _PAGEMAP_HEAD.unpack_from(data, map_offset)
        start = map_offset + _PAGEMAP_HEAD.size
        if start + 2 * (count + 1) > len(data):
            raise self._fail(
                f"heap block {block_index} page map claims {count} allocations, more than fit",
                block_index,
            )
        offsets = list(struct.unpack_from(f"<{count + 1}H", data, start))
        if count and (offsets != sorted(offsets) or offsets[-1] > map_offset):
            raise self._fail(
                f"heap block {block_index} page map offsets are out of order or overlap the map",
                block_index,
            )
        return data, offsets

    def item(self, hid: int) -> bytes:
        """The bytes of the allocation ``hid`` names; a zero HID is an empty allocation."""
        if hid == 0:
            return b""
        hid_type, index, block_index = split_hid(hid)
        if hid_type != 0:
            raise self._fail(f"0x{hid:X} is not a HID (type {hid_type})")
        data, offsets = self._page(block_index)
        if not 1 <= index < len(offsets):
            raise self._fail(
                f"HID 0x{hid:X} names allocation {index} of heap block {block_index},"
                f" which has {len(offsets) - 1}",
                block_index,
            )
        return data[offsets[index - 1] : offsets[index]]
