"""Header checks: magic, version, encoding, both CRCs, ROOT against the real file."""

from __future__ import annotations

from pstlib.errors import PSTError
from pstlib.ndb.crc import crc32
from pstlib.ndb.header import (
    CRC_FULL_SIZE,
    CRC_PARTIAL_SIZE,
    CRC_PARTIAL_START,
    Header,
    read_header,
)
from pstlib.verify.report import Report

AMAP_VALID = (1, 2)
"""fAMapValid values that say the allocation maps can be trusted ([MS-PST] 2.2.2.5)."""


def check_header(data: bytes, file_size: int, report: Report) -> Header | None:
    """The parsed header, or None (with a fatal problem) where the file is not a readable PST."""
    try:
        header = read_header(data, verify_crc=False)
    except PSTError as exc:
        report.add("not-a-pst", "fatal", "header", exc.message, offset=exc.offset)
        return None
    actual = crc32(data[CRC_PARTIAL_START:CRC_PARTIAL_START + CRC_PARTIAL_SIZE])
    if actual != header.crc_partial:
        report.add(
            "header-crc-partial",
            "error",
            "header",
            f"dwCRCPartial is 0x{header.crc_partial:08X}, the header bytes give 0x{actual:08X}",
            offset=4,
        )
    if header.crc_full is not None:
        actual = crc32(data[CRC_PARTIAL_START:CRC_PARTIAL_START + CRC_FULL_SIZE])
        if actual != header.crc_full:
            report.add(
                "header-crc-full",
                "error",
                "header",
                f"dwCRCFull is 0x{header.crc_full:08X}, the header bytes give 0x{actual:08X}",
                offset=524,
            )
    root = header.root
    if root.file_eof > file_size:
        report.add(
            "file-truncated",
            "fatal",
            "header",
            f"ROOT ibFileEof says {root.file_eof} bytes, the file has {file_size}: it is cut short",
            offset=file_size,
        )
    elif root.file_eof < file_size:
        report.add(
            "file-longer-than-eof",
            "warning",
            "header",
            f"the file has {file_size - root.file_eof} bytes past ROOT ibFileEof ({root.file_eof});"
            " nothing the file uses may lie there (checked with the blocks and pages)",
            offset=root.file_eof,
        )
    if root.amap_valid not in AMAP_VALID:
        report.add(
            "amap-invalid",
            "warning",
            "header",
            f"fAMapValid is {root.amap_valid}: the allocation maps are not trusted and were not"
            " checked; Outlook rebuilds them when it next opens the file",
        )
    if root.nbt.ib + header.ndb.page_size > file_size or root.bbt.ib + header.ndb.page_size > file_size:
        report.add(
            "root-past-eof",
            "fatal",
            "header",
            "ROOT names a B-tree root page past the end of the file",
            offset=max(root.nbt.ib, root.bbt.ib),
        )
        return None
    return header
