"""A new Unicode PST: the store object, its standard folders and the nodes [MS-PST] 2.7 requires.

``create()`` opens the file and returns a ``PSTWriter``; folders and messages
are added through ``root_folder`` (the IPM subtree, "Top of Personal
Folders", which is what Outlook shows), and ``close()`` writes the folders,
the name-to-id map, the store, the template tables and the NDB structures.
The header goes last, so a file left unfinished never passes for a PST.
"""

from __future__ import annotations

import builtins
import os
import struct
import uuid
from types import TracebackType

from pstlib.errors import WriterError
from pstlib.ltp.proptypes import PropertyType as T
from pstlib.ndb.crypt import CRYPT_CYCLIC, CRYPT_NONE, CRYPT_PERMUTE
from pstlib.ndb.nid import (
    NID_ASSOC_CONTENTS_TABLE_TEMPLATE,
    NID_ATTACHMENT_TABLE,
    NID_CONTENTS_TABLE_TEMPLATE,
    NID_HIERARCHY_TABLE_TEMPLATE,
    NID_MESSAGE_STORE,
    NID_NAME_TO_ID_MAP,
    NID_RECIPIENT_TABLE,
    NID_ROOT_FOLDER,
    NID_SEARCH_ACTIVITY_LIST,
    NID_SEARCH_CONTENTS_TABLE_TEMPLATE,
    NID_SEARCH_MANAGEMENT_QUEUE,
)
from pstlib.tags import PropertyId as P
from pstlib.writer import templates
from pstlib.writer.folder import FolderWriter
from pstlib.writer.message import MessageWriter
from pstlib.writer.namedprops import NameMap
from pstlib.writer.ndb import NDBWriter
from pstlib.writer.propertycontext import Subnodes, write_pc
from pstlib.writer.tablecontext import write_tc
from pstlib.writer.values import encode_value, tag_of

CRYPT_METHODS = {"none": CRYPT_NONE, "permute": CRYPT_PERMUTE, "cyclic": CRYPT_CYCLIC}
NID_RECEIVE_FOLDER_TABLE = 0x62B
SEED_NAMES = (
    (uuid.UUID("00062008-0000-0000-C000-000000000046"), 0x8554),  # PSETID_Common: PidLidCurrentVersionName
    (uuid.UUID("00020329-0000-0000-C000-000000000046"), "Keywords"),  # PS_PUBLIC_STRINGS: PidNameKeywords
)
"""Named properties registered in every new store, as Outlook's own carry some from the start:
pst-extractor cannot read a name-to-id map whose GUID, entry or string stream is empty."""
FOLDER_MASK = 0x89
"""PidTagValidFolderMask: IPM subtree, wastebasket and finder entry ids are valid."""


class PSTWriter:
    """A PST being written; use as a context manager, or call ``close()``."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        crypt: str = "permute",
        display_name: str = "Personal Folders",
        record_key: bytes | None = None,
    ) -> None:
        if crypt not in CRYPT_METHODS:
            raise WriterError(f"crypt must be one of {', '.join(CRYPT_METHODS)}, not {crypt!r}")
        self.path = os.fspath(path)
        self.display_name = display_name
        self.record_key = record_key or uuid.uuid4().bytes
        if len(self.record_key) != 16:
            raise WriterError("record_key is a 16-byte store UID")
        self._file = builtins.open(self.path, "w+b")
        self.ndb = NDBWriter(self._file, CRYPT_METHODS[crypt])
        self.names = NameMap()
        for guid, name in SEED_NAMES:
            self.names.id_of(guid, name)
        self.messages = MessageWriter(self.ndb, self.names)
        self._root = FolderWriter(self, NID_ROOT_FOLDER, "", None)
        self.root_folder = self._root.add_folder("Top of Personal Folders", None)
        """The IPM subtree: add the folders users see here."""
        self.search_root = self._root.add_folder("Search Root", None)
        self.deleted_items = self.root_folder.add_folder("Deleted Items")
        self.closed = False

    def add_root_folder(self, name: str, container_class: str | None = None) -> FolderWriter:
        """A folder beside the IPM subtree (Outlook hides these; a copy keeps them)."""
        return self._root.add_folder(name, container_class)

    def named_property(self, guid: uuid.UUID | str, name: int | str) -> int:
        """The property id this store uses for a named property (registering it)."""
        return self.names.id_of(guid, name)

    def close(self) -> None:
        """Write everything that waits for the end, then the header; idempotent."""
        if self.closed:
            return
        self.closed = True
        try:
            self._finish()
        finally:
            try:
                self.ndb.close()
            finally:
                self._file.close()

    def abort(self) -> None:
        """Stop without finishing and remove the partial file."""
        if not self.closed:
            self.closed = True
            try:
                self.ndb.close()
            except OSError:
                pass  # a write failed, and the file goes anyway
            finally:
                self._file.close()
            os.unlink(self.path)

    def _finish(self) -> None:
        ndb = self.ndb
        self._root._finish(NID_ROOT_FOLDER)
        self._pc(NID_MESSAGE_STORE, self._store_properties())
        self._pc(NID_NAME_TO_ID_MAP, self.names.properties())
        for nid, columns in (
            (NID_HIERARCHY_TABLE_TEMPLATE, templates.HIERARCHY_TABLE),
            (NID_CONTENTS_TABLE_TEMPLATE, templates.CONTENTS_TABLE),
            (NID_ASSOC_CONTENTS_TABLE_TEMPLATE, templates.ASSOC_CONTENTS_TABLE),
            (NID_SEARCH_CONTENTS_TABLE_TEMPLATE, templates.SEARCH_CONTENTS_TABLE),
            (NID_ATTACHMENT_TABLE, templates.ATTACHMENT_TABLE),
            (NID_RECIPIENT_TABLE, templates.RECIPIENT_TABLE),
        ):
            ndb.add_node(nid, write_tc(ndb, columns, [], Subnodes(ndb)))
        receive = {
            0x001A001F: encode_value(T.STRING, ""),
            0x66050003: struct.pack("<I", self.root_folder.nid),
        }
        ndb.add_node(NID_RECEIVE_FOLDER_TABLE, write_tc(ndb, templates.RECEIVE_FOLDER_TABLE, [(1, receive)], Subnodes(ndb)))
        ndb.add_node(NID_SEARCH_MANAGEMENT_QUEUE, 0)
        ndb.add_node(NID_SEARCH_ACTIVITY_LIST, 0)
        ndb.finish()

    def _pc(self, nid: int, properties: list[tuple[int, int, bytes]]) -> None:
        subnodes = Subnodes(self.ndb)
        bid = write_pc(self.ndb, {tag_of(prop_id, ptype): value for prop_id, ptype, value in properties}, subnodes)
        self.ndb.add_node(nid, bid, subnodes.tree())

    def _entry_id(self, nid: int) -> bytes:
        """An EntryID naming a folder of this store ([MS-PST] 2.4.3.2)."""
        return bytes(4) + self.record_key + struct.pack("<I", nid)

    def _store_properties(self) -> list[tuple[int, int, bytes]]:
        return [
            (P.PidTagRecordKey, T.BINARY, self.record_key),
            (P.PidTagDisplayName, T.STRING, encode_value(T.STRING, self.display_name)),
            (P.PidTagIpmSubtreeEntryId, T.BINARY, self._entry_id(self.root_folder.nid)),
            (P.PidTagIpmWastebasketEntryId, T.BINARY, self._entry_id(self.deleted_items.nid)),
            (P.PidTagFinderEntryId, T.BINARY, self._entry_id(self.search_root.nid)),
            (P.PidTagValidFolderMask, T.INTEGER32, struct.pack("<I", FOLDER_MASK)),
            (P.PidTagPstPassword, T.INTEGER32, bytes(4)),
        ]

    def __enter__(self) -> PSTWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def create(
    path: str | os.PathLike[str],
    crypt: str = "permute",
    display_name: str = "Personal Folders",
    record_key: bytes | None = None,
) -> PSTWriter:
    """Start writing a new Unicode PST at ``path`` (replacing any file there)."""
    return PSTWriter(path, crypt, display_name, record_key)
