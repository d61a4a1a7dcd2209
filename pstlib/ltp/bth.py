"""The BTree-on-Heap of [MS-PST] 2.3.2: sorted fixed-size records in a heap.

A BTHHEADER gives the key and data sizes and the number of index levels
above the leaves; each level is one heap allocation of packed records, which
numpy views without copying.
"""

from __future__ import annotations

import numpy as np
from construct import Int8ul, Int32ul, Struct

from pstlib.errors import BTHError
from pstlib.ltp.heap import CLIENT_SIG_BTH, Heap
from pstlib.ndb.schema import struct_format

# BTHHEADER, [MS-PST] 2.3.2.1.
BTHHEADER = Struct(
    "bType" / Int8ul,
    "cbKey" / Int8ul,
    "cbEnt" / Int8ul,
    "bIdxLevels" / Int8ul,
    "hidRoot" / Int32ul,
)

_BTHHEADER = struct_format(BTHHEADER)
_UNSIGNED = {1: "<u1", 2: "<u2", 4: "<u4", 8: "<u8"}
MAX_INDEX_LEVELS = 8
"""bIdxLevels above this is refused; a BTH in a heap of 8 KB blocks never needs more."""


def record_dtype(key_size: int, data_size: int) -> np.dtype:
    """Leaf records: an unsigned ``key`` where the width allows, and raw ``data``."""
    key = _UNSIGNED.get(key_size, f"V{key_size}")
    return np.dtype([("key", key), ("data", f"V{data_size}")] if data_size else [("key", key)])


class BTH:
    """One BTH in a heap, from its BTHHEADER allocation."""

    def __init__(self, heap: Heap, hid: int) -> None:
        self.heap = heap
        nid = heap.node.nid
        raw = heap.item(hid)
        if len(raw) < _BTHHEADER.size:
            raise BTHError(f"BTHHEADER at HID 0x{hid:X} is {len(raw)} bytes", nid=nid)
        btype, key_size, data_size, levels, root = _BTHHEADER.unpack_from(raw)
        if btype != CLIENT_SIG_BTH:
            raise BTHError(f"BTHHEADER bType is 0x{btype:02X}, expected 0xB5", nid=nid)
        if key_size not in (2, 4, 8, 16) or data_size < 1:
            raise BTHError(
                f"BTH has cbKey {key_size} and cbEnt {data_size}, outside [MS-PST] 2.3.2.1",
                nid=nid,
            )
        if levels > MAX_INDEX_LEVELS:
            raise BTHError(f"BTH claims {levels} index levels", nid=nid)
        self.key_size: int = key_size
        self.data_size: int = data_size
        self.levels: int = levels
        self.root: int = root

    def records(self, dtype: np.dtype | None = None) -> np.ndarray:
        """Every leaf record in key order, as one array (``dtype`` must be cbKey+cbEnt wide)."""
        dtype = dtype or record_dtype(self.key_size, self.data_size)
        if dtype.itemsize != self.key_size + self.data_size:
            raise ValueError("record dtype does not match the BTH's cbKey + cbEnt")
        leaves = [np.frombuffer(raw, dtype) for raw in self.leaves()]
        if not leaves:
            return np.zeros(0, dtype)
        return leaves[0] if len(leaves) == 1 else np.concatenate(leaves)

    def leaves(self) -> list[bytes]:
        """The leaf allocations in key order, each a whole number of cbKey+cbEnt records."""
        if self.root == 0:
            return []
        if self.levels:
            index_dtype = np.dtype([("key", f"V{self.key_size}"), ("hidNextLevel", "<u4")])
        hids = [self.root]
        seen = {self.root}
        for _ in range(self.levels):
            next_hids: list[int] = []
            for hid in hids:
                level = np.frombuffer(self._level(hid, index_dtype.itemsize), index_dtype)
                for child in level["hidNextLevel"].tolist():
                    if child in seen:
                        raise BTHError(
                            f"BTH index reaches HID 0x{child:X} twice", nid=self.heap.node.nid
                        )
                    seen.add(child)
                    next_hids.append(child)
            hids = next_hids
        return [self._level(hid, self.key_size + self.data_size) for hid in hids]

    def _level(self, hid: int, record_size: int) -> bytes:
        raw = self.heap.item(hid)
        if len(raw) % record_size:
            raise BTHError(
                f"BTH allocation 0x{hid:X} of {len(raw)} bytes is not a whole number of"
                f" {record_size}-byte records",
                nid=self.heap.node.nid,
            )
        return raw
