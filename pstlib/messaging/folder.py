"""Folders of [MS-PST] 2.4.4: a property context and, under NIDs of the same
index, a hierarchy table (subfolders), a contents table (messages) and an
associated contents table (hidden messages).  Search folders have a search
contents table instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cached_property
from typing import Any

from pstlib.errors import MessagingError, NodeNotFound
from pstlib.ltp.node import Node
from pstlib.ltp.propertycontext import PropertyContext
from pstlib.messaging import values
from pstlib.messaging.message import Message
from pstlib.ndb.nid import NIDType, make_nid, nid_index, nid_type
from pstlib.tags import PropertyId


def escape_name(name: str) -> str:
    """A display name as a path component: ``\\`` and ``/`` escaped with ``\\``."""
    return name.replace("\\", "\\\\").replace("/", "\\/")


class Folder:
    """A folder: its name and path, counts, subfolders and messages."""

    def __init__(self, node_of: Callable[[int], Node], nid: int, parent_path: str | None) -> None:
        self._node_of = node_of
        self.nid = nid
        self._parent_path = parent_path

    @cached_property
    def node(self) -> Node:
        """The folder's node, looked up on first use: a folder listed but missing from the
        NBT fails where it is used, not while its siblings are being listed."""
        return self._node_of(self.nid)

    @cached_property
    def properties(self) -> PropertyContext:
        return self.node.properties()

    def __getitem__(self, prop_id: int) -> Any:
        return self.properties[prop_id]

    @property
    def name(self) -> str:
        return values.text(self.properties, PropertyId.PidTagDisplayName) or ""

    @property
    def path(self) -> str:
        """Display names from the root joined with ``/`` (the root folder is ``/``)."""
        if self._parent_path is None:
            return "/"
        return f"{self._parent_path.rstrip('/')}/{escape_name(self.name)}"

    @property
    def is_search_folder(self) -> bool:
        return nid_type(self.nid) == NIDType.SEARCH_FOLDER

    @property
    def container_class(self) -> str | None:
        return values.text(self.properties, PropertyId.PidTagContainerClass)

    @property
    def message_count(self) -> int:
        return values.integer(self.properties, PropertyId.PidTagContentCount) or 0

    @property
    def unread_count(self) -> int:
        return values.integer(self.properties, PropertyId.PidTagContentUnreadCount) or 0

    def _table_row_ids(self, table_type: int) -> list[int]:
        nid = make_nid(table_type, nid_index(self.nid))
        try:
            node = self._node_of(nid)
        except NodeNotFound:
            # A search folder's results are only references: Aspose-written stores
            # (and enron) leave the SPAM search folder without its table.
            if self.is_search_folder:
                return []
            raise MessagingError(f"folder has no table node 0x{nid:X}", nid=self.nid) from None
        return [int(row_id) for row_id in node.table().row_ids]

    def subfolders(self) -> Iterator[Folder]:
        """The folders the hierarchy table lists, in its order."""
        for nid in self._table_row_ids(NIDType.HIERARCHY_TABLE):
            yield Folder(self._node_of, nid, self.path)

    def messages(self) -> Iterator[Message]:
        """The messages the contents table (or a search folder's search contents table) lists."""
        table = NIDType.SEARCH_CONTENTS_TABLE if self.is_search_folder else NIDType.CONTENTS_TABLE
        for nid in self._table_row_ids(table):
            yield Message(self._node_of(nid))

    def associated_messages(self) -> Iterator[Message]:
        """The folder's associated (hidden) messages: views, rules, forms."""
        for nid in self._table_row_ids(NIDType.ASSOC_CONTENTS_TABLE):
            yield Message(self._node_of(nid))

    def walk(self) -> Iterator[Folder]:
        """This folder, then every folder below it, depth-first; a folder reached twice is refused."""
        seen = {self.nid}
        stack: list[Iterator[Folder]] = [iter([self])]
        while stack:
            folder = next(stack[-1], None)
            if folder is None:
                stack.pop()
                continue
            yield folder
            children = []
            for child in folder.subfolders():
                if child.nid in seen:
                    raise MessagingError(f"folder 0x{child.nid:X} is reached twice", nid=folder.nid)
                seen.add(child.nid)
                children.append(child)
            stack.append(iter(children))

    def __repr__(self) -> str:
        return f"Folder(nid=0x{self.nid:X}, path={self.path!r})"
