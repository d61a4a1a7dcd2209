"""The property context of [MS-PST] 2.3.3: a node's properties, in a BTH.

Records are (wPropId, wPropType, dwValueHnid).  Values of fixed types of up
to 4 bytes sit in dwValueHnid itself; all others are an HNID: a HID into the
node's heap, or the NID of one of the node's subnodes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from itertools import chain
from operator import itemgetter
from typing import Any

from construct import Int16ul, Int32ul, Struct

from pstlib.errors import LimitExceeded, LTPError, PropertyContextError
from pstlib.ltp.bth import BTH
from pstlib.ltp.codepage import (
    DEFAULT_CODEPAGE,
    PID_TAG_INTERNET_CODEPAGE,
    PID_TAG_MESSAGE_CODEPAGE,
    PID_TAG_MESSAGE_LOCALE_ID,
    object_codepage,
)
from pstlib.ltp.heap import CLIENT_SIG_PC, Heap, is_hid
from pstlib.ltp.proptypes import FIXED_SIZES, PropertyType, decode
from pstlib.ndb.node import Node
from pstlib.ndb.schema import struct_format

# PC BTH record, [MS-PST] 2.3.3.3.
PC_RECORD = Struct("wPropId" / Int16ul, "wPropType" / Int16ul, "dwValueHnid" / Int32ul)
_PC_RECORD = struct_format(PC_RECORD)


_PREFERRED = {
    PropertyType.STRING8: PropertyType.STRING,
    PropertyType.MULTIPLE_STRING8: PropertyType.MULTIPLE_STRING,
}
"""Where one id is stored as both, the Unicode form wins."""


def value_bytes(
    ptype: int, hnid: int, heap: Heap, subnode: Callable[[int], Node], inline_size: int
) -> bytes:
    """The stored bytes of a value: inline where it fits ``inline_size``, else via its HNID."""
    size = FIXED_SIZES.get(ptype)
    if size is not None and size <= inline_size:
        return hnid.to_bytes(inline_size, "little")[:size]
    if hnid == 0:
        return b""
    if is_hid(hnid):
        return heap.item(hnid)
    return subnode(hnid).read()


def _located(exc: LTPError, prop_id: int, nid: int) -> LTPError:
    """The same error, naming the property and the node it belongs to."""
    return type(exc)(
        f"property 0x{prop_id:04X}: {exc.message}",
        nid=exc.nid if exc.nid is not None else nid,
        bid=exc.bid,
        offset=exc.offset,
    )


class PropertyContext(Mapping[int, Any]):
    """A node's properties by 16-bit property id, decoded on access."""

    def __init__(self, node: Node, default_codepage: int = DEFAULT_CODEPAGE) -> None:
        self.node = node
        self.heap = Heap(node)
        if self.heap.client_signature != CLIENT_SIG_PC:
            raise PropertyContextError(
                f"not a property context: heap client signature 0x{self.heap.client_signature:02X}",
                nid=node.nid,
            )
        bth = BTH(self.heap, self.heap.user_root)
        if (bth.key_size, bth.data_size) != (2, 6):
            raise PropertyContextError(
                f"PC BTH has cbKey {bth.key_size} and cbEnt {bth.data_size}, expected 2 and 6",
                nid=node.nid,
            )
        leaves = bth.leaves()
        count = sum(map(len, leaves)) // _PC_RECORD.size
        limit = node.limits.max_properties
        if count > limit:
            raise LimitExceeded(f"property context has {count} properties, over the limit of {limit}", nid=node.nid)
        # a few dozen records: struct beats numpy's per-call cost here, and the map is built
        # in C: {prop id: (prop id, type, hnid)}, one type per id as in nearly every PC
        records = list(chain.from_iterable(map(_PC_RECORD.iter_unpack, leaves)))
        self._stored: dict[int, Any] = dict(zip(map(itemgetter(0), records), records))
        self._types: dict[int, dict[int, int]] | None = None
        """{prop id: {type: hnid}} where some id has several types or all-zero records pad
        the BTH; ``_stored`` is then this same map."""
        if len(self._stored) < len(records) or 0 in self._stored:
            self._types = {}
            for prop_id, ptype, hnid in records:
                if prop_id == ptype == 0:
                    # All-zero records pad the BTH of some Aspose-written messages: property
                    # 0x0000 of PtypUnspecified names no property ([MS-OXCDATA] 2.11.1).
                    continue
                self._types.setdefault(prop_id, {})[ptype] = hnid
            self._stored = self._types
        self._subnodes: dict[int, Node] | None = None
        self._default_codepage = default_codepage

    def subnode(self, nid: int) -> Node:
        """The node's subnode ``nid``, where values too large for the heap live."""
        if self._subnodes is None:
            self._subnodes = self.node.subnodes()
        try:
            return self._subnodes[nid]
        except KeyError:
            raise PropertyContextError(f"property value names subnode 0x{nid:X}, which is missing", nid=self.node.nid) from None

    def __getitem__(self, prop_id: int) -> Any:
        return self.value(prop_id)

    def __iter__(self) -> Iterator[int]:
        return iter(self._stored)

    def __len__(self) -> int:
        return len(self._stored)

    def __contains__(self, prop_id: object) -> bool:
        return prop_id in self._stored

    def types_of(self, prop_id: int) -> tuple[int, ...]:
        """Every type ``prop_id`` is stored with (usually one)."""
        if self._types is None:
            return (self._stored[prop_id][1],)
        return tuple(self._types[prop_id])

    def type_of(self, prop_id: int) -> int:
        """The stored type of ``prop_id``; the Unicode one where both string forms exist."""
        if self._types is None:
            return self._stored[prop_id][1]  # type: ignore[no-any-return]
        types = self._types[prop_id]
        for ptype in types:
            if _PREFERRED.get(ptype) in types:
                return _PREFERRED[ptype]
        return next(iter(types))

    def _hnid(self, prop_id: int, ptype: int) -> int:
        """The dwValueHnid of ``prop_id`` stored as ``ptype``; KeyError where it is not."""
        if self._types is None:
            _, stored_type, hnid = self._stored[prop_id]
            if stored_type == ptype:
                return hnid  # type: ignore[no-any-return]
        else:
            hnid = self._types[prop_id].get(ptype)
            if hnid is not None:
                return hnid
        raise KeyError(f"property 0x{prop_id:04X} is not stored as type 0x{ptype:04X}")

    def raw(self, prop_id: int, type: int | None = None) -> bytes:
        """The stored bytes of ``prop_id`` (of stored type ``type`` where it has several)."""
        ptype = self.type_of(prop_id) if type is None else type
        hnid = self._hnid(prop_id, ptype)
        try:
            return value_bytes(ptype, hnid, self.heap, self.subnode, 4)
        except LTPError as exc:
            raise _located(exc, prop_id, self.node.nid) from None

    def get(self, prop_id: int, default: Any = None) -> Any:  # type: ignore[override]
        """The decoded value of ``prop_id``, or ``default`` where it is not stored (as
        Mapping.get, without its KeyError round trip: the messaging layer's hot path)."""
        return self.value(prop_id) if prop_id in self._stored else default

    def value(self, prop_id: int, type: int | None = None) -> Any:  # noqa: A002
        """The decoded value of ``prop_id`` (of stored type ``type`` where it has several)."""
        ptype = self.type_of(prop_id) if type is None else type
        # only String8 values need the code page, which takes three more lookups to find
        codepage = self.codepage if ptype & 0xFFF == PropertyType.STRING8 else DEFAULT_CODEPAGE
        try:
            return decode(ptype, self.raw(prop_id, ptype), codepage)
        except LTPError as exc:
            raise _located(exc, prop_id, self.node.nid) from None

    def value_node(self, prop_id: int, type: int | None = None) -> Node | None:
        """The subnode holding a value, for streaming it; None where the value is in the heap.

        PtypObject values are an (Nid, ulSize) pair naming the subnode ([MS-PST] 2.3.3.5).
        """
        ptype = self.type_of(prop_id) if type is None else type
        hnid = self._hnid(prop_id, ptype)
        if ptype == PropertyType.OBJECT:
            raw = self.raw(prop_id, ptype)
            if len(raw) < 4:
                raise PropertyContextError(
                    f"PtypObject property 0x{prop_id:04X} is {len(raw)} bytes, not (Nid, ulSize)",
                    nid=self.node.nid,
                )
            return self.subnode(int.from_bytes(raw[:4], "little"))
        if ptype in FIXED_SIZES or hnid == 0 or is_hid(hnid):
            return None
        return self.subnode(hnid)

    def _int32(self, prop_id: int) -> int:
        try:
            return self._hnid(prop_id, PropertyType.INTEGER32)
        except KeyError:
            return 0

    @cached_property
    def codepage(self) -> int:
        """The code page of this object's String8 values (``codepage.object_codepage``)."""
        return object_codepage(
            self._int32(PID_TAG_MESSAGE_CODEPAGE),
            self._int32(PID_TAG_INTERNET_CODEPAGE),
            self._int32(PID_TAG_MESSAGE_LOCALE_ID),
            self._default_codepage,
        )
