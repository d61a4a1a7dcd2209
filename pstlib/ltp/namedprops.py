"""The named property lookup map of [MS-PST] 2.4.7 (node 0x61).

Property ids 0x8000-0xFFFE are named properties: each is a (property set
GUID, numeric LID or string name) pair, listed in the map's entry stream.
``NamedProperties`` resolves ids to names and names back to ids.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterator, Mapping

import numpy as np
from construct import Int16ul, Int32ul, Struct

from pstlib.errors import NamedPropertyError
from pstlib.ltp.propertycontext import PropertyContext
from pstlib.ltp.proptypes import PropertyType
from pstlib.ndb.schema import numpy_dtype

PS_MAPI = uuid.UUID("00020328-0000-0000-C000-000000000046")
PS_PUBLIC_STRINGS = uuid.UUID("00020329-0000-0000-C000-000000000046")

PID_TAG_NAMEID_BUCKET_COUNT = 0x0001
PID_TAG_NAMEID_STREAM_GUID = 0x0002
PID_TAG_NAMEID_STREAM_ENTRY = 0x0003
PID_TAG_NAMEID_STREAM_STRING = 0x0004
FIRST_NAMED_ID = 0x8000

# NAMEID, [MS-PST] 2.4.7.1: wGuid holds N (bit 0) and the GUID index (bits 1-15).
NAMEID = Struct("dwPropertyID" / Int32ul, "wGuid" / Int16ul, "wPropIdx" / Int16ul)
_NAMEID = numpy_dtype(NAMEID)

PropertyName = tuple[uuid.UUID, int | str]
"""(property set GUID, LID or name)."""


class NamedProperties(Mapping[int, PropertyName]):
    """Named properties by property id (0x8000 + wPropIdx), and ``id_of`` for the reverse."""

    def __init__(self, pc: PropertyContext) -> None:
        nid = pc.node.nid
        guids = self._stream(pc, PID_TAG_NAMEID_STREAM_GUID)
        entries = self._stream(pc, PID_TAG_NAMEID_STREAM_ENTRY)
        strings = self._stream(pc, PID_TAG_NAMEID_STREAM_STRING)
        if len(guids) % 16 or len(entries) % _NAMEID.itemsize:
            raise NamedPropertyError("name-to-id map GUID or entry stream has a partial record", nid=nid)
        guid_list = [uuid.UUID(bytes_le=guids[i:i + 16]) for i in range(0, len(guids), 16)]
        records = np.frombuffer(entries, _NAMEID)
        self._by_id: dict[int, PropertyName] = {}
        for value, guid_field, index in zip(
            records["dwPropertyID"].tolist(), records["wGuid"].tolist(), records["wPropIdx"].tolist()
        ):
            guid_index = guid_field >> 1
            if guid_index == 1:
                guid = PS_MAPI
            elif guid_index == 2:
                guid = PS_PUBLIC_STRINGS
            elif 3 <= guid_index < len(guid_list) + 3:
                guid = guid_list[guid_index - 3]
            else:
                raise NamedPropertyError(f"named property entry names GUID index {guid_index}", nid=nid)
            name: int | str = self._string(strings, value, nid) if guid_field & 1 else value
            self._by_id[FIRST_NAMED_ID + index] = (guid, name)
        self._by_name = {name: prop_id for prop_id, name in self._by_id.items()}

    @staticmethod
    def _stream(pc: PropertyContext, prop_id: int) -> bytes:
        if prop_id not in pc:
            return b""
        if pc.type_of(prop_id) != PropertyType.BINARY:
            raise NamedPropertyError(f"name-to-id map stream 0x{prop_id:04X} is not binary", nid=pc.node.nid)
        return pc.raw(prop_id)

    @staticmethod
    def _string(strings: bytes, offset: int, nid: int) -> str:
        if offset + 4 > len(strings):
            raise NamedPropertyError(f"named property string at {offset} is past the string stream", nid=nid)
        (length,) = struct.unpack_from("<I", strings, offset)
        if offset + 4 + length > len(strings):
            raise NamedPropertyError(f"named property string at {offset} runs past the string stream", nid=nid)
        return strings[offset + 4:offset + 4 + length].decode("utf-16-le", errors="surrogatepass")

    def __getitem__(self, prop_id: int) -> PropertyName:
        return self._by_id[prop_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def id_of(self, guid: uuid.UUID, name: int | str) -> int | None:
        """The property id of a named property, or None if the store has never used it."""
        return self._by_name.get((guid, name))
