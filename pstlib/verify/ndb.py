"""NDB checks: every page, every block, every reference, and the allocation maps.

The file is read once, through a read-only memory map: B-tree pages as they
are walked, then every block's span for its trailer and CRC.  Trailers are
gathered and compared with numpy; CRCs run through zlib on memoryviews;
internal blocks are parsed a batch at a time (``pstlib.verify.internal``) and
reference counts come from ``np.bincount``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from itertools import repeat

import numpy as np

from pstlib.errors import CRCMismatch, PSTError
from pstlib.ndb import maps
from pstlib.ndb.block import BID_INTERNAL, BID_RESERVED, block_trailer
from pstlib.ndb.btree import btree_schema, parse_btpage
from pstlib.ndb.crc import crc32
from pstlib.ndb.format import UNICODE4K, Format
from pstlib.ndb.header import BRef, Header
from pstlib.ndb.page import (
    PTYPE_AMAP,
    PTYPE_BBT,
    PTYPE_DL,
    PTYPE_NBT,
    check_page,
    compute_signatures,
    page_trailer,
)
from pstlib.ndb.schema import numpy_dtype, struct_format
from pstlib.verify.internal import XBLOCK, XXBLOCK, InternalBlocks, every_offset
from pstlib.verify.report import Report

MAX_LISTED = 20
"""Problems of one kind listed one by one; the rest are summarised in one more."""
ALLOCATION_CHUNK = 64
"""AMap intervals compared at once (16 MB of file in 512-byte-page files)."""
INFLATED_BATCH = 16 << 20
"""Bytes of compressed internal blocks inflated before they are parsed together."""


def _crc_many(data: memoryview, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The [MS-PST] CRC of many regions, each through zlib's C code.

    A chain of ``map``s runs no Python frame per region; what is left besides
    the hashing is a memoryview slice and a call each, about a quarter of the
    time over blocks of 4 KB.
    """
    views = map(data.__getitem__, map(slice, starts.tolist(), ends.tolist()))
    crcs = np.fromiter(map(zlib.crc32, views, repeat(0xFFFFFFFF)), np.uint32, count=len(starts))
    return crcs ^ np.uint32(0xFFFFFFFF)


class NDBCheck:
    """Runs the NDB checks of one file into a report."""

    def __init__(self, data: memoryview, header: Header, report: Report, max_depth: int) -> None:
        self.data = data
        self.bytes = np.frombuffer(data, np.uint8)
        self.header = header
        self.ndb = header.ndb
        self.report = report
        self.size = len(data)
        self.eof = min(header.root.file_eof, self.size)
        self.max_depth = max_depth
        self.page_offsets: list[int] = []
        self.nbt: np.ndarray | None = None
        self.bbt: np.ndarray | None = None
        self.complete = True
        """False once a B-tree page could not be read: references cannot all be checked."""
        self.page_bids: list[int] = []

    def problem(self, code: str, severity: str, message: str, **where: int | None) -> None:
        self.report.add(code, severity, "ndb", message, **where)

    def problems(self, code: str, severity: str, messages: list[tuple[str, dict]]) -> None:
        """Many findings of one kind: the first MAX_LISTED, then a count of the rest."""
        for message, where in messages[:MAX_LISTED]:
            self.problem(code, severity, message, **where)
        if len(messages) > MAX_LISTED:
            self.problem(code, severity, f"... and {len(messages) - MAX_LISTED} more like these")

    # B-trees --------------------------------------------------------------------------

    def walk_trees(self) -> None:
        """Both B-trees, page by page: trailers, levels, counts, key order and ranges.

        A level at a time through numpy first; only a tree where that finds
        anything amiss is walked again page by page, to say exactly what and where.
        """
        schema = btree_schema(self.ndb)
        root = self.header.root
        self.nbt = self._walk_levels(PTYPE_NBT, root.nbt, schema.nbtentry_dtype, "nid")
        if self.nbt is None:
            self.nbt = self._walk(PTYPE_NBT, root.nbt, schema.nbtentry_dtype, "nid")
        self.bbt = self._walk_levels(PTYPE_BBT, root.bbt, schema.bbtentry_dtype, "BREF")
        if self.bbt is None:
            self.bbt = self._walk(PTYPE_BBT, root.bbt, schema.bbtentry_dtype, "BREF")

    def _walk_levels(self, ptype: int, root: BRef, leaf_dtype: np.dtype, key: str) -> np.ndarray | None:
        """A healthy tree's leaf entries, checking every page of a level at once; None at
        the first thing that is not as a well-formed tree has it."""
        ndb, schema = self.ndb, btree_schema(self.ndb)
        size, span = self.size, ndb.page_size
        page_dtype = numpy_dtype(schema.btpage)
        as_pages = self.bytes[:size // span * span].reshape(-1, span)
        ibs = np.array([root.ib], np.int64)
        bids = np.array([root.bid], np.uint64)
        lows = np.zeros(1, np.uint64)  # each page's key range [low, high), high unbounded where not bounded
        highs = np.zeros(1, np.uint64)
        bounded = np.zeros(1, bool)
        level: int | None = None
        offsets: list[np.ndarray] = []
        page_bids: list[np.ndarray] = []
        seen = 0
        while True:
            if (
                len(ibs) == 0
                or ibs.min() < 0
                or ibs.max() + span > size
                or np.any(ibs % span)
                or len(np.unique(ibs)) != len(ibs)
            ):
                return None
            seen += len(ibs)
            if seen > self.size // span or (level is not None and level < 0):
                return None
            pages = as_pages[ibs // span]
            fields = pages.view(page_dtype).ravel()
            trailer, info = fields["pageTrailer"], fields["info"]
            levels = info["cLevel"]
            if level is None:
                level = int(levels[0])
            if (
                np.any(trailer["ptype"] != ptype)
                or np.any(trailer["ptypeRepeat"] != ptype)
                or np.any(trailer["bid"].astype(np.uint64) != bids)
                or np.any(levels != level)
                or level > self.max_depth
            ):
                return None
            signature = ibs.astype(np.uint64) ^ bids
            signature = ((signature >> np.uint64(16)) ^ signature) & np.uint64(0xFFFF)
            if np.any(trailer["wSig"] != signature):
                return None
            crc_size = ndb.page_crc_size
            crcs = np.fromiter((crc32(page[:crc_size]) for page in pages), np.uint32, len(pages))
            if np.any(crcs != trailer["dwCRC"]):
                return None
            dtype = leaf_dtype if level == 0 else schema.btentry_dtype
            per_page = ndb.btree_entries_size // dtype.itemsize
            counts = info["cEnt"].astype(np.int64)
            if np.any(info["cbEnt"] != dtype.itemsize) or np.any(counts > info["cEntMax"]) or np.any(counts > per_page):
                return None
            entries = np.ascontiguousarray(pages[:, :per_page * dtype.itemsize]).view(dtype)
            valid = np.arange(per_page)[None, :] < counts[:, None]
            if level:
                keys = entries["btkey"]
            else:
                keys = entries["nid"] if key == "nid" else entries["BREF"]["bid"]
            keys = keys.astype(np.uint64)
            if not ((keys[:, 1:] > keys[:, :-1]) | ~valid[:, 1:]).all():
                return None
            firsts = keys[:, 0]
            lasts = keys[np.arange(len(keys)), np.maximum(counts - 1, 0)]
            if np.any((counts > 0) & ((firsts < lows) | (bounded & (lasts >= highs)))):
                return None
            offsets.append(ibs)
            page_bids.append(bids)
            chosen = entries[valid]
            if level == 0:
                leaves = chosen
                break
            child_keys = chosen["btkey"].astype(np.uint64)
            parent_of = np.repeat(np.arange(len(ibs)), counts)
            last_in_page = np.append(parent_of[1:] != parent_of[:-1], True)
            next_keys = np.append(child_keys[1:], np.uint64(0))
            highs = np.where(last_in_page, highs[parent_of], next_keys)
            bounded = np.where(last_in_page, bounded[parent_of], True)
            lows = child_keys
            ibs = chosen["BREF"]["ib"].astype(np.int64)
            bids = chosen["BREF"]["bid"].astype(np.uint64)
            level -= 1
        all_keys = leaves[key] if key == "nid" else leaves[key]["bid"]
        if len(all_keys) > 1 and not np.all(all_keys[1:] > all_keys[:-1]):
            return None
        eof = self.header.root.file_eof
        every = np.concatenate(offsets)
        if np.any(every + span > eof):
            return None
        self.page_offsets.extend(every.tolist())
        self.page_bids.extend(np.concatenate(page_bids).tolist())
        self.report.stats.pages += len(every)
        self.report.stats.bytes_read += len(every) * span
        if ptype == PTYPE_NBT:
            self.report.stats.nodes += len(leaves)
        return _repack(leaves, leaf_dtype)

    def _walk(self, ptype: int, root: BRef, leaf_dtype: np.dtype, key: str) -> np.ndarray:
        name = "NBT" if ptype == PTYPE_NBT else "BBT"
        ndb = self.ndb
        info = struct_format(btree_schema(ndb).info)
        leaves: list[np.ndarray] = []
        seen: set[int] = set()
        stack: list[tuple[BRef, int | None, int, int | None, int]] = [(root, None, -1, None, 0)]
        while stack:
            ref, level, low, high, depth = stack.pop()
            where = {"offset": ref.ib, "bid": ref.bid}
            if ref.ib in seen:
                self.problem("page-reached-twice", "error", f"{name} page reached twice (a cycle or a shared subtree)", **where)
                continue
            seen.add(ref.ib)
            if depth > self.max_depth:
                self.problem("btree-too-deep", "error", f"{name} deeper than {self.max_depth} levels", **where)
                continue
            if ref.ib + ndb.page_size > self.size:
                self.problem("page-past-end", "error", f"{name} page lies past the end of the file", **where)
                self.complete = False
                continue
            page = self.data[ref.ib:ref.ib + ndb.page_size]
            self.report.stats.pages += 1
            self.report.stats.bytes_read += ndb.page_size
            try:
                parsed = parse_btpage(ndb, page, ref.ib, ptype, ref.bid)
            except CRCMismatch as exc:
                self.problem("page-crc", "error", exc.message, offset=exc.offset, bid=exc.bid)
                self.complete = False
                continue
            except PSTError as exc:
                self.problem("page-invalid", "error", exc.message, offset=exc.offset, bid=exc.bid)
                self.complete = False
                continue
            self.page_offsets.append(ref.ib)
            self.page_bids.append(ref.bid)
            if ref.ib + ndb.page_size > self.header.root.file_eof:
                self.problem("page-past-eof", "error", f"{name} page lies past ROOT ibFileEof", **where)
            count, count_max = info.unpack_from(page, ndb.btree_entries_size)[:2]
            if count > count_max:
                self.problem("page-count", "error", f"{name} page has cEnt {count} over its cEntMax {count_max}", **where)
            if level is not None and parsed.level != level:
                self.problem("page-level", "error", f"{name} page has cLevel {parsed.level}, its parent expects {level}", **where)
                self.complete = False
                continue
            keys = parsed.key_list
            if keys and (keys[0] < low or (high is not None and keys[-1] >= high)):
                self.problem(
                    "key-out-of-range",
                    "error",
                    f"{name} page keys 0x{keys[0]:X}..0x{keys[-1]:X} lie outside the range its parent gives it",
                    **where,
                )
            if parsed.level == 0:
                leaves.append(_repack(parsed.entries, leaf_dtype))
                continue
            refs = parsed.entries["BREF"]
            children = list(zip(refs["bid"].tolist(), refs["ib"].tolist(), keys, [*keys[1:], high]))
            for bid, ib, child_low, child_high in reversed(children):
                stack.append((BRef(bid, ib), parsed.level - 1, child_low, child_high, depth + 1))
        entries = np.concatenate(leaves) if leaves else np.zeros(0, leaf_dtype)
        keys = entries[key] if key == "nid" else entries[key]["bid"]
        repeated = np.nonzero(keys[1:] <= keys[:-1])[0]
        self.problems(
            "key-order",
            "error",
            [(f"{name} key 0x{int(keys[i + 1]):X} follows 0x{int(keys[i]):X}: out of order or repeated", {}) for i in repeated],
        )
        self.report.stats.nodes += len(entries) if ptype == PTYPE_NBT else 0
        return entries

    def check_ids(self) -> None:
        """BIDs below bidNextB, page ids below bidNextP, NIDs within ROOT's high-water marks.

        Otherwise a writer would hand out an id already in use ([MS-PST] 2.2.2.6).
        The corpus pins rgnid[t] as the highest index in use, not the next free one.
        """
        header = self.header
        if self.bbt is not None and len(self.bbt):
            bids = self.bbt["BREF"]["bid"]
            over = np.nonzero(bids >= header.next_bid)[0]
            self.problems("bid-above-next", "error", [(f"BID 0x{int(bids[i]):X} is not below bidNextB 0x{header.next_bid:X}", {"bid": int(bids[i])}) for i in over])
        over_pages = [bid for bid in self.page_bids if bid >= header.next_page]
        self.problems("page-bid-above-next", "error", [(f"page BID 0x{bid:X} is not below bidNextP 0x{header.next_page:X}", {"bid": bid}) for bid in over_pages])
        if self.nbt is not None and len(self.nbt):
            nids = (self.nbt["nid"] & 0xFFFFFFFF).astype(np.int64)
            marks = np.array(header.nid_high_water, np.int64)
            over = np.nonzero((nids >> 5) > marks[nids & 0x1F])[0]
            self.problems("nid-above-high-water", "error", [(f"NID index {int(nids[i]) >> 5:#x} is above its type's high-water mark", {"nid": int(nids[i])}) for i in over])

    # Blocks ---------------------------------------------------------------------------

    def check_blocks(self) -> None:
        """Every block's span within the file, its trailer against the BBT entry, its CRC."""
        bbt = self.bbt
        ndb = self.ndb
        if bbt is None or not len(bbt):
            return
        bids = bbt["BREF"]["bid"].astype(np.uint64)
        ibs = bbt["BREF"]["ib"].astype(np.uint64)
        sizes = bbt["cb"].astype(np.uint64)
        unit = ndb.block_alignment
        spans = (sizes + ndb.block_trailer_size + unit - 1) // unit * unit
        size = np.uint64(self.size)
        # An IB near 2**64 would wrap ib + span around: clip before adding.
        past_end = (ibs > size) | (np.minimum(ibs, size) + spans > size)
        ends = np.where(past_end, size, ibs + spans)
        self.report.stats.blocks += len(bbt)

        self.problems(
            "block-past-end",
            "error",
            [(f"block of {int(sizes[i])} bytes runs past the end of the file", {"offset": int(ibs[i]), "bid": int(bids[i])}) for i in np.nonzero(past_end)[0]],
        )
        past_eof = (ends > np.uint64(self.header.root.file_eof)) & ~past_end
        self.problems(
            "block-past-eof",
            "error",
            [("block lies past ROOT ibFileEof", {"offset": int(ibs[i]), "bid": int(bids[i])}) for i in np.nonzero(past_eof)[0]],
        )
        inside = np.nonzero(~past_end & (spans <= ndb.max_block_size))[0]
        oversized = np.nonzero(spans > ndb.max_block_size)[0]
        self.problems(
            "block-too-large",
            "error",
            [(f"BBT gives the block {int(sizes[i])} bytes, over the format's maximum", {"offset": int(ibs[i]), "bid": int(bids[i])}) for i in oversized],
        )
        order = np.argsort(ibs, kind="stable")
        overlap = np.nonzero(ibs[order][1:] < ends[order][:-1])[0]
        self.problems(
            "block-overlap",
            "error",
            [("block overlaps the block before it", {"offset": int(ibs[order][i + 1]), "bid": int(bids[order][i + 1])}) for i in overlap],
        )

        trailer_dtype = numpy_dtype(block_trailer(ndb))
        starts = (ends[inside] - ndb.block_trailer_size).astype(np.int64)
        trailers = every_offset(self.bytes, trailer_dtype)[starts]
        self.report.stats.bytes_read += int(spans[inside].sum())
        where = lambda i: {"offset": int(ibs[i]), "bid": int(bids[i])}
        checks = [
            ("block-size", trailers["cb"] != sizes[inside], "block trailer size differs from the BBT entry's"),
            (
                "block-bid",
                (trailers["bid"].astype(np.uint64) & ~np.uint64(BID_RESERVED)) != (bids[inside] & ~np.uint64(BID_RESERVED)),
                "block trailer names another block",
            ),
            (
                "block-signature",
                trailers["wSig"] != compute_signatures(ibs[inside], trailers["bid"]),
                "block trailer wSig does not match its offset and id",
            ),
        ]
        if ndb.name == UNICODE4K:
            checks.append(("block-inflated-size", trailers["cbInflated"] != bbt["cbInflated"][inside], "block trailer inflated size differs from the BBT entry's"))
        bad = np.zeros(len(inside), bool)
        for code, mask, message in checks:
            self.problems(code, "error", [(message, where(inside[i])) for i in np.nonzero(mask)[0]])
            bad |= mask
        crcs = _crc_many(self.data, ibs[inside], ibs[inside] + sizes[inside])
        mismatch = np.nonzero((crcs != trailers["dwCRC"]) & ~bad)[0]
        self.problems(
            "block-crc",
            "error",
            [(f"block dwCRC is 0x{int(trailers['dwCRC'][i]):08X}, its bytes give 0x{int(crcs[i]):08X}", where(inside[i])) for i in mismatch],
        )
        self._block_spans = (ibs[~past_end], spans[~past_end])

    # References -----------------------------------------------------------------------

    def check_references(self) -> None:
        """Every BID an NBT entry or an internal block names exists; data trees add up;
        reference counts are not below what the file holds ([MS-PST] 2.2.2.7.7.3).
        """
        nbt, bbt = self.nbt, self.bbt
        if nbt is None or bbt is None:
            return
        if not self.complete:
            self.problem("references-unchecked", "info", "block references were not checked: a B-tree page could not be read")
            return
        bids = bbt["BREF"]["bid"].astype(np.uint64) & ~np.uint64(BID_RESERVED)
        order = np.argsort(bids)
        sorted_bids = bids[order]
        found = np.zeros(len(bbt), np.int64)

        def locate(refs: np.ndarray) -> np.ndarray:
            """Index into the BBT of each BID, -1 where the BBT lacks it."""
            refs = refs.astype(np.uint64) & ~np.uint64(BID_RESERVED)
            position = np.searchsorted(sorted_bids, refs)
            position = np.minimum(position, max(len(sorted_bids) - 1, 0))
            hit = len(sorted_bids) > 0
            index = np.where(hit & (sorted_bids[position] == refs), order[position], -1) if hit else np.full(len(refs), -1)
            return index

        for field in ("bidData", "bidSub"):
            refs = nbt[field]
            present = refs != 0
            index = locate(refs[present])
            missing = np.nonzero(index < 0)[0]
            nids = (nbt["nid"][present] & 0xFFFFFFFF)
            self.problems(
                "missing-block",
                "error",
                [(f"NBT entry's {field} names a block the BBT lacks", {"nid": int(nids[i]), "bid": int(refs[present][i])}) for i in missing],
            )
            found += np.bincount(index[index >= 0], minlength=len(found))

        self._internal_references(found)

        recorded = bbt["cRef"].astype(np.int64)
        expected = found + BBT_OWN_REFERENCE
        where = lambda i: {"bid": int(bbt["BREF"]["bid"][i]), "offset": int(bbt["BREF"]["ib"][i])}
        low = np.nonzero((found > 0) & (recorded < expected))[0]
        self.problems(
            "refcount-low",
            "error",
            [(f"BBT records {int(recorded[i])} references, the file holds {int(found[i])} plus the BBT's own: freeing one would free a block still in use", where(i)) for i in low],
        )
        high = np.nonzero((found > 0) & (recorded > expected))[0]
        self.problems(
            "refcount-high",
            "warning",
            [(f"BBT records {int(recorded[i])} references, the file holds {int(found[i])} plus the BBT's own: the block would never be freed", where(i)) for i in high],
        )
        lost = np.nonzero((found == 0) & (recorded > BBT_OWN_REFERENCE))[0]
        self.problems(
            "refcount-lost",
            "error",
            [(f"BBT records {int(recorded[i])} references, nothing in the file refers to the block: a referrer was lost", where(i)) for i in lost],
        )
        orphans = int(np.count_nonzero(found == 0))
        if orphans:
            self.problem("unreferenced-blocks", "info", f"{orphans} blocks in the BBT are referenced by no node (space a writer has yet to reclaim)")
        self.found_references = found

    def _internal_references(self, found: np.ndarray) -> None:
        """Count into ``found`` the BIDs every internal block names; report what is wrong with them.

        Problems come out in the order a block-by-block pass over the BBT gives them:
        each block's own, then its missing children in order; XXBLOCK totals last.
        """
        bbt = self.bbt
        index_of = _index_of(bbt["BREF"]["bid"])
        sizes = bbt["cbInflated"] if self.ndb.name == UNICODE4K else bbt["cb"]
        # (BBT index, order within the block, code, message) of each problem found
        events: list[tuple[int, int, str, str]] = []
        # (BBT indexes, lcbTotals) of XBLOCKs and of XXBLOCKs; (XXBLOCK's BBT index, BID it names)
        xblocks: list[tuple[np.ndarray, np.ndarray]] = []
        xxblocks: list[tuple[np.ndarray, np.ndarray]] = []
        xxblock_children: list[tuple[np.ndarray, np.ndarray]] = []
        named = 0
        for positions, batch in self._internal_batches(events):
            events += [
                (int(positions[i]), -1, "internal-block-invalid", message)
                for i, message in batch.errors.items()
            ]
            missing = np.zeros(len(positions), np.int64)
            # bytes each block's children hold: float sums of uint16 sizes, exact up to 2**53
            held = np.zeros(len(positions))
            for block, bids in batch.children():
                index = index_of(bids)
                hit = index >= 0
                found += np.bincount(index[hit], minlength=len(found))
                missing += np.bincount(block[~hit], minlength=len(positions))
                held += np.bincount(block[hit], weights=sizes[index[hit]], minlength=len(positions))
                lacking = np.nonzero(~hit)[0]
                events += [
                    (
                        position,
                        named + order,
                        "missing-block",
                        f"internal block names block 0x{bid:X}, which the BBT lacks",
                    )
                    for position, order, bid in zip(
                        positions[block[lacking]].tolist(), lacking.tolist(), bids[lacking].tolist()
                    )
                ]
                named += len(bids)
                of_xxblocks = batch.kind[block] == XXBLOCK
                xxblock_children.append((positions[block[of_xxblocks]], bids[of_xxblocks]))
            totals = batch.total
            xblock, xxblock = (
                np.nonzero(batch.kind == XBLOCK)[0],
                np.nonzero(batch.kind == XXBLOCK)[0],
            )
            xblocks.append((positions[xblock], totals[xblock]))
            xxblocks.append((positions[xxblock], totals[xxblock]))
            wrong = xblock[(missing[xblock] == 0) & (held[xblock] != totals[xblock])]
            events += [
                (
                    position,
                    -1,
                    "xblock-total",
                    f"XBLOCK lcbTotal is {total}, its blocks hold {actual}",
                )
                for position, total, actual in zip(
                    positions[wrong].tolist(),
                    totals[wrong].tolist(),
                    held[wrong].astype(np.int64).tolist(),
                )
            ]
        events.sort(key=lambda event: event[:2])
        for position, _, code, message in events:
            self.problem(code, "error", message, **self._where(position))
        self._check_xxblock_totals(xblocks, xxblocks, xxblock_children)

    def _internal_batches(
        self, events: list[tuple[int, int, str, str]]
    ) -> Iterator[tuple[np.ndarray, InternalBlocks]]:
        """The internal blocks inside the file, decoded, with their BBT indexes.

        Blocks stored as they are come in one batch straight from the map; compressed
        ones (4K-page files) are inflated INFLATED_BATCH bytes at a time, noting in
        ``events`` any that does not inflate.
        """
        bbt = self.bbt
        internal = np.nonzero((bbt["BREF"]["bid"] & BID_INTERNAL) != 0)[0]
        ibs = bbt["BREF"]["ib"][internal].astype(np.uint64)
        stored = bbt["cb"][internal].astype(np.uint64)
        inflated = (bbt["cbInflated"] if self.ndb.name == UNICODE4K else bbt["cb"])[internal]
        size = np.uint64(self.size)
        # ib + cb <= size, without wrapping around 2**64
        inside = (ibs <= size) & (stored <= size - np.minimum(ibs, size))
        plain = inside & (stored == inflated)
        yield internal[plain], InternalBlocks(self.ndb, self.bytes, ibs[plain], stored[plain])
        compressed = inside & ~plain
        positions: list[int] = []
        bodies: list[bytes] = []
        inflated_bytes = 0
        for position, ib, cb in zip(
            internal[compressed].tolist(), ibs[compressed].tolist(), stored[compressed].tolist()
        ):
            try:
                bodies.append(zlib.decompress(self.data[ib : ib + cb]))
            except zlib.error as exc:
                events.append(
                    (position, -1, "block-inflate", f"compressed block does not inflate: {exc}")
                )
                continue
            positions.append(position)
            inflated_bytes += len(bodies[-1])
            if inflated_bytes >= INFLATED_BATCH:
                yield np.array(positions), _inflated(self.ndb, bodies)
                positions, bodies, inflated_bytes = [], [], 0
        if positions:
            yield np.array(positions), _inflated(self.ndb, bodies)

    def _check_xxblock_totals(
        self,
        xblocks: list[tuple[np.ndarray, np.ndarray]],
        xxblocks: list[tuple[np.ndarray, np.ndarray]],
        children: list[tuple[np.ndarray, np.ndarray]],
    ) -> None:
        """Each XXBLOCK's lcbTotal against its XBLOCKs' where all of them are XBLOCKs.

        Of two XBLOCKs with one BID, the later in the BBT counts.
        """
        bbt = self.bbt
        if not any(len(part[0]) for part in xxblocks):
            return
        positions, totals = (np.concatenate(part) for part in zip(*xblocks))
        order = np.argsort(positions, kind="stable")
        positions, totals = positions[order], totals[order]
        xblock_of = _index_of(bbt["BREF"]["bid"][positions])
        parents, bids = (np.concatenate(part) for part in zip(*children))
        index = xblock_of(bids)
        hit = index >= 0
        missing = np.bincount(parents[~hit], minlength=len(bbt))
        held = np.bincount(parents[hit], weights=totals[index[hit]], minlength=len(bbt))  # < 2**53
        xxpositions, xxtotals = (np.concatenate(part) for part in zip(*xxblocks))
        order = np.argsort(xxpositions, kind="stable")
        for position, total in zip(xxpositions[order].tolist(), xxtotals[order].tolist()):
            if missing[position] == 0 and held[position] != total:
                self.problem(
                    "xblock-total",
                    "error",
                    f"XXBLOCK lcbTotal is {total}, its XBLOCKs add up to {int(held[position])}",
                    **self._where(position),
                )

    def _where(self, position: int) -> dict[str, int]:
        """The BID and offset of the BBT's entry ``position``, as problems name a block."""
        ref = self.bbt["BREF"][position]
        return {"bid": int(ref["bid"]), "offset": int(ref["ib"])}

    # Allocation maps ------------------------------------------------------------------

    def check_allocation(self) -> None:
        """The AMap against what pages and blocks really occupy; PMap trailers; ROOT totals."""
        ndb, root = self.ndb, self.header.root
        first, unit = maps.FIRST_AMAP[ndb.name], maps.AMAP_UNIT[ndb.name]
        padding = maps.AMAP_PADDING[ndb.name]
        bits_per_page = maps.map_bits(ndb)
        interval = maps.interval_size(ndb)
        eof = self.eof  # ibFileEof, but never past the real file: maps there cannot be read
        amap_offsets = list(range(first, eof, interval))
        if not amap_offsets:
            return
        if root.amap_last != amap_offsets[-1]:
            self.problem("amap-last", "error", f"ROOT ibAMapLast is 0x{root.amap_last:X}, the last AMap page is at 0x{amap_offsets[-1]:X}", offset=root.amap_last)
        trusted = self.header.root.amap_valid in (1, 2)
        pages = [page for k in range(len(amap_offsets)) for page in maps.map_pages(ndb, k)]
        valid = self._check_map_pages(pages)
        amap_valid = [ok for (_, ptype), ok in zip(pages, valid) if ptype == PTYPE_AMAP]
        self._check_dlist()
        if not trusted:
            return
        page_starts = [ib for ib, _ in pages] + self.page_offsets
        starts = [np.array(page_starts, np.int64)]
        lengths = [np.full(len(page_starts), ndb.page_size, np.int64)]
        if hasattr(self, "_block_spans"):
            ibs, spans = self._block_spans
            starts.append(ibs.astype(np.int64))
            lengths.append(spans.astype(np.int64))
        starts_array = np.concatenate(starts)
        ends_array = starts_array + np.concatenate(lengths)
        order = np.argsort(starts_array, kind="stable")
        starts_array, ends_array = starts_array[order], ends_array[order]
        longest = int((ends_array - starts_array).max()) if len(starts_array) else 0
        limit = (eof - first) // unit  # units the AMaps cover up to the end of the file
        as_pages = self.bytes[: self.size // ndb.page_size * ndb.page_size].reshape(-1, ndb.page_size)
        free_but_used: list[int] = []
        clashes = leaked = free = 0
        # A chunk of intervals at a time: the comparison needs a few MB whatever the file size.
        for k0 in range(0, len(amap_offsets), ALLOCATION_CHUNK):
            k1 = min(k0 + ALLOCATION_CHUNK, len(amap_offsets))
            lo, hi = k0 * bits_per_page, min(k1 * bits_per_page, limit)
            if lo >= hi:
                break
            bodies = as_pages[np.array(amap_offsets[k0:k1]) // ndb.page_size, padding:ndb.page_crc_size].copy()
            bodies[~np.array(amap_valid[k0:k1])] = 0xFF  # an unreadable AMap claims nothing free
            marked = np.unpackbits(bodies, axis=1).reshape(-1).view(bool)[: hi - lo]
            low_byte, high_byte = first + lo * unit, first + hi * unit
            a, b = np.searchsorted(starts_array, [low_byte - longest, high_byte])
            chunk_starts = np.clip(starts_array[a:b], low_byte, high_byte)
            chunk_ends = np.clip(ends_array[a:b], low_byte, high_byte)
            keep = chunk_ends > chunk_starts
            first_units = (chunk_starts[keep] - low_byte) // unit
            in_use = _covered(first_units, -(-(chunk_ends[keep] - low_byte) // unit), hi - lo)
            clash = np.nonzero(in_use & ~marked)[0]
            clashes += len(clash)
            free_but_used += (lo + clash[:MAX_LISTED]).tolist()
            leaked += int((marked & ~in_use).sum())
            free += int((~marked).sum())
        for u in free_but_used[:MAX_LISTED]:
            self.problem("amap-free-but-used", "error", "the AMap marks this space free, but a page or block lives there: a writer would overwrite it", offset=first + u * unit)
        if clashes > MAX_LISTED:
            self.problem("amap-free-but-used", "error", f"... and {clashes - MAX_LISTED} more like these")
        if leaked and self.complete:
            self.problem("amap-leak", "info", f"{leaked * unit} bytes are marked allocated but hold no page or block the trees reach")
        if free * unit != root.amap_free:
            self.problem("amap-free-total", "warning", f"ROOT cbAMapFree is {root.amap_free}, the AMaps mark {free * unit} bytes free")

    def _check_dlist(self) -> None:
        """The density list at 0x4200 is optional ([MS-PST] 2.2.2.7.4); one that is there must check out."""
        ndb = self.ndb
        at = maps.DLIST_OFFSET
        if ndb.name == UNICODE4K or at + ndb.page_size > self.size:
            return
        page = self.data[at:at + ndb.page_size]
        if page[ndb.page_crc_size] != PTYPE_DL:
            return
        self.report.stats.pages += 1
        try:
            check_page(ndb, page, at, PTYPE_DL, None)
        except PSTError as exc:
            self.problem("dlist-invalid", "info", f"{exc.message}; Outlook ignores and rebuilds such a DList ([MS-PST] 2.2.2.7.4)", offset=at)

    def _check_map_pages(self, pages: list[tuple[int, int]]) -> list[bool]:
        """``_check_map_page`` of every (offset, ptype), in order, through numpy first.

        Only a page that fails there is checked again on its own, to report what is wrong.
        """
        ndb = self.ndb
        ibs = np.array([ib for ib, _ in pages], np.int64)
        ptypes = np.array([ptype for _, ptype in pages], np.int64)
        inside = np.nonzero(ibs + ndb.page_size <= self.size)[0]
        at = ibs[inside]
        trailers = every_offset(self.bytes, numpy_dtype(page_trailer(ndb)))[at + ndb.page_crc_size]
        crcs = _crc_many(self.data, at, at + ndb.page_crc_size)
        good = np.zeros(len(pages), bool)
        good[inside] = (
            (trailers["ptype"] == ptypes[inside])
            & (trailers["ptypeRepeat"] == ptypes[inside])
            & (trailers["bid"] == at)
            & (trailers["wSig"] == 0)
            & (trailers["dwCRC"] == crcs)
        )
        checked = int(good.sum())
        self.report.stats.pages += checked
        self.report.stats.bytes_read += checked * ndb.page_size
        return [
            ok or self._check_map_page(ib, ptype) for (ib, ptype), ok in zip(pages, good.tolist())
        ]

    def _check_map_page(self, ib: int, ptype: int) -> bool:
        ndb = self.ndb
        if ib + ndb.page_size > self.size:
            self.problem("map-page-past-end", "error", "allocation map page lies past the end of the file", offset=ib)
            return False
        self.report.stats.pages += 1
        self.report.stats.bytes_read += ndb.page_size
        try:
            trailer = check_page(ndb, self.data[ib:ib + ndb.page_size], ib, ptype, ib)
            if trailer["wSig"] != 0:
                self.problem("map-page-signature", "error", f"allocation map page wSig is 0x{trailer['wSig']:04X}, [MS-PST] 2.2.2.7.1 requires 0", offset=ib)
        except CRCMismatch as exc:
            self.problem("map-page-crc", "error", exc.message, offset=ib)
            return False
        except PSTError as exc:
            self.problem("map-page-invalid", "error", exc.message, offset=ib)
            return False
        return True


BBT_OWN_REFERENCE = 1
"""cRef counts the BBT's own reference as well as every NBT entry and internal block naming the block."""


def _covered(starts: np.ndarray, ends: np.ndarray, count: int) -> np.ndarray:
    """Which of ``count`` units lie in some [start, end): starts sorted, no range empty."""
    if not len(starts):
        return np.zeros(count, bool)
    reach = np.maximum.accumulate(ends)
    apart = starts[1:] > reach[:-1]  # a gap before the next range: the run so far ends
    runs = np.column_stack((starts[np.append(True, apart)], reach[np.append(apart, True)]))
    edges = np.concatenate(([0], runs.ravel(), [count]))  # unused, used, unused, ... used, unused
    return np.repeat(np.arange(len(edges) - 1) % 2 == 1, np.diff(edges))


def _repack(entries: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Entries parsed with a widened stride, copied into the declared dtype."""
    if entries.dtype == dtype:
        return entries
    out = np.empty(len(entries), dtype)
    for name in dtype.names:
        out[name] = entries[name]
    return out


def _index_of(bids: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A lookup from BIDs to their index in ``bids`` (-1 where absent), the reserved bit ignored.

    Of repeated BIDs the last is found, as a dict built in order would keep it.
    """
    keys = bids.astype(np.uint64) & ~np.uint64(BID_RESERVED)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]

    def find(refs: np.ndarray) -> np.ndarray:
        refs = refs.astype(np.uint64) & ~np.uint64(BID_RESERVED)
        at = np.searchsorted(keys, refs, "right") - 1
        hit = at >= 0
        hit[hit] = keys[at[hit]] == refs[hit]
        out = np.full(len(refs), -1, np.int64)
        out[hit] = order[at[hit]]
        return out

    return find


def _inflated(ndb: Format, bodies: list[bytes]) -> InternalBlocks:
    """Inflated internal blocks, one after another in one buffer."""
    lengths = np.array([len(body) for body in bodies], np.int64)
    return InternalBlocks(
        ndb, np.frombuffer(b"".join(bodies), np.uint8), np.cumsum(lengths) - lengths, lengths
    )
