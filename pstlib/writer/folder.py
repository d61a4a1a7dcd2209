"""Folders of a new store ([MS-PST] 2.4.4): a PC node and three tables per folder.

Messages are written as they are added; a folder keeps only the summary
(the contents-table columns) of each, and writes its own PC and tables when
the store closes, once its counts are final.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from pstlib.ltp.proptypes import PropertyType as T
from pstlib.ndb.nid import NIDType, make_nid, nid_index
from pstlib.tags import PropertyId as P
from pstlib.writer import templates
from pstlib.writer.message import NewMessage
from pstlib.writer.propertycontext import InSubnode, Subnodes, Value, write_pc
from pstlib.writer.tablecontext import write_tc
from pstlib.writer.values import encode_value, tag_of

if TYPE_CHECKING:
    from pstlib.writer.store import PSTWriter

_CONTENTS_TAGS = frozenset(templates.CONTENTS_TABLE)
_ASSOC_TAGS = frozenset(templates.ASSOC_CONTENTS_TABLE)


class FolderWriter:
    """A folder being written: add subfolders and messages to it."""

    def __init__(self, store: PSTWriter, nid: int, name: str, container_class: str | None) -> None:
        self._store = store
        self.nid = nid
        self.name = name
        self.container_class = container_class
        self.subfolders: list[FolderWriter] = []
        self.message_count = 0
        self.unread_count = 0
        self._rows: list[tuple[int, dict[int, Value]]] = []
        self._assoc_rows: list[tuple[int, dict[int, Value]]] = []

    def add_folder(self, name: str, container_class: str | None = "IPF.Note") -> FolderWriter:
        """A new subfolder (written when the store closes)."""
        folder = FolderWriter(self._store, self._store.ndb.new_nid(NIDType.NORMAL_FOLDER), name, container_class)
        self.subfolders.append(folder)
        return folder

    def add_message(self, subject: str = "", **fields: Any) -> int:
        """Write a message with the fields of ``NewMessage``; returns its NID."""
        return self.add(NewMessage(subject=subject, **fields))

    def add(self, message: NewMessage, *, associated: bool = False) -> int:
        """Write a ``NewMessage`` (to the associated contents when ``associated``); its NID."""
        ndb = self._store.ndb
        nid = ndb.new_nid(NIDType.ASSOC_MESSAGE if associated else NIDType.NORMAL_MESSAGE)
        mark = ndb.mark()
        try:
            bid_data, bid_sub, props = self._store.messages.write(message, nid)
        except BaseException:
            ndb.rollback(mark)  # a stream that failed halfway leaves no unreferenced blocks
            raise
        ndb.add_node(nid, bid_data, bid_sub, self.nid)
        keep = _ASSOC_TAGS if associated else _CONTENTS_TAGS
        columns = keep & props.keys()
        row = dict(zip(columns, map(props.__getitem__, columns)))
        if not set(map(type, row.values())) <= {bytes}:  # a value already in a subnode stays out
            row = {tag: value for tag, value in row.items() if not isinstance(value, InSubnode)}
        if associated:
            self._assoc_rows.append((nid, row))
        else:
            self._rows.append((nid, row))
            self.message_count += 1
            self.unread_count += not message.is_read
        return nid

    def _summary(self) -> dict[int, Value]:
        """The folder's own properties: also its row in its parent's hierarchy table."""
        props = {
            tag_of(P.PidTagDisplayName, T.STRING): encode_value(T.STRING, self.name),
            tag_of(P.PidTagContentCount, T.INTEGER32): struct.pack("<I", self.message_count),
            tag_of(P.PidTagContentUnreadCount, T.INTEGER32): struct.pack("<I", self.unread_count),
            tag_of(P.PidTagSubfolders, T.BOOLEAN): bytes([bool(self.subfolders)]),
        }
        if self.container_class:
            props[tag_of(P.PidTagContainerClass, T.STRING)] = encode_value(T.STRING, self.container_class)
        return props

    def _finish(self, parent_nid: int) -> None:
        """Write this folder's subtree, then its PC and its three tables."""
        for folder in self.subfolders:
            folder._finish(self.nid)
        ndb = self._store.ndb
        index = nid_index(self.nid)
        props = self._summary()
        pc = write_pc(ndb, props, Subnodes(ndb))
        ndb.add_node(self.nid, pc, 0, parent_nid)
        tables = (
            (NIDType.HIERARCHY_TABLE, templates.HIERARCHY_TABLE, [(f.nid, f._summary()) for f in self.subfolders]),
            (NIDType.CONTENTS_TABLE, _CONTENTS_TAGS, self._rows),
            (NIDType.ASSOC_CONTENTS_TABLE, _ASSOC_TAGS, self._assoc_rows),
        )
        for node_type, columns, rows in tables:
            subnodes = Subnodes(ndb)
            bid = write_tc(ndb, columns, rows, subnodes)
            ndb.add_node(make_nid(node_type, index), bid, subnodes.tree(), 0)
        self._rows = self._assoc_rows = []

