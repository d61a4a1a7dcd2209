"""The file HEADER and ROOT of [MS-PST] 2.2.2.6 and 2.2.2.5.

One construct declaration per width: ANSI (wVer 14/15) and Unicode, which the
4K-page OSTs (wVer 36/37) share.  ``read_header`` validates what a reader
relies on (magic, sentinel, versions, encoding, CRCs) and returns a ``Header``.
"""

from __future__ import annotations

from dataclasses import dataclass

from construct import Array, Bytes, Int8ul, Int16ul, Int32ul, Int64ul, Struct

from pstlib.errors import CRCMismatch, HeaderError, UnsupportedFormat
from pstlib.ndb.crc import crc32
from pstlib.ndb.crypt import CRYPT_NAMES
from pstlib.ndb.format import ANSI, Format, format_for_version
from pstlib.ndb.schema import parse

MAGIC = b"!BDN"
CLIENT_MAGIC = {b"SM": "pst", b"SO": "ost"}
SENTINEL = 0x80

CRC_PARTIAL_START = 8
CRC_PARTIAL_SIZE = 471
CRC_FULL_SIZE = 516

# BREF, [MS-PST] 2.2.2.4.
BREF_ANSI = Struct("bid" / Int32ul, "ib" / Int32ul)
BREF_UNICODE = Struct("bid" / Int64ul, "ib" / Int64ul)

# ROOT, [MS-PST] 2.2.2.5.
ROOT_ANSI = Struct(
    "dwReserved" / Int32ul,
    "ibFileEof" / Int32ul,
    "ibAMapLast" / Int32ul,
    "cbAMapFree" / Int32ul,
    "cbPMapFree" / Int32ul,
    "BREFNBT" / BREF_ANSI,
    "BREFBBT" / BREF_ANSI,
    "fAMapValid" / Int8ul,
    "bReserved" / Int8ul,
    "wReserved" / Int16ul,
)
ROOT_UNICODE = Struct(
    "dwReserved" / Int32ul,
    "ibFileEof" / Int64ul,
    "ibAMapLast" / Int64ul,
    "cbAMapFree" / Int64ul,
    "cbPMapFree" / Int64ul,
    "BREFNBT" / BREF_UNICODE,
    "BREFBBT" / BREF_UNICODE,
    "fAMapValid" / Int8ul,
    "bReserved" / Int8ul,
    "wReserved" / Int16ul,
)

_PREFIX = (
    "dwMagic" / Bytes(4),
    "dwCRCPartial" / Int32ul,
    "wMagicClient" / Bytes(2),
    "wVer" / Int16ul,
    "wVerClient" / Int16ul,
    "bPlatformCreate" / Int8ul,
    "bPlatformAccess" / Int8ul,
    "dwReserved1" / Int32ul,
    "dwReserved2" / Int32ul,
)

# HEADER, [MS-PST] 2.2.2.6: ANSI (512 bytes).
HEADER_ANSI = Struct(
    *_PREFIX,
    "bidNextB" / Int32ul,
    "bidNextP" / Int32ul,
    "dwUnique" / Int32ul,
    "rgnid" / Array(32, Int32ul),
    "root" / ROOT_ANSI,
    "rgbFM" / Bytes(128),
    "rgbFP" / Bytes(128),
    "bSentinel" / Int8ul,
    "bCryptMethod" / Int8ul,
    "rgbReserved" / Bytes(2),
    "ullReserved" / Int64ul,
    "dwReserved" / Int32ul,
    "rgbReserved2" / Bytes(3),
    "bReserved" / Int8ul,
    "rgbReserved3" / Bytes(32),
)

# HEADER, [MS-PST] 2.2.2.6: Unicode (564 bytes), also used by 4K-page files.
HEADER_UNICODE = Struct(
    *_PREFIX,
    "bidUnused" / Int64ul,
    "bidNextP" / Int64ul,
    "dwUnique" / Int32ul,
    "rgnid" / Array(32, Int32ul),
    "qwUnused" / Int64ul,
    "root" / ROOT_UNICODE,
    "dwAlign" / Int32ul,
    "rgbFM" / Bytes(128),
    "rgbFP" / Bytes(128),
    "bSentinel" / Int8ul,
    "bCryptMethod" / Int8ul,
    "rgbReserved" / Bytes(2),
    "bidNextB" / Int64ul,
    "dwCRCFull" / Int32ul,
    "rgbReserved2" / Bytes(3),
    "bReserved" / Int8ul,
    "rgbReserved3" / Bytes(32),
)

HEADER_READ_SIZE = HEADER_UNICODE.sizeof()
_PROBE = Struct(*_PREFIX)


@dataclass(frozen=True)
class BRef:
    """A BREF: a block or page id and its absolute file offset."""

    bid: int
    ib: int


@dataclass(frozen=True)
class Root:
    """The ROOT record: file size, allocation-map state and the two B-tree roots."""

    file_eof: int
    amap_last: int
    amap_free: int
    pmap_free: int
    nbt: BRef
    bbt: BRef
    amap_valid: int


@dataclass(frozen=True)
class Header:
    """What a reader needs from the HEADER; ``raw`` keeps every parsed field."""

    format: str
    """"ansi", "unicode" or "unicode4k"."""
    kind: str
    """"pst" or "ost"."""
    crypt: str
    """"none", "permute" or "cyclic"."""
    version: int
    client_version: int
    crypt_method: int
    root: Root
    next_bid: int
    next_page: int
    unique: int
    nid_high_water: tuple[int, ...]
    crc_partial: int
    crc_full: int | None
    ndb: Format
    raw: object

    @property
    def size(self) -> int:
        """Bytes of the header structure in this format."""
        return (HEADER_ANSI if self.format == ANSI else HEADER_UNICODE).sizeof()


def read_header(data: bytes, *, verify_crc: bool = True) -> Header:
    """Parse and validate the first bytes of a file as a PST/OST header."""
    if len(data) < HEADER_ANSI.sizeof():
        raise HeaderError(f"file is {len(data)} bytes, too short for a PST header", offset=0)
    probe = parse(_PROBE, data, offset=0, error=HeaderError, what="header")
    if probe.dwMagic != MAGIC:
        raise HeaderError(f"not a PST/OST file: magic {probe.dwMagic!r}, expected {MAGIC!r}", offset=0)
    kind = CLIENT_MAGIC.get(probe.wMagicClient)
    if kind is None:
        raise UnsupportedFormat(f"unsupported client magic {probe.wMagicClient!r}", offset=8)
    ndb = format_for_version(probe.wVer)
    if ndb is None:
        raise UnsupportedFormat(f"unsupported format version wVer={probe.wVer}", offset=10)
    declaration = HEADER_ANSI if ndb.name == ANSI else HEADER_UNICODE
    if len(data) < declaration.sizeof():
        raise HeaderError(f"file is {len(data)} bytes, too short for a {ndb.name} header", offset=0)
    raw = parse(declaration, data, offset=0, error=HeaderError, what="header")
    crc_full = None if ndb.name == ANSI else raw.dwCRCFull
    if verify_crc:
        _check_crcs(data, raw.dwCRCPartial, crc_full)
    sentinel_offset = 460 if ndb.name == ANSI else 512
    if raw.bSentinel != SENTINEL:
        raise HeaderError(f"bSentinel is 0x{raw.bSentinel:02X}, expected 0x80", offset=sentinel_offset)
    crypt = CRYPT_NAMES.get(raw.bCryptMethod)
    if crypt is None:
        raise UnsupportedFormat(
            f"unsupported bCryptMethod 0x{raw.bCryptMethod:02X}", offset=sentinel_offset + 1
        )
    root = raw.root
    return Header(
        format=ndb.name,
        kind=kind,
        crypt=crypt,
        version=raw.wVer,
        client_version=raw.wVerClient,
        crypt_method=raw.bCryptMethod,
        root=Root(
            file_eof=root.ibFileEof,
            amap_last=root.ibAMapLast,
            amap_free=root.cbAMapFree,
            pmap_free=root.cbPMapFree,
            nbt=BRef(root.BREFNBT.bid, root.BREFNBT.ib),
            bbt=BRef(root.BREFBBT.bid, root.BREFBBT.ib),
            amap_valid=root.fAMapValid,
        ),
        next_bid=raw.bidNextB,
        next_page=raw.bidNextP,
        unique=raw.dwUnique,
        nid_high_water=tuple(raw.rgnid),
        crc_partial=raw.dwCRCPartial,
        crc_full=crc_full,
        ndb=ndb,
        raw=raw,
    )


def _check_crcs(data: bytes, crc_partial: int, crc_full: int | None) -> None:
    start = CRC_PARTIAL_START
    actual = crc32(data[start:start + CRC_PARTIAL_SIZE])
    if actual != crc_partial:
        raise CRCMismatch(
            f"header dwCRCPartial is 0x{crc_partial:08X}, bytes give 0x{actual:08X}", offset=4
        )
    if crc_full is not None:
        actual = crc32(data[start:start + CRC_FULL_SIZE])
        if actual != crc_full:
            raise CRCMismatch(
                f"header dwCRCFull is 0x{crc_full:08X}, bytes give 0x{actual:08X}", offset=524
            )
