"""NIDs of [MS-PST] 2.2.2.1: a 5-bit type and a 27-bit index, and the well-known ones."""

from __future__ import annotations

from enum import IntEnum


class NIDType(IntEnum):
    """nidType values, [MS-PST] 2.2.2.1."""

    HID = 0x00
    INTERNAL = 0x01
    NORMAL_FOLDER = 0x02
    SEARCH_FOLDER = 0x03
    NORMAL_MESSAGE = 0x04
    ATTACHMENT = 0x05
    SEARCH_UPDATE_QUEUE = 0x06
    SEARCH_CRITERIA_OBJECT = 0x07
    ASSOC_MESSAGE = 0x08
    CONTENTS_TABLE_INDEX = 0x0A
    RECEIVE_FOLDER_TABLE = 0x0B
    OUTGOING_QUEUE_TABLE = 0x0C
    HIERARCHY_TABLE = 0x0D
    CONTENTS_TABLE = 0x0E
    ASSOC_CONTENTS_TABLE = 0x0F
    SEARCH_CONTENTS_TABLE = 0x10
    ATTACHMENT_TABLE = 0x11
    RECIPIENT_TABLE = 0x12
    SEARCH_TABLE_INDEX = 0x13
    LTP = 0x1F


NID_MESSAGE_STORE = 0x21
NID_NAME_TO_ID_MAP = 0x61
NID_NORMAL_FOLDER_TEMPLATE = 0xA1
NID_SEARCH_FOLDER_TEMPLATE = 0xC1
NID_ROOT_FOLDER = 0x122
NID_SEARCH_MANAGEMENT_QUEUE = 0x1E1
NID_SEARCH_ACTIVITY_LIST = 0x201
NID_HIERARCHY_TABLE_TEMPLATE = 0x60D
NID_CONTENTS_TABLE_TEMPLATE = 0x60E
NID_ASSOC_CONTENTS_TABLE_TEMPLATE = 0x60F
NID_SEARCH_CONTENTS_TABLE_TEMPLATE = 0x610
NID_ATTACHMENT_TABLE = 0x671
NID_RECIPIENT_TABLE = 0x692


def nid_type(nid: int) -> int:
    """The nidType (low 5 bits) of a NID."""
    return nid & 0x1F


def nid_index(nid: int) -> int:
    """The nidIndex (high 27 bits) of a NID."""
    return nid >> 5


def make_nid(node_type: int, index: int) -> int:
    """The NID of a given type and index."""
    return (index << 5) | (node_type & 0x1F)


PC_NODE_TYPES = frozenset(
    {
        NIDType.NORMAL_FOLDER,
        NIDType.SEARCH_FOLDER,
        NIDType.NORMAL_MESSAGE,
        NIDType.ATTACHMENT,
        NIDType.ASSOC_MESSAGE,
    }
)
"""Node types whose data is a property context ([MS-PST] 2.4)."""

TC_NODE_TYPES = frozenset(
    {
        NIDType.RECEIVE_FOLDER_TABLE,
        NIDType.OUTGOING_QUEUE_TABLE,
        NIDType.HIERARCHY_TABLE,
        NIDType.CONTENTS_TABLE,
        NIDType.ASSOC_CONTENTS_TABLE,
        NIDType.SEARCH_CONTENTS_TABLE,
        NIDType.ATTACHMENT_TABLE,
        NIDType.RECIPIENT_TABLE,
    }
)
"""Node types whose data is a table context ([MS-PST] 2.4)."""
