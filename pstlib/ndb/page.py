"""Pages of [MS-PST] 2.2.2.7: fixed-size units with a PAGETRAILER.

512 bytes in ANSI and Unicode files, 4096 in 4K-page OSTs.  A page is only
trusted once its trailer's type, id, signature and CRC all match.
"""

from __future__ import annotations

from functools import cache
from struct import Struct as PackedStruct

import numpy as np
from construct import Bytes, Int8ul, Int16ul, Int32ul, Int64ul, Struct

from pstlib.errors import CRCMismatch, PageError
from pstlib.ndb.crc import crc32
from pstlib.ndb.format import ANSI, UNICODE4K, Format
from pstlib.ndb.schema import struct_format

PTYPE_BBT = 0x80
PTYPE_NBT = 0x81
PTYPE_FMAP = 0x82
PTYPE_PMAP = 0x83
PTYPE_AMAP = 0x84
PTYPE_FPMAP = 0x85
PTYPE_DL = 0x86

PAGE_TYPE_NAMES = {
    PTYPE_BBT: "BBT",
    PTYPE_NBT: "NBT",
    PTYPE_FMAP: "FMap",
    PTYPE_PMAP: "PMap",
    PTYPE_AMAP: "AMap",
    PTYPE_FPMAP: "FPMap",
    PTYPE_DL: "DList",
}

# PAGETRAILER, [MS-PST] 2.2.2.7.1.
PAGE_TRAILER_ANSI = Struct(
    "ptype" / Int8ul,
    "ptypeRepeat" / Int8ul,
    "wSig" / Int16ul,
    "bid" / Int32ul,
    "dwCRC" / Int32ul,
)
PAGE_TRAILER_UNICODE = Struct(
    "ptype" / Int8ul,
    "ptypeRepeat" / Int8ul,
    "wSig" / Int16ul,
    "dwCRC" / Int32ul,
    "bid" / Int64ul,
)
# 4K-page files append 8 bytes of unknown use (libpff's notes).
PAGE_TRAILER_4K = Struct(
    "ptype" / Int8ul,
    "ptypeRepeat" / Int8ul,
    "wSig" / Int16ul,
    "dwCRC" / Int32ul,
    "bid" / Int64ul,
    "qwUnknown" / Bytes(8),
)


def page_trailer(ndb: Format) -> Struct:
    """The PAGETRAILER declaration of a format."""
    if ndb.name == ANSI:
        return PAGE_TRAILER_ANSI
    return PAGE_TRAILER_4K if ndb.name == UNICODE4K else PAGE_TRAILER_UNICODE


@cache
def _trailer_reader(ndb: Format) -> tuple[PackedStruct, tuple[str, ...]]:
    declaration = page_trailer(ndb)
    names = tuple(sub.name for sub in declaration.subcons)
    return struct_format(declaration), names


def compute_signature(ib: int, bid: int) -> int:
    """ComputeSig of [MS-PST] 5.5: the wSig of pages and blocks."""
    value = (ib ^ bid) & 0xFFFFFFFF
    return ((value >> 16) ^ value) & 0xFFFF


def compute_signatures(ib: np.ndarray, bid: np.ndarray) -> np.ndarray:
    """``compute_signature`` over arrays of offsets and ids (scans and checks of many at once)."""
    value = (ib.astype(np.uint64) ^ bid.astype(np.uint64)) & np.uint64(0xFFFFFFFF)
    return ((value >> np.uint64(16)) ^ value) & np.uint64(0xFFFF)


def read_trailer(ndb: Format, page: bytes) -> dict[str, int]:
    """The trailer fields of a whole page, by spec name."""
    packed, names = _trailer_reader(ndb)
    return dict(zip(names, packed.unpack_from(page, ndb.page_size - ndb.page_trailer_size)))


def check_page(ndb: Format, page: bytes, ib: int, ptype: int, bid: int | None) -> dict[str, int]:
    """Validate a page read from ``ib``: type, id, signature and CRC.

    ``bid`` is the page id the referrer expects, or None where nothing names it.
    """
    trailer = read_trailer(ndb, page)
    name = PAGE_TYPE_NAMES.get(ptype, f"0x{ptype:02X}")
    if trailer["ptype"] != ptype or trailer["ptypeRepeat"] != ptype:
        raise PageError(
            f"expected a {name} page, trailer says ptype 0x{trailer['ptype']:02X}"
            f"/0x{trailer['ptypeRepeat']:02X}",
            offset=ib,
            bid=bid,
        )
    if bid is not None and trailer["bid"] != bid:
        raise PageError(
            f"{name} page trailer names bid 0x{trailer['bid']:X}, its referrer 0x{bid:X}",
            offset=ib,
            bid=bid,
        )
    if ptype in (PTYPE_BBT, PTYPE_NBT):
        expected = compute_signature(ib, trailer["bid"])
        if trailer["wSig"] != expected:
            raise PageError(
                f"{name} page wSig is 0x{trailer['wSig']:04X}, expected 0x{expected:04X}",
                offset=ib,
                bid=trailer["bid"],
            )
    actual = crc32(memoryview(page)[: ndb.page_crc_size])
    if actual != trailer["dwCRC"]:
        raise CRCMismatch(
            f"{name} page dwCRC is 0x{trailer['dwCRC']:08X}, bytes give 0x{actual:08X}",
            offset=ib,
            bid=trailer["bid"],
        )
    return trailer
