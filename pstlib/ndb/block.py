"""Blocks of [MS-PST] 2.2.2.8: stored bytes followed by a BLOCKTRAILER.

``BlockStore`` finds a block through the BBT, checks its trailer against the
BBT entry (size, id, signature, CRC) and decodes it: external blocks are
decrypted by the header's bCryptMethod, and in 4K-page files a block whose
stored size differs from its inflated size is a zlib stream.  This reader
assumes a writer compresses first and encrypts second (the corpus has no
4K-page file with an encoding to show the order).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from functools import cache, lru_cache
from struct import Struct as PackedStruct
from typing import NamedTuple

from construct import Int16ul, Int32ul, Int64ul, Struct

from pstlib.errors import BlockError, BlockNotFound, CRCMismatch, LimitExceeded
from pstlib.limits import Limits
from pstlib.ndb import crypt
from pstlib.ndb.btree import BTree, row_fields
from pstlib.ndb.crc import crc32
from pstlib.ndb.format import ANSI, UNICODE4K, Format
from pstlib.ndb.page import PTYPE_BBT, compute_signature
from pstlib.ndb.schema import struct_format

# BLOCKTRAILER, [MS-PST] 2.2.2.8.1.
BLOCK_TRAILER_ANSI = Struct(
    "cb" / Int16ul, "wSig" / Int16ul, "bid" / Int32ul, "dwCRC" / Int32ul
)
BLOCK_TRAILER_UNICODE = Struct(
    "cb" / Int16ul, "wSig" / Int16ul, "dwCRC" / Int32ul, "bid" / Int64ul
)
# 4K-page files: the Unicode trailer, then the inflated size (libpff's notes).
BLOCK_TRAILER_4K = Struct(
    "cb" / Int16ul,
    "wSig" / Int16ul,
    "dwCRC" / Int32ul,
    "bid" / Int64ul,
    "wUnknown" / Int16ul,
    "cbInflated" / Int16ul,
    "dwPadding" / Int32ul,
)

BID_INTERNAL = 0x2
"""The i bit of a BID ([MS-PST] 2.2.2.2): internal blocks are never encoded."""
BID_RESERVED = 0x1
"""The r bit, which readers clear before a BBT lookup."""


def block_trailer(ndb: Format) -> Struct:
    """The BLOCKTRAILER declaration of a format."""
    if ndb.name == ANSI:
        return BLOCK_TRAILER_ANSI
    return BLOCK_TRAILER_4K if ndb.name == UNICODE4K else BLOCK_TRAILER_UNICODE


@cache
def _trailer_reader(ndb: Format) -> tuple[PackedStruct, tuple[str, ...]]:
    declaration = block_trailer(ndb)
    return struct_format(declaration), tuple(sub.name for sub in declaration.subcons)


def is_internal(bid: int) -> bool:
    """Whether a BID names an internal block (data tree or subnode tree)."""
    return bool(bid & BID_INTERNAL)


def read_block_trailer(ndb: Format, raw: bytes) -> dict[str, int]:
    """The BLOCKTRAILER at the end of a block's on-disk span, by spec name."""
    packed, names = _trailer_reader(ndb)
    return dict(zip(names, packed.unpack_from(raw, len(raw) - ndb.block_trailer_size)))


def check_block(ndb: Format, raw: bytes, ib: int, bid: int, cb: int) -> dict[str, int]:
    """Check a block's on-disk span read from ``ib`` against its BBT entry (bid, cb).

    Size, id, signature ([MS-PST] 5.5) and CRC of the first cb bytes must all match.
    """
    trailer = read_block_trailer(ndb, raw)
    stored_cb, stored_bid, stored_sig, stored_crc = (trailer[name] for name in ("cb", "bid", "wSig", "dwCRC"))
    if stored_cb != cb:
        raise BlockError(f"block trailer says {stored_cb} bytes, the BBT {cb}", offset=ib, bid=bid)
    if stored_bid & ~BID_RESERVED != bid & ~BID_RESERVED:
        raise BlockError(f"block trailer names bid 0x{stored_bid:X}", offset=ib, bid=bid)
    signature = compute_signature(ib, stored_bid)
    if stored_sig != signature:
        raise BlockError(f"block wSig is 0x{stored_sig:04X}, expected 0x{signature:04X}", offset=ib, bid=bid)
    actual = crc32(memoryview(raw)[:cb])
    if actual != stored_crc:
        raise CRCMismatch(
            f"block dwCRC is 0x{stored_crc:08X}, bytes give 0x{actual:08X}", offset=ib, bid=bid
        )
    return trailer


class BBTEntry(NamedTuple):
    """A leaf BBT entry: where a block lives and how many nodes share it."""

    bid: int
    offset: int
    size: int
    refcount: int


ReadFn = Callable[[int, int], bytes]


class BlockStore:
    """Reads, checks and decodes blocks by BID, with an LRU cache of decoded blocks."""

    def __init__(
        self,
        read: ReadFn,
        ndb: Format,
        bbt: BTree,
        crypt_method: int,
        limits: Limits,
        cache_size: int = 1024,
    ) -> None:
        self._read = read
        self._ndb = ndb
        self._bbt = bbt
        self._crypt_method = crypt_method
        self._limits = limits
        self.read = lru_cache(maxsize=cache_size)(self._read_uncached)
        self._trailer, names = _trailer_reader(ndb)
        self._trailer_at = ndb.block_trailer_size
        # where each BLOCKTRAILER field sits in what ``self._trailer`` unpacks
        self._cb, self._sig, self._crc, self._bid = (names.index(name) for name in ("cb", "wSig", "dwCRC", "bid"))
        self._inflated = names.index("cbInflated") if "cbInflated" in names else None
        self._lookup = lru_cache(maxsize=4 * cache_size)(self._lookup_uncached)
        # where cRef and the inflated size sit in the BBT's rows (``row_fields``)
        fields = row_fields(ndb, PTYPE_BBT)
        self._row_ref = fields.index("cRef")
        self._row_inflated = fields.index("cbInflated" if "cbInflated" in fields else "cb")

    @property
    def format(self) -> Format:
        return self._ndb

    def clear_cache(self) -> None:
        """Drop cached blocks and BBT entries (decoded blocks can be megabytes)."""
        self.read.cache_clear()
        self._lookup.cache_clear()

    def _lookup_uncached(self, bid: int) -> tuple[BBTEntry, int]:
        """The BBT entry of a block and its decoded size (``cbInflated`` in 4K-page files)."""
        found = self._bbt.lookup_row(bid & ~BID_RESERVED)
        if found is None:
            raise BlockNotFound(f"block 0x{bid:X} is not in the BBT", bid=bid)
        return BBTEntry(found[0], found[1], found[2], found[self._row_ref]), found[self._row_inflated]

    def entry(self, bid: int) -> BBTEntry:
        """The BBT entry of a block; ``BlockNotFound`` if there is none."""
        return self._lookup(bid)[0]

    def size(self, bid: int) -> int:
        """Bytes the block holds once decoded (its inflated size in 4K-page files)."""
        return self._lookup(bid)[1]

    def read_stored(self, bid: int) -> tuple[bytes, int, BBTEntry]:
        """The block's stored (still encoded) bytes, the size they decode to, and its BBT
        entry, once the trailer checks out (``check_block``)."""
        entry, inflated = self._lookup(bid)
        size, offset = entry.size, entry.offset
        span = self._ndb.block_span(size)
        if span > self._ndb.max_block_size:
            raise BlockError(
                f"BBT gives block 0x{bid:X} a size of {size} bytes, over the format's maximum",
                offset=offset,
                bid=bid,
            )
        raw = self._read(offset, span)
        fields = self._trailer.unpack_from(raw, span - self._trailer_at)
        stored_bid = fields[self._bid]
        value = (offset ^ stored_bid) & 0xFFFFFFFF  # ComputeSig, [MS-PST] 5.5
        if (
            fields[self._cb] != size
            or (stored_bid ^ entry.bid) & ~BID_RESERVED
            or fields[self._sig] != ((value >> 16) ^ value) & 0xFFFF
            or crc32(memoryview(raw)[:size]) != fields[self._crc]
        ):
            check_block(self._ndb, raw, offset, entry.bid, size)  # raises, naming what is wrong
        if self._inflated is not None and fields[self._inflated] != inflated:
            raise BlockError(
                f"block trailer says it inflates to {fields[self._inflated]} bytes, the BBT {inflated}",
                offset=offset,
                bid=bid,
            )
        return raw[:size], inflated, entry

    def _read_uncached(self, bid: int) -> bytes:
        data, inflated, entry = self.read_stored(bid)
        if self._crypt_method and not bid & BID_INTERNAL:  # most files: no call for no encoding
            data = crypt.decode(data, self._crypt_method, entry.bid)
        if inflated != entry.size:
            data = self._inflate(data, inflated, entry)
        return data

    def _inflate(self, data: bytes, inflated: int, entry: BBTEntry) -> bytes:
        if inflated > self._limits.max_inflated_block_size:
            raise LimitExceeded(
                f"block inflates to {inflated} bytes", offset=entry.offset, bid=entry.bid
            )
        inflater = zlib.decompressobj()
        try:
            out = inflater.decompress(data, inflated + 1)
        except zlib.error as exc:
            raise BlockError(
                f"compressed block does not inflate: {exc}", offset=entry.offset, bid=entry.bid
            ) from None
        if len(out) != inflated or not inflater.eof:
            raise BlockError(
                f"compressed block inflates to {len(out)} bytes, trailer says {inflated}",
                offset=entry.offset,
                bid=entry.bid,
            )
        return out
