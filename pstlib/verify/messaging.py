"""Messaging checks: mandatory nodes, folder tables against the NBT, stored counts.

A folder's hierarchy, contents and associated contents tables list its
children by NID (dwRowID); the NBT gives every node's parent.  The two must
agree both ways, children must be of the right type, and the counts a folder
stores must match its tables ([MS-PST] 2.4.4).
"""

from __future__ import annotations

from collections import defaultdict

from pstlib.errors import PSTError
from pstlib.ltp.tablecontext import TableContext
from pstlib.messaging.folder import Folder
from pstlib.ndb.nid import NID_ROOT_FOLDER, NIDType, make_nid, nid_index, nid_type
from pstlib.pstfile import PSTFile
from pstlib.tags import PropertyId
from pstlib.verify.report import Report

MANDATORY_NODES = {
    0x21: "message store",
    0x61: "named property map",
    0x122: "root folder",
    0x12D: "root folder hierarchy table",
    0x12E: "root folder contents table",
    0x12F: "root folder associated contents table",
    0x1E1: "search management queue",
    0x201: "search activity list",
    0x60D: "hierarchy table template",
    0x60E: "contents table template",
    0x60F: "associated contents table template",
    0x610: "search contents table template",
    0x62B: "receive folder table",
    0x671: "attachment table template",
    0x692: "recipient table template",
}
"""[MS-PST] 2.7.1's minimal PST: every node here is in every PST and OST of the corpus."""

FOLDER_TYPES = (NIDType.NORMAL_FOLDER, NIDType.SEARCH_FOLDER)
MSGFLAG_READ = 0x0001


def check_folders(pst: PSTFile, report: Report) -> None:
    """Mandatory nodes, then every folder's tables against the NBT's parent links."""
    entries = {entry.nid: entry for entry in pst.nodes()}
    for nid, what in MANDATORY_NODES.items():
        if nid not in entries:
            report.add("mandatory-node-missing", "error", "messaging", f"the {what} (NID 0x{nid:X}) is missing", nid=nid)
    if 0x122 not in entries:
        return
    children: dict[int, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    for entry in entries.values():
        if entry.nid != entry.nid_parent:
            children[entry.nid_parent][nid_type(entry.nid)].add(entry.nid)
    # Walk the tree through the hierarchy tables _check_folder reads anyway.
    reached = {NID_ROOT_FOLDER}
    pending = [pst.root_folder]
    while pending:
        folder = pending.pop()
        report.stats.folders += 1
        try:
            hierarchy = _check_folder(pst, folder, entries, children[folder.nid], report)
        except PSTError as exc:
            report.add("folder-unreadable", "error", "messaging", exc.message, offset=exc.offset, nid=exc.nid or folder.nid, bid=exc.bid)
            continue
        for child in hierarchy:
            if child not in entries:
                report.add("folder-tree", "error", "messaging", f"folder 0x{child:X}, listed by folder 0x{folder.nid:X}, is not in the NBT: its subtree is unreachable", nid=child)
                continue
            if child in reached:
                report.add("folder-tree", "error", "messaging", f"folder 0x{child:X} is reached twice", nid=folder.nid)
                continue
            reached.add(child)
            pending.append(Folder(pst.node, child, folder.path))
    for entry in entries.values():
        if nid_type(entry.nid) in FOLDER_TYPES and entry.nid not in reached and entry.nid_parent in reached:
            report.add(
                "folder-unlisted",
                "error",
                "messaging",
                f"folder 0x{entry.nid:X} names folder 0x{entry.nid_parent:X} as its parent, whose hierarchy table does not list it",
                nid=entry.nid,
            )


def _table(pst: PSTFile, folder_nid: int, table_type: int) -> TableContext | None:
    """One of a folder's tables, or None where its node is missing."""
    try:
        node = pst.node(make_nid(table_type, nid_index(folder_nid)))
    except KeyError:
        return None
    return node.table()


def _check_folder(pst: PSTFile, folder: Folder, entries: dict, children: dict[int, set[int]], report: Report) -> list[int]:
    """One folder: each table's rows against the NBT, and the counts it stores; its subfolders' NIDs."""
    nid = folder.nid
    search = folder.is_search_folder
    tables = (
        [(NIDType.SEARCH_CONTENTS_TABLE, (NIDType.NORMAL_MESSAGE,), False)]
        if search
        else [
            (NIDType.HIERARCHY_TABLE, FOLDER_TYPES, True),
            (NIDType.CONTENTS_TABLE, (NIDType.NORMAL_MESSAGE,), True),
            (NIDType.ASSOC_CONTENTS_TABLE, (NIDType.ASSOC_MESSAGE,), True),
        ]
    )
    read: dict[int, TableContext] = {}
    for table_type, child_types, owns in tables:
        table = _table(pst, nid, table_type)
        table_nid = make_nid(table_type, nid_index(nid))
        if table is None:
            if not search:
                report.add("folder-table-missing", "error", "messaging", f"folder table 0x{table_nid:X} is missing", nid=nid)
            continue
        read[table_type] = table
        rows = table.row_ids.tolist()
        if table_type in (NIDType.CONTENTS_TABLE, NIDType.SEARCH_CONTENTS_TABLE):
            report.stats.messages += len(rows)
        for row_id in rows:
            entry = entries.get(row_id)
            if entry is None:
                report.add("row-node-missing", "error", "messaging", f"table 0x{table_nid:X} lists node 0x{row_id:X}, which the NBT lacks", nid=nid)
            elif nid_type(row_id) not in child_types:
                report.add("row-node-type", "error", "messaging", f"table 0x{table_nid:X} lists node 0x{row_id:X} of the wrong type", nid=nid)
            elif owns and entry.nid_parent != nid:
                report.add("parent-mismatch", "error", "messaging", f"table 0x{table_nid:X} lists node 0x{row_id:X}, whose NBT parent is 0x{entry.nid_parent:X}", nid=nid)
        if owns:
            listed = set(rows)
            for child_type in child_types:
                for child in sorted(children.get(child_type, set()) - listed):
                    report.add(
                        "child-unlisted",
                        "error",
                        "messaging",
                        f"node 0x{child:X} names this folder as its parent, but table 0x{table_nid:X} does not list it",
                        nid=nid,
                    )
    if not search:
        _check_counts(folder, read, report)
    hierarchy = read.get(NIDType.HIERARCHY_TABLE)
    return [] if hierarchy is None else [row_id for row_id in hierarchy.row_ids.tolist() if nid_type(row_id) in FOLDER_TYPES]


def _check_counts(folder, tables: dict[int, TableContext], report: Report) -> None:
    """The counts a normal folder stores against its tables."""
    props = folder.properties
    contents = tables.get(NIDType.CONTENTS_TABLE)
    stored = props.get(PropertyId.PidTagContentCount)
    if stored is not None and contents is not None and stored != len(contents):
        report.add(
            "content-count",
            "error",
            "messaging",
            f"PidTagContentCount is {stored}, the contents table lists {len(contents)}",
            nid=folder.nid,
        )
    unread = props.get(PropertyId.PidTagContentUnreadCount)
    if unread is not None and contents is not None and len(contents):
        try:
            flags = contents.column(PropertyId.PidTagMessageFlags << 16 | 0x0003)
        except KeyError:
            flags = None
        if flags is not None:
            actual = int(((flags & MSGFLAG_READ) == 0).sum())
            if actual != unread:
                report.add(
                    "unread-count",
                    "error",
                    "messaging",
                    f"PidTagContentUnreadCount is {unread}, the contents table has {actual} unread rows",
                    nid=folder.nid,
                )
    subfolders = props.get(PropertyId.PidTagSubfolders)
    listed = len(tables.get(NIDType.HIERARCHY_TABLE) or ())
    if subfolders is not None and bool(subfolders) != bool(listed):
        report.add(
            "subfolders-flag",
            "warning",
            "messaging",
            f"PidTagSubfolders is {bool(subfolders)}, the hierarchy table lists {listed} folders",
            nid=folder.nid,
        )
