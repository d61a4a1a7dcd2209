"""Test helper: a copy of a PST/OST file with its data blocks stored in another encoding.

The corpus has few files per encoding and format (no ANSI or OST file is
cyclic, no 4K file has any encoding at all), so tests make the missing
variants from real files: every external block is decoded, re-encoded and its
trailer CRC recomputed, then the header's bCryptMethod (and optionally wVer)
and CRCs are rewritten.  Header offsets are the spec's, not read from pstlib's
declarations, so a wrong declaration cannot make the helper agree with it.
"""

from __future__ import annotations

import struct

import pstlib
from pstlib.ndb import crypt as ndb_crypt
from pstlib.ndb.block import is_internal
from tests.mutate import fix_block_crc, fix_header_crcs

CRYPT_METHODS = {name: code for code, name in ndb_crypt.CRYPT_NAMES.items()}

# [MS-PST] 2.2.2.6 HEADER: wVer, and bCryptMethod right after bSentinel.
WVER_OFFSET = 10
CRYPT_METHOD_OFFSET = {"ansi": 461, "unicode": 513, "unicode4k": 513}


def reencode(data: bytes, crypt: str, wver: int | None = None) -> bytes:
    """``data`` (a whole file) with external blocks stored as ``crypt``; ``wver`` rewrites wVer.

    ``crypt`` is "none", "permute" or "cyclic".  ``data`` itself is never modified.
    """
    target = CRYPT_METHODS[crypt]
    pst = pstlib.open(data)
    ndb = pst.header.ndb
    source = pst.header.crypt_method
    out = bytearray(data)
    for block in pst.blocks():
        if is_internal(block.bid):
            continue
        stored, _, entry = pst.block_store.read_stored(block.bid)
        plain = ndb_crypt.decode(stored, source, entry.bid)
        out[entry.offset:entry.offset + entry.size] = ndb_crypt.encode(plain, target, entry.bid)
        fix_block_crc(out, ndb, entry.offset, entry.size)
    out[CRYPT_METHOD_OFFSET[ndb.name]] = target
    if wver is not None:
        struct.pack_into("<H", out, WVER_OFFSET, wver)
    return bytes(fix_header_crcs(out))
