"""Items the folder tree no longer shows: orphaned nodes and deleted ones still in the file.

Reported as ``RecoveredItem``s, by ``source``:

- orphan: a message node in the NBT that no folder's contents table lists;
- unallocated: a message whose NBT entry survives only outside the live tree,
  in an old NBT leaf page or in the slack past a leaf page's cEnt (Outlook
  writes pages and blocks anew on every change and frees the old ones),
  rebuilt from blocks found through the live BBT, old BBT leaf pages, or their
  own trailers (``pstlib.ndb.carve``); or, with NID 0, a message property
  context in a block no NBT entry names at all.

By default the scan covers the space the AMaps and PMaps call free, plus the
live leaf pages; when the AMaps are unreadable or not valid, or with
``everywhere=True``, it covers the whole file.  A candidate whose blocks are
gone or overwritten is skipped and counted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pstlib.errors import PSTError
from pstlib.ltp.node import Node
from pstlib.messaging import values
from pstlib.messaging.folder import Folder, escape_name
from pstlib.messaging.message import Message
from pstlib.ndb.block import BID_RESERVED, BBTEntry, is_internal
from pstlib.ndb.carve import CarvedBlock, CarvedBlockStore, CarvedPage, carve
from pstlib.ndb.format import UNICODE4K
from pstlib.ndb.maps import free_pages, free_ranges
from pstlib.ndb.nid import NID_ROOT_FOLDER, NIDType, nid_type
from pstlib.ndb.page import PTYPE_NBT
from pstlib.pstfile import NBTEntry, nbt_entries
from pstlib.pstfile import open as pstlib_open
from pstlib.tags import PropertyId
from pstlib.writer import WriterError
from pstlib.writer.copy import Copier, CopyReport, Skipped
from pstlib.writer.folder import FolderWriter
from pstlib.writer.store import create

if TYPE_CHECKING:
    from pstlib.pstfile import PSTFile

MESSAGE_TYPES = (NIDType.NORMAL_MESSAGE, NIDType.ASSOC_MESSAGE)
FOLDER_TYPES = (NIDType.NORMAL_FOLDER, NIDType.SEARCH_FOLDER)
RECOVERED_STORE_NAME = "Recovered Items"
RECOVERED_FOLDER = "Recovered Items"
NO_FOLDER = "(no folder)"
MAX_HINT_DEPTH = 32
"""Parents followed through deleted folders when naming a recovered item's folder."""


@dataclass(frozen=True)
class RecoveredItem:
    """A message found outside the folder tree, and how much of it survives."""

    source: str
    """``"orphan"`` (in the NBT, listed by no folder) or ``"unallocated"`` (from freed space)."""
    nid: int
    offset: int | None
    """File offset of the NBT page holding its entry (unallocated), or of its data block (orphan)."""
    message: Message
    folder_hint: str | None
    """Path of its parent folder where that folder is known (live, or itself recovered)."""
    parent_nid: int
    complete: bool
    """Whether every block of the message and of its subnodes was found intact."""
    superseded: bool = False
    """An older version of a message the store still holds under the same NID."""

    @property
    def associated(self) -> bool:
        """An associated (hidden) message: a view, rule or form rather than an item."""
        return nid_type(self.nid) == NIDType.ASSOC_MESSAGE


@dataclass
class RecoveryStats:
    """What a recovery looked at and what it had to leave."""

    scope: str = ""
    """``"free"`` (space the AMaps call free) or ``"file"`` (the whole file)."""
    bytes_to_scan: int = 0
    bytes_scanned: int = 0
    pages_found: int = 0
    """Leaf B-tree pages found (live leaf pages among them)."""
    blocks_found: int = 0
    """Blocks found that the live BBT does not hold."""
    orphans: int = 0
    recovered: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    """(nid, reason) of each candidate that could not be rebuilt."""


@dataclass(frozen=True)
class _Candidate:
    nid: int
    bid_data: int
    bid_sub: int
    parent: int
    offset: int
    page_bid: int


class Recovery:
    """``pst.recover()``: iterate for the items; ``stats`` fills in as it goes."""

    def __init__(
        self, pst: PSTFile, everywhere: bool = False, progress: Callable[[int], None] | None = None
    ) -> None:
        self._pst = pst
        self._everywhere = everywhere
        self._progress = progress
        self.stats = RecoveryStats()
        self._live_pages: set[int] = set()
        self._ranges: list[tuple[int, int]] | None = None
        self._trees: tuple[dict[int, NBTEntry], np.ndarray | None] | None = None

    @property
    def pst(self) -> PSTFile:
        return self._pst

    def ranges(self) -> list[tuple[int, int]]:
        """The byte ranges the scan covers (and sets ``stats.scope`` and ``stats.bytes_to_scan``)."""
        if self._ranges is None:
            self._ranges = self._find_ranges()
        return self._ranges

    def _find_ranges(self) -> list[tuple[int, int]]:
        pst = self._pst
        header = pst.header
        eof = min(header.root.file_eof, pst.size)
        found = None
        if not self._everywhere and header.root.amap_valid in (1, 2):
            found = free_ranges(pst.read_at, header.ndb, eof)
            if found is not None:  # and what the PMaps call free: Outlook 97 frees pages there only
                found += free_pages(pst.read_at, header.ndb, eof)
        self.stats.scope = "file" if found is None else "free"
        self._live_trees()
        if found is None:
            found = [(0, pst.size)]
        else:  # live leaf pages too: the slots past their cEnt keep entries since removed
            found += [(ib, ib + header.ndb.page_size) for ib in self._live_pages]
        merged: list[tuple[int, int]] = []
        for start, end in sorted(found):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        self.stats.bytes_to_scan = sum(end - start for start, end in merged)
        return merged

    def _live_trees(self) -> tuple[dict[int, NBTEntry], np.ndarray | None]:
        """One walk of each live B-tree: the NBT's entries by NID (as far as its pages read),
        the BBT's BIDs sorted (None where the BBT cannot be read whole), and the offsets of
        both trees' leaf pages (into ``_live_pages``)."""
        if self._trees is not None:
            return self._trees
        pst = self._pst
        live: dict[int, NBTEntry] = {}
        try:
            for ref, entries in pst.nbt.leaves():
                self._live_pages.add(ref.ib)
                live.update((entry.nid, entry) for entry in nbt_entries(entries))
        except PSTError as exc:
            self.stats.skipped.append(
                (0, f"the NBT is damaged, orphans past this point are missed: {exc.message}")
            )
        bids: list[np.ndarray] | None = []
        try:
            for ref, entries in pst.bbt.leaves():
                self._live_pages.add(ref.ib)
                bids.append(entries["BREF"]["bid"])
        except PSTError:
            bids = None
        known = None
        if bids is not None:
            joined = np.concatenate(bids).astype(np.uint64) if bids else np.zeros(0, np.uint64)
            known = np.sort(joined & ~np.uint64(BID_RESERVED))
        self._trees = (live, known)
        return self._trees

    def __iter__(self) -> Iterator[RecoveredItem]:
        pst = self._pst
        live, known = self._live_trees()
        paths, listed = _reachable(pst)
        hints = _Hints(paths, pst, live)
        yield from self._orphans(live, hints, listed)
        pages: list[CarvedPage] = []
        blocks: list[CarvedBlock] = []
        found: dict[int, tuple[BBTEntry, int]] = {}
        ranges = self.ranges()
        for item in carve(
            pst.read_at, pst.header.ndb, ranges, self._progress_bytes, known, self._live_pages
        ):
            if isinstance(item, CarvedBlock):
                self.stats.blocks_found += 1
                bid = item.bid & ~BID_RESERVED
                found[bid] = (BBTEntry(bid, item.offset, item.size, 0), item.inflated)
                blocks.append(item)
            else:
                self.stats.pages_found += 1
                pages.append(item)
        for page in pages:  # old BBT pages name blocks that may lie where the scan did not look
            if page.ptype != PTYPE_NBT:
                in_live_tree = page.offset in self._live_pages
                _add_bbt_entries(
                    page, found, pst.header.ndb.name == UNICODE4K, slack_only=in_live_tree
                )
        store = CarvedBlockStore(pst.block_store, found)
        candidates = _candidates(pages, live)
        keys: set[tuple] = set()
        hints.candidates, hints.store = candidates, store
        for item in self._unallocated(candidates, store, hints, live):
            keys.add(_identity(item.message))
            yield item
        yield from self._loose(blocks, candidates, store, keys, listed)

    def _loose(
        self,
        blocks: list[CarvedBlock],
        candidates: dict[int, list[_Candidate]],
        store: CarvedBlockStore,
        recovered: set[tuple],
        listed: set[int],
    ) -> Iterator[RecoveredItem]:
        """Messages whose property context survives in blocks no NBT entry, live or old, names.

        Their NID, folder and subnodes (recipients, attachments, large values) are
        unknown, so they are never complete; one equal to a live message (subject,
        class and time) is an older version of it.
        """
        pst = self._pst
        named = {
            version.bid_data & ~BID_RESERVED
            for versions in candidates.values()
            for version in versions
        }
        unsorted = self._live_trees()[1] is None  # else the carve has left live blocks out
        loose = [
            b
            for b in blocks
            if b.bid & ~BID_RESERVED not in named and not (unsorted and self._is_live(b.bid))
        ]
        leaves: set[int] = set()
        for block in (
            b for b in loose if is_internal(b.bid)
        ):  # data trees first: their leaves are not messages
            try:
                leaves.update(
                    bid & ~BID_RESERVED
                    for bid in Node(store, pst.limits, 0, block.bid, 0, 0)._leaves()[0]
                )
            except PSTError:
                continue
        live_keys: set[tuple] | None = None
        for block in loose:
            bid = block.bid & ~BID_RESERVED
            if bid in leaves or (is_internal(bid) and not _is_data_tree(store, bid)):
                continue
            message = Message(Node(store, pst.limits, 0, bid, 0, 0))
            try:
                if not message.message_class:
                    continue
                key = _identity(message)
            except PSTError:
                continue
            if key in recovered:
                continue
            recovered.add(key)
            if live_keys is None:
                live_keys = _live_identities(pst, listed)
            self.stats.recovered += 1
            yield RecoveredItem(
                "unallocated", 0, block.offset, message, None, 0, False, key in live_keys
            )

    def _is_live(self, bid: int) -> bool:
        """Whether the live BBT holds a block, for when the BBT could not be read whole and
        the carve could not leave live blocks out by ID."""
        try:
            self._pst.block_store.entry(bid)
        except PSTError:
            return False
        return True

    def _progress_bytes(self, count: int) -> None:
        self.stats.bytes_scanned += count
        if self._progress:
            self._progress(count)

    def _orphans(self, live: dict, hints: _Hints, listed: set[int]) -> Iterator[RecoveredItem]:
        pst = self._pst
        for nid, entry in live.items():
            if nid_type(nid) not in MESSAGE_TYPES or nid in listed:
                continue
            try:
                node = pst.node(nid)
                message = Message(node)
                message.properties  # noqa: B018  (an unreadable PC makes no message)
                offset = pst.block_store.entry(entry.bid_data).offset
            except PSTError as exc:
                self.stats.skipped.append((nid, exc.message))
                continue
            self.stats.orphans += 1
            yield RecoveredItem(
                "orphan",
                nid,
                offset,
                message,
                hints.path(entry.nid_parent),
                entry.nid_parent,
                _complete(node),
            )

    def _unallocated(
        self,
        candidates: dict[int, list[_Candidate]],
        store: CarvedBlockStore,
        hints: _Hints,
        live: dict,
    ) -> Iterator[RecoveredItem]:
        pst = self._pst
        for nid, versions in sorted(candidates.items()):
            if nid_type(nid) not in MESSAGE_TYPES:
                continue
            for version in versions:
                node = Node(
                    store, pst.limits, nid, version.bid_data, version.bid_sub, version.parent
                )
                try:
                    message = Message(node)
                    message.properties  # noqa: B018
                except PSTError as exc:
                    self.stats.skipped.append((nid, exc.message))
                    continue
                self.stats.recovered += 1
                hint = hints.path(version.parent)
                yield RecoveredItem(
                    "unallocated",
                    nid,
                    version.offset,
                    message,
                    hint,
                    version.parent,
                    _complete(node, store.damaged),
                    nid in live,
                )


def _reachable(pst: PSTFile) -> tuple[dict[int, str], set[int]]:
    """Paths of the folders the hierarchy reaches, and every message NID a folder table lists."""
    paths: dict[int, str] = {}
    listed: set[int] = set()
    stack = [Folder(pst.node, NID_ROOT_FOLDER, None)]
    while stack:
        folder = stack.pop()
        if folder.nid in paths:
            continue
        try:
            paths[folder.nid] = folder.path
        except PSTError:
            continue
        for table in (
            NIDType.CONTENTS_TABLE,
            NIDType.ASSOC_CONTENTS_TABLE,
            NIDType.SEARCH_CONTENTS_TABLE,
        ):
            try:
                listed.update(folder._table_row_ids(table))
            except PSTError:
                pass
        try:
            stack.extend(folder.subfolders())
        except PSTError:
            pass
    return paths, listed


def _add_bbt_entries(
    page: CarvedPage, found: dict[int, tuple[BBTEntry, int]], inflated: bool, slack_only: bool
) -> None:
    """What a BBT leaf page says of blocks: its entries (only its slack, for a live page,
    whose entries the live BBT has) unless ``found`` has the block already."""
    entries = page.slack if slack_only else np.concatenate((page.entries, page.slack))
    bids = entries["BREF"]["bid"].tolist()
    ibs = entries["BREF"]["ib"].tolist()
    sizes = entries["cb"].tolist()
    decoded = entries["cbInflated"].tolist() if inflated else sizes
    for bid, ib, cb, full in zip(bids, ibs, sizes, decoded):
        found.setdefault(bid, (BBTEntry(bid, ib, cb, 0), full))


def _candidates(pages: list[CarvedPage], live: dict) -> dict[int, list[_Candidate]]:
    """NBT entries from old pages that the live NBT does not hold, newest page first per NID.

    A NID the live NBT still has, with other blocks, is an older version of
    that item: Outlook rewrote it (a flag set, an attachment added) and freed
    the old blocks.
    """
    seen: dict[int, dict[tuple[int, int], _Candidate]] = {}
    for page in sorted((p for p in pages if p.ptype == PTYPE_NBT), key=lambda p: -p.bid):
        entries = np.concatenate((page.entries, page.slack))
        for nid, bid_data, bid_sub, parent in zip(
            (entries["nid"] & 0xFFFFFFFF).tolist(),
            entries["bidData"].tolist(),
            entries["bidSub"].tolist(),
            entries["nidParent"].tolist(),
        ):
            current = live.get(nid)
            if bid_data == 0 or (
                current is not None and (current.bid_data, current.bid_sub) == (bid_data, bid_sub)
            ):
                continue
            versions = seen.setdefault(nid, {})
            versions.setdefault(
                (bid_data, bid_sub),
                _Candidate(nid, bid_data, bid_sub, parent, page.offset, page.bid),
            )
    return {nid: list(versions.values()) for nid, versions in seen.items()}


def _identity(message: Message) -> tuple:
    """What tells two versions of a message apart from two messages: class, subject, times."""
    try:
        return (
            message.message_class,
            message.subject,
            message.delivery_time or message.creation_time,
        )
    except PSTError:
        return (None, None, None)


def _live_identities(pst: PSTFile, listed: set[int]) -> set[tuple]:
    """``_identity`` of every message the folder tables list (read once, when first needed)."""
    keys = set()
    for nid in listed:
        try:
            keys.add(_identity(Message(pst.node(nid))))
        except PSTError:
            continue
    return keys


def _is_data_tree(store: CarvedBlockStore, bid: int) -> bool:
    """Whether an internal block is an XBLOCK or XXBLOCK (not a subnode block)."""
    try:
        return store.read(bid)[:1] == b"\x01"
    except PSTError:
        return False


def _complete(node: Node, damaged: set[int] = frozenset()) -> bool:
    """Whether every data block of the node and of all its subnodes reads and checks out."""
    before = len(damaged)
    try:
        for each in (node, *node.walk_subnodes()):
            for index in range(each.data_block_count):
                each.read_data_block(index)
    except PSTError:
        return False
    return len(damaged) == before and not (damaged & {node.bid_data, node.bid_sub})


class _Hints:
    """Folder paths for parent NIDs: folders the tree reaches, folders in the NBT it does not
    (orphaned), and deleted ones rebuilt from old NBT pages (``candidates``, once known)."""

    def __init__(self, paths: dict[int, str], pst: PSTFile, live: dict) -> None:
        self._paths = dict(paths)
        self._pst = pst
        self._live = live
        self.candidates: dict[int, list[_Candidate]] = {}
        self.store: CarvedBlockStore | None = None

    def path(self, nid: int, depth: int = 0) -> str | None:
        if nid in self._paths:
            return self._paths[nid]
        if nid_type(nid) not in FOLDER_TYPES or depth > MAX_HINT_DEPTH:
            return None
        entry, versions = self._live.get(nid), self.candidates.get(nid)
        try:
            if entry is not None:
                node, parent_nid = self._pst.node(nid), entry.nid_parent
            elif versions and self.store is not None:
                version = versions[0]
                node = Node(
                    self.store,
                    self._pst.limits,
                    nid,
                    version.bid_data,
                    version.bid_sub,
                    version.parent,
                )
                node.default_codepage = self._pst.default_codepage
                parent_nid = version.parent
            else:
                return None
            name = values.text(node.properties(), PropertyId.PidTagDisplayName)
        except PSTError:
            name, parent_nid = None, (entry.nid_parent if entry is not None else versions[0].parent)
        parent = self.path(parent_nid, depth + 1) if parent_nid != nid else None
        path = f"{(parent or '').rstrip('/')}/{escape_name(name or f'Folder 0x{nid:X}')}"
        self._paths[nid] = path
        return path


def recover(
    pst: PSTFile, everywhere: bool = False, progress: Callable[[int], None] | None = None
) -> Recovery:
    """The messages of ``pst`` its folder tree does not reach; see ``PSTFile.recover``."""
    return Recovery(pst, everywhere, progress)


@dataclass
class RecoveryReport:
    """What ``recover_to`` found, wrote and left out."""

    items: list[dict[str, Any]]
    """One summary per recovered item (``describe``), with ``written`` set."""
    stats: RecoveryStats
    skipped: list[Skipped]
    """Parts of recovered messages that could not be written (properties, attachments, ...)."""

    @property
    def written(self) -> int:
        return sum(item["written"] for item in self.items)


def describe(item: RecoveredItem) -> dict[str, Any]:
    """A JSON-ready summary of a recovered item."""
    message = item.message
    try:
        subject, message_class = message.subject, message.message_class
    except PSTError:
        subject = message_class = None
    return {
        "source": item.source,
        "nid": item.nid,
        "offset": item.offset,
        "parent_nid": item.parent_nid,
        "folder_hint": item.folder_hint,
        "complete": item.complete,
        "superseded": item.superseded,
        "associated": item.associated,
        "message_class": message_class,
        "subject": subject,
    }


def recover_to(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    everywhere: bool = False,
    crypt: str = "permute",
    progress: Callable[[int], None] | None = None,
) -> RecoveryReport:
    """Write every message ``recover()`` finds in ``src`` into a new PST at ``dst`` (``save``).

    Raises ``PSTError`` only when ``src`` cannot be opened.
    """
    if os.path.exists(dst) and os.path.samefile(src, dst):
        raise WriterError("the recovered store would overwrite its source")
    with pstlib_open(src) as pst:
        return save(recover(pst, everywhere, progress), dst, crypt)


def save(recovery: Recovery, dst: str | os.PathLike[str], crypt: str = "permute") -> RecoveryReport:
    """Write what ``recovery`` finds into a new PST at ``dst``.

    The messages go under "Recovered Items" in the new store's top folder, in a
    folder tree following each item's ``folder_hint`` ("(no folder)" where there
    is none).
    """
    pst = recovery.pst
    copy_report = CopyReport()
    items: list[dict[str, Any]] = []
    with create(dst, crypt, RECOVERED_STORE_NAME) as writer:
        copier = Copier(pst, writer, copy_report, None)
        top = writer.root_folder.add_folder(RECOVERED_FOLDER)
        folders: dict[tuple[str, ...], FolderWriter] = {(): top}
        for item in recovery:
            summary = describe(item)
            target = _folder_for(folders, _hint_parts(item.folder_hint))
            where = (item.folder_hint or NO_FOLDER, item.nid)
            try:
                target.add(copier.message(item.message, where[0]), associated=item.associated)
                summary["written"] = True
            except PSTError as exc:
                copier.skip(where, "message", exc.message)
                summary["written"] = False
            items.append(summary)
    return RecoveryReport(items, recovery.stats, copy_report.skipped)


def _hint_parts(hint: str | None) -> tuple[str, ...]:
    """A folder path split at its unescaped slashes, names unescaped."""
    if not hint or hint == "/":
        return (NO_FOLDER,)
    parts = re.split(r"(?<!\\)/", hint.strip("/"))
    return tuple(part.replace("\\/", "/") or NO_FOLDER for part in parts)


def _folder_for(
    folders: dict[tuple[str, ...], FolderWriter], parts: tuple[str, ...]
) -> FolderWriter:
    if parts not in folders:
        folders[parts] = _folder_for(folders, parts[:-1]).add_folder(parts[-1])
    return folders[parts]
