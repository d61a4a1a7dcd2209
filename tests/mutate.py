"""Helpers that damage or repair PST bytes in memory for the error tests."""

from __future__ import annotations

import struct

from pstlib.ndb.crc import crc32
from pstlib.ndb.format import ANSI, Format
from pstlib.ndb.header import read_header


def fix_header_crcs(data: bytearray) -> bytearray:
    """Recompute dwCRCPartial, and dwCRCFull where the format has it."""
    struct.pack_into("<I", data, 4, crc32(data[8:8 + 471]))
    if read_header(bytes(data[:564]), verify_crc=False).format != ANSI:
        struct.pack_into("<I", data, 524, crc32(data[8:8 + 516]))
    return data


def fix_page_crc(data: bytearray, ndb: Format, ib: int) -> bytearray:
    """Recompute a page's trailer CRC after its content was edited."""
    crc_offset = ib + ndb.page_crc_size + (8 if ndb.name == ANSI else 4)
    struct.pack_into("<I", data, crc_offset, crc32(data[ib:ib + ndb.page_crc_size]))
    return data


def fix_block_crc(data: bytearray, ndb: Format, offset: int, cb: int) -> bytearray:
    """Recompute a block's trailer CRC after its first ``cb`` bytes were edited."""
    trailer = offset + ndb.block_span(cb) - ndb.block_trailer_size
    crc_offset = trailer + (8 if ndb.name == ANSI else 4)
    struct.pack_into("<I", data, crc_offset, crc32(data[offset:offset + cb]))
    return data
