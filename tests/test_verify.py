"""``verify_file`` and ``python -m pstlib.verify``: the corpus, torn copies and crafted damage.

The oracle here is a structure map walked with ``struct`` at the offsets of
[MS-PST] 2.2.2, independently of ``pstlib.verify``, so a wrong declaration in
the verifier cannot make a test agree with it.  Damage is built in memory
(tests/mutate.py keeps CRCs valid where the damage must be structural); the
torn copies are recipes over the corpus's saved revisions, never files.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import struct
import subprocess
import sys
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pstlib
from pstlib.cli import main as cli_main
from pstlib.ndb import crypt
from pstlib.ndb.crc import crc32
from pstlib.ndb.format import FORMATS, Format
from pstlib.ndb.header import HEADER_READ_SIZE, Header, read_header
from pstlib.verify import Report, verify_file
from pstlib.verify.__main__ import EXIT_CONSISTENT, EXIT_INCONSISTENT, EXIT_UNUSABLE, main
from tests.conftest import BROKEN_HEADER, corpus_files, corpus_manifest, corpus_path
from tests.mutate import fix_block_crc, fix_page_crc

UNICODE_FILE = "pstsdk__test_unicode.pst"
ANSI_FILE = "pstsdk__test_ansi.pst"
OST_4K_FILE = "pst-extractor__pstextractortest@outlook.com.ost"
LONGER_THAN_EOF = "aspose-c__Backup_out.pst"
AMAP_NOT_VALID = "hughbe-PstReader__Outlook98Backup.pst"

PTYPE_BBT, PTYPE_NBT = 0x80, 0x81
BID_RESERVED, BID_INTERNAL = 0x1, 0x2
FAILING = ("error", "fatal")


# Independent structure map ([MS-PST] 2.2.2) -------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Where the fields of one NDB variant lie, as [MS-PST] 2.2.2 (and libpff for 4K) give them."""

    page_trailer_at: int
    page_trailer: struct.Struct
    page_trailer_fields: tuple[str, ...]
    info_at: int
    """Offset of cEnt, cEntMax, cbEnt, cLevel in a BTPAGE."""
    info: struct.Struct
    btentry: struct.Struct
    nbtentry: struct.Struct
    """NBTENTRY without its padding: what the entry means."""
    bbtentry: struct.Struct
    bbtentry_fields: tuple[str, ...]
    block_trailer: struct.Struct
    block_trailer_fields: tuple[str, ...]
    header_end: int
    """Bytes of the header that its CRCs cover, the CRC fields included; the rest is reserved."""
    root: tuple[int, int]
    """Span of ROOT in the header."""
    first_amap: int
    amap_unit: int
    amap_padding: int
    id_size: int
    subnode_head: int


PAGE_TRAILER_UNICODE = ("ptype", "ptypeRepeat", "wSig", "dwCRC", "bid")
BLOCK_TRAILER_UNICODE = ("cb", "wSig", "dwCRC", "bid")
UNICODE_COMMON = {
    "page_trailer": struct.Struct("<BBHIQ"),
    "page_trailer_fields": PAGE_TRAILER_UNICODE,
    "btentry": struct.Struct("<QQQ"),
    "nbtentry": struct.Struct("<QQQI"),
    "header_end": 8 + 516 + 4,
    "root": (180, 252),
    "amap_padding": 0,
    "id_size": 8,
    "subnode_head": 8,
}
LAYOUTS = {
    "ansi": Layout(
        page_trailer_at=500,
        page_trailer=struct.Struct("<BBHII"),
        page_trailer_fields=("ptype", "ptypeRepeat", "wSig", "bid", "dwCRC"),
        info_at=496,
        info=struct.Struct("<BBBB"),
        btentry=struct.Struct("<III"),
        nbtentry=struct.Struct("<IIII"),
        bbtentry=struct.Struct("<IIHH"),
        bbtentry_fields=("bid", "ib", "cb", "cRef"),
        block_trailer=struct.Struct("<HHII"),
        block_trailer_fields=("cb", "wSig", "bid", "dwCRC"),
        header_end=8 + 471,
        root=(164, 204),
        first_amap=0x4400,
        amap_unit=64,
        amap_padding=4,
        id_size=4,
        subnode_head=4,
    ),
    "unicode": Layout(
        page_trailer_at=496,
        info_at=488,
        info=struct.Struct("<BBBB"),
        bbtentry=struct.Struct("<QQHH"),
        bbtentry_fields=("bid", "ib", "cb", "cRef"),
        block_trailer=struct.Struct("<HHIQ"),
        block_trailer_fields=BLOCK_TRAILER_UNICODE,
        first_amap=0x4400,
        amap_unit=64,
        **UNICODE_COMMON,
    ),
    "unicode4k": Layout(
        page_trailer_at=4072,
        info_at=4056,
        info=struct.Struct("<HHBB"),
        bbtentry=struct.Struct("<QQHHH"),
        bbtentry_fields=("bid", "ib", "cb", "cbInflated", "cRef"),
        block_trailer=struct.Struct("<HHIQHH"),
        block_trailer_fields=(*BLOCK_TRAILER_UNICODE, "wUnknown", "cbInflated"),
        first_amap=0x22000,
        amap_unit=512,
        **UNICODE_COMMON,
    ),
}


def signature(ib: int, bid: int) -> int:
    """ComputeSig of [MS-PST] 5.5."""
    value = (ib ^ bid) & 0xFFFFFFFF
    return ((value >> 16) ^ value) & 0xFFFF


class Page(NamedTuple):
    offset: int
    ptype: int
    bid: int
    level: int
    entries: tuple[tuple[int, ...], ...]
    """Each entry's meaningful fields (no padding): what the page says."""


class Block(NamedTuple):
    bid: int
    offset: int
    cb: int
    cref: int
    inflated: int


@dataclass
class StoreMap:
    """Every page, node and block an undamaged file holds, and where its maps lie."""

    data: bytes
    header: Header
    layout: Layout
    ndb: Format
    pages: list[Page] = field(default_factory=list)
    nodes: list[tuple[int, int, int, int]] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    amaps: list[int] = field(default_factory=list)
    pmaps: list[int] = field(default_factory=list)

    def span(self, block: Block) -> int:
        return self.ndb.block_span(block.cb)

    def trailer_at(self, block: Block) -> int:
        return block.offset + self.span(block) - self.ndb.block_trailer_size

    def block(self, predicate: Callable[[Block], bool]) -> Block:
        return next(b for b in self.blocks if predicate(b))

    def block_bytes(self, block: Block) -> bytes:
        """A block's stored bytes, inflated where 4K files compressed it (internal blocks are never encoded)."""
        raw = self.data[block.offset:block.offset + block.cb]
        return zlib.decompress(raw) if block.inflated != block.cb else raw

    def checked_mask(self) -> np.ndarray:
        """Bytes that some check covers: the header, B-tree pages, block data and trailers."""
        mask = np.zeros(len(self.data), bool)
        mask[:self.layout.header_end] = True
        for page in self.pages:
            mask[page.offset:page.offset + self.ndb.page_size] = True
        for block in self.blocks:
            mask[block.offset:block.offset + block.cb] = True
            mask[self.trailer_at(block):block.offset + self.span(block)] = True
        return mask

    def map_mask(self) -> np.ndarray:
        mask = np.zeros(len(self.data), bool)
        for offset in (*self.amaps, *self.pmaps):
            mask[offset:offset + self.ndb.page_size] = True
        return mask

    def used_units(self) -> set[int]:
        """AMap units (offsets) that pages, blocks and maps occupy ([MS-PST] 2.2.2.7.2)."""
        unit, first = self.layout.amap_unit, self.layout.first_amap
        spans = [(p.offset, self.ndb.page_size) for p in self.pages]
        spans += [(b.offset, self.span(b)) for b in self.blocks]
        spans += [(o, self.ndb.page_size) for o in (*self.amaps, *self.pmaps)]
        return {
            u
            for start, size in spans
            if start >= first
            for u in range(first + (start - first) // unit * unit, start + size, unit)
        }


def walk_store(data: bytes) -> StoreMap:
    """The structure map of a file whose B-trees are whole (the undamaged originals)."""
    header = read_header(data[:HEADER_READ_SIZE], verify_crc=False)
    layout, ndb = LAYOUTS[header.format], FORMATS[header.format]
    store = StoreMap(data, header, layout, ndb)

    def walk(bid: int, ib: int, ptype: int) -> None:
        page = data[ib:ib + ndb.page_size]
        count, _, cbent, level = layout.info.unpack_from(page, layout.info_at)
        if level:
            fmt = layout.btentry
        else:
            fmt = layout.nbtentry if ptype == PTYPE_NBT else layout.bbtentry
        entries = tuple(fmt.unpack_from(page, i * cbent) for i in range(count))
        store.pages.append(Page(ib, ptype, bid, level, entries))
        for entry in entries:
            if level:
                walk(entry[1], entry[2], ptype)
            elif ptype == PTYPE_NBT:
                store.nodes.append(entry)
            else:
                fields = dict(zip(layout.bbtentry_fields, entry))
                inflated = fields.get("cbInflated", fields["cb"])
                store.blocks.append(Block(fields["bid"], fields["ib"], fields["cb"], fields["cRef"], inflated))

    root = header.root
    walk(root.nbt.bid, root.nbt.ib, PTYPE_NBT)
    walk(root.bbt.bid, root.bbt.ib, PTYPE_BBT)
    bits = (ndb.page_crc_size - layout.amap_padding) * 8
    store.amaps = list(range(layout.first_amap, root.file_eof, bits * layout.amap_unit))
    if header.format != "unicode4k":
        store.pmaps = [ib + ndb.page_size for ib in store.amaps[::8]]
    return store


def page_trailer(store: StoreMap, data: bytes | bytearray, ib: int) -> dict[str, int]:
    layout = store.layout
    return dict(zip(layout.page_trailer_fields, layout.page_trailer.unpack_from(data, ib + layout.page_trailer_at)))


def block_trailer(store: StoreMap, data: bytes | bytearray, block: Block) -> dict[str, int]:
    layout = store.layout
    return dict(zip(layout.block_trailer_fields, layout.block_trailer.unpack_from(data, store.trailer_at(block))))


def internal_children(store: StoreMap, block: Block) -> list[int]:
    """BIDs an XBLOCK/XXBLOCK or SLBLOCK/SIBLOCK names ([MS-PST] 2.2.2.8.3.2-3)."""
    raw = store.block_bytes(block)
    btype, level, count = struct.unpack_from("<BBH", raw)
    width = store.layout.id_size
    ids = [int.from_bytes(raw[i:i + width], "little") for i in range(0, len(raw), width)]
    if btype == 0x01:
        return ids[8 // width:8 // width + count]
    head = store.layout.subnode_head // width
    per_entry = 2 if level else 3
    rows = [ids[head + i * per_entry:head + (i + 1) * per_entry] for i in range(count)]
    return [bid for row in rows for bid in row[1:] if bid]


def references(store: StoreMap) -> Counter[int]:
    """How many NBT entries and internal blocks name each BID."""
    found: Counter[int] = Counter()
    for _, bid_data, bid_sub, _ in store.nodes:
        found.update(b & ~BID_RESERVED for b in (bid_data, bid_sub) if b)
    for block in store.blocks:
        if block.bid & BID_INTERNAL:
            found.update(b & ~BID_RESERVED for b in internal_children(store, block))
    return found


_MAPS: dict[str, StoreMap] = {}


def store_of(name: str) -> StoreMap:
    """The structure map of a corpus file, cached: several tests damage the same files."""
    if name not in _MAPS:
        _MAPS[name] = walk_store(corpus_path(name).read_bytes())
    return _MAPS[name]


def verify(data: bytes | bytearray) -> Report:
    """A full check of bytes in memory, as a backup tool would check a stream."""
    return verify_file(io.BytesIO(bytes(data)))


def found(report: Report, code: str, **where: int) -> list:
    """The problems with ``code`` at every location in ``where``."""
    return [
        p for p in report.problems
        if p.code == code and all(getattr(p, key) == value for key, value in where.items())
    ]


def failing_at(report: Report, **where: int) -> list:
    """The errors and fatals at every location in ``where``."""
    return [
        p for p in report.problems
        if p.severity in FAILING and all(getattr(p, key) == value for key, value in where.items())
    ]


def describe(report: Report) -> str:
    return "\n".join(map(str, report.problems)) or "(no problems)"


def assert_flagged(report: Report, code: str, layer: str, severity: str = "error", **where: int) -> None:
    """``report`` is inconsistent and names ``code`` in ``layer`` at every location in ``where``."""
    hits = found(report, code, **where)
    assert hits, f"expected {layer}/{code} at {where}, got:\n{describe(report)}"
    assert {p.layer for p in hits} == {layer}
    assert {p.severity for p in hits} == {severity}
    if severity in FAILING:
        assert not report.consistent


# The corpus ---------------------------------------------------------------------------

EXPECTED_FINDINGS = {
    LONGER_THAN_EOF: {"file-longer-than-eof"},
    AMAP_NOT_VALID: {"amap-invalid"},
}
"""The warnings each consistent corpus file must carry; every other file carries none."""


@pytest.mark.parametrize("name", corpus_files(include_broken=True) or ["no-corpus"])
def test_corpus_verdicts(name: str) -> None:
    """Every real file is consistent at both levels, with exactly the warnings it deserves."""
    path = corpus_path(name)
    if name == BROKEN_HEADER:
        check_broken_header(path)
        return
    full, quick = verify_file(path), verify_file(path, level="quick")
    assert full.consistent and quick.consistent, describe(full)
    warnings = {p.code for p in full.problems if p.severity == "warning"}
    assert warnings == EXPECTED_FINDINGS.get(name, set()), describe(full)
    assert {p.code for p in quick.problems if p.severity == "warning"} == warnings
    store = store_of(name)
    assert (full.stats.nodes, full.stats.blocks) == (len(store.nodes), len(store.blocks))
    assert full.stats.folders >= 1
    assert full.stats.bytes_read <= os.path.getsize(path) + HEADER_READ_SIZE


def check_broken_header(path: Path) -> None:
    """Both header CRCs are wrong and the BBT root page's trailer names bid 0x148, ROOT 0x138."""
    report = verify_file(path)
    assert not report.consistent
    assert_flagged(report, "header-crc-partial", "header", offset=4)
    assert_flagged(report, "header-crc-full", "header", offset=524)
    page = found(report, "page-invalid", offset=0x7E00, bid=0x138)
    assert len(page) == 1 and "0x148" in page[0].message, describe(report)
    assert not found(report, "internal-error")


def test_longer_than_eof_uses_nothing_past_eof() -> None:
    """Backup_out.pst's tail past ibFileEof holds nothing a tree reaches ([MS-PST] 2.2.2.5)."""
    store = store_of(LONGER_THAN_EOF)
    eof = store.header.root.file_eof
    assert eof == 271_360 and len(store.data) == 713_984
    assert all(p.offset + store.ndb.page_size <= eof for p in store.pages)
    assert all(b.offset + store.span(b) <= eof for b in store.blocks)
    problem = found(verify(store.data), "file-longer-than-eof")[0]
    assert (problem.severity, problem.layer, problem.offset) == ("warning", "header", eof)


def test_amap_invalid_is_a_warning() -> None:
    store = store_of(AMAP_NOT_VALID)
    assert store.header.root.amap_valid == 0
    problem = found(verify(store.data), "amap-invalid")[0]
    assert (problem.severity, problem.layer) == ("warning", "header")


@pytest.mark.parametrize("name", corpus_files() or ["no-corpus"])
def test_refcount_convention(name: str) -> None:
    """cRef is the references found plus one (the BBT's own) on every referenced block.

    verify's refcount-low/-high checks rest on this reading of [MS-PST] 2.2.2.7.7.3;
    the count here walks NBT entries and internal blocks without pstlib.
    """
    store = store_of(name)
    counted = references(store)
    wrong = [
        (hex(b.bid), b.cref, counted[b.bid & ~BID_RESERVED])
        for b in store.blocks
        if counted[b.bid & ~BID_RESERVED] and b.cref != counted[b.bid & ~BID_RESERVED] + 1
    ]
    assert counted and not wrong


# Torn copies: revisions of one store spliced at the same offsets ----------------------


class Splice(NamedTuple):
    """A recipe: ``target`` with ``length`` bytes at ``offset`` taken from ``donor``."""

    target: str
    donor: str
    offset: int
    length: int
    kind: str = ""

    def apply(self) -> bytes:
        data = bytearray(store_of(self.target).data)
        data[self.offset:self.offset + self.length] = store_of(self.donor).data[self.offset:self.offset + self.length]
        return bytes(data)

    def __str__(self) -> str:
        return f"Splice({self.target!r}, {self.donor!r}, 0x{self.offset:X}, {self.length})  # {self.kind}"


def revision_groups() -> dict[str, list[str]]:
    """Corpus files saved from one store at different times, oldest first (the unrevised name is newest)."""
    names = [row["file"] for row in corpus_manifest()]
    groups: dict[str, list[str]] = defaultdict(list)
    for name in names:
        stem = name.split(".rev-")[0].removesuffix(".pst")
        if ".rev-" in name or any(other.startswith(f"{stem}.rev-") for other in names):
            groups[stem].append(name)
    return {stem: sorted(members, key=lambda n: (".rev-" not in n, n)) for stem, members in groups.items()}


def revision_pairs() -> list[tuple[str, str]]:
    """Every (target, donor) of two revisions of one store that have the same size."""
    sizes = {row["file"]: int(row["bytes"]) for row in corpus_manifest()}
    return [
        (target, donor)
        for members in revision_groups().values()
        for target, donor in itertools.permutations(members, 2)
        if sizes[target] == sizes[donor]
    ]


SPLICES_PER_KIND = 10


def spread(items: list, count: int) -> list:
    """``count`` items evenly spread over ``items``, first and last included."""
    if len(items) <= count:
        return items
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)]


def splice_recipes(target: str, donor: str) -> list[Splice]:
    """Whole pages, whole blocks of either file, 4 KB runs on and off 4 KB boundaries, ROOT, the header.

    Of each kind, SPLICES_PER_KIND that change bytes some check covers (spread over
    the file); and one splice that changes nothing checked, to catch false alarms.
    """
    store, other = store_of(target), store_of(donor)
    diff = np.frombuffer(store.data, np.uint8) != np.frombuffer(other.data, np.uint8)
    covered = store.checked_mask() | store.map_mask()
    size, page = len(store.data), store.ndb.page_size
    regions = {
        "page": [(o, page) for o in range(0, size, page)],
        "target-block": sorted((b.offset, store.span(b)) for b in store.blocks),
        "donor-block": sorted((b.offset, other.span(b)) for b in other.blocks),
        "run-4k": [(o, 4096) for o in range(0, size, 4096)],
        "run-4k-straddling": [(o, 4096) for o in range(1536, size - 4096, 4096)],
    }
    recipes, unchecked = [], []
    for kind, spans in regions.items():
        changing = [(o, n) for o, n in spans if diff[o:o + n].any()]
        checked = [(o, n) for o, n in changing if (diff[o:o + n] & covered[o:o + n]).any()]
        recipes += [Splice(target, donor, o, n, kind) for o, n in spread(checked, SPLICES_PER_KIND)]
        unchecked += [
            Splice(target, donor, o, n, f"{kind}, unchecked bytes only") for o, n in changing if (o, n) not in checked
        ]
    root_start, root_end = store.layout.root
    header = store.header.size
    for kind, offset, length in (("ROOT", root_start, root_end - root_start), ("header", 0, header)):
        if diff[offset:offset + length].any():
            recipes.append(Splice(target, donor, offset, length, kind))
    middle = len(unchecked) // 2
    return recipes + unchecked[middle:middle + 1]


def same_structure(store: StoreMap, data: bytes) -> Iterator[str]:
    """For each page and block of ``store``, how ``data`` holds it: same, equivalent, rewritten or torn.

    Equivalent: another version that passes its own checks and means the same (only
    padding differs).  Rewritten: passes its own checks under the same BID but says
    something else, as when a writer rewrites a block in place.  Torn: fails them.
    """
    reference, layout, ndb = store.data, store.layout, store.ndb
    for page in store.pages:
        start, end = page.offset, page.offset + ndb.page_size
        if data[start:end] == reference[start:end]:
            yield "same"
            continue
        trailer = page_trailer(store, data, start)
        valid = (
            trailer["ptype"] == trailer["ptypeRepeat"] == page.ptype
            and trailer["bid"] == page.bid
            and trailer["wSig"] == signature(start, page.bid)
            and trailer["dwCRC"] == crc32(data[start:start + ndb.page_crc_size])
        )
        if not valid:
            yield "torn"
            continue
        count, _, cbent, level = layout.info.unpack_from(data, start + layout.info_at)
        fmt = layout.btentry if level else (layout.nbtentry if page.ptype == PTYPE_NBT else layout.bbtentry)
        entries = tuple(fmt.unpack_from(data, start + i * cbent) for i in range(count))
        yield "equivalent" if (level, entries) == (page.level, page.entries) else "rewritten"
    for block in store.blocks:
        data_end, trailer_at = block.offset + block.cb, store.trailer_at(block)
        span_end = block.offset + store.span(block)
        same_data = data[block.offset:data_end] == reference[block.offset:data_end]
        if same_data and data[trailer_at:span_end] == reference[trailer_at:span_end]:
            yield "same"
            continue
        trailer = block_trailer(store, data, block)
        valid = (
            trailer["cb"] == block.cb
            and trailer["bid"] & ~BID_RESERVED == block.bid & ~BID_RESERVED
            and trailer["wSig"] == signature(block.offset, trailer["bid"])
            and trailer["dwCRC"] == crc32(data[block.offset:data_end])
        )
        if not valid:
            yield "torn"
        else:
            yield "equivalent" if same_data else "rewritten"


def frees_used_space(store: StoreMap, data: bytes) -> bool | None:
    """Whether ``data``'s AMaps mark free a unit the store uses (None: a changed map page fails its own checks)."""
    layout, ndb = store.layout, store.ndb
    used = store.used_units()
    for ib in (*store.amaps, *store.pmaps):
        if data[ib:ib + ndb.page_size] == store.data[ib:ib + ndb.page_size]:
            continue
        trailer = page_trailer(store, data, ib)
        if trailer["bid"] != ib or trailer["dwCRC"] != crc32(data[ib:ib + ndb.page_crc_size]):
            return None
    for ib in store.amaps:  # each AMap page maps the units from its own offset on
        bits = np.unpackbits(np.frombuffer(data[ib + layout.amap_padding:ib + ndb.page_crc_size], np.uint8))
        if {ib + int(i) * layout.amap_unit for i in np.nonzero(bits == 0)[0]} & used:
            return True
    return False


def judge(splice: Splice) -> str:
    """What verify must say of a splice: "torn" and "map-damage" must be flagged, "benign" must
    pass, "rewritten" (in place under the same BID, valid CRC) is beyond the NDB checks.
    """
    target, donor = store_of(splice.target), store_of(splice.donor)
    data = splice.apply()
    end = target.layout.header_end
    if data[:end] == target.data[:end]:
        governing = target
    elif data[:end] == donor.data[:end]:
        governing = donor  # a whole header from the donor: the donor's trees now rule
    else:
        return "torn"
    verdicts = set(same_structure(governing, data))
    if "torn" in verdicts:
        return "torn"
    if governing.header.root.amap_valid in (1, 2):
        damage = frees_used_space(governing, data)
        if damage is None:
            return "torn"
        if damage:
            return "map-damage"
    return "rewritten" if "rewritten" in verdicts else "benign"


def check_splice(splice: Splice) -> str | None:
    """None if verify's verdict on the spliced copy is one its judged kind allows, else why not.

    A torn splice away from the header must also be located: some error's offset lies
    within a block's reach of the splice.
    """
    kind = judge(splice)
    report = verify(splice.apply())
    if found(report, "internal-error"):
        return f"{splice}: verify crashed: {describe(report)}"
    if kind in ("torn", "map-damage") and report.consistent:
        return f"{splice}: {kind}, but verify says consistent"
    store = store_of(splice.target)
    if kind == "torn" and splice.offset >= store.layout.header_end:
        low, high = splice.offset - store.ndb.max_block_size, splice.offset + splice.length
        if not [p for p in failing_at(report) if p.offset is not None and low < p.offset < high]:
            return f"{splice}: torn, but no error names a place near the splice:\n{describe(report)}"
    if kind == "map-damage" and not found(report, "amap-free-but-used"):
        return f"{splice}: the AMap frees used space, but no amap-free-but-used:\n{describe(report)}"
    if kind == "benign" and not report.consistent:
        return f"{splice}: only unchecked or equivalent bytes changed, but:\n{describe(report)}"
    return None


PAIRS = revision_pairs()


@pytest.mark.parametrize(
    ("target", "donor"), PAIRS or [("no-corpus", "no-corpus")], ids=[f"{t}<-{d}" for t, d in PAIRS] or ["no-corpus"]
)
def test_torn_copies(target: str, donor: str) -> None:
    """A copy mixing two saves of one store is flagged wherever a checked structure is torn."""
    recipes = splice_recipes(target, donor)
    assert any(judge(s) == "torn" for s in recipes)
    failures = [message for message in map(check_splice, recipes) if message]
    assert not failures, "\n".join(failures)


TIKA_2016, TIKA_2018 = "tika__testPST.rev-2016-03-31.pst", "tika__testPST.rev-2018-01-26.pst"
TIKA_2018_LATER = "tika__testPST.rev-2018-09-07.pst"
USER1_NEW, USER1_OLD = "tghanem-PST__user1@test.lab.pst", "tghanem-PST__user1@test.lab.rev-2017-06-17.pst"
PINNED_SPLICES = [
    # Block 0x4B8 was rewritten in place between the two saves: same BID, size and
    # offset, its own valid CRC, one data byte different.  No NDB check can see it.
    (Splice(TIKA_2016, TIKA_2018, 0x5C00, 512, "page over block 0x4B8"), "rewritten"),
    # NBT page 0x304: the saves differ only in entry padding (and so the CRC).
    (Splice(TIKA_2016, TIKA_2018, 0x7600, 512, "NBT page 0x304"), "benign"),
    # The two saves differ in header bytes only: the splice is the donor file itself.
    (Splice(TIKA_2018, TIKA_2018_LATER, 0, 564, "header"), "benign"),
    (Splice(USER1_NEW, USER1_OLD, 180, 72, "ROOT"), "torn"),
    (Splice(USER1_NEW, USER1_OLD, 0, 564, "header: the old trees over the new file"), "torn"),
    (Splice(USER1_OLD, USER1_NEW, 0, 564, "header: the new trees over the old file"), "torn"),
]


@pytest.mark.parametrize(("splice", "kind"), PINNED_SPLICES, ids=[s.kind for s, _ in PINNED_SPLICES])
def test_pinned_splices(splice: Splice, kind: str) -> None:
    """Recipes whose outcome docs/verify.md relies on, including what verify cannot see."""
    assert judge(splice) == kind
    report = verify(splice.apply())
    assert report.consistent == (kind in ("benign", "rewritten")), describe(report)
    if kind == "rewritten":
        spliced = splice.apply()
        assert spliced not in (store_of(splice.target).data, store_of(splice.donor).data)


# Bit flips in every kind of CRC-covered region ----------------------------------------


class Region(NamedTuple):
    """Bytes one check covers, and what verify must then report (layer, codes, location)."""

    spans: tuple[tuple[int, int], ...]
    layer: str
    codes: frozenset[str]
    where: dict[str, int]


PAGE_FLIP_CODES = frozenset({"page-crc", "page-invalid"})
BLOCK_FLIP_CODES = frozenset({"block-crc"})
REGION_KINDS = ("header", "NBT page", "BBT page", "AMap page", "data block", "XBLOCK", "SLBLOCK", "SIBLOCK")
FLIP_FILES = {
    "pstsdk__sample1.pst": REGION_KINDS[:-1],  # Unicode
    "pstsdk__sample2.pst": REGION_KINDS[:-1],  # ANSI
    "pst2john__97_outlook_pass12345.pst": ("SIBLOCK",),  # the corpus's only SIBLOCK
    "pst-extractor__pstextractortestpdf@outlook.com.ost": REGION_KINDS[:-1],  # 4K pages
}


def internal_kind(store: StoreMap, block: Block) -> str:
    raw = store.block_bytes(block)
    return {(1, 1): "XBLOCK", (1, 2): "XXBLOCK", (2, 0): "SLBLOCK", (2, 1): "SIBLOCK"}[raw[0], raw[1]]


def field_at(fmt: struct.Struct, names: tuple[str, ...], name: str) -> tuple[int, int]:
    """(offset, size) of a named field in a trailer struct."""
    index = names.index(name)
    order, codes = fmt.format[0], fmt.format[1:]
    return struct.calcsize(order + codes[:index]), struct.calcsize(order + codes[index])


def file_eof_field(store: StoreMap) -> tuple[int, int]:
    """Span of ROOT.ibFileEof, right after ROOT's dwReserved."""
    start = store.layout.root[0] + 4
    return start, start + store.layout.id_size


def crc_regions(store: StoreMap, kind: str) -> list[Region]:
    """Every region of ``kind``: the bytes its CRC covers and the CRC field itself."""
    ndb, layout = store.ndb, store.layout
    if kind == "header":  # all but ibFileEof, which test_damaged_file_eof covers
        codes = frozenset({"header-crc-partial", "header-crc-full", "not-a-pst"})
        eof_start, eof_end = file_eof_field(store)
        return [Region(((0, eof_start), (eof_end, layout.header_end)), "header", codes, {})]
    if kind.endswith("page"):
        crc = layout.page_trailer_at + field_at(layout.page_trailer, layout.page_trailer_fields, "dwCRC")[0]
        if kind == "AMap page":
            offsets, codes = store.amaps, frozenset({"map-page-crc", "map-page-invalid"})
        else:
            ptype = PTYPE_NBT if kind.startswith("NBT") else PTYPE_BBT
            offsets, codes = [p.offset for p in store.pages if p.ptype == ptype], PAGE_FLIP_CODES
        return [
            Region(((o, o + ndb.page_crc_size), (o + crc, o + crc + 4)), "ndb", codes, {"offset": o}) for o in offsets
        ]
    if kind == "data block":
        chosen = [b for b in store.blocks if not b.bid & BID_INTERNAL]
    else:
        chosen = [b for b in store.blocks if b.bid & BID_INTERNAL and internal_kind(store, b) == kind]
    crc = field_at(layout.block_trailer, layout.block_trailer_fields, "dwCRC")[0]
    return [
        Region(
            ((b.offset, b.offset + b.cb), (store.trailer_at(b) + crc, store.trailer_at(b) + crc + 4)),
            "ndb",
            BLOCK_FLIP_CODES,
            {"offset": b.offset, "bid": b.bid},
        )
        for b in chosen
    ]


FLIP_CASES = [(name, kind) for name, kinds in FLIP_FILES.items() for kind in kinds]


@pytest.mark.parametrize(("name", "kind"), FLIP_CASES, ids=[f"{n}:{k}" for n, k in FLIP_CASES])
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_single_bit_flip(name: str, kind: str, data: st.DataObject) -> None:
    """One flipped bit in any CRC-covered byte of any region of each kind is an error, located."""
    store = store_of(name)
    regions = crc_regions(store, kind)
    assert regions, f"{name} has no {kind}"
    region = data.draw(st.sampled_from(regions), label="region")
    start, end = data.draw(st.sampled_from(region.spans), label="span")
    offset = data.draw(st.integers(start, end - 1), label="offset")
    damaged = bytearray(store.data)
    damaged[offset] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    report = verify(damaged)
    hits = [p for p in report.problems if p.code in region.codes and p.severity in FAILING]
    assert hits and not report.consistent, f"flip at 0x{offset:X} in {kind}:\n{describe(report)}"
    assert all(p.layer == region.layer for p in hits)
    located = [p for p in hits if all(getattr(p, k) == v for k, v in region.where.items())]
    assert located, f"flip at 0x{offset:X} in {kind} not located at {region.where}:\n{describe(report)}"
    assert not found(report, "internal-error")


MEMORY_LIMIT = 1 << 31
"""Address space allowed to a verify run on damaged input: far above what these files need."""


def limited_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_cli_limited(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m pstlib.verify`` in a child whose memory is capped, so a runaway cannot take the machine."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run(
        [sys.executable, "-m", "pstlib.verify", *args],
        capture_output=True, text=True, timeout=120, env=env, preexec_fn=limited_memory,
    )


@pytest.mark.parametrize(
    ("name", "bit"), [(UNICODE_FILE, 30), (UNICODE_FILE, 47), (UNICODE_FILE, 63), (ANSI_FILE, 31)]
)
def test_damaged_file_eof(name: str, bit: int, tmp_path: Path) -> None:
    """A flipped bit in ROOT.ibFileEof is a bad header CRC and a truncation, reported in bounded space.

    The claimed size is the file's own damage: it must not drive how much verify
    allocates or how many problems it lists.
    """
    store = store_of(name)
    start, end = file_eof_field(store)
    damaged = bytearray(store.data)
    damaged[start:end] = (store.header.root.file_eof ^ (1 << bit)).to_bytes(end - start, "little")
    path = tmp_path / "eof.pst"
    path.write_bytes(damaged)
    result = run_cli_limited("--json", str(path))
    assert result.returncode == EXIT_INCONSISTENT, result.stderr[-2000:]
    report = json.loads(result.stdout)
    codes = Counter(p["code"] for p in report["problems"])
    assert codes["header-crc-partial"] == 1 and codes["file-truncated"] == 1
    assert "internal-error" not in codes, report["problems"][-1]
    assert len(report["problems"]) <= 100, codes.most_common(3)


# Truncation ---------------------------------------------------------------------------


def cut_points(store: StoreMap) -> list[int]:
    """Page and block boundaries below ibFileEof, plus the header's."""
    page = store.ndb.page_size
    blocks = spread(sorted(store.blocks, key=lambda b: b.offset), 16)
    points = {0, 1, store.header.size - 1, store.header.size, store.header.root.file_eof - page}
    points |= {o for p in store.pages for o in (p.offset, p.offset + page)}
    points |= {o for b in blocks for o in (b.offset, b.offset + store.span(b))}
    points |= set(store.amaps)
    return sorted(p for p in points if p < store.header.root.file_eof)


@pytest.mark.parametrize("name", [ANSI_FILE, UNICODE_FILE, OST_4K_FILE, LONGER_THAN_EOF])
def test_truncation(name: str) -> None:
    """A copy cut at any page or block boundary is never consistent: fatal file-truncated
    (not-a-pst below the header), located at the cut."""
    store = store_of(name)
    wrong = []
    for cut in cut_points(store):
        report = verify(store.data[:cut])
        code = "file-truncated" if cut >= store.header.size else "not-a-pst"
        hits = [p for p in found(report, code) if p.severity == "fatal" and p.layer == "header"]
        if report.consistent or not hits or found(report, "internal-error"):
            wrong.append(f"cut at 0x{cut:X}:\n{describe(report)}")
        elif code == "file-truncated" and hits[0].offset != cut:
            wrong.append(f"cut at 0x{cut:X} reported at {hits[0].offset}")
    assert not wrong, "\n".join(wrong)


def test_cut_back_to_eof_is_whole() -> None:
    """Backup_out.pst cut at its ibFileEof loses nothing: consistent, with no warning left."""
    store = store_of(LONGER_THAN_EOF)
    eof = store.header.root.file_eof
    report = verify(store.data[:eof])
    assert report.consistent and not [p for p in report.problems if p.severity != "info"], describe(report)
    halfway = verify(store.data[:(eof + len(store.data)) // 2])
    assert halfway.consistent and found(halfway, "file-longer-than-eof", offset=eof)


# CRC-valid structural damage ----------------------------------------------------------


def cbent(store: StoreMap, page: Page) -> int:
    return store.layout.info.unpack_from(store.data, page.offset + store.layout.info_at)[2]


def put_id(store: StoreMap, data: bytearray, offset: int, value: int) -> None:
    data[offset:offset + store.layout.id_size] = value.to_bytes(store.layout.id_size, "little")


def leaf_holding(store: StoreMap, ptype: int, key: int) -> tuple[Page, int]:
    """The leaf page whose entries hold ``key`` (a NID or BID) and the entry's offset."""
    for page in store.pages:
        if page.ptype == ptype and page.level == 0:
            for index, entry in enumerate(page.entries):
                if entry[0] == key:
                    return page, page.offset + index * cbent(store, page)
    raise LookupError(f"0x{key:X} is in no leaf")


def bbt_field(store: StoreMap, block: Block, name: str) -> int:
    """File offset of one field of a block's BBT entry."""
    page, at = leaf_holding(store, PTYPE_BBT, block.bid)
    return at + field_at(store.layout.bbtentry, store.layout.bbtentry_fields, name)[0]


def intermediate(store: StoreMap, ptype: int) -> Page:
    return next(p for p in store.pages if p.ptype == ptype and p.level > 0)


DAMAGE_FILES = {"ansi": "pstsdk__sample2.pst", "unicode": "pstsdk__sample1.pst", "unicode4k": OST_4K_FILE}
FORMAT_IDS = list(DAMAGE_FILES)


@pytest.mark.parametrize("fmt", FORMAT_IDS)
@pytest.mark.parametrize("ptype", [PTYPE_NBT, PTYPE_BBT], ids=["NBT", "BBT"])
def test_page_pointing_to_itself(fmt: str, ptype: int) -> None:
    """An intermediate page whose first child is itself: a cycle, named at the page."""
    store = store_of(DAMAGE_FILES[fmt])
    page = intermediate(store, ptype)
    data = bytearray(store.data)
    put_id(store, data, page.offset + store.layout.id_size, page.bid)
    put_id(store, data, page.offset + 2 * store.layout.id_size, page.offset)
    fix_page_crc(data, store.ndb, page.offset)
    assert_flagged(verify(data), "page-reached-twice", "ndb", offset=page.offset, bid=page.bid)


@pytest.mark.parametrize("fmt", FORMAT_IDS)
@pytest.mark.parametrize("ptype", [PTYPE_NBT, PTYPE_BBT], ids=["NBT", "BBT"])
def test_keys_out_of_order_in_a_page(fmt: str, ptype: int) -> None:
    """Two entries of a leaf swapped: the page is refused where it lies."""
    store = store_of(DAMAGE_FILES[fmt])
    page = next(p for p in store.pages if p.ptype == ptype and p.level == 0 and len(p.entries) > 1)
    size = cbent(store, page)
    data = bytearray(store.data)
    first, second = page.offset, page.offset + size
    data[first:first + size] = store.data[second:second + size]
    data[second:second + size] = store.data[first:first + size]
    fix_page_crc(data, store.ndb, page.offset)
    report = verify(data)
    assert_flagged(report, "page-invalid", "ndb", offset=page.offset, bid=page.bid)
    assert "ascending" in found(report, "page-invalid")[0].message


@pytest.mark.parametrize("fmt", FORMAT_IDS)
def test_key_outside_its_parents_range(fmt: str) -> None:
    """A parent's separator raised above its child's first key: the child's keys are out of range."""
    store = store_of(DAMAGE_FILES[fmt])
    parent = intermediate(store, PTYPE_NBT)
    index = len(parent.entries) - 1
    key, child_bid, child_ib = parent.entries[index]
    child = next(p for p in store.pages if p.offset == child_ib)
    data = bytearray(store.data)
    put_id(store, data, parent.offset + index * cbent(store, parent), child.entries[0][0] + 1)
    fix_page_crc(data, store.ndb, parent.offset)
    assert_flagged(verify(data), "key-out-of-range", "ndb", offset=child.offset, bid=child_bid)


def referenced_block(store: StoreMap, internal: bool = False) -> Block:
    counted = references(store)
    return store.block(lambda b: counted[b.bid & ~BID_RESERVED] > 0 and bool(b.bid & BID_INTERNAL) == internal)


@pytest.mark.parametrize("fmt", FORMAT_IDS)
@pytest.mark.parametrize(
    ("delta", "code", "severity"), [(-1, "refcount-low", "error"), (1, "refcount-high", "warning")]
)
def test_reference_count_off_by_one(fmt: str, delta: int, code: str, severity: str) -> None:
    """cRef one below what the file holds would free a block in use (error); one above leaks it (warning)."""
    store = store_of(DAMAGE_FILES[fmt])
    block = referenced_block(store)
    data = bytearray(store.data)
    at = bbt_field(store, block, "cRef")
    struct.pack_into("<H", data, at, block.cref + delta)
    page = next(p for p in store.pages if p.offset <= at < p.offset + store.ndb.page_size)
    fix_page_crc(data, store.ndb, page.offset)
    report = verify(data)
    assert_flagged(report, code, "ndb", severity, offset=block.offset, bid=block.bid)
    assert report.consistent == (severity == "warning")


@pytest.mark.parametrize("fmt", FORMAT_IDS)
def test_xblock_total_lies(fmt: str) -> None:
    """An XBLOCK whose lcbTotal is one more than its data blocks hold."""
    store = store_of(DAMAGE_FILES[fmt])
    xblock = store.block(
        lambda b: bool(b.bid & BID_INTERNAL) and b.inflated == b.cb and internal_kind(store, b) == "XBLOCK"
    )
    data = bytearray(store.data)
    total = struct.unpack_from("<I", data, xblock.offset + 4)[0]
    struct.pack_into("<I", data, xblock.offset + 4, total + 1)
    fix_block_crc(data, store.ndb, xblock.offset, xblock.cb)
    assert_flagged(verify(data), "xblock-total", "ndb", offset=xblock.offset, bid=xblock.bid)


@pytest.mark.parametrize("fmt", FORMAT_IDS)
@pytest.mark.parametrize("field_name", ["bidData", "bidSub"])
def test_nbt_entry_naming_a_missing_block(fmt: str, field_name: str) -> None:
    """A node whose data or subnode tree is a BID the BBT lacks."""
    store = store_of(DAMAGE_FILES[fmt])
    column = 1 if field_name == "bidData" else 2
    nid = next(n[0] for n in store.nodes if n[column])
    missing = (max(b.bid for b in store.blocks) + 4) & ~0x3 | (BID_INTERNAL if column == 2 else 0)
    page, at = leaf_holding(store, PTYPE_NBT, nid)
    data = bytearray(store.data)
    put_id(store, data, at + column * store.layout.id_size, missing)
    fix_page_crc(data, store.ndb, page.offset)
    assert_flagged(verify(data), "missing-block", "ndb", nid=nid & 0xFFFFFFFF, bid=missing)


@pytest.mark.parametrize("fmt", FORMAT_IDS)
def test_block_trailer_naming_another_block(fmt: str) -> None:
    """A data block whose trailer names another block's BID (wSig recomputed to match)."""
    store = store_of(DAMAGE_FILES[fmt])
    block, other = [b for b in store.blocks if not b.bid & BID_INTERNAL][:2]
    layout = store.layout
    data = bytearray(store.data)
    trailer = store.trailer_at(block)
    bid_at = trailer + field_at(layout.block_trailer, layout.block_trailer_fields, "bid")[0]
    sig_at = trailer + field_at(layout.block_trailer, layout.block_trailer_fields, "wSig")[0]
    put_id(store, data, bid_at, other.bid)
    struct.pack_into("<H", data, sig_at, signature(block.offset, other.bid))
    report = verify(data)
    assert_flagged(report, "block-bid", "ndb", offset=block.offset, bid=block.bid)
    assert not found(report, "block-signature")


@pytest.mark.parametrize("fmt", FORMAT_IDS)
def test_amap_marking_a_used_block_free(fmt: str) -> None:
    """The AMap bits of a live block cleared: a writer would overwrite it."""
    store = store_of(DAMAGE_FILES[fmt])
    unit, padding = store.layout.amap_unit, store.layout.amap_padding
    block = store.block(lambda b: b.offset >= store.amaps[0] + store.ndb.page_size)
    amap = max(a for a in store.amaps if a <= block.offset)
    data = bytearray(store.data)
    for position in range(block.offset, block.offset + store.span(block), unit):
        bit = (position - amap) // unit
        data[amap + padding + bit // 8] &= ~(0x80 >> bit % 8) & 0xFF
    fix_page_crc(data, store.ndb, amap)
    assert_flagged(verify(data), "amap-free-but-used", "ndb", offset=block.offset)


def subnode_entries(store: StoreMap, bid_sub: int) -> list[tuple[int, int, int]]:
    """(nid, bidData, bidSub) of an SLBLOCK ([MS-PST] 2.2.2.8.3.3.1)."""
    block = store.block(lambda b: b.bid & ~BID_RESERVED == bid_sub & ~BID_RESERVED)
    raw = store.block_bytes(block)
    count, width = struct.unpack_from("<H", raw, 2)[0], store.layout.id_size
    head = store.layout.subnode_head
    ids = [int.from_bytes(raw[head + i * width:head + (i + 1) * width], "little") for i in range(3 * count)]
    return [tuple(ids[i:i + 3]) for i in range(0, len(ids), 3)]


LOST_SUBNODES_FILE, LOST_SUBNODES_NID = "aspose-net__passwordprotectedPST.pst", 0x2002A4
"""A message with three recipients and one attachment (PidTagMessageFlags 0x11: read, has attachments)."""


def test_subnode_heap_damage_is_an_ltp_error() -> None:
    """A message's attachment table (a subnode) that is no heap: an LTP error naming the block."""
    store = store_of(LOST_SUBNODES_FILE)
    bid_sub = next(n[2] for n in store.nodes if n[0] == LOST_SUBNODES_NID)
    bid_data = next(data for nid, data, _ in subnode_entries(store, bid_sub) if nid == 0x671)
    block = store.block(lambda b: b.bid == bid_data)
    method = store.header.crypt_method
    plain = bytearray(crypt.decode(store.data[block.offset:block.offset + block.cb], method, block.bid))
    plain[2] ^= 0xFF  # HNHDR.bSig, 0xEC in every heap ([MS-PST] 2.3.1.2)
    data = bytearray(store.data)
    data[block.offset:block.offset + block.cb] = crypt.encode(bytes(plain), method, block.bid)
    fix_block_crc(data, store.ndb, block.offset, block.cb)
    assert_flagged(verify(data), "ltp-invalid", "ltp", bid=block.bid)


def remove_nbt_entry(store: StoreMap, nid: int) -> bytearray:
    """The file with one NBT leaf entry deleted (later entries shifted down, cEnt lowered)."""
    page, at = leaf_holding(store, PTYPE_NBT, nid)
    layout, size = store.layout, cbent(store, page)
    count, most, _, level = layout.info.unpack_from(store.data, page.offset + layout.info_at)
    end = page.offset + count * size
    data = bytearray(store.data)
    data[at:end] = store.data[at + size:end] + bytes(size)
    layout.info.pack_into(data, page.offset + layout.info_at, count - 1, most, size, level)
    return fix_page_crc(data, store.ndb, page.offset)


@pytest.mark.parametrize("fmt", FORMAT_IDS)
def test_folder_missing_from_the_nbt(fmt: str) -> None:
    """A folder its parent's hierarchy table lists, gone from the NBT: a messaging error naming it."""
    store = store_of(DAMAGE_FILES[fmt])
    folder = next(  # a normal folder right under the root folder
        n[0] & 0xFFFFFFFF for n in store.nodes if n[0] & 0x1F == 0x02 and n[0] != 0x122 and n[3] == 0x122
    )
    assert_flagged(verify(remove_nbt_entry(store, folder)), "folder-tree", "messaging", nid=folder)


def lose_subnodes() -> tuple[bytearray, int]:
    """The message's bidSub set to 0 (page CRC fixed); returns the data and the orphaned SLBLOCK."""
    store = store_of(LOST_SUBNODES_FILE)
    page, at = leaf_holding(store, PTYPE_NBT, LOST_SUBNODES_NID)
    orphan = next(n[2] for n in store.nodes if n[0] == LOST_SUBNODES_NID)
    data = bytearray(store.data)
    put_id(store, data, at + 2 * store.layout.id_size, 0)
    return fix_page_crc(data, store.ndb, page.offset), orphan


def test_message_that_lost_its_subnodes() -> None:
    """A message cut off from its subnode tree has lost its recipients and its attachment.

    Its PidTagMessageFlags still says mfHasAttach; in the corpus every message with
    mfHasAttach has an attachment table (591 of 591), so the copy is damaged.
    """
    data, _ = lose_subnodes()
    report = verify(data)
    assert not report.consistent, describe(report)
    assert failing_at(report, nid=LOST_SUBNODES_NID), describe(report)


def test_unreferenced_block_keeping_its_references() -> None:
    """The orphaned SLBLOCK keeps cRef 2 with nothing naming it: by the pinned convention that
    is a lost reference (refcount-lost, an error: whatever named it is gone), not space a
    writer has yet to reclaim.

    Every unreferenced block of the corpus has cRef 0 or 1.
    """
    data, orphan = lose_subnodes()
    store = store_of(LOST_SUBNODES_FILE)
    block = store.block(lambda b: b.bid == orphan)
    assert block.cref == 2
    assert_flagged(verify(data), "refcount-lost", "ndb", bid=block.bid, offset=block.offset)


# Trailer fields outside the CRCs ------------------------------------------------------


TRAILER_KINDS = ("NBT page", "BBT page", "AMap page", "PMap page", "data block", "internal block")


def trailer_fields(store: StoreMap, kind: str) -> tuple[int, dict[str, int], dict[str, int]]:
    """(trailer offset, {field: offset in trailer}, where) of the first region of ``kind``."""
    layout = store.layout
    if kind.endswith("page"):
        if kind in ("AMap page", "PMap page"):
            offset = (store.amaps if kind == "AMap page" else store.pmaps)[0]
            where = {"offset": offset}
        else:
            page = next(p for p in store.pages if p.ptype == (PTYPE_NBT if kind.startswith("NBT") else PTYPE_BBT))
            offset, where = page.offset, {"offset": page.offset}
        names, fmt, at = layout.page_trailer_fields, layout.page_trailer, offset + layout.page_trailer_at
    else:
        block = store.block(lambda b: bool(b.bid & BID_INTERNAL) == (kind == "internal block"))
        names, fmt, at = layout.block_trailer_fields, layout.block_trailer, store.trailer_at(block)
        where = {"offset": block.offset, "bid": block.bid}
    fields = {name: field_at(fmt, names, name)[0] for name in names if name not in ("dwCRC", "wUnknown")}
    return at, fields, where


TRAILER_CASES = [(fmt, kind) for fmt in ("ansi", "unicode") for kind in TRAILER_KINDS]


@pytest.mark.parametrize(("fmt", "kind"), TRAILER_CASES, ids=[f"{f}:{k}" for f, k in TRAILER_CASES])
def test_trailer_field_damage(fmt: str, kind: str) -> None:
    """Each trailer field the CRC does not cover (type, signature, id, size) is checked on its own.

    Map pages carry wSig 0 ([MS-PST] 2.2.2.7.1), as every AMap and PMap page of the corpus does.
    """
    store = store_of(DAMAGE_FILES[fmt])
    at, fields, where = trailer_fields(store, kind)
    missed = []
    for name, offset in fields.items():
        data = bytearray(store.data)
        data[at + offset] ^= 0x10
        report = verify(data)
        if report.consistent or not failing_at(report, **where):
            missed.append(f"{name}: {describe(report)}")
    assert not missed, f"{kind} trailer fields not checked:\n" + "\n".join(missed)


# Files that are no PST, the CLI, and what verify leaves alone --------------------------


@pytest.mark.parametrize(
    "content",
    [b"", b"\0" * 600, b"PK\3\4" + bytes(1000), b"!BDN" + bytes(1000)],
    ids=["empty", "zeros", "zip", "magic-only"],
)
def test_not_a_pst(content: bytes, tmp_path: Path) -> None:
    """Anything that is not a PST is a fatal not-a-pst in the header layer, from a path or a stream."""
    path = tmp_path / "junk.pst"
    path.write_bytes(content)
    for report in (verify_file(path), verify(content)):
        assert not report.consistent
        assert [p.code for p in report.problems] == ["not-a-pst"]
        assert (report.problems[0].severity, report.problems[0].layer) == ("fatal", "header")


def test_unopenable_paths(tmp_path: Path) -> None:
    """A directory or a missing path is the OS's refusal, not a report."""
    with pytest.raises(IsADirectoryError):
        verify_file(tmp_path)
    with pytest.raises(FileNotFoundError):
        verify_file(tmp_path / "missing.pst")
    with pytest.raises(ValueError, match="level"):
        verify_file(corpus_path(UNICODE_FILE), level="thorough")


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """0 all consistent, 1 some inconsistent, 2 usage errors and files the OS cannot open."""
    good, broken = str(corpus_path(UNICODE_FILE)), str(corpus_path(BROKEN_HEADER))
    empty = tmp_path / "empty.pst"
    empty.write_bytes(b"")
    assert main([good, str(corpus_path(LONGER_THAN_EOF))]) == EXIT_CONSISTENT
    assert main([good, broken]) == EXIT_INCONSISTENT
    assert main([str(empty)]) == EXIT_INCONSISTENT
    assert main(["--quick", broken]) == EXIT_INCONSISTENT
    assert main([good, str(tmp_path), broken]) == EXIT_UNUSABLE
    assert main([str(tmp_path / "missing.pst")]) == EXIT_UNUSABLE
    with pytest.raises(SystemExit) as usage:
        main([])
    assert usage.value.code == EXIT_UNUSABLE
    assert cli_main(["verify", "--quick", good]) == EXIT_CONSISTENT  # the pstlib subcommand
    assert cli_main(["verify", broken]) == EXIT_INCONSISTENT
    out = capsys.readouterr()
    assert "INCONSISTENT" in out.out and "cannot open" in out.err


SCHEMA = {"path": str, "level": str, "consistent": bool, "problems": list, "stats": dict}
OPTIONAL_INT = (int, type(None))
PROBLEM_SCHEMA = {
    "code": str, "severity": str, "layer": str, "message": str,
    "offset": OPTIONAL_INT, "nid": OPTIONAL_INT, "bid": OPTIONAL_INT,
}
STATS_SCHEMA = {
    "pages": int, "blocks": int, "nodes": int, "folders": int, "messages": int, "bytes_read": int, "seconds": float
}


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one report per line with exactly the fields docs/verify.md lists."""
    paths = [str(corpus_path(BROKEN_HEADER)), str(corpus_path(AMAP_NOT_VALID))]
    assert main(["--json", *paths]) == EXIT_INCONSISTENT
    lines = capsys.readouterr().out.splitlines()
    reports = [json.loads(line) for line in lines]
    assert [r["path"] for r in reports] == paths
    for report in reports:
        assert {k: type(v) for k, v in report.items()} == SCHEMA
        assert {k: type(v) for k, v in report["stats"].items()} == STATS_SCHEMA
        for problem in report["problems"]:
            assert set(problem) == set(PROBLEM_SCHEMA)
            assert all(isinstance(problem[k], t) for k, t in PROBLEM_SCHEMA.items())
            assert problem["severity"] in pstlib.verify.SEVERITIES and problem["layer"] in pstlib.verify.LAYERS
    assert [r["consistent"] for r in reports] == [False, True]


def test_cli_as_a_module(tmp_path: Path) -> None:
    """``python -m pstlib.verify`` itself, as a backup script would run it."""
    result = run_cli_limited("--quick", "--json", str(corpus_path(UNICODE_FILE)), str(tmp_path))
    assert result.returncode == EXIT_UNUSABLE
    assert json.loads(result.stdout)["consistent"] is True
    assert "cannot open" in result.stderr


def test_input_is_never_modified(tmp_path: Path) -> None:
    """verify maps the file read-only: bytes and mtime are the same afterwards, even when writable."""
    copy = tmp_path / "copy.pst"
    copy.write_bytes(corpus_path(UNICODE_FILE).read_bytes())
    os.utime(copy, ns=(1_000_000_000, 1_000_000_000))
    before = (copy.read_bytes(), copy.stat().st_mtime_ns)
    for level in ("full", "quick"):
        assert verify_file(copy, level=level).consistent
    with copy.open("rb") as handle:
        assert verify_file(handle).consistent
    assert main(["--json", str(copy)]) == EXIT_CONSISTENT
    assert (copy.read_bytes(), copy.stat().st_mtime_ns) == before
    damaged = bytearray(before[0])
    damaged[100] ^= 1
    stream = io.BytesIO(bytes(damaged))
    assert not verify_file(stream).consistent
    assert stream.getvalue() == bytes(damaged)


def test_file_object_is_read_from_its_start() -> None:
    """A backup tool that has just copied or hashed through a handle passes it on as it is:
    verify must check the whole file, as ``pstlib.open`` reads it, not the rest after the position.
    """
    with corpus_path(UNICODE_FILE).open("rb") as handle:
        handle.read(4096)
        report = verify_file(handle)
    assert report.consistent, describe(report)


def test_a_view_of_the_map_still_alive_does_not_break_the_report(tmp_path, monkeypatch) -> None:
    """A profiler or traceback holding a slice of verify's map keeps ``mmap.close`` from
    running (BufferError); verify_file must still return its report, raising nothing."""
    from pstlib.verify import ndb as verify_ndb

    kept = []
    original = verify_ndb.NDBCheck.walk_trees

    def keep_a_view(self):  # type: ignore[no-untyped-def]
        kept.append(self.data[:16])
        return original(self)

    monkeypatch.setattr(verify_ndb.NDBCheck, "walk_trees", keep_a_view)
    sample = Path(__file__).resolve().parents[1] / "fixtures" / "sample.pst"
    report = pstlib.verify_file(sample)
    assert kept and report.consistent
