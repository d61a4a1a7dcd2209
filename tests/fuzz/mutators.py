"""Mutations of PST/OST bytes for the fuzzer, each one replayable from its description.

Two levels.  The operations (``flip_bits``, ``overwrite``, ``truncate``,
``splice``, ``patch_page``, ``patch_block``, ``patch_header``) are plain
functions of the original bytes and explicit parameters; ``patch_*`` re-compute
the CRC they invalidate, so the edit gets past the checks and reaches the code
that interprets the field.  The hypothesis strategy ``mutations`` picks an
operation and its parameters from an ``Anatomy`` of the unmutated file (its
B-tree pages, blocks, heaps, BTH headers, TCINFOs, PC records, data and subnode
trees) and returns a ``Mutation`` whose description names the field in words
and gives the exact call that redoes it, so a failure is a recipe.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from hypothesis import strategies as st

import pstlib
from pstlib.ndb import crypt
from pstlib.ndb.block import is_internal
from pstlib.ndb.btree import parse_btpage
from pstlib.ndb.crc import crc32
from pstlib.ndb.format import ANSI, UNICODE4K, Format
from pstlib.ndb.header import read_header
from pstlib.ndb.page import PTYPE_BBT, PTYPE_NBT
from tests.conftest import corpus_path
from tests.mutate import fix_block_crc, fix_page_crc
from tests.reencode import reencode

HN_SIGNATURE = 0xEC
CLIENT_SIG_TC = 0x7C
CLIENT_SIG_PC = 0xBC


class Mutation:
    """Mutated bytes and a one-line recipe: what changed, and the call that redoes it.

    Not a dataclass: hypothesis prints a dataclass field by field, which would
    put the whole mutated file into every failure report.
    """

    __slots__ = ("data", "description")

    def __init__(self, data: bytes, description: str) -> None:
        self.data = data
        self.description = description

    def __repr__(self) -> str:
        return f"Mutation({self.description})"


# --- Operations: deterministic, named in every recipe. -------------------------------------


def flip_bits(data: bytes, offset: int, mask: int) -> bytes:
    """XOR one byte with ``mask``."""
    out = bytearray(data)
    out[offset] ^= mask
    return bytes(out)


def overwrite(data: bytes, offset: int, value: bytes) -> bytes:
    """Replace ``len(value)`` bytes at ``offset`` (the file keeps its size)."""
    out = bytearray(data)
    out[offset:offset + len(value)] = value
    return bytes(out[: len(data)])


def truncate(data: bytes, length: int) -> bytes:
    """The first ``length`` bytes."""
    return data[:length]


def splice(data: bytes, offset: int, donor: bytes, donor_offset: int, size: int) -> bytes:
    """``size`` bytes of another file copied over ``offset``: a page swapped in from elsewhere."""
    return overwrite(data, offset, donor[donor_offset:donor_offset + size])


def patch_header(data: bytes, offset: int, value: bytes) -> bytes:
    """Edit the header and re-compute dwCRCPartial (and dwCRCFull) as the unedited format has them.

    ``tests.mutate.fix_header_crcs`` re-reads the edited header, so it cannot
    follow an edit that makes wVer invalid; [MS-PST] 2.2.2.6 fixes the ranges.
    """
    ansi = read_header(data).format == ANSI
    out = bytearray(data)
    out[offset:offset + len(value)] = value
    struct.pack_into("<I", out, 4, crc32(out[8:8 + 471]))
    if not ansi:
        struct.pack_into("<I", out, 524, crc32(out[8:8 + 516]))
    return bytes(out)


def patch_page(data: bytes, ib: int, at: int, value: bytes) -> bytes:
    """Edit the page at ``ib`` (entries or counts) and re-compute its trailer CRC."""
    ndb = read_header(data, verify_crc=False).ndb
    out = bytearray(data)
    out[ib + at:ib + at + len(value)] = value
    return bytes(fix_page_crc(out, ndb, ib))


def patch_block(data: bytes, bid: int, at: int, value: bytes) -> bytes:
    """Edit a block's decoded bytes at ``at``: decode, edit, re-encode, re-compute its CRC.

    The block is found through the unmutated file's BBT; compressed blocks of
    4K-page files cannot be edited in place (their size would change).
    """
    pst = pstlib.open(data)
    entry = pst.block_store.entry(bid)
    if pst.block_store.size(bid) != entry.size:
        raise ValueError(f"block 0x{bid:X} is compressed")
    if at + len(value) > entry.size:
        raise ValueError(f"edit at {at} runs past the {entry.size}-byte block 0x{bid:X}")
    stored = data[entry.offset:entry.offset + entry.size]
    method = pst.header.crypt_method
    plain = stored if is_internal(bid) else crypt.decode(stored, method, entry.bid)
    plain = plain[:at] + value + plain[at + len(value):]
    encoded = plain if is_internal(bid) else crypt.encode(plain, method, entry.bid)
    out = bytearray(data)
    out[entry.offset:entry.offset + entry.size] = encoded
    return bytes(fix_block_crc(out, pst.header.ndb, entry.offset, entry.size))


# --- Corpus files, loaded once per session. ----------------------------------------------


def corpus(name: str, crypt_name: str | None = None) -> bytes:
    """A corpus file by name, as recipes name it; skips the calling test without the corpus."""
    return load(corpus_path(name), crypt_name)


@cache
def load(path: Path, crypt_name: str | None = None) -> bytes:
    """A corpus file's bytes, read once per session; re-encoded as ``crypt_name`` where given."""
    data = path.read_bytes()
    return data if crypt_name is None else reencode(data, crypt_name)


@cache
def _opened(path: Path, crypt_name: str | None = None) -> pstlib.PSTFile:
    return pstlib.open(load(path, crypt_name))


@lru_cache(maxsize=4096)
def decoded_block(path: Path, crypt_name: str | None, bid: int) -> bytes:
    """A block of an unmutated corpus file, decoded (to read a field's current value)."""
    return _opened(path, crypt_name).read_block(bid)


@cache
def page_offsets(path: Path) -> list[int]:
    """The B-tree page offsets of a corpus file (a donor's pages to swap in)."""
    data = load(path)
    pst = _opened(path)
    anatomy = Anatomy(pst.header.ndb)
    _walk_pages(pst, data, anatomy)
    return [page.ib for page in anatomy.pages]


# --- Anatomy: where the structures of an unmutated file are. -------------------------------


@dataclass(frozen=True)
class Page:
    """A B-tree page: where it is and how its entries are laid out."""

    ib: int
    ptype: int
    level: int
    count: int
    entry_size: int


@dataclass(frozen=True)
class Block:
    """A block in the BBT: id, file offset, stored size, and whether it can be patched."""

    bid: int
    offset: int
    size: int
    editable: bool


@dataclass(frozen=True)
class Field:
    """A named little-endian integer at ``at`` inside a block's decoded bytes or a page."""

    where: int
    """The BID of the block, or the ib of the page, holding the field."""
    at: int
    width: int
    name: str


@dataclass
class Anatomy:
    """The structures of one valid file, found once per file and reused by every example."""

    ndb: Format
    pages: list[Page] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    block_fields: dict[str, list[Field]] = field(default_factory=dict)
    """Fields in decoded blocks by kind: "heap page map", "BTH header", "TCOLDESC", ..."""
    nids: list[int] = field(default_factory=list)
    hids: list[int] = field(default_factory=list)

    def add(self, kind: str, found: Field) -> None:
        self.block_fields.setdefault(kind, []).append(found)


def _entry_fields(ndb: Format, page: Page) -> list[tuple[str, int, int]]:
    """(name, offset in entry, width) of a B-tree page's entries."""
    w = ndb.id_size
    if page.level > 0:
        return [("btkey", 0, w), ("BREF.bid", w, w), ("BREF.ib", 2 * w, w)]
    if page.ptype == PTYPE_NBT:
        return [("nid", 0, w), ("bidData", w, w), ("bidSub", 2 * w, w), ("nidParent", 3 * w, 4)]
    fields = [("BREF.bid", 0, w), ("BREF.ib", w, w), ("cb", 2 * w, 2)]
    if ndb.name == UNICODE4K:
        return [*fields, ("cbInflated", 2 * w + 2, 2), ("cRef", 2 * w + 4, 2)]
    return [*fields, ("cRef", 2 * w + 2, 2)]


def _info_fields(ndb: Format) -> list[tuple[str, int, int]]:
    """(name, offset in page, width) of a BTPAGE's cEnt, cEntMax, cbEnt and cLevel."""
    base = ndb.btree_entries_size
    if ndb.name == UNICODE4K:
        return [("cEnt", base, 2), ("cEntMax", base + 2, 2), ("cbEnt", base + 4, 1), ("cLevel", base + 5, 1)]
    return [("cEnt", base, 1), ("cEntMax", base + 1, 1), ("cbEnt", base + 2, 1), ("cLevel", base + 3, 1)]


def _trailer_fields(ndb: Format) -> list[tuple[str, int, int]]:
    """(name, offset in trailer, width) of a BLOCKTRAILER."""
    if ndb.name == ANSI:
        return [("cb", 0, 2), ("wSig", 2, 2), ("bid", 4, 4), ("dwCRC", 8, 4)]
    fields = [("cb", 0, 2), ("wSig", 2, 2), ("dwCRC", 4, 4), ("bid", 8, 8)]
    return [*fields, ("cbInflated", 18, 2)] if ndb.name == UNICODE4K else fields


def _walk_pages(pst: pstlib.PSTFile, data: bytes, anatomy: Anatomy) -> None:
    ndb = pst.header.ndb
    for ptype, root in ((PTYPE_NBT, pst.header.root.nbt), (PTYPE_BBT, pst.header.root.bbt)):
        pending = [(root.ib, root.bid)]
        while pending:
            ib, bid = pending.pop()
            page = parse_btpage(ndb, data[ib:ib + ndb.page_size], ib, ptype, bid)
            entry_size = page.entries.dtype.itemsize
            anatomy.pages.append(Page(ib, ptype, page.level, len(page.entries), entry_size))
            if page.level:
                refs = page.entries["BREF"]
                pending.extend(zip(refs["ib"].tolist(), refs["bid"].tolist()))


def _allocation(block: bytes, index: int) -> tuple[int, int] | None:
    """(start, end) of heap allocation ``index`` (1-based) in a decoded heap block."""
    (map_offset,) = struct.unpack_from("<H", block, 0)
    (count,) = struct.unpack_from("<H", block, map_offset)
    if not 1 <= index <= count:
        return None
    start, end = struct.unpack_from("<HH", block, map_offset + 4 + 2 * (index - 1))
    return start, end


def _heap_fields(
    anatomy: Anatomy, node: pstlib.Node, read: Callable[[int], bytes], editable: set[int]
) -> None:
    """Page maps, HNHDR, and the BTH header, PC records, TCINFO and TCOLDESCs of one heap."""
    locations = [node.data_block_location(i)[0] for i in range(node.data_block_count)]
    blocks = [read(bid) for bid in locations]
    if not blocks or len(blocks[0]) < 12 or blocks[0][2] != HN_SIGNATURE:
        return
    for bid, block in zip(locations, blocks):
        if bid not in editable:
            continue
        (map_offset,) = struct.unpack_from("<H", block, 0)
        anatomy.add("heap page map", Field(bid, 0, 2, "ibHnpm"))
        anatomy.add("heap page map", Field(bid, map_offset, 2, "HNPAGEMAP.cAlloc"))
        anatomy.add("heap page map", Field(bid, map_offset + 2, 2, "HNPAGEMAP.cFree"))
        (count,) = struct.unpack_from("<H", block, map_offset)
        for i in range(count + 1):
            anatomy.add("heap page map", Field(bid, map_offset + 4 + 2 * i, 2, f"rgibAlloc[{i}]"))
    head_bid, head = locations[0], blocks[0]
    client, user_root = head[3], struct.unpack_from("<I", head, 4)[0]
    if head_bid in editable:
        anatomy.add("HNHDR", Field(head_bid, 2, 1, "bSig"))
        anatomy.add("HNHDR", Field(head_bid, 3, 1, "bClientSig"))
        anatomy.add("HNHDR", Field(head_bid, 4, 4, "hidUserRoot"))

    def locate(hid: int) -> tuple[int, int, int] | None:
        """(bid, start, end) of a HID's allocation, where its block can be patched."""
        index, block_index = (hid >> 5) & 0x7FF, hid >> 16
        if hid & 0x1F or block_index >= len(blocks) or locations[block_index] not in editable:
            return None
        span = _allocation(blocks[block_index], index)
        return None if span is None else (locations[block_index], *span)

    def bth(hid: int, label: str) -> tuple[int, int, int] | None:
        """Note a BTH header's fields; return its leaf level's location when it has no index."""
        found = locate(hid)
        if found is None or found[2] - found[1] < 8:
            return None
        bid, start, _ = found
        for name, at, width in (("bType", 0, 1), ("cbKey", 1, 1), ("cbEnt", 2, 1), ("bIdxLevels", 3, 1), ("hidRoot", 4, 4)):
            anatomy.add("BTH header", Field(bid, start + at, width, f"{label} BTHHEADER.{name}"))
        raw = blocks[locations.index(bid)][start:start + 8]
        levels, root = raw[3], struct.unpack_from("<I", raw, 4)[0]
        anatomy.hids.append(root)
        return locate(root) if levels == 0 and root else None

    anatomy.hids.append(user_root)
    if client == CLIENT_SIG_PC:
        leaves = bth(user_root, f"PC of node 0x{node.nid:X}")
        if leaves is not None:
            bid, start, end = leaves
            for number, record in enumerate(range(start, end - 7, 8)):
                for name, at, width in (("wPropId", 0, 2), ("wPropType", 2, 2), ("dwValueHnid", 4, 4)):
                    anatomy.add("PC record", Field(bid, record + at, width, f"node 0x{node.nid:X} record {number} {name}"))
    elif client == CLIENT_SIG_TC:
        found = locate(user_root)
        if found is None or found[2] - found[1] < 22:
            return
        bid, start, end = found
        raw = blocks[locations.index(bid)]
        if raw[start] != CLIENT_SIG_TC:
            return
        label = f"TC of node 0x{node.nid:X}"
        for name, at, width in (
            ("cCols", 1, 1), ("rgib[TCI_4b]", 2, 2), ("rgib[TCI_2b]", 4, 2), ("rgib[TCI_1b]", 6, 2),
            ("rgib[TCI_bm]", 8, 2), ("hidRowIndex", 10, 4), ("hnidRows", 14, 4), ("hidIndex", 18, 4),
        ):
            anatomy.add("TCINFO", Field(bid, start + at, width, f"{label} TCINFO.{name}"))
        for number, column in enumerate(range(start + 22, end - 7, 8)):
            for name, at, width in (("tag", 0, 4), ("ibData", 4, 2), ("cbData", 6, 1), ("iBit", 7, 1)):
                anatomy.add("TCOLDESC", Field(bid, column + at, width, f"{label} column {number} {name}"))
        bth(struct.unpack_from("<I", raw, start + 10)[0], f"{label} row index")


def _tree_fields(anatomy: Anatomy, pst: pstlib.PSTFile, block: Block) -> None:
    """Heads and entries of an internal block: XBLOCK/XXBLOCK or SLBLOCK/SIBLOCK."""
    data = pst.read_block(block.bid)
    w = pst.header.ndb.id_size
    btype, level = data[0], data[1]
    (count,) = struct.unpack_from("<H", data, 2)
    label = f"block 0x{block.bid:X}"
    if btype == 1:
        kind, entry, names, first = "data tree", w, ("bid",), 8
        for name, at, width in (("cLevel", 1, 1), ("cEnt", 2, 2), ("lcbTotal", 4, 4)):
            anatomy.add(kind, Field(block.bid, at, width, f"{label} XBLOCK.{name}"))
    elif btype == 2:
        kind = "subnode tree"
        first = 4 if w == 4 else 8
        entry, names = ((2 * w, ("nid", "bid")) if level else (3 * w, ("nid", "bidData", "bidSub")))
        for name, at, width in (("cLevel", 1, 1), ("cEnt", 2, 2)):
            anatomy.add(kind, Field(block.bid, at, width, f"{label} SxBLOCK.{name}"))
    else:
        return
    for number in range(count):
        for position, name in enumerate(names):
            at = first + number * entry + position * w
            if at + w <= len(data):
                anatomy.add(kind, Field(block.bid, at, w, f"{label} entry {number} {name}"))


@cache
def anatomy_of(path: Path, crypt_name: str | None = None) -> Anatomy:
    """The anatomy of a valid corpus file (cached: one walk per file per session)."""
    data = load(path, crypt_name)
    pst = _opened(path, crypt_name)
    anatomy = Anatomy(pst.header.ndb)
    _walk_pages(pst, data, anatomy)
    for entry in pst.blocks():
        compressed = pst.block_store.size(entry.bid) != entry.size
        anatomy.blocks.append(Block(entry.bid, entry.offset, entry.size, not compressed))
    editable = {block.bid for block in anatomy.blocks if block.editable}
    for block in anatomy.blocks:
        if block.editable and is_internal(block.bid):
            _tree_fields(anatomy, pst, block)
    anatomy.nids = [entry.nid for entry in pst.nodes()]
    done: set[int] = set()
    for nid in anatomy.nids:
        top = pst.node(nid)
        for node in (top, *top.walk_subnodes()):
            if node.bid_data and node.bid_data not in done:
                done.add(node.bid_data)
                _heap_fields(anatomy, node, pst.read_block, editable)
    return anatomy


# --- Strategies. -------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """An unmutated corpus file, its anatomy, and same-format files to take pages from."""

    path: Path
    crypt: str | None = None
    """Re-encode the file's blocks this way first (tests/reencode.py), for missing variants."""
    donors: tuple[Path, ...] = ()

    @property
    def label(self) -> str:
        """How a recipe names the unmutated input."""
        suffix = f", crypt='{self.crypt}'" if self.crypt else ""
        return f"corpus('{self.path.name}'{suffix})"

    @property
    def data(self) -> bytes:
        return load(self.path, self.crypt)

    @property
    def anatomy(self) -> Anatomy:
        return anatomy_of(self.path, self.crypt)


def _value(draw: st.DrawFn, current: int, width: int, related: Sequence[int] = ()) -> int:
    """A new value for an integer field: boundaries, neighbours, one bit, another field's, or any."""
    top = (1 << (8 * width)) - 1
    how = draw(st.sampled_from(("plus", "minus", "zero", "max", "bit", "related", "any", "half")))
    if how == "plus":
        value = current + draw(st.integers(1, 16))
    elif how == "minus":
        value = current - draw(st.integers(1, 16))
    elif how == "zero":
        value = 0
    elif how == "max":
        value = top
    elif how == "bit":
        value = current ^ (1 << draw(st.integers(0, 8 * width - 1)))
    elif how == "related" and related:
        value = draw(st.sampled_from(related))
    elif how == "half":
        value = top >> 1
    else:
        value = draw(st.integers(0, top))
    return value & top


def _read_int(data: bytes, offset: int, width: int) -> int:
    return int.from_bytes(data[offset:offset + width], "little")


def _hex(value: bytes) -> str:
    return f"bytes.fromhex('{value.hex()}')"


def _bit_flip(draw: st.DrawFn, target: Target) -> Mutation:
    offset = draw(st.integers(0, len(target.data) - 1))
    mask = 1 << draw(st.integers(0, 7))
    return Mutation(flip_bits(target.data, offset, mask), f"bit flip: flip_bits(data, 0x{offset:X}, 0x{mask:02X})")


def _byte_run(draw: st.DrawFn, target: Target) -> Mutation:
    length = draw(st.integers(1, 64))
    offset = draw(st.integers(0, len(target.data) - length))
    fill = draw(st.sampled_from(("zero", "ff", "byte", "random")))
    if fill == "random":
        value = draw(st.binary(min_size=length, max_size=length))
    else:
        byte = {"zero": 0, "ff": 0xFF}.get(fill) if fill != "byte" else draw(st.integers(0, 255))
        value = bytes([byte]) * length
    return Mutation(overwrite(target.data, offset, value), f"byte run: overwrite(data, 0x{offset:X}, {_hex(value)})")


def _truncation(draw: st.DrawFn, target: Target) -> Mutation:
    anatomy = target.anatomy
    page = anatomy.ndb.page_size
    where = draw(st.sampled_from(("page boundary", "B-tree page", "block start", "block end", "anywhere")))
    if where == "page boundary":
        length = page * draw(st.integers(1, max(1, len(target.data) // page - 1)))
    elif where == "B-tree page":
        length = draw(st.sampled_from(anatomy.pages)).ib + draw(st.sampled_from((0, page // 2, page - 1)))
    elif where in ("block start", "block end"):
        block = draw(st.sampled_from(anatomy.blocks))
        length = block.offset if where == "block start" else block.offset + anatomy.ndb.block_span(block.size)
    else:
        length = draw(st.integers(anatomy.ndb.page_size, len(target.data) - 1))
    return Mutation(truncate(target.data, length), f"truncation at a {where}: truncate(data, 0x{length:X})")


def _aligned_page(draw: st.DrawFn, path: Path, page: int) -> int:
    """A page offset: a B-tree page's, or any page-aligned one past the header."""
    if draw(st.booleans()):
        return draw(st.sampled_from(page_offsets(path)))
    return page * draw(st.integers(1, len(load(path)) // page - 1))


def _zero_page(draw: st.DrawFn, target: Target) -> Mutation:
    page = target.anatomy.ndb.page_size
    ib = _aligned_page(draw, target.path, page)
    return Mutation(overwrite(target.data, ib, bytes(page)), f"zeroed page: overwrite(data, 0x{ib:X}, bytes({page}))")


def _swapped_page(draw: st.DrawFn, target: Target) -> Mutation:
    page = target.anatomy.ndb.page_size
    donor = draw(st.sampled_from(target.donors))
    ib = _aligned_page(draw, target.path, page)
    donor_ib = _aligned_page(draw, donor, page)
    return Mutation(
        splice(target.data, ib, load(donor), donor_ib, page),
        f"page from {donor.name}: splice(data, 0x{ib:X}, corpus('{donor.name}'), 0x{donor_ib:X}, {page})",
    )


def _btree_entry(draw: st.DrawFn, target: Target) -> Mutation:
    anatomy = target.anatomy
    page = draw(st.sampled_from([p for p in anatomy.pages if p.count]))
    index = draw(st.integers(0, page.count - 1))
    name, at, width = draw(st.sampled_from(_entry_fields(anatomy.ndb, page)))
    at += index * page.entry_size
    current = _read_int(target.data, page.ib + at, width)
    if name.endswith("ib"):
        related = [p.ib for p in anatomy.pages] + [b.offset for b in anatomy.blocks[:64]]
    elif "bid" in name:
        related = [b.bid for b in anatomy.blocks[:256]]
    else:
        related = anatomy.nids[:256]
    value = _value(draw, current, width, related).to_bytes(width, "little")
    tree = "NBT" if page.ptype == PTYPE_NBT else "BBT"
    return Mutation(
        patch_page(target.data, page.ib, at, value),
        f"B-tree entry: {tree} page 0x{page.ib:X} level {page.level} entry {index} {name}"
        f" 0x{current:X} -> 0x{int.from_bytes(value, 'little'):X}: patch_page(data, 0x{page.ib:X}, 0x{at:X}, {_hex(value)})",
    )


def _btree_counts(draw: st.DrawFn, target: Target) -> Mutation:
    anatomy = target.anatomy
    page = draw(st.sampled_from(anatomy.pages))
    name, at, width = draw(st.sampled_from(_info_fields(anatomy.ndb)))
    current = _read_int(target.data, page.ib + at, width)
    value = _value(draw, current, width).to_bytes(width, "little")
    tree = "NBT" if page.ptype == PTYPE_NBT else "BBT"
    return Mutation(
        patch_page(target.data, page.ib, at, value),
        f"B-tree counts: {tree} page 0x{page.ib:X} {name} 0x{current:X} -> 0x{int.from_bytes(value, 'little'):X}:"
        f" patch_page(data, 0x{page.ib:X}, 0x{at:X}, {_hex(value)})",
    )


def _block_trailer(draw: st.DrawFn, target: Target) -> Mutation:
    anatomy = target.anatomy
    block = draw(st.sampled_from(anatomy.blocks))
    name, at, width = draw(st.sampled_from(_trailer_fields(anatomy.ndb)))
    offset = block.offset + anatomy.ndb.block_span(block.size) - anatomy.ndb.block_trailer_size + at
    current = _read_int(target.data, offset, width)
    value = _value(draw, current, width, [b.bid for b in anatomy.blocks[:256]]).to_bytes(width, "little")
    return Mutation(
        overwrite(target.data, offset, value),
        f"block trailer: block 0x{block.bid:X} {name} 0x{current:X} -> 0x{int.from_bytes(value, 'little'):X}:"
        f" overwrite(data, 0x{offset:X}, {_hex(value)})",
    )


def _block_structure(kind: str) -> Callable[[st.DrawFn, Target], Mutation]:
    """A mutation of one field of ``kind`` inside a decoded block, re-encoded with its CRC fixed."""

    def mutate(draw: st.DrawFn, target: Target) -> Mutation:
        anatomy = target.anatomy
        found = draw(st.sampled_from(anatomy.block_fields[kind]))
        current = _read_int(decoded_block(target.path, target.crypt, found.where), found.at, found.width)
        if "hid" in found.name.lower() or "hnid" in found.name.lower():
            related = anatomy.hids[:256]
        elif "bid" in found.name:
            related = [b.bid for b in anatomy.blocks[:256]]
        elif "nid" in found.name:
            related = anatomy.nids[:256]
        else:
            related = []
        value = _value(draw, current, found.width, related).to_bytes(found.width, "little")
        return Mutation(
            patch_block(target.data, found.where, found.at, value),
            f"{kind}: {found.name} 0x{current:X} -> 0x{int.from_bytes(value, 'little'):X}:"
            f" patch_block(data, 0x{found.where:X}, 0x{found.at:X}, {_hex(value)})",
        )

    return mutate


HEADER_FIELDS = {
    ANSI: [("wVer", 10, 2), ("ibFileEof", 168, 4), ("BREFNBT.bid", 184, 4), ("BREFNBT.ib", 188, 4),
           ("BREFBBT.bid", 192, 4), ("BREFBBT.ib", 196, 4), ("fAMapValid", 200, 1), ("bCryptMethod", 461, 1)],
    "unicode": [("wVer", 10, 2), ("ibFileEof", 184, 8), ("BREFNBT.bid", 216, 8), ("BREFNBT.ib", 224, 8),
                ("BREFBBT.bid", 232, 8), ("BREFBBT.ib", 240, 8), ("fAMapValid", 248, 1), ("bCryptMethod", 513, 1)],
}


def _header_field(draw: st.DrawFn, target: Target) -> Mutation:
    fields = HEADER_FIELDS[ANSI if target.anatomy.ndb.name == ANSI else "unicode"]
    name, offset, width = draw(st.sampled_from(fields))
    current = _read_int(target.data, offset, width)
    related = {"wVer": [14, 15, 23, 36, 37], "bCryptMethod": [0, 1, 2, 0x10]}.get(name, [p.ib for p in target.anatomy.pages])
    value = _value(draw, current, width, related).to_bytes(width, "little")
    return Mutation(
        patch_header(target.data, offset, value),
        f"header: {name} 0x{current:X} -> 0x{int.from_bytes(value, 'little'):X}:"
        f" patch_header(data, 0x{offset:X}, {_hex(value)})",
    )


STRUCTURED = ("heap page map", "HNHDR", "BTH header", "TCINFO", "TCOLDESC", "PC record", "data tree", "subnode tree")

GENERIC: dict[str, Callable[[st.DrawFn, Target], Mutation]] = {
    "bit flip": _bit_flip,
    "byte run": _byte_run,
    "truncation": _truncation,
    "zeroed page": _zero_page,
    "swapped page": _swapped_page,
    "B-tree entry": _btree_entry,
    "B-tree counts": _btree_counts,
    "block trailer": _block_trailer,
    "header": _header_field,
}


def kinds(target: Target) -> list[str]:
    """The mutation kinds this file offers (a 4K file may lack editable heaps of some kind)."""
    out = [kind for kind in GENERIC if kind != "swapped page" or target.donors]
    return out + [kind for kind in STRUCTURED if target.anatomy.block_fields.get(kind)]


@st.composite
def mutations(draw: st.DrawFn, target: Target) -> Mutation:
    """One mutation of ``target``, of any kind; structure-aware kinds get half the draws."""
    available = kinds(target)
    structured = [kind for kind in available if kind in STRUCTURED]
    generic = [kind for kind in available if kind not in STRUCTURED]
    pool = structured if structured and draw(st.booleans()) else generic
    kind = draw(st.sampled_from(pool))
    mutate = GENERIC.get(kind) or _block_structure(kind)
    return mutate(draw, target)
