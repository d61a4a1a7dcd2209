"""LTP checks: every heap, BTH, PC and TC that a node's type says it holds parses,
and every property and cell in it decodes; for messages, also their recipient
and attachment tables, attachments and embedded messages.
"""

from __future__ import annotations

from pstlib.errors import LTPError, PSTError
from pstlib.ltp.propertycontext import PropertyContext
from pstlib.ltp.tablecontext import TableContext
from pstlib.messaging.message import Message
from pstlib.ndb.nid import (
    NID_ATTACHMENT_TABLE,
    NID_MESSAGE_STORE,
    NID_NAME_TO_ID_MAP,
    PC_NODE_TYPES,
    TC_NODE_TYPES,
    NIDType,
    nid_type,
)
from pstlib.pstfile import PSTFile
from pstlib.verify.report import Report

MESSAGE_TYPES = (NIDType.NORMAL_MESSAGE, NIDType.ASSOC_MESSAGE)


def _decode_all(structure: PropertyContext | TableContext) -> None:
    """Decode every property or cell; a value kept in a subnode is only looked up, not read:
    the NDB checks have read and CRC-checked its blocks, and bytes need no decoding."""
    if isinstance(structure, PropertyContext):
        for prop_id in structure:
            for ptype in structure.types_of(prop_id):
                if structure.value_node(prop_id, ptype) is None:
                    structure.value(prop_id, ptype)
    else:
        for row in structure:
            for prop_id in row:
                row[prop_id]


MSGFLAG_HASATTACH = 0x0010


def _check_message(message: Message, report: Report) -> None:
    """A message's PC, its recipient and attachment tables, attachments and embedded messages."""
    _decode_all(message.properties)
    flags = message.properties.get(0x0E07)
    if isinstance(flags, int) and flags & MSGFLAG_HASATTACH and NID_ATTACHMENT_TABLE not in message.node.subnodes():
        report.add(
            "attachments-missing",
            "error",
            "messaging",
            "PidTagMessageFlags says the message has attachments, but it has no attachment table",
            nid=message.nid,
            bid=message.node.bid_sub or None,
        )
    for recipient in message.recipients:
        dict(recipient.properties)
    for attachment in message.attachments:
        _decode_all(attachment.properties)
        if attachment.is_embedded and attachment.message is not None:
            _check_message(attachment.message, report)


def check_node_structures(pst: PSTFile, report: Report) -> None:
    """Parse and decode the PC or TC of every top-level node that should hold one."""
    for entry in pst.nodes():
        kind = nid_type(entry.nid)
        is_pc = kind in PC_NODE_TYPES or entry.nid in (NID_MESSAGE_STORE, NID_NAME_TO_ID_MAP)
        if not (is_pc or kind in TC_NODE_TYPES) or entry.bid_data == 0:
            continue
        try:
            node = pst.node(entry.nid)
            if kind in MESSAGE_TYPES:
                _check_message(Message(node), report)
            elif is_pc:
                _decode_all(node.properties())
            else:
                _decode_all(node.table())
        except LTPError as exc:
            report.add("ltp-invalid", "error", "ltp", exc.message, offset=exc.offset, nid=exc.nid or entry.nid, bid=exc.bid)
        except PSTError as exc:
            report.add("ltp-unreadable", "error", "ltp", exc.message, offset=exc.offset, nid=exc.nid or entry.nid, bid=exc.bid)
