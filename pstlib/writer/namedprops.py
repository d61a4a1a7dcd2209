"""The name-to-id map of a new store ([MS-PST] 2.4.7): named properties get ids from 0x8000 up.

Names are registered as they are used and written at the end as the GUID,
entry and string streams plus the hash buckets the spec asks for.
"""

from __future__ import annotations

import struct
import uuid

from pstlib.errors import WriterError
from pstlib.ltp.namedprops import (
    FIRST_NAMED_ID,
    PID_TAG_NAMEID_BUCKET_COUNT,
    PID_TAG_NAMEID_STREAM_ENTRY,
    PID_TAG_NAMEID_STREAM_GUID,
    PID_TAG_NAMEID_STREAM_STRING,
    PS_MAPI,
    PS_PUBLIC_STRINGS,
)
from pstlib.ltp.proptypes import PropertyType
from pstlib.ndb.crc import crc32

BUCKETS = 251
"""PidTagNameidBucketCount as Outlook writes it."""
LAST_NAMED_ID = 0xFFFE


class NameMap:
    """(property set, LID or name) -> property id, in the order first used."""

    def __init__(self) -> None:
        self._ids: dict[tuple[uuid.UUID, int | str], int] = {}
        self._guids: list[uuid.UUID] = []

    def id_of(self, guid: uuid.UUID | str, name: int | str) -> int:
        """The property id of a named property, registering it on first use."""
        guid = guid if isinstance(guid, uuid.UUID) else uuid.UUID(guid)
        key = (guid, name)
        found = self._ids.get(key)
        if found is None:
            found = FIRST_NAMED_ID + len(self._ids)
            if found > LAST_NAMED_ID:
                raise WriterError("a store holds at most 32,767 named properties")
            self._ids[key] = found
            if guid not in (PS_MAPI, PS_PUBLIC_STRINGS) and guid not in self._guids:
                self._guids.append(guid)
        return found

    def _guid_index(self, guid: uuid.UUID) -> int:
        if guid == PS_MAPI:
            return 1
        if guid == PS_PUBLIC_STRINGS:
            return 2
        return 3 + self._guids.index(guid)

    def properties(self) -> list[tuple[int, int, bytes]]:
        """The map's PC: bucket count, the three streams, and the hash buckets."""
        entries, strings = bytearray(), bytearray()
        buckets: dict[int, bytearray] = {}
        for (guid, name), prop_id in self._ids.items():
            guid_field = self._guid_index(guid) << 1
            if isinstance(name, str):
                encoded = name.encode("utf-16-le")
                value, guid_field = len(strings), guid_field | 1
                strings += struct.pack("<I", len(encoded)) + encoded
                strings += bytes(-len(strings) % 4)
                hashed = crc32(encoded)
            else:
                value = hashed = name & 0xFFFFFFFF
            record = struct.pack("<IHH", value, guid_field, prop_id - FIRST_NAMED_ID)
            entries += record
            buckets.setdefault((hashed ^ guid_field) % BUCKETS, bytearray()).extend(
                struct.pack("<IHH", hashed, guid_field, prop_id - FIRST_NAMED_ID)
            )
        out = [
            (PID_TAG_NAMEID_BUCKET_COUNT, PropertyType.INTEGER32, struct.pack("<I", BUCKETS)),
            (PID_TAG_NAMEID_STREAM_GUID, PropertyType.BINARY, b"".join(g.bytes_le for g in self._guids)),
            (PID_TAG_NAMEID_STREAM_ENTRY, PropertyType.BINARY, bytes(entries)),
            (PID_TAG_NAMEID_STREAM_STRING, PropertyType.BINARY, bytes(strings)),
        ]
        out += [(0x1000 + b, PropertyType.BINARY, bytes(buckets.get(b, b""))) for b in range(BUCKETS)]
        return out
