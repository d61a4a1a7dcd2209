"""The three on-disk variants of the NDB layer and the widths each one uses.

ANSI files (wVer 14/15) use 32-bit ids and offsets; Unicode files (wVer 23)
64-bit ones ([MS-PST] 2.2); Outlook 2013+ OSTs (wVer 36/37) keep the Unicode
records but use 4096-byte pages, 512-byte block alignment and zlib-compressed
blocks (not in [MS-PST]; see libpff's format notes).  Everything that differs
between them is decided here, once, from the header's wVer.
"""

from __future__ import annotations

from dataclasses import dataclass

import construct

ANSI = "ansi"
UNICODE = "unicode"
UNICODE4K = "unicode4k"


@dataclass(frozen=True)
class Format:
    """Sizes and field widths of one NDB variant."""

    name: str
    id_size: int
    """Bytes of a BID, IB or B-tree key."""
    page_size: int
    page_trailer_size: int
    btree_entries_size: int
    """Bytes of rgentries in a BTPAGE ([MS-PST] 2.2.2.7.7.1)."""
    block_alignment: int
    block_trailer_size: int
    max_block_size: int
    """Largest stored block, trailer and padding included."""

    def __hash__(self) -> int:
        # Formats key the cached parsers of the hot path; the name alone tells them apart.
        return hash(self.name)

    @property
    def id_field(self) -> construct.FormatField:
        """The construct field of a BID, IB or 8/4-byte B-tree key."""
        return construct.Int32ul if self.id_size == 4 else construct.Int64ul

    @property
    def page_crc_size(self) -> int:
        """Bytes covered by a page trailer's dwCRC: all before the trailer."""
        return self.page_size - self.page_trailer_size

    def block_span(self, cb: int) -> int:
        """Bytes a block of ``cb`` data bytes occupies on disk, trailer included."""
        unit = self.block_alignment
        return (cb + self.block_trailer_size + unit - 1) // unit * unit


FORMATS = {
    ANSI: Format(ANSI, 4, 512, 12, 496, 64, 12, 8192),
    UNICODE: Format(UNICODE, 8, 512, 16, 488, 64, 16, 8192),
    UNICODE4K: Format(UNICODE4K, 8, 4096, 24, 4056, 512, 24, 65536),
}


def format_for_version(wver: int) -> Format | None:
    """The variant a header's wVer names, or None if it names none."""
    if wver in (14, 15):
        return FORMATS[ANSI]
    if wver in (36, 37):
        return FORMATS[UNICODE4K]
    if wver >= 23:
        return FORMATS[UNICODE]
    return None
