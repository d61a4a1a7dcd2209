"""The NBT and BBT of [MS-PST] 2.2.2.7.7: B-trees of fixed-size pages.

Each BTPAGE's entries are unpacked in one ``struct`` call into tuples, so a
lookup is a ``bisect`` per level; walks over whole pages get them as numpy
record arrays.  Both parsers derive from the construct declarations below.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from itertools import islice
from operator import lt
from struct import Struct as PackedStruct

import numpy as np
from construct import Bytes, Int8ul, Int16ul, Int32ul, Int64ul, Struct

from pstlib.errors import LimitExceeded, PageError
from pstlib.limits import Limits
from pstlib.ndb.format import ANSI, UNICODE4K, Format
from pstlib.ndb.header import BREF_ANSI, BREF_UNICODE, BRef
from pstlib.ndb.page import PTYPE_NBT, check_page, page_trailer
from pstlib.ndb.schema import field_names, numpy_dtype, struct_format

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


PADDING = frozenset({"dwPadding", "wPadding"})
"""Entry fields that hold nothing: ``BTPage.rows`` leaves them out."""


@dataclass(eq=False)
class BTPage:
    """A checked BTPAGE: its level, its entries as tuples and (on demand) as a numpy array.

    Not frozen: a frozen dataclass sets each field through ``object.__setattr__``, which
    costs more than parsing the page's entries (pages are cached; nothing changes them).
    """

    level: int
    rows: list[tuple[int, ...]]
    """The entries as tuples of ints in declaration order, padding left out: (btkey, bid,
    ib) in an intermediate page, ``row_fields`` in a leaf.  struct unpacks a page's few
    dozen entries for less than numpy's per-call cost, and a lookup then costs no numpy
    scalar conversions."""
    key_list: list[int]
    """The keys (btkey, nid or bid) as Python ints: ``bisect`` on a short list beats a numpy
    call per level."""
    raw: bytes = field(repr=False)
    entry_dtype: np.dtype = field(repr=False)

    @cached_property
    def entries(self) -> np.ndarray:
        """The entries as a numpy record array, for walks over whole pages."""
        return np.frombuffer(self.raw, self.entry_dtype, count=len(self.rows))


def _entry_declaration(ndb: Format, ptype: int, leaf: bool) -> Struct:
    schema = btree_schema(ndb)
    if not leaf:
        return schema.btentry
    return schema.nbtentry if ptype == PTYPE_NBT else schema.bbtentry


def row_fields(ndb: Format, ptype: int) -> tuple[str, ...]:
    """The names of a leaf page's ``BTPage.rows`` fields: NBT (nid, bidData, bidSub,
    nidParent); BBT (bid, ib, cb, cRef), with cbInflated after cb in 4K-page files."""
    return field_names(_entry_declaration(ndb, ptype, True), PADDING)


@cache
def _row_reader(ndb: Format, ptype: int, leaf: bool, cbent: int) -> PackedStruct:
    return struct_format(_entry_declaration(ndb, ptype, leaf), PADDING, cbent)


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
    rows = list(_row_reader(ndb, ptype, level == 0, cbent).iter_unpack(memoryview(page)[: cent * cbent]))
    keys = [row[0] for row in rows]
    if not all(map(lt, keys, islice(keys, 1, None))):
        raise PageError(f"{name} page keys are not in ascending order", offset=ib, bid=bid)
    return BTPage(level, rows, keys, page, _entry_dtype(dtype, cbent))


def _position(page: BTPage | None, key: int) -> int | None:
    """Where ``key`` sits among a leaf's entries, or None (no leaf, or not there)."""
    if page is None:
        return None
    keys = page.key_list
    index = bisect_left(keys, key)
    return index if index < len(keys) and keys[index] == key else None


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

    def _child(self, bid: int, ib: int, expected_level: int | None, depth: int) -> BTPage:
        if depth > self._limits.max_btree_depth:
            raise LimitExceeded(
                f"{self._name} deeper than {self._limits.max_btree_depth} levels",
                offset=ib,
                bid=bid,
            )
        page = self._page(ib, bid)
        if expected_level is not None and page.level != expected_level:
            raise PageError(
                f"{self._name} page has cLevel {page.level}, its parent expects {expected_level}",
                offset=ib,
                bid=bid,
            )
        return page

    def lookup(self, key: int) -> np.void | None:
        """The leaf entry whose key is ``key``, or None."""
        page = self._leaf(key)
        index = _position(page, key)
        return None if index is None else page.entries[index]  # type: ignore[union-attr]

    def lookup_row(self, key: int) -> tuple[int, ...] | None:
        """The leaf entry whose key is ``key`` as ``BTPage.rows`` gives it (``row_fields``),
        or None."""
        last = self._last_leaf
        # a key between the first and last keys of the leaf the previous search ended in
        # can only be in that leaf (leaves cover disjoint key ranges): no descent for it
        page = last[2] if last is not None and last[0] <= key <= last[1] else self._leaf(key)
        index = _position(page, key)
        return None if index is None else page.rows[index]  # type: ignore[union-attr]

    def _leaf(self, key: int) -> BTPage | None:
        """The leaf whose key range holds ``key`` (remembered for the next search), or None."""
        page = self._child(self._root.bid, self._root.ib, None, 0)
        depth = 0
        while page.level > 0:
            index = bisect_right(page.key_list, key) - 1
            if index < 0:
                return None
            depth += 1
            _, bid, ib = page.rows[index]
            page = self._child(bid, ib, page.level - 1, depth)
        if page.key_list:
            self._last_leaf = (page.key_list[0], page.key_list[-1], page)
        return page

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
            page = self._child(ref.bid, ref.ib, expected_level, depth)
            if page.key_list and page.key_list[0] <= last_key:
                raise PageError(
                    f"{self._name} page keys overlap those of the page before it",
                    offset=ref.ib,
                    bid=ref.bid,
                )
            if page.level == 0:
                if page.key_list:
                    last_key = page.key_list[-1]
                yield ref, page.entries
                return
            for _, bid, ib in page.rows:
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
