"""LTP checks: every heap, BTH, PC and TC that a node's type says it holds parses,
and every property and cell in it decodes.
"""

from __future__ import annotations

from pstlib.errors import LTPError, PSTError
from pstlib.ndb.nid import NID_MESSAGE_STORE, NID_NAME_TO_ID_MAP, PC_NODE_TYPES, TC_NODE_TYPES, nid_type
from pstlib.pstfile import PSTFile
from pstlib.verify.report import Report


def check_node_structures(pst: PSTFile, report: Report) -> None:
    """Parse and decode the PC or TC of every top-level node that should hold one."""
    for entry in pst.nodes():
        kind = nid_type(entry.nid)
        is_pc = kind in PC_NODE_TYPES or entry.nid in (NID_MESSAGE_STORE, NID_NAME_TO_ID_MAP)
        if not (is_pc or kind in TC_NODE_TYPES) or entry.bid_data == 0:
            continue
        try:
            node = pst.node(entry.nid)
            if is_pc:
                pc = node.properties()
                for prop_id in pc:
                    for ptype in pc.types_of(prop_id):
                        pc.value(prop_id, ptype)
            else:
                table = node.table()
                for row in table:
                    for prop_id in row:
                        row[prop_id]
        except LTPError as exc:
            report.add("ltp-invalid", "error", "ltp", exc.message, offset=exc.offset, nid=exc.nid or entry.nid, bid=exc.bid)
        except PSTError as exc:
            report.add("ltp-unreadable", "error", "ltp", exc.message, offset=exc.offset, nid=exc.nid or entry.nid, bid=exc.bid)
