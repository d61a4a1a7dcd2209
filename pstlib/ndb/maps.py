"""Where the allocation map pages sit ([MS-PST] 2.2.2.7.2-2.2.2.7.6).

After 0x4400 a 512-byte-page file is a run of intervals of 496 * 8 * 64 =
253,952 bytes, each opening with its AMap page; every 8th interval also
holds a PMap, every 496th from the 128th an FMap, and every 31,744th from
the 8,192nd an FPMap, in that order right after the AMap.  The header's
rgbFM and rgbFP stand in for the FMaps and FPMaps before those.  4K-page
files (libpff's notes) keep only AMaps, at 0x22000 every 4072 * 8 * 512 bytes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pstlib.errors import PSTError
from pstlib.ndb.format import ANSI, UNICODE, UNICODE4K, Format
from pstlib.ndb.page import PTYPE_AMAP, PTYPE_FMAP, PTYPE_FPMAP, PTYPE_PMAP, check_page

FIRST_AMAP = {ANSI: 0x4400, UNICODE: 0x4400, UNICODE4K: 0x22000}
AMAP_UNIT = {ANSI: 64, UNICODE: 64, UNICODE4K: 512}
"""Bytes one AMap bit stands for."""
AMAP_PADDING = {ANSI: 4, UNICODE: 0, UNICODE4K: 0}
"""Bytes before the bitmap in an AMap page (ANSI's dwPadding)."""
DLIST_OFFSET = 0x4200
PMAP_EVERY = 8
FMAP_FIRST, FMAP_EVERY = 128, 496
FPMAP_FIRST, FPMAP_EVERY = 128 * 8 * 8, 496 * 8 * 8


def map_bits(ndb: Format) -> int:
    """Bits of one AMap page."""
    return (ndb.page_crc_size - AMAP_PADDING[ndb.name]) * 8


def interval_size(ndb: Format) -> int:
    """Bytes one AMap covers, itself included."""
    return map_bits(ndb) * AMAP_UNIT[ndb.name]


def interval_start(ndb: Format, k: int) -> int:
    """File offset of interval ``k``'s AMap page."""
    return FIRST_AMAP[ndb.name] + k * interval_size(ndb)


def map_pages(ndb: Format, k: int) -> list[tuple[int, int]]:
    """(offset, ptype) of the map pages opening interval ``k``, in file order."""
    kinds = [PTYPE_AMAP]
    if ndb.name != UNICODE4K:
        if k % PMAP_EVERY == 0:
            kinds.append(PTYPE_PMAP)
        if k >= FMAP_FIRST and (k - FMAP_FIRST) % FMAP_EVERY == 0:
            kinds.append(PTYPE_FMAP)
        if k >= FPMAP_FIRST and (k - FPMAP_FIRST) % FPMAP_EVERY == 0:
            kinds.append(PTYPE_FPMAP)
    start = interval_start(ndb, k)
    return [(start + i * ndb.page_size, ptype) for i, ptype in enumerate(kinds)]


def free_ranges(read: Callable[[int, int], bytes], ndb: Format, eof: int) -> list[tuple[int, int]] | None:
    """(start, end) byte ranges the AMaps mark free, up to ``eof``; None if any AMap is unreadable.

    An AMap whose trailer or CRC fails cannot say what is free, so callers
    then look at the whole file instead.
    """
    ranges: list[tuple[int, int]] = []
    for k in range(_intervals(ndb, eof)):
        start = interval_start(ndb, k)
        bits = _map_bits(read, ndb, start, PTYPE_AMAP)
        if bits is None:
            return None
        _add_runs(ranges, start, bits[: max(0, (eof - start) // AMAP_UNIT[ndb.name])], AMAP_UNIT[ndb.name])
    return ranges


def free_pages(read: Callable[[int, int], bytes], ndb: Format, eof: int) -> list[tuple[int, int]]:
    """(start, end) byte ranges of the pages the PMaps mark free, up to ``eof``.

    A PMap bit stands for a 512-byte page over eight AMap intervals; 0 means a
    page reserved for pages but not in use ([MS-PST] 2.2.2.7.3), which is where
    B-tree pages that have since been replaced are.  PMaps are deprecated, so
    an unreadable one just adds nothing; 4K-page files have none.
    """
    ranges: list[tuple[int, int]] = []
    if ndb.name == UNICODE4K:
        return ranges
    for k in range(0, _intervals(ndb, eof), PMAP_EVERY):
        start = interval_start(ndb, k)
        bits = _map_bits(read, ndb, start + ndb.page_size, PTYPE_PMAP)
        if bits is not None:
            _add_runs(ranges, start, bits[: max(0, (eof - start) // ndb.page_size)], ndb.page_size)
    return ranges


def _intervals(ndb: Format, eof: int) -> int:
    return (max(eof - FIRST_AMAP[ndb.name], 0) + interval_size(ndb) - 1) // interval_size(ndb)


def _map_bits(read: Callable[[int, int], bytes], ndb: Format, offset: int, ptype: int) -> np.ndarray | None:
    """A map page's bits (most significant first), or None if its trailer or CRC fails."""
    try:
        page = read(offset, ndb.page_size)
        check_page(ndb, page, offset, ptype, None)
    except PSTError:
        return None
    padding = AMAP_PADDING[ndb.name]
    return np.unpackbits(np.frombuffer(page, np.uint8, ndb.page_crc_size - padding, padding))


def _add_runs(ranges: list[tuple[int, int]], start: int, bits: np.ndarray, unit: int) -> None:
    """Append the runs of 0 bits as byte ranges, joining one that touches the last."""
    edges = np.diff(np.concatenate(([1], bits, [1])).astype(np.int8))  # -1 where a run starts, +1 past it
    for first, last in zip(np.nonzero(edges == -1)[0].tolist(), np.nonzero(edges == 1)[0].tolist()):
        begin, end = start + first * unit, start + last * unit
        if ranges and ranges[-1][1] == begin:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((begin, end))
