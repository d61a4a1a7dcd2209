"""``PSTFile``: an open PST or OST file and its node database.

Opening reads the header only; B-tree pages and blocks are read when first
needed and kept in per-instance LRU caches.  The file is only ever read.
"""

from __future__ import annotations

import builtins
import io
import os
import threading
from collections.abc import Callable, Iterator
from functools import cached_property
from itertools import islice
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

import numpy as np

from pstlib.errors import MessagingError, NDBError, NodeNotFound, PSTError
from pstlib.limits import Limits
from pstlib.ltp.codepage import DEFAULT_CODEPAGE
from pstlib.ltp.namedprops import NamedProperties
from pstlib.ltp.node import Node
from pstlib.messaging.folder import Folder
from pstlib.messaging.store import Store
from pstlib.ndb.block import BBTEntry, BlockStore
from pstlib.ndb.btree import BTree
from pstlib.ndb.header import HEADER_READ_SIZE, Header, read_header
from pstlib.ndb.nid import NID_MESSAGE_STORE, NID_NAME_TO_ID_MAP, NID_ROOT_FOLDER, NIDType, nid_type
from pstlib.ndb.page import PTYPE_BBT, PTYPE_NBT

if TYPE_CHECKING:
    from pstlib.recovery import Recovery

CODEPAGE_PROBES = 16
"""Messages ``default_codepage`` looks at for a code page hint."""
OST_MAILBOX_ROOT = "Root - Mailbox"
OST_IPM_SUBTREE = "IPM_SUBTREE"


class NBTEntry(NamedTuple):
    """A leaf NBT entry: a node's NID, its two tree roots and its parent NID."""

    nid: int
    bid_data: int
    bid_sub: int
    nid_parent: int


def nbt_entries(page: np.ndarray) -> Iterator[NBTEntry]:
    """A leaf NBT page's entries (``BTree.leaves``/``leaf_pages``) as ``NBTEntry`` tuples."""
    return map(
        NBTEntry,
        (page["nid"] & 0xFFFFFFFF).tolist(),
        page["bidData"].tolist(),
        page["bidSub"].tolist(),
        page["nidParent"].tolist(),
    )


Source = str | os.PathLike | BinaryIO | bytes | bytearray | memoryview


class _View(io.RawIOBase):
    """A read-only file over a memoryview that does not copy it (``io.BytesIO`` would): verify
    hands its map of a whole file to ``PSTFile`` this way."""

    def __init__(self, view: memoryview) -> None:
        super().__init__()
        self._view = view.cast("B")
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}[whence]
        self._position = max(base + offset, 0)
        return self._position

    def close(self) -> None:
        self._view.release()  # the caller's map can be closed once this file is
        super().close()

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        chunk = self._view[self._position : self._position + len(buffer)]
        buffer[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)


class PSTFile:
    """A PST/OST file opened for reading; see ``pstlib.open``."""

    def __init__(self, source: Source, *, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._owned = False
        if isinstance(source, (str, os.PathLike)):
            self._file: BinaryIO = builtins.open(source, "rb")  # noqa: SIM115
            self._owned = True
            self.name = os.fspath(source)
        elif isinstance(source, memoryview):
            self._file = _View(source)
            self.name = "<bytes>"
        elif isinstance(source, (bytes, bytearray)):
            self._file = io.BytesIO(bytes(source))  # shares a bytes object's buffer, copies a bytearray
            self.name = "<bytes>"
        else:
            self._file = source
            self.name = str(getattr(source, "name", "<stream>"))
        self._lock = threading.Lock()
        self._fd: int | None = self._file.fileno() if self._owned and hasattr(os, "pread") else None
        """A file this object opened is read with ``os.pread``: no seek, no lock."""
        self.bytes_read = 0
        try:
            self.size = self._file.seek(0, io.SEEK_END)
            self.header: Header = read_header(self._read_prefix())
            ndb = self.header.ndb
            root = self.header.root
            self.nbt = BTree(self.read_at, ndb, PTYPE_NBT, root.nbt, self.limits)
            self.bbt = BTree(self.read_at, ndb, PTYPE_BBT, root.bbt, self.limits)
            self.block_store = BlockStore(
                self.read_at, ndb, self.bbt, self.header.crypt_method, self.limits
            )
        except BaseException:
            self.close()
            raise

    def _read_prefix(self) -> bytes:
        with self._lock:
            self._file.seek(0)
            data = self._file.read(min(self.size, HEADER_READ_SIZE))
        self.bytes_read += len(data)
        return data

    def read_at(self, offset: int, size: int) -> bytes:
        """Exactly ``size`` bytes at ``offset``; ``NDBError`` if the file ends first."""
        if self._file.closed:
            raise PSTError("the file is closed: folders, messages and nodes of a closed PSTFile cannot be read")
        if offset < 0 or size < 0 or offset + size > self.size:
            raise NDBError(
                f"{size} bytes at offset 0x{offset:X} run past the end of the"
                f" {self.size}-byte file",
                offset=offset,
            )
        if self._fd is not None:
            data = os.pread(self._fd, size, offset)
        else:
            with self._lock:
                self._file.seek(offset)
                data = self._file.read(size)
        if len(data) != size:
            raise NDBError(f"short read: {len(data)} of {size} bytes", offset=offset)
        self.bytes_read += size
        return data

    def nodes(self) -> Iterator[NBTEntry]:
        """Every NBT entry in NID order."""
        for page in self.nbt.leaf_pages():
            yield from nbt_entries(page)

    def node(self, nid: int) -> Node:
        """The node with this NID; ``NodeNotFound`` (a ``KeyError``) if there is none."""
        found = self.nbt.lookup_row(nid)
        if found is None:
            raise NodeNotFound(f"node 0x{nid:X} is not in the NBT", nid=nid)
        node = Node(self.block_store, self.limits, nid, *found[1:])
        if "default_codepage" in self.__dict__:
            node.default_codepage = self.default_codepage
        elif nid != NID_MESSAGE_STORE and nid_type(nid) != NIDType.NORMAL_MESSAGE:
            node.default_codepage = self.default_codepage
        return node

    @cached_property
    def default_codepage(self) -> int:
        """Code page of String8 values where an object names none (folders, often).

        The store's own hints where it has them; else those of the first messages
        that have them (Outlook writes them on messages only: the Japanese ANSI
        files of the corpus name 932 on every message and nowhere else); else 1252.
        """
        candidates = [NID_MESSAGE_STORE]
        candidates += [
            entry.nid for entry in islice(
                (e for e in self.nodes() if nid_type(e.nid) == NIDType.NORMAL_MESSAGE), CODEPAGE_PROBES
            )
        ]
        for nid in candidates:
            try:
                node = self.node(nid)
                node.default_codepage = 0
                codepage = node.properties().codepage
            except PSTError:
                continue
            if codepage:
                return codepage
        return DEFAULT_CODEPAGE

    @cached_property
    def store(self) -> Store:
        """The message store (node 0x21, [MS-PST] 2.4.3)."""
        return Store(self.node(NID_MESSAGE_STORE), self.header.kind)

    @property
    def root_folder(self) -> Folder:
        """The root of the folder hierarchy (node 0x122), whose path is ``/``."""
        return Folder(self.node, NID_ROOT_FOLDER, None)

    @property
    def ipm_subtree(self) -> Folder:
        """The folder PidTagIpmSubtreeEntryId names, usually "Top of Personal Folders".

        OSTs of Exchange mailboxes name none: their IPM subtree is the folder
        "IPM_SUBTREE" under "Root - Mailbox".
        """
        nid = self.store.ipm_subtree_nid
        for folder in self.root_folder.walk():
            if nid is not None and folder.nid == nid:
                return folder
            if nid is None and folder.name == OST_MAILBOX_ROOT:
                for child in folder.subfolders():
                    if child.name == OST_IPM_SUBTREE:
                        return child
        raise MessagingError("the store's IPM subtree is not in the folder tree", nid=NID_MESSAGE_STORE)

    def walk(self) -> Iterator[Folder]:
        """Every folder from the root, depth-first."""
        return self.root_folder.walk()

    @cached_property
    def named_properties(self) -> NamedProperties:
        """The store's named properties ([MS-PST] 2.4.7): id to (GUID, LID or name) and back."""
        return NamedProperties(self.node(NID_NAME_TO_ID_MAP).properties())

    def blocks(self) -> Iterator[BBTEntry]:
        """Every BBT entry in BID order."""
        for page in self.bbt.leaf_pages():
            ref = page["BREF"]
            yield from map(
                BBTEntry,
                ref["bid"].tolist(),
                ref["ib"].tolist(),
                page["cb"].tolist(),
                page["cRef"].tolist(),
            )

    def read_block(self, bid: int) -> bytes:
        """One block's decoded bytes (decrypted, and inflated in 4K-page files)."""
        return self.block_store.read(bid)

    def recover(self, everywhere: bool = False, progress: Callable[[int], None] | None = None) -> Recovery:
        """Messages the folder tree does not reach: orphaned nodes, and deleted ones still in the file.

        Iterate the result for ``RecoveredItem``s; its ``stats`` say what was
        scanned and skipped.  The scan covers the space the AMaps call free,
        or the whole file when ``everywhere`` is set or the AMaps cannot be
        trusted.  ``progress`` is called with the bytes of each window scanned.
        """
        from pstlib.recovery import recover

        return recover(self, everywhere, progress)

    def close(self) -> None:
        """Close the file if pstlib opened it (a caller's file object stays open) and drop
        the caches, so a closed file holds no decoded data even before garbage collection.
        """
        for cached in ("nbt", "bbt", "block_store"):
            if hasattr(self, cached):
                getattr(self, cached).clear_cache()
        if self._owned or isinstance(self._file, _View):
            self._file.close()

    def __enter__(self) -> PSTFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        header = getattr(self, "header", None)
        if header is None:
            return f"<PSTFile {self.name!r}>"
        return f"<PSTFile {self.name!r} {header.format} {header.kind} crypt={header.crypt}>"


def open(source: Source, *, limits: Limits | None = None) -> PSTFile:  # noqa: A001
    """Open a PST/OST file (a path, a binary file object, or bytes) for reading."""
    return PSTFile(source, limits=limits)
