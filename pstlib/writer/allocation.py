"""The allocation map pages of a new Unicode PST, and the space around them.

``ndb.maps`` says where map pages sit; the writer never puts a block or page
across one, and fills them in at the end: AMaps from what was allocated,
FMaps with each AMap's longest free run, PMaps and FPMaps (deprecated)
all-allocated, and the density list at 0x4200.
"""

from __future__ import annotations

import numpy as np

from pstlib.ndb import maps
from pstlib.ndb.crc import crc32
from pstlib.ndb.format import FORMATS, UNICODE
from pstlib.ndb.maps import DLIST_OFFSET
from pstlib.ndb.page import PAGE_TRAILER_UNICODE, PTYPE_DL, compute_signature
from pstlib.ndb.schema import struct_format

NDB = FORMATS[UNICODE]
PAGE = NDB.page_size
UNIT = maps.AMAP_UNIT[UNICODE]
MAP_BYTES = NDB.page_crc_size
"""Bytes of map data in an AMap, PMap, FMap or FPMap page (496)."""
INTERVAL = maps.interval_size(NDB)
FIRST_AMAP = maps.FIRST_AMAP[UNICODE]
DFL_BACKFILL_COMPLETE = 0x01
_PAGE_TRAILER = struct_format(PAGE_TRAILER_UNICODE)
"""PAGETRAILER packed by struct: a 1 GB store has some 4,000 map pages to write."""


def interval_start(k: int) -> int:
    """File offset of interval ``k``'s AMap page."""
    return maps.interval_start(NDB, k)


def map_pages(k: int) -> list[tuple[int, int]]:
    """(offset, ptype) of the map pages at the head of interval ``k``."""
    return maps.map_pages(NDB, k)


def first_free(k: int) -> int:
    """The first offset of interval ``k`` after its map pages."""
    return interval_start(k) + len(map_pages(k)) * PAGE


def map_page(ptype: int, body: bytes, offset: int) -> bytes:
    """A whole map page: ``body`` padded to 496 bytes, and a trailer whose BID is its offset.

    Map pages carry wSig 0 ([MS-PST] 2.2.2.7.1) and their own file offset as BID.
    """
    data = body.ljust(MAP_BYTES, b"\0")
    return data + _PAGE_TRAILER.pack(ptype, ptype, 0, crc32(data), offset)


def amap_bits(starts: np.ndarray, ends: np.ndarray, first: int, count: int) -> np.ndarray:
    """For intervals ``first`` to ``first + count``, one row of 3,968 bits each: set
    where any [start, end) range lies (the ranges all lie inside those intervals)."""
    units = count * MAP_BYTES * 8
    edges = np.zeros(units + 1, np.int32)
    origin = interval_start(first)
    np.add.at(edges, (starts - origin) // UNIT, 1)
    np.add.at(edges, -(-(ends - origin) // UNIT), -1)
    np.cumsum(edges, out=edges)
    return (edges[:-1] > 0).reshape(count, MAP_BYTES * 8)


def longest_free_runs(bits: np.ndarray) -> np.ndarray:
    """Per interval (row), the longest run of free AMap bits, capped at 255 (an FMap byte).

    The rows are laid end to end with an allocated bit between them, so one pass of
    numpy finds every run of every row (a 1 GB store has some 4,000 rows).
    """
    rows, width = bits.shape
    free = np.zeros((rows, width + 1), np.int8)
    free[:, :width] = ~bits
    change = np.flatnonzero(np.diff(free.ravel(), prepend=0))
    starts, ends = change[::2], change[1::2]
    out = np.zeros(rows, np.int64)
    np.maximum.at(out, starts // (width + 1), ends - starts)
    return np.minimum(out, 255)


def dlist_page(free_slots: np.ndarray, bid: int) -> bytes:
    """The density list at 0x4200 ([MS-PST] 2.2.2.7.4): AMaps from emptiest to fullest.

    Each DLISTPAGEENT packs the AMap's index (low 20 bits) and its free
    512-byte page slots (high 12 bits).  The page holds 119 entries; the rest
    are left out, which the spec allows (the list is a hint to the allocator).
    """
    order = np.argsort(-free_slots, kind="stable")[:(MAP_BYTES - 20) // 4]
    entries = order.astype(np.uint32) | (np.minimum(free_slots[order], 0xFFF).astype(np.uint32) << 20)
    current = int(order[0]) if len(order) else 0
    head = bytes([DFL_BACKFILL_COMPLETE, len(entries), 0, 0]) + current.to_bytes(4, "little")
    data = (head + entries.astype("<u4").tobytes()).ljust(MAP_BYTES, b"\0")
    trailer = PAGE_TRAILER_UNICODE.build(
        {
            "ptype": PTYPE_DL,
            "ptypeRepeat": PTYPE_DL,
            "wSig": compute_signature(DLIST_OFFSET, bid),
            "dwCRC": crc32(data),
            "bid": bid,
        }
    )
    return data + trailer
