"""Bounds on what pstlib will follow or allocate for one file.

PST files arrive from untrusted places; every walk over on-disk links is
bounded by one of these, so hostile input ends in a ``PSTError``, never in a
hang or memory exhaustion.  The defaults are far above anything Outlook writes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Safe defaults; pass a modified copy to ``pstlib.open(..., limits=...)``."""

    max_btree_depth: int = 32
    """Levels of an NBT or BBT (Outlook's trees stay under 10)."""

    max_data_tree_depth: int = 2
    """Levels of XBLOCK/XXBLOCK above the data blocks ([MS-PST] 2.2.8.3.2).

    The spec allows at most two, and the parser never follows more; 1 refuses XXBLOCKs."""

    max_subnode_tree_depth: int = 2
    """Levels of one SIBLOCK/SLBLOCK tree ([MS-PST] 2.2.8.3.3).

    The spec allows at most two, and the parser never follows more; 1 refuses SIBLOCKs."""

    max_subnode_nesting: int = 64
    """Subnodes inside subnodes (embedded messages nest this way)."""

    max_node_size: int = 1 << 31
    """Bytes ``Node.read()`` may assemble; use ``Node.open()`` to stream more."""

    max_embedded_depth: int = 32
    """Messages embedded in attachments of embedded messages, and so on."""

    max_inflated_block_size: int = 1 << 20
    """Bytes one zlib-compressed block of a 4K-page file may inflate to."""

    max_decompressed_size: int = 256 << 20
    """Bytes a compressed RTF body may decompress to."""

    max_table_rows: int = 10_000_000
    """Rows of one table context."""

    max_properties: int = 65_536
    """Properties of one property context (a 16-bit id times its types is the natural bound)."""
