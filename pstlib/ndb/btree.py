"""The NBT and BBT of [MS-PST] 2.2.2.7.7: B-trees of fixed-size pages.

Each BTPAGE's entries are parsed in one ``np.frombuffer`` with a dtype derived
from the construct declarations below, so a lookup is a ``searchsorted`` per
level and iteration hands out whole pages of entries at once.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache

import numpy as np
from construct import Bytes, Int8ul, Int16ul, Int32ul, Int64ul, Struct

from pstlib.errors import LimitExceeded, PageError
from pstlib.limits import Limits
from pstlib.ndb.format import ANSI, UNICODE4K, Format
from pstlib.ndb.header import BREF_ANSI, BREF_UNICODE, BRef
from pstlib.ndb.page import PTYPE_NBT, check_page, page_trailer
from pstlib.ndb.schema import numpy_dtype, struct_format

# BTENTRY, [MS-PST] 2.2.2.7.7.2: an intermediate page's entry.
BTENTRY_ANSI = Struct("btkey" / Int32ul, "BREF" / BREF_ANSI)
BTENTRY_UNICODE = Struct("btkey" / Int64ul, "BREF" / BREF_UNICODE)

# NBTENTRY, [MS-PST] 2.2.2.7.7.4: a leaf NBT entry.
NBTENTRY_ANSI = Struct(
    "nid" / Int32ul, "bidData" / Int32ul, "bidSub" / Int32ul, "nidParent" / Int32ul
)
NBTENTRY_UNICODE = Struct(
    "nid" / Int64ul,
    "bidData" / Int64ul,
    "bidSub" / Int64ul,
    "nidParent" / Int32ul,
    "dwPadding" / Int32ul,
)

# BBTENTRY, [MS-PST] 2.2.2.7.7.3: a leaf BBT entry.  4K-page files add the
# block's inflated size (libpff's notes; confirmed by the block trailers).
BBTENTRY_ANSI = Struct("BREF" / BREF_ANSI, "cb" / Int16ul, "cRef" / Int16ul)
BBTENTRY_UNICODE = Struct(
    "BREF" / BREF_UNICODE, "cb" / Int16ul, "cRef" / Int16ul, "dwPadding" / Int32ul
)
BBTENTRY_4K = Struct(
    "BREF" / BREF_UNICODE,
    "cb" / Int16ul,
    "cbInflated" / Int16ul,
    "cRef" / Int16ul,
    "wPadding" / Int16ul,
)

# The fields of a BTPAGE ([MS-PST] 2.2.2.7.7.1) between rgentries and the trailer.
BTPAGE_INFO_ANSI = Struct(
    "cEnt" / Int8ul, "cEntMax" / Int8ul, "cbEnt" / Int8ul, "cLevel" / Int8ul
)
BTPAGE_INFO_UNICODE = Struct(
    "cEnt" / Int8ul,
    "cEntMax" / Int8ul,
    "cbEnt" / Int8ul,
    "cLevel" / Int8ul,
    "dwPadding" / Int32ul,
)
BTPAGE_INFO_4K = Struct(
    "cEnt" / Int16ul,
    "cEntMax" / Int16ul,
    "cbEnt" / Int8ul,
    "cLevel" / Int8ul,
    "rgbPadding" / Bytes(10),
)


@dataclass(frozen=True)
class BTreeSchema:
    """Declarations and derived parsers of one format's B-tree pages."""

    btentry: Struct
    nbtentry: Struct
    bbtentry: Struct
    info: Struct
    btpage: Struct

    @cached_property
    def btentry_dtype(self) -> np.dtype:
        return numpy_dtype(self.btentry)

    @cached_property
    def nbtentry_dtype(self) -> np.dtype:
        return numpy_dtype(self.nbtentry)

    @cached_property
    def bbtentry_dtype(self) -> np.dtype:
        return numpy_dtype(self.bbtentry)


@cache
def btree_schema(ndb: Format) -> BTreeSchema:
    """The B-tree declarations of a format (ANSI, Unicode or 4K)."""
    if ndb.name == ANSI:
        entries = (BTENTRY_ANSI, NBTENTRY_ANSI, BBTENTRY_ANSI, BTPAGE_INFO_ANSI)
    elif ndb.name == UNICODE4K:
        entries = (BTENTRY_UNICODE, NBTENTRY_UNICODE, BBTENTRY_4K, BTPAGE_INFO_4K)
    else:
        entries = (BTENTRY_UNICODE, NBTENTRY_UNICODE, BBTENTRY_UNICODE, BTPAGE_INFO_UNICODE)
    btentry, nbtentry, bbtentry, info = entries
    btpage = Struct(
        "rgentries" / Bytes(ndb.btree_entries_size),
        "info" / info,
        "pageTrailer" / page_trailer(ndb),
    )
    if btpage.sizeof() != ndb.page_size:
        raise AssertionError(f"BTPAGE of {ndb.name} is {btpage.sizeof()} bytes")
    return BTreeSchema(btentry, nbtentry, bbtentry, info, btpage)


ReadFn = Callable[[int, int], bytes]


@dataclass(frozen=True)
class BTPage:
    """A checked BTPAGE: its level, its entries as a numpy record array, their keys."""

    level: int
    entries: np.ndarray
    keys: np.ndarray
    key_list: list[int]
    """The keys as Python ints: ``bisect`` on a short list beats a numpy call per level."""
    children: list[BRef]
    """An intermediate page's child references (empty for a leaf), built once per page."""

    @cached_property
    def rows(self) -> list[tuple[int, ...]]:
        """A leaf page's entries as tuples of ints, built on first use: NBT (nid, bidData,
        bidSub, nidParent); BBT (bid, ib, cb, cRef, inflated size: cbInflated in 4K-page
        files, else cb).  A lookup then costs no numpy scalar conversions."""
        entries = self.entries
        if "nid" in entries.dtype.names:
            columns = [entries["nid"] & 0xFFFFFFFF, entries["bidData"], entries["bidSub"], entries["nidParent"]]
        else:
            sizes = entries["cb"]
            inflated = entries["cbInflated"] if "cbInflated" in entries.dtype.names else sizes
            columns = [entries["BREF"]["bid"], entries["BREF"]["ib"], sizes, entries["cRef"], inflated]
        return list(zip(*(column.tolist() for column in columns)))


def _entry_dtype(dtype: np.dtype, cbent: int) -> np.dtype:
    """``dtype`` widened to cbEnt bytes: the spec says readers use cbEnt as the stride."""
    if cbent == dtype.itemsize:
        return dtype
    fields = dtype.fields
    return np.dtype(
        {
            "names": list(fields),
            "formats": [fields[name][0] for name in fields],
            "offsets": [fields[name][1] for name in fields],
            "itemsize": cbent,
        }
    )


def parse_btpage(ndb: Format, page: bytes, ib: int, ptype: int, bid: int | None) -> BTPage:
    """Check a BTPAGE ([MS-PST] 2.2.2.7.7.1) read from ``ib`` and parse its entries."""
    schema = btree_schema(ndb)
    check_page(ndb, page, ib, ptype, bid)
    name = "NBT" if ptype == PTYPE_NBT else "BBT"
    cent, _, cbent, level = _info_format(ndb).unpack_from(page, ndb.btree_entries_size)[:4]
    if level == 0:
        dtype = schema.nbtentry_dtype if ptype == PTYPE_NBT else schema.bbtentry_dtype
    else:
        dtype = schema.btentry_dtype
    if cbent < dtype.itemsize:
        raise PageError(
            f"{name} page at level {level} has cbEnt {cbent}, less than the {dtype.itemsize}"
            " its entries need",
            offset=ib,
            bid=bid,
        )
    if cent * cbent > ndb.btree_entries_size:
        raise PageError(
            f"{name} page claims {cent} entries of {cbent} bytes, more than fit",
            offset=ib,
            bid=bid,
        )
    entries = np.frombuffer(page, _entry_dtype(dtype, cbent), count=cent)
    if level > 0:
        keys = entries["btkey"]
    elif ptype == PTYPE_NBT:
        keys = entries["nid"]
    else:
        keys = entries["BREF"]["bid"]
    if cent > 1 and not bool(np.all(keys[1:] > keys[:-1])):
        raise PageError(f"{name} page keys are not in ascending order", offset=ib, bid=bid)
    children = []
    if level > 0:
        refs = entries["BREF"]
        children = list(map(BRef, refs["bid"].tolist(), refs["ib"].tolist()))
    return BTPage(level, entries, keys, keys.tolist(), children)


@cache
def _info_format(ndb: Format):
    return struct_format(btree_schema(ndb).info)


class BTree:
    """One B-tree (NBT or BBT), read page by page through ``read(offset, size)``."""

    def __init__(
        self,
        read: ReadFn,
        ndb: Format,
        ptype: int,
        root: BRef,
        limits: Limits,
        cache_size: int = 512,
    ) -> None:
        self._read = read
        self._ndb = ndb
        self._ptype = ptype
        self._root = root
        self._limits = limits
        self._name = "NBT" if ptype == PTYPE_NBT else "BBT"
        self._page = lru_cache(maxsize=cache_size)(self._load_page)
        self._last_leaf: tuple[int, int, BTPage] | None = None
        """The leaf the last search ended in, with its first and last keys: lookups of
        nearby keys (a message's blocks) go straight to it."""

    @property
    def root(self) -> BRef:
        return self._root

    def clear_cache(self) -> None:
        """Drop cached pages (the cache's reference to this tree keeps it alive until then)."""
        self._page.cache_clear()
        self._last_leaf = None

    def _load_page(self, ib: int, bid: int) -> BTPage:
        return parse_btpage(self._ndb, self._read(ib, self._ndb.page_size), ib, self._ptype, bid)

    def _child(self, ref: BRef, expected_level: int | None, depth: int) -> BTPage:
        if depth > self._limits.max_btree_depth:
            raise LimitExceeded(
                f"{self._name} deeper than {self._limits.max_btree_depth} levels",
                offset=ref.ib,
                bid=ref.bid,
            )
        page = self._page(ref.ib, ref.bid)
        if expected_level is not None and page.level != expected_level:
            raise PageError(
                f"{self._name} page has cLevel {page.level}, its parent expects {expected_level}",
                offset=ref.ib,
                bid=ref.bid,
            )
        return page

    def lookup(self, key: int) -> np.void | None:
        """The leaf entry whose key is ``key``, or None."""
        page, index = self._find(key)
        return None if page is None else page.entries[index]

    def lookup_row(self, key: int) -> tuple[int, ...] | None:
        """The leaf entry whose key is ``key`` as ``BTPage.rows`` gives it, or None."""
        page, index = self._find(key)
        return None if page is None else page.rows[index]

    def _find(self, key: int) -> tuple[BTPage | None, int]:
        """The leaf holding ``key`` and its index there, or (None, 0).

        A key between the first and last keys of the leaf the previous search
        ended in can only be in that leaf (leaves cover disjoint key ranges), so
        the descent is skipped for it.
        """
        last = self._last_leaf
        if last is not None and last[0] <= key <= last[1]:
            page = last[2]
        else:
            page = self._child(self._root, None, 0)
            depth = 0
            while page.level > 0:
                index = bisect_right(page.key_list, key) - 1
                if index < 0:
                    return None, 0
                depth += 1
                page = self._child(page.children[index], page.level - 1, depth)
            if page.key_list:
                self._last_leaf = (page.key_list[0], page.key_list[-1], page)
        keys = page.key_list
        index = bisect_left(keys, key)
        if index < len(keys) and keys[index] == key:
            return page, index
        return None, 0

    def leaf_pages(self) -> Iterator[np.ndarray]:
        """Every leaf page's entries, in key order, each page visited once."""
        for _, entries in self.leaves():
            yield entries

    def leaves(self) -> Iterator[tuple[BRef, np.ndarray]]:
        """Every leaf page's reference and entries, in key order, each page visited once."""
        seen: set[int] = set()
        last_key = -1

        def walk(ref: BRef, expected_level: int | None, depth: int) -> Iterator[tuple[BRef, np.ndarray]]:
            nonlocal last_key
            if ref.ib in seen:
                raise PageError(
                    f"{self._name} page reached twice (a cycle or shared subtree)",
                    offset=ref.ib,
                    bid=ref.bid,
                )
            seen.add(ref.ib)
            page = self._child(ref, expected_level, depth)
            if len(page.keys) and int(page.keys[0]) <= last_key:
                raise PageError(
                    f"{self._name} page keys overlap those of the page before it",
                    offset=ref.ib,
                    bid=ref.bid,
                )
            if page.level == 0:
                if len(page.keys):
                    last_key = int(page.keys[-1])
                yield ref, page.entries
                return
            refs = page.entries["BREF"]
            for bid, ib in zip(refs["bid"].tolist(), refs["ib"].tolist()):
                yield from walk(BRef(bid, ib), page.level - 1, depth + 1)

        yield from walk(self._root, None, 0)


def leaf_slack(ndb: Format, page: bytes, ptype: int) -> np.ndarray:
    """The slots of a checked leaf page between cEnt and cEntMax, parsed as entries.

    Writers remove an entry by moving the later ones down and lowering cEnt,
    so these slots often still hold entries of nodes or blocks since removed.
    """
    schema = btree_schema(ndb)
    cent, cent_max, cbent = _info_format(ndb).unpack_from(page, ndb.btree_entries_size)[:3]
    dtype = schema.nbtentry_dtype if ptype == PTYPE_NBT else schema.bbtentry_dtype
    dtype = _entry_dtype(dtype, max(cbent, dtype.itemsize))
    count = min(cent_max, ndb.btree_entries_size // dtype.itemsize)
    return np.frombuffer(page, dtype, count=count)[cent:].copy() if count > cent else np.empty(0, dtype)
