"""Compressed RTF of [MS-OXRTFCP]: the LZFu and the uncompressed ("MELA") forms.

LZFu is decoded by the ``compressed-rtf`` package.  The uncompressed form
(COMPTYPE "MELA", CRC 0, [MS-OXRTFCP] 2.1.3.1.1) is plain RTF after the
16-byte header; libpff rejects it, which the spec shows wrong.  Output is
bounded by the header's RAWSIZE and by ``Limits.max_node_size``.
"""

from __future__ import annotations

import struct

import compressed_rtf

from pstlib.errors import MessagingError

COMPRESSED = b"LZFu"
UNCOMPRESSED = b"MELA"
HEADER = struct.Struct("<II4sI")
"""COMPSIZE, RAWSIZE, COMPTYPE, CRC."""


def decompress_rtf(data: bytes, max_size: int) -> bytes:
    """The RTF text of a PidTagRtfCompressed value."""
    if len(data) < HEADER.size:
        raise MessagingError(f"compressed RTF of {len(data)} bytes is shorter than its header")
    comp_size, raw_size, comp_type, crc = HEADER.unpack_from(data)
    if raw_size > max_size:
        raise MessagingError(f"compressed RTF claims {raw_size} bytes, over the limit of {max_size}")
    if comp_type == UNCOMPRESSED:
        # [MS-OXRTFCP] 2.1.3.1.1: CRC "MUST be set to 0x00000000" for uncompressed RTF;
        # some writers (Aspose) set RAWSIZE = COMPSIZE, so the stream's end bounds it too.
        return data[HEADER.size:HEADER.size + min(raw_size, max(comp_size - 12, 0))]
    if comp_type != COMPRESSED:
        raise MessagingError(f"compressed RTF has unknown COMPTYPE {comp_type!r}")
    try:
        text = compressed_rtf.decompress(bytes(data))
    except Exception as exc:  # the package raises bare Exception on bad CRC or data
        raise MessagingError(f"compressed RTF does not decompress: {exc}") from None
    return text[:raw_size]
