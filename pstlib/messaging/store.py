"""The message store of [MS-PST] 2.4.3: node 0x21, the file's own properties."""

from __future__ import annotations

from functools import cached_property

from pstlib.ltp.node import Node
from pstlib.ltp.propertycontext import PropertyContext
from pstlib.messaging import values
from pstlib.messaging.entryid import entryid_nid
from pstlib.ndb.crc import crc32
from pstlib.tags import PropertyId


class Store:
    """The store's name, record key, well-known folders and password check."""

    def __init__(self, node: Node, kind: str = "pst") -> None:
        self.node = node
        self.kind = kind

    @cached_property
    def properties(self) -> PropertyContext:
        return self.node.properties()

    @property
    def display_name(self) -> str | None:
        return values.text(self.properties, PropertyId.PidTagDisplayName)

    @property
    def record_key(self) -> bytes | None:
        """PidTagRecordKey: the provider UID every EntryID in this store carries."""
        return values.binary(self.properties, PropertyId.PidTagRecordKey)

    def _folder_nid(self, prop_id: int) -> int | None:
        entry_id = values.binary(self.properties, prop_id)
        return entryid_nid(entry_id) if entry_id else None

    @property
    def ipm_subtree_nid(self) -> int | None:
        """NID of the folder PidTagIpmSubtreeEntryId names ("Top of Personal Folders")."""
        return self._folder_nid(PropertyId.PidTagIpmSubtreeEntryId)

    @property
    def deleted_items_nid(self) -> int | None:
        return self._folder_nid(PropertyId.PidTagIpmWastebasketEntryId)

    @property
    def search_root_nid(self) -> int | None:
        return self._folder_nid(PropertyId.PidTagFinderEntryId)

    @property
    def password_crc(self) -> int:
        """PidTagPstPassword as stored: the CRC of the password, 0 where there is none."""
        return (values.integer(self.properties, PropertyId.PidTagPstPassword) or 0) & 0xFFFFFFFF

    @property
    def is_password_protected(self) -> bool:
        """A PST with a password CRC; OSTs store 0xFFFFFFFF there and have no password."""
        return self.kind == "pst" and self.password_crc != 0

    def check_password(self, password: str) -> bool:
        """Whether ``password`` opens the store in Outlook: its [MS-PST] 5.3 CRC equals PidTagPstPassword.

        The data itself is not encrypted with the password; any string with the
        same CRC is accepted by Outlook too.
        """
        if not self.is_password_protected:
            return True
        return crc32(password.encode("cp1252", errors="replace")) == self.password_crc
