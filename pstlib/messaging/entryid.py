"""EntryIDs of [MS-PST] 2.4.3.2: a provider UID and the NID of the object named."""

from __future__ import annotations

import struct

from pstlib.errors import MessagingError

ENTRYID_SIZE = 24
"""rgbFlags (4), uid (16), nid (4)."""


def entryid_nid(entry_id: bytes) -> int:
    """The NID an EntryID names; ``MessagingError`` if it is not 24 bytes."""
    if len(entry_id) != ENTRYID_SIZE:
        raise MessagingError(f"an EntryID is {ENTRYID_SIZE} bytes, this one {len(entry_id)}")
    return struct.unpack_from("<I", entry_id, 20)[0]
