"""Where the allocation map pages sit ([MS-PST] 2.2.2.7.2-2.2.2.7.6).

After 0x4400 a 512-byte-page file is a run of intervals of 496 * 8 * 64 =
253,952 bytes, each opening with its AMap page; every 8th interval also
holds a PMap, every 496th from the 128th an FMap, and every 31,744th from
the 8,192nd an FPMap, in that order right after the AMap.  The header's
rgbFM and rgbFP stand in for the FMaps and FPMaps before those.  4K-page
files (libpff's notes) keep only AMaps, at 0x22000 every 4072 * 8 * 512 bytes.
"""

from __future__ import annotations

from pstlib.ndb.format import ANSI, UNICODE, UNICODE4K, Format
from pstlib.ndb.page import PTYPE_AMAP, PTYPE_FMAP, PTYPE_FPMAP, PTYPE_PMAP

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
