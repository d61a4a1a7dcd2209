"""The CRC of [MS-PST] 5.3 (header, pages, blocks).

It is the CRC-32 polynomial without the usual pre- and post-inversion, so
zlib's C implementation computes it once both inversions are undone.
"""

from __future__ import annotations

import zlib


def crc32(data: bytes | bytearray | memoryview, value: int = 0) -> int:
    """ComputeCRC(dwCRC=value, pv=data) of [MS-PST] 5.3."""
    return zlib.crc32(data, value ^ 0xFFFFFFFF) ^ 0xFFFFFFFF
