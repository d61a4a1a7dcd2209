"""NDB layout of written stores: allocation map pages where [MS-PST] 2.2.2.7 puts them, file
size in whole AMap intervals, ROOT consistent with the maps and B-trees, XXBLOCK data trees.

The map pages are checked from the raw bytes (page trailer: ptype, ptypeRepeat, wSig, dwCRC,
bid in the last 16 bytes of each 512-byte page), independently of pstlib's reader; the CRC is
[MS-PST] 5.3's, which is zlib's CRC-32 without its pre- and post-inversion.
"""

from __future__ import annotations

import io
import os
import random
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest

import pstlib
from pstlib.writer import NewAttachment
from tests.writer_support import CRYPTS, serious_problems

PAGE = 512
FIRST_AMAP = 0x4400
INTERVAL = 0x3E000
FIRST_FMAP = 0x1F04800
PTYPE_BBT, PTYPE_NBT, PTYPE_FMAP, PTYPE_PMAP, PTYPE_AMAP, PTYPE_DL = 0x80, 0x81, 0x82, 0x83, 0x84, 0x86
BLOCK_DATA = 8176
XBLOCK_LIMIT = 1021 * BLOCK_DATA
"""8,347,696 bytes: the most one XBLOCK lists; one byte more needs an XXBLOCK."""


def pst_crc(data: bytes) -> int:
    return zlib.crc32(data, 0xFFFFFFFF) ^ 0xFFFFFFFF


def trailer(raw: bytes, offset: int) -> tuple[int, int, int, int, int]:
    """(ptype, ptypeRepeat, wSig, dwCRC, bid) of the page at ``offset``."""
    return struct.unpack_from("<BBHIQ", raw, offset + PAGE - 16)


def check_page(raw: bytes, offset: int, ptype: int) -> None:
    got = trailer(raw, offset)
    assert got[:2] == (ptype, ptype), f"page at 0x{offset:X}: ptype {got[:2]}, expected 0x{ptype:X}"
    assert got[3] == pst_crc(raw[offset:offset + PAGE - 16]), f"page at 0x{offset:X}: CRC"


def pattern(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def test_store_past_first_pmap_and_fmap(tmp_path: Path) -> None:
    """~34 MB of attachments: 130+ intervals, so PMaps at every 8th and the first FMap at 0x1F04800."""
    path = tmp_path / "big.pst"
    xx = pattern(XBLOCK_LIMIT + 1, 1)  # one byte past an XBLOCK: the data tree is an XXBLOCK
    rest = [pattern(8_500_000, seed) for seed in (2, 3, 4)]
    with pstlib.create(path, crypt="permute") as w:
        folder = w.root_folder.add_folder("Big")
        folder.add_message(subject="xx stream", attachments=[NewAttachment("xx.bin", data=io.BytesIO(xx))])
        for index, data in enumerate(rest):
            source = io.BytesIO(data) if index % 2 else data
            folder.add_message(subject=f"big {index}", attachments=[NewAttachment(f"{index}.bin", data=source)])
        w.root_folder.add_message(subject="after the big ones", body="small")

    problems = serious_problems(path)
    assert not problems, problems

    size = os.path.getsize(path)
    assert size > FIRST_FMAP + PAGE
    assert (size - FIRST_AMAP) % INTERVAL == 0, hex(size)
    intervals = (size - FIRST_AMAP) // INTERVAL
    assert intervals > 128
    raw = path.read_bytes()

    # Map pages at the head of every interval: AMap; PMap every 8th; the first FMap at k = 128.
    free_bits = 0
    allocated = np.zeros(intervals * 3968, bool)
    for k in range(intervals):
        start = FIRST_AMAP + k * INTERVAL
        check_page(raw, start, PTYPE_AMAP)
        assert trailer(raw, start)[2] == 0, "AMap wSig is 0"
        assert trailer(raw, start)[4] == start, "AMap BID is its offset"
        bits = np.unpackbits(np.frombuffer(raw[start:start + 496], np.uint8))
        allocated[k * 3968:(k + 1) * 3968] = bits.astype(bool)
        free_bits += int((bits == 0).sum())
        map_pages = 1
        if k % 8 == 0:
            check_page(raw, start + PAGE, PTYPE_PMAP)
            map_pages += 1
        if k == 128:
            assert start + 2 * PAGE == FIRST_FMAP
            check_page(raw, FIRST_FMAP, PTYPE_FMAP)
            map_pages += 1
        # the AMap marks its own interval's map pages allocated (8 units of 64 bytes per page)
        assert bits[:map_pages * 8].all(), f"interval {k}: map pages not marked allocated"
    check_page(raw, 0x4200, PTYPE_DL)

    with pstlib.open(path) as pst:
        root = pst.header.root
        assert root.file_eof == size
        assert root.amap_last == FIRST_AMAP + (intervals - 1) * INTERVAL
        assert root.amap_free == free_bits * 64
        assert root.pmap_free == 0
        assert root.amap_valid == 2
        for ref, ptype in ((root.nbt, PTYPE_NBT), (root.bbt, PTYPE_BBT)):
            assert ref.ib % PAGE == 0 and FIRST_AMAP < ref.ib < size
            check_page(raw, ref.ib, ptype)
            assert trailer(raw, ref.ib)[4] == ref.bid

        # Every block lies inside one interval, past its map pages, and its AMap bits are set.
        for block in pst.blocks():
            span = -(-(block.size + 16) // 64) * 64
            k = (block.offset - FIRST_AMAP) // INTERVAL
            head = FIRST_AMAP + k * INTERVAL + PAGE * (1 + (k % 8 == 0) + (k == 128))
            assert head <= block.offset and block.offset + span <= FIRST_AMAP + (k + 1) * INTERVAL, hex(block.offset)
            first = (block.offset - FIRST_AMAP) // 64
            assert allocated[first:first + span // 64].all(), f"block 0x{block.bid:X} not marked in its AMap"

        folder = [f for f in pst.ipm_subtree.subfolders() if f.name == "Big"][0]
        got = list(folder.messages())
        assert [m.subject for m in got] == ["xx stream", "big 0", "big 1", "big 2"]
        attachment = got[0].attachments[0]
        assert attachment.size == len(xx)
        with attachment.open() as stream:
            assert stream.read() == xx
        # the XXBLOCK: the data tree's root is an internal block of level 2
        data_node = attachment.properties.value_node(0x3701)
        assert data_node is not None
        assert pst.read_block(data_node.bid_data)[:2] == b"\x01\x02"
        for message, data in zip(got[1:], rest):
            assert message.attachments[0].read() == data
        assert [m.subject for m in pst.ipm_subtree.messages()] == ["after the big ones"]


@pytest.mark.parametrize("crypt", CRYPTS)
@pytest.mark.parametrize(
    ("size", "level"), [(BLOCK_DATA, None), (BLOCK_DATA + 1, 1), (XBLOCK_LIMIT, 1), (XBLOCK_LIMIT + 1, 2)]
)
def test_data_tree_levels(tmp_path: Path, crypt: str, size: int, level: int | None) -> None:
    """An attachment of one block, an XBLOCK (up to 1,021 blocks) and an XXBLOCK, streamed."""
    path = tmp_path / "tree.pst"
    data = pattern(size, size)
    with pstlib.create(path, crypt=crypt) as w:
        w.root_folder.add_message(subject="tree", attachments=[NewAttachment("t.bin", data=io.BytesIO(data))])
    assert not serious_problems(path)
    with pstlib.open(path) as pst:
        attachment = next(pst.ipm_subtree.messages()).attachments[0]
        assert attachment.read() == data
        node = attachment.properties.value_node(0x3701)
        first = pst.read_block(node.bid_data)
        if level is None:
            assert first == data
        else:
            kind, got_level, count, total = struct.unpack_from("<BBHI", first)
            assert (kind, got_level, total) == (1, level, size)
            assert count == (-(-size // BLOCK_DATA) if level == 1 else -(-size // XBLOCK_LIMIT))


def test_small_store_layout(tmp_path: Path) -> None:
    """A tiny store is one interval: 0x4400 + 0x3E000 bytes, AMap and PMap at its head."""
    path = tmp_path / "small.pst"
    with pstlib.create(path, crypt="none") as w:
        w.root_folder.add_message(subject="one")
    raw = path.read_bytes()
    assert len(raw) == FIRST_AMAP + INTERVAL
    assert raw[:4] == b"!BDN" and raw[8:10] == b"SM"
    assert struct.unpack_from("<H", raw, 10)[0] == 23  # wVer: Unicode
    check_page(raw, FIRST_AMAP, PTYPE_AMAP)
    check_page(raw, FIRST_AMAP + PAGE, PTYPE_PMAP)
    check_page(raw, 0x4200, PTYPE_DL)
    with pstlib.open(path) as pst:
        assert pst.header.root.file_eof == len(raw)
        assert pst.header.root.amap_last == FIRST_AMAP
        assert pst.header.crypt == "none"


def _gathered_store(path: Path) -> bytes:
    """A store with heap-sized, multi-block and streamed values: many chunks per flush."""
    with pstlib.create(path, crypt="permute", record_key=bytes(16)) as w:
        folder = w.root_folder.add_folder("Writes")
        for index in range(40):
            data = pattern(3_000 + index * 40_000, index)
            source = io.BytesIO(data) if index % 3 == 0 else data
            folder.add_message(subject=f"m{index}", body="x" * index * 300, attachments=[NewAttachment("a.bin", data=source)])
    return path.read_bytes()


def test_gathered_joined_and_short_writes_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The flush writes a list of block pieces with ``os.pwritev`` where the OS has it. The
    joined fallback (no pwritev) and a pwritev that stops short each time (as a signal
    can make it) must write the same file byte for byte."""
    from pstlib.writer import output

    if output._PWRITEV is None:
        pytest.skip("no os.pwritev here: the joined path is the only one")
    gathered = _gathered_store(tmp_path / "gathered.pst")
    monkeypatch.setattr(output, "_PWRITEV", None)
    assert _gathered_store(tmp_path / "joined.pst") == gathered

    calls = []

    def short(fd: int, buffers: list[bytes], offset: int) -> int:
        calls.append(len(buffers))
        return os.pwrite(fd, b"".join(buffers)[: max(1, sum(map(len, buffers)) // 3)], offset)

    monkeypatch.setattr(output, "_PWRITEV", short)
    assert _gathered_store(tmp_path / "short.pst") == gathered
    assert calls and max(calls) > 1
    assert not serious_problems(tmp_path / "short.pst")


def _full_disk(monkeypatch: pytest.MonkeyPatch, fail_at: int) -> list[int]:
    """Make the ``fail_at``-th write (and any after it) fail as a full disk does; the offsets tried."""
    from pstlib.writer import output

    calls: list[int] = []
    real = output._PWRITEV or (lambda fd, buffers, offset: os.pwrite(fd, b"".join(buffers), offset))

    def full_disk(fd: int, buffers: list[bytes], offset: int) -> int:
        calls.append(offset)
        if len(calls) >= fail_at:
            raise OSError(28, "No space left on device")
        return real(fd, buffers, offset)

    monkeypatch.setattr(output, "_PWRITEV", full_disk)
    return calls


def _writer_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name.startswith("pstlib-write")}


@pytest.mark.parametrize("fail_at", [1, 4])
def test_a_failed_write_surfaces_and_the_file_goes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int) -> None:
    """Writes run on a thread of their own; one that fails (a full disk) must still raise in
    the caller, from ``add_message`` or ``close``, no write queued after it is tried, and
    the ``with`` block removes the partial file and leaves no writer thread behind."""
    calls = _full_disk(monkeypatch, fail_at)
    before = _writer_threads()
    path = tmp_path / "full.pst"
    with pytest.raises(OSError, match="No space left"):
        with pstlib.create(path) as w:
            folder = w.root_folder.add_folder("F")
            for index in range(8):
                folder.add_message(subject=f"m{index}", attachments=[NewAttachment("a.bin", data=pattern(900_000, index))])
    assert len(calls) == fail_at
    assert not path.exists()
    assert _writer_threads() <= before


def test_a_failed_write_cannot_be_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A caller that catches the error and goes on gets it again from every later write and
    from ``close``, which leaves the file without a header: it never passes for a PST."""
    calls = _full_disk(monkeypatch, 2)
    path = tmp_path / "ignored.pst"
    w = pstlib.create(path)
    folder = w.root_folder.add_folder("F")
    failures = 0
    for index in range(12):
        try:
            folder.add_message(subject=f"m{index}", attachments=[NewAttachment("a.bin", data=pattern(900_000, index))])
        except OSError:
            failures += 1
    with pytest.raises(OSError, match="No space left"):
        w.close()
    assert failures >= 8 and len(calls) == 2
    assert path.read_bytes()[:4] != b"!BDN"
    with pytest.raises(pstlib.PSTError):
        pstlib.open(path)


def test_longest_free_runs_per_interval() -> None:
    """The FMap byte of each interval is its AMap's longest run of free bits, capped at 255,
    worked out for all rows at once; a per-row scan agrees, at the row edges too."""
    from itertools import groupby

    from pstlib.writer.allocation import longest_free_runs

    rng = np.random.default_rng(7)
    for density in (0.0, 0.002, 0.5, 0.97, 1.0):
        bits = rng.random((9, 3968)) < density
        bits[1, :300] = False  # a free run at the start of a row, after a row ending free
        bits[0, -5:] = False
        expected = [
            min(255, max((len(list(run)) for free, run in groupby(~row) if free), default=0)) for row in bits
        ]
        assert longest_free_runs(bits).tolist() == expected
