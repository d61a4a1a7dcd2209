"""Find intact B-tree pages and blocks anywhere in a byte range, trees or no trees.

Outlook never rewrites a page or block in place: a change writes new ones
and frees the old, which stay where they were until the space is reused.
Deleted or lost items therefore survive as leaf pages of old B-trees and as
blocks nothing refers to.  This module recognises them by their trailers
alone ([MS-PST] 2.2.2.7.1, 2.2.2.8.1): every aligned position in a large
window is tested at once with numpy (type bytes, signature, size), and only
the survivors are CRC-checked with zlib.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np

from pstlib.errors import BlockNotFound, CRCMismatch, PSTError
from pstlib.ndb.block import BID_RESERVED, BBTEntry, BlockStore, read_block_trailer
from pstlib.ndb.btree import leaf_slack, parse_btpage
from pstlib.ndb.crc import crc32
from pstlib.ndb.format import ANSI, UNICODE4K, Format
from pstlib.ndb.page import PTYPE_BBT, PTYPE_NBT, compute_signatures

WINDOW = 32 << 20
"""Bytes examined at a time: the scan's memory is a small multiple of this."""
PAGE_ALIGNMENT = 512
"""Pages start on 512-byte boundaries ([MS-PST] 2.2.2.7); 4K pages are tried at each too."""


@dataclass(frozen=True)
class CarvedPage:
    """A leaf BBT or NBT page whose trailer and CRC check out."""

    offset: int
    ptype: int
    bid: int
    entries: np.ndarray
    slack: np.ndarray
    """Slots past cEnt, parsed as entries: often ones since removed (``leaf_slack``)."""


@dataclass(frozen=True)
class CarvedBlock:
    """A block whose trailer (size, signature, id) and CRC check out."""

    offset: int
    bid: int
    size: int
    inflated: int
    """Bytes once decoded: ``size`` except for compressed blocks of 4K-page files."""


def _page_trailer_dtype(ndb: Format) -> np.dtype:
    if ndb.name == ANSI:
        names = ["ptype", "ptypeRepeat", "wSig", "bid", "dwCRC"]
        formats = ["u1", "u1", "<u2", "<u4", "<u4"]
    else:
        names = ["ptype", "ptypeRepeat", "wSig", "dwCRC", "bid"]
        formats = ["u1", "u1", "<u2", "<u4", "<u8"]
    return np.dtype({"names": names, "formats": formats, "itemsize": ndb.page_trailer_size})


def _block_trailer_dtype(ndb: Format) -> np.dtype:
    if ndb.name == ANSI:
        return np.dtype([("cb", "<u2"), ("wSig", "<u2"), ("bid", "<u4"), ("dwCRC", "<u4")])
    fields = [("cb", "<u2"), ("wSig", "<u2"), ("dwCRC", "<u4"), ("bid", "<u8")]
    if ndb.name == UNICODE4K:
        fields += [("wUnknown", "<u2"), ("cbInflated", "<u2"), ("dwPadding", "<u4")]
    return np.dtype(fields)


def _trailers(buffer: np.ndarray, stride: int, size: int, dtype: np.dtype) -> np.ndarray:
    """The ``size`` bytes ending each ``stride``-byte unit of ``buffer``, as records."""
    units = buffer[: len(buffer) // stride * stride].reshape(-1, stride)
    return np.ascontiguousarray(units[:, stride - size :]).view(dtype).reshape(-1)


def _pages_in(
    ndb: Format, window: memoryview, base: int, first_end: int, live: AbstractSet[int]
) -> Iterator[CarvedPage]:
    """Leaf B-tree pages ending in ``window`` past ``base + first_end``.  A page at an offset
    in ``live`` (a live tree's leaf, checked already) gives only its slack, unchecked."""
    buffer = np.frombuffer(window, np.uint8)
    trailers = _trailers(buffer, PAGE_ALIGNMENT, ndb.page_trailer_size, _page_trailer_dtype(ndb))
    ends = base + (np.arange(len(trailers), dtype=np.int64) + 1) * PAGE_ALIGNMENT
    starts = ends - ndb.page_size
    ptype = trailers["ptype"]
    keep = (ptype == trailers["ptypeRepeat"]) & ((ptype == PTYPE_BBT) | (ptype == PTYPE_NBT))
    keep &= (starts >= base) & (ends > base + first_end)
    keep &= compute_signatures(starts, trailers["bid"]) == trailers["wSig"]
    found = np.nonzero(keep)[0]
    rows = zip(
        (starts[found] - base).tolist(),
        ptype[found].tolist(),
        trailers["bid"][found].tolist(),
        trailers["dwCRC"][found].tolist(),
    )
    for start, kind, page_bid, stored_crc in rows:
        page = bytes(window[start : start + ndb.page_size])
        if base + start in live:
            slack = leaf_slack(ndb, page, kind)
            yield CarvedPage(base + start, kind, page_bid, slack[:0], slack)
            continue
        if crc32(page[: ndb.page_crc_size]) != stored_crc:
            continue
        try:
            parsed = parse_btpage(ndb, page, base + start, kind, None)
        except PSTError:
            continue
        if parsed.level == 0:
            yield CarvedPage(
                base + start, kind, page_bid, parsed.entries.copy(), leaf_slack(ndb, page, kind)
            )


def _blocks_in(
    ndb: Format, window: memoryview, base: int, first_end: int, known: np.ndarray | None
) -> Iterator[CarvedBlock]:
    """Blocks ending in ``window`` past ``base + first_end``, but none whose BID is in the
    sorted array ``known`` (the live BBT's, whose blocks a caller has already)."""
    unit = ndb.block_alignment
    buffer = np.frombuffer(window, np.uint8)
    trailers = _trailers(buffer, unit, ndb.block_trailer_size, _block_trailer_dtype(ndb))
    ends = base + (np.arange(len(trailers), dtype=np.int64) + 1) * unit
    cb = trailers["cb"].astype(np.int64)
    spans = (cb + ndb.block_trailer_size + unit - 1) // unit * unit
    starts = ends - spans
    bid = trailers["bid"]
    keep = (bid != 0) & (spans <= ndb.max_block_size) & (starts >= base) & (ends > base + first_end)
    keep &= compute_signatures(starts, bid) == trailers["wSig"]
    found = np.nonzero(keep)[0]
    if known is not None and len(known) and len(found):
        wanted = bid[found].astype(np.uint64) & ~np.uint64(BID_RESERVED)
        at = np.minimum(np.searchsorted(known, wanted), len(known) - 1)
        found = found[known[at] != wanted]
    inflated = trailers["cbInflated"] if ndb.name == UNICODE4K else trailers["cb"]
    rows = zip(
        (starts[found] - base).tolist(),
        cb[found].tolist(),
        bid[found].tolist(),
        trailers["dwCRC"][found].tolist(),
        inflated[found].tolist(),
    )
    for start, size, block_bid, stored_crc, full in rows:
        if crc32(window[start : start + size]) == stored_crc:
            yield CarvedBlock(base + start, block_bid, size, full or size)


def carve(
    read: Callable[[int, int], bytes],
    ndb: Format,
    ranges: Sequence[tuple[int, int]],
    progress: Callable[[int], None] | None = None,
    known: np.ndarray | None = None,
    live_pages: AbstractSet[int] = frozenset(),
) -> Iterator[CarvedPage | CarvedBlock]:
    """Every intact leaf B-tree page and block lying wholly inside one of ``ranges``.

    ``read(offset, size)`` reads the file; ``ranges`` are (start, end) byte
    offsets.  Windows overlap by a largest page or block, and each structure is
    reported once, by the window its end falls in past the overlap.
    ``progress`` is called with the bytes of each window done.  Blocks whose
    BIDs are in the sorted ``known`` are left out before their CRC is computed,
    and leaf pages at offsets in ``live_pages`` give their slack alone.
    """
    overlap = max(ndb.max_block_size, ndb.page_size)
    for start, end in ranges:
        start -= start % PAGE_ALIGNMENT
        position, first_end = start, 0
        while position < end:
            stop = min(position + WINDOW, end)
            window = memoryview(read(position, stop - position))
            yield from _pages_in(ndb, window, position, first_end, live_pages)
            yield from _blocks_in(ndb, window, position, first_end, known)
            if progress:
                progress(stop - position - first_end)
            if stop >= end:
                break
            position, first_end = stop - overlap, overlap


class CarvedBlockStore(BlockStore):
    """Blocks from the live BBT, else from those found outside it (carved blocks, old BBT pages).

    Every block is still read through ``BlockStore.read_stored``, so an entry
    whose space was reused since fails its trailer check like any other.  One
    outside the live BBT whose trailer (size, id, signature) checks out but
    whose CRC does not is still handed out, as a last resort, and its BID is
    added to ``damaged``: part of it was overwritten, the rest may be intact.
    """

    def __init__(self, live: BlockStore, found: dict[int, tuple[BBTEntry, int]]) -> None:
        super().__init__(live._read, live.format, live._bbt, live._crypt_method, live._limits)
        self._found = found
        self.damaged: set[int] = set()

    def _lookup_uncached(self, bid: int) -> tuple[BBTEntry, int]:
        try:
            return super()._lookup_uncached(bid)
        except PSTError:
            hit = self._found.get(bid & ~BID_RESERVED)
            if hit is None:
                raise BlockNotFound(
                    f"block 0x{bid:X} is neither in the BBT nor found outside it", bid=bid
                ) from None
            return hit

    def read_stored(self, bid: int) -> tuple[bytes, int, BBTEntry]:
        try:
            return super().read_stored(bid)
        except CRCMismatch:
            entry = self.entry(bid)
            if entry.refcount:  # a live block: the BBT vouches for it, so damage is damage
                raise
        ndb = self.format
        raw = self._read(entry.offset, ndb.block_span(entry.size))
        self.damaged.add(bid & ~BID_RESERVED)
        return raw[: entry.size], read_block_trailer(ndb, raw).get("cbInflated", entry.size), entry
