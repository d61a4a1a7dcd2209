"""Copy any readable store into a fresh Unicode PST: OST to PST, and repair by copy.

Every folder, message (all its properties), recipient and attachment that
reads cleanly is written again; named properties are re-registered in the
new store's map.  What cannot be read is skipped and listed in the report
by folder path and NID, so a damaged store yields everything still readable.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pstlib
from pstlib.errors import PSTError
from pstlib.ltp.propertycontext import PropertyContext
from pstlib.ltp.proptypes import FIXED_SIZES, MULTIPLE, PropertyType, decode
from pstlib.ltp.tablecontext import Row
from pstlib.messaging.attachment import Attachment
from pstlib.messaging.folder import Folder
from pstlib.messaging.message import Message
from pstlib.pstfile import PSTFile
from pstlib.tags import PropertyId as P
from pstlib.writer.folder import FolderWriter
from pstlib.writer.message import NewAttachment, NewMessage, NewRecipient, PropertyKey
from pstlib.writer.store import PSTWriter, create

ROW_COLUMNS = {0x67F2, 0x67F3}
"""PidTagLtpRowId and PidTagLtpRowVer: the table's own bookkeeping, rewritten by the writer."""
ATTACH_DATA = P.PidTagAttachDataBinary
ATTACH_EMBEDDED_MSG = 5
MESSAGE_FLAGS = (P.PidTagMessageFlags << 16) | PropertyType.INTEGER32
HAS_ATTACHMENTS = (P.PidTagHasAttachments << 16) | PropertyType.BOOLEAN
MSGFLAG_HASATTACH = 0x10
READ_WHOLE = 16 << 20
"""Attachments up to this size are read before their message is written; larger ones are
streamed, so damage found in one while writing skips its whole message."""


@dataclass(frozen=True)
class Skipped:
    """Something the copy left out: where, which node, and why."""

    folder: str
    nid: int
    what: str
    reason: str


@dataclass
class CopyReport:
    """What ``copy()`` wrote and what it had to skip."""

    folders: int = 0
    messages: int = 0
    attachments: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.skipped


class Copier:
    """Turns what a store reads into the writer's ``NewMessage``s, noting what it skips."""

    def __init__(self, pst: PSTFile, writer: PSTWriter, report: CopyReport, progress: Callable[[int], None] | None) -> None:
        self.pst = pst
        self.writer = writer
        self.report = report
        self.progress = progress
        try:
            self.names: Any = pst.named_properties
        except PSTError as exc:
            self.names = {}
            report.skipped.append(Skipped("/", 0x61, "named property map", exc.message))
        self.unnamed: set[int] = set()
        self.ipm_nid = 0
        self.copied_elsewhere: set[int] = set()
        """Folders copied in their own right: an OST's IPM subtree sits under "Root - Mailbox"."""

    def properties(self, source: PropertyContext | Row, where: tuple[str, int], skip: set[int] = frozenset()) -> dict[PropertyKey, bytes]:
        """Every stored value of a PC or row, as raw bytes, keyed for the new store."""
        out: dict[PropertyKey, bytes] = {}
        for prop_id in list(source):
            if prop_id in skip:
                continue
            types = source.types_of(prop_id) if isinstance(source, PropertyContext) else (source.type_of(prop_id),)
            for ptype in types:
                if ptype in (PropertyType.OBJECT, PropertyType.UNSPECIFIED):
                    continue
                try:
                    raw = source.raw(prop_id, ptype) if isinstance(source, PropertyContext) else source.raw(prop_id)
                    if ptype in FIXED_SIZES or ptype & MULTIPLE:  # a value of the wrong size would not read back
                        decode(ptype, raw)
                except PSTError as exc:
                    self.skip(where, f"property 0x{prop_id:04X}", exc.message)
                    continue
                if prop_id >= 0x8000:
                    name = self.names.get(prop_id)
                    if name is None:
                        self.unnamed.add(prop_id)
                        continue
                    out[(name[0], name[1], ptype)] = raw
                else:
                    out[(prop_id << 16) | ptype] = raw
        return out

    def skip(self, where: tuple[str, int], what: str, reason: str) -> None:
        self.report.skipped.append(Skipped(where[0], where[1], what, reason))

    def message(self, m: Message, path: str) -> NewMessage:
        where = (path, m.nid)
        recipients = []
        try:
            for r in m.recipients:
                recipients.append(NewRecipient("", properties=self.properties(r.properties, where, ROW_COLUMNS), raw=True))
        except PSTError as exc:
            self.skip(where, "recipients", exc.message)
        attachments = []
        try:
            listed = m.attachments
        except PSTError as exc:
            self.skip(where, "attachments", exc.message)
            listed = []
        for a in listed:
            try:
                attachments.append(self.attachment(a, path))
                self.report.attachments += 1
            except PSTError as exc:
                self.skip((path, a.nid), "attachment", exc.message)
        properties = self.properties(m.properties, where)
        if not attachments:  # none copied (or none readable): the copy has no attachment table
            flags = properties.get(MESSAGE_FLAGS)
            if flags is not None and struct.unpack("<I", flags)[0] & MSGFLAG_HASATTACH:
                properties[MESSAGE_FLAGS] = struct.pack("<I", struct.unpack("<I", flags)[0] & ~MSGFLAG_HASATTACH)
            if properties.get(HAS_ATTACHMENTS, b"\0")[:1] != b"\0":
                properties[HAS_ATTACHMENTS] = b"\0"
        return NewMessage(
            is_read=m.is_read,
            properties=properties,
            recipients=recipients,
            attachments=attachments,
            raw=True,
        )

    def attachment(self, a: Attachment, path: str) -> NewAttachment:
        pc = a.properties
        props = self.properties(pc, (path, a.nid), {ATTACH_DATA})
        if a.method == ATTACH_EMBEDDED_MSG and a.message is not None:
            return NewAttachment(message=self.message(a.message, path), properties=props, raw=True)
        if ATTACH_DATA not in pc:
            return NewAttachment(properties=props, raw=True)
        ole = pc.type_of(ATTACH_DATA) == PropertyType.OBJECT
        # Read now, so damage skips only this attachment; stream what is too big to hold.
        data = a.read() if a.size <= READ_WHOLE else a.open()
        return NewAttachment(data=data, properties=props, raw=True, ole=ole)

    def folder(self, source: Folder, target: FolderWriter) -> None:
        self.report.folders += 1
        for message, associated in self._messages(source):
            try:
                target.add(self.message(message, source.path), associated=associated)
                self.report.messages += not associated
            except PSTError as exc:
                self.skip((source.path, message.nid), "message", exc.message)
            if self.progress:
                self.progress(1)
        try:
            children = list(source.subfolders())
        except PSTError as exc:
            self.skip((source.path, source.nid), "subfolders", exc.message)
            return
        for child in children:
            try:
                if child.is_search_folder or child.nid in self.copied_elsewhere:
                    continue
                if self._is_wastebasket(child, source):
                    into = self.writer.deleted_items
                else:
                    into = target.add_folder(child.name, child.container_class)
                self.folder(child, into)
            except PSTError as exc:
                self.skip((child.path if hasattr(child, "path") else source.path, child.nid), "folder", exc.message)

    def _is_wastebasket(self, folder: Folder, parent: Folder) -> bool:
        """The store names its wastebasket; OSTs do not, so there it is the IPM subtree's
        child with the writer's name for it (no second "Deleted Items" beside the first)."""
        named = self.pst.store.deleted_items_nid
        if named is not None:
            return folder.nid == named
        return parent.nid == self.ipm_nid and folder.name == self.writer.deleted_items.name

    def _messages(self, source: Folder) -> Iterator[tuple[Message, bool]]:
        for associated, listing in ((False, source.messages), (True, source.associated_messages)):
            try:
                for message in listing():
                    yield message, associated
            except PSTError as exc:
                self.skip((source.path, source.nid), "contents table", exc.message)


def copy(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    crypt: str = "permute",
    progress: Callable[[int], None] | None = None,
) -> CopyReport:
    """Copy the store at ``src`` (any readable PST or OST) into a new Unicode PST at ``dst``.

    ``progress`` is called with 1 per message.  Raises ``PSTError`` only when
    ``src`` cannot be opened at all; anything less is skipped and reported.
    """
    if os.path.exists(dst) and os.path.samefile(src, dst):
        raise pstlib.WriterError("the copy would overwrite its source")
    report = CopyReport()
    with pstlib.open(src) as pst:
        store = pst.store
        with create(dst, crypt, store.display_name or "Personal Folders") as writer:
            copier = Copier(pst, writer, report, progress)
            copier.ipm_nid = pst.ipm_subtree.nid
            copier.copied_elsewhere = {copier.ipm_nid, store.search_root_nid}
            copier.folder(pst.ipm_subtree, writer.root_folder)
            for child in pst.root_folder.subfolders():
                if child.nid in copier.copied_elsewhere or child.is_search_folder:
                    continue
                copier.folder(child, writer.add_root_folder(child.name, child.container_class))
            for prop_id in sorted(copier.unnamed):
                report.skipped.append(Skipped("/", 0x61, f"property 0x{prop_id:04X}", "named property id missing from the name-to-id map"))
    return report
