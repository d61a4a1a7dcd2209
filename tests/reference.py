"""Slow, obviously-correct reference implementations to check pstlib's fast paths.

Each function is a line-by-line transcription of the [MS-PST] pseudo-code
(5.1 CryptPermute, 5.2 CryptCyclic, 5.3 ComputeCRC), one byte per loop
iteration, so a vectorised or zlib-backed implementation can be compared with
something that is correct by inspection.  Only the mpbbCrypt table is taken
from pstlib: it is the spec's data, not an algorithm.  B-tree entries are
parsed here with construct alone, never through a derived numpy dtype.
"""

from __future__ import annotations

from collections.abc import Callable

import construct

from pstlib.ndb.crypt import MPBB_CRYPT

# [MS-PST] 5.1: mpbbR = mpbbCrypt, mpbbS = mpbbCrypt + 256, mpbbI = mpbbCrypt + 512.
MPBB_R = MPBB_CRYPT[0:256]
MPBB_S = MPBB_CRYPT[256:512]
MPBB_I = MPBB_CRYPT[512:768]

CRC_POLYNOMIAL = 0xEDB88320


def crypt_permute(data: bytes, encrypt: bool) -> bytes:
    """CryptPermute(pv, cb, fEncrypt): substitute each byte through mpbbR or mpbbI."""
    table = MPBB_R if encrypt else MPBB_I
    out = bytearray()
    for b in data:
        out.append(table[b])
    return bytes(out)


def crypt_cyclic(data: bytes, key: int) -> bytes:
    """CryptCyclic(pv, cb, dwKey) with dwKey the low DWORD of ``key``."""
    dw_key = key & 0xFFFFFFFF
    w = (dw_key ^ (dw_key >> 16)) & 0xFFFF
    out = bytearray()
    for b in data:
        b = (b + (w & 0xFF)) & 0xFF
        b = MPBB_R[b]
        b = (b + (w >> 8)) & 0xFF
        b = MPBB_S[b]
        b = (b - (w >> 8)) & 0xFF
        b = MPBB_I[b]
        b = (b - (w & 0xFF)) & 0xFF
        out.append(b)
        w = (w + 1) & 0xFFFF
    return bytes(out)


def _crc_table() -> list[int]:
    """The 256-entry table of the reflected polynomial 0xEDB88320, bit by bit."""
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ CRC_POLYNOMIAL if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc_table()


def compute_crc(crc: int, data: bytes) -> int:
    """ComputeCRC(dwCRC, pv, cbLength): no pre-inversion and no final xor."""
    for b in data:
        crc = CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def flatten_container(declaration: construct.Struct, value: construct.Container) -> tuple:
    """A parsed Struct's leaf values in declaration order (nested Structs inlined)."""
    out: list = []
    for sub in declaration.subcons:
        field = sub.subcon if isinstance(sub, construct.Renamed) else sub
        if isinstance(field, construct.Struct):
            out.extend(flatten_container(field, value[sub.name]))
        else:
            out.append(value[sub.name])
    return tuple(out)


def parse_entries(
    declaration: construct.Struct, data: bytes, count: int, stride: int | None = None
) -> list[tuple]:
    """``count`` records ``stride`` bytes apart, parsed one by one with ``declaration.parse``.

    The stride defaults to the record's size; B-tree pages give it as cbEnt.
    """
    stride = stride or declaration.sizeof()
    return [
        flatten_container(declaration, declaration.parse(data[i * stride:(i + 1) * stride]))
        for i in range(count)
    ]


def btree_leaf_entries(
    read: Callable[[int, int], bytes],
    btpage: construct.Struct,
    btentry: construct.Struct,
    leaf: construct.Struct,
    root_ib: int,
) -> list[tuple]:
    """Every leaf entry of a B-tree, walking pages with construct only ([MS-PST] 2.2.2.7.7).

    ``btpage`` is the whole-page declaration (rgentries, info, pageTrailer);
    intermediate pages are read through ``btentry``'s BREF, leaves through ``leaf``,
    entries cbEnt bytes apart.
    """
    page = btpage.parse(read(root_ib, btpage.sizeof()))
    info = page.info
    if info.cLevel == 0:
        return parse_entries(leaf, page.rgentries, info.cEnt, info.cbEnt)
    out: list[tuple] = []
    for i in range(info.cEnt):
        child = btentry.parse(page.rgentries[i * info.cbEnt:(i + 1) * info.cbEnt])
        out.extend(btree_leaf_entries(read, btpage, btentry, leaf, child.BREF.ib))
    return out
