"""Recovery: orphaned and deleted messages, against libpff's recovered items, revision pairs
of the corpus, and stores damaged on purpose by the helpers below."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pstlib
from pstlib.ndb.carve import CarvedBlock, CarvedPage, carve
from pstlib.ndb.crc import crc32
from pstlib.ndb.maps import AMAP_PADDING, AMAP_UNIT, FIRST_AMAP, free_pages, free_ranges, interval_size
from pstlib.ndb.page import PTYPE_NBT
from pstlib.recovery import recover_to
from tests.conftest import CORPUS, corpus_path

UTC = timezone.utc
LIBPFF_RECOVERS = {
    # file: distinct messages libpff's pffexport -m all lists as recovered (by subject and time)
    "aspose-net__Outlook.pst": 2,
    "aspose-net__SampleOstFile.ost": 6,
    "java-libpst__dist-list.pst": 1,
    "aspose-net__passwordprotectedPST.pst": 2,
    "hht-pst-extractor__contacts97-2002.pst": 1,
    "hht-pst_to_msg__simple.pst": 1,
}
CP932_ANSI = {"hht-pst-extractor__contacts97-2002.pst"}
"""libpff reads these ANSI files' String8 subjects as CP1252 (ORACLES.md): match on time only."""
VARIANTS = {
    "ansi": "pst2john__97_outlook_pass12345.pst",
    "unicode": "java-libpst__dist-list.pst",
    "ost": "aspose-net__SampleOstFile.ost",
    "unicode4k": "groupdocs-net__sample.ost",
}


# --- libpff's recovered items -------------------------------------------------------------


def _libpff_time(text: str) -> str:
    """'Aug 02, 2016 00:27:12.621000000 UTC' to microseconds, as pstlib's times print."""
    stamp = datetime.strptime(text[:28], "%b %d, %Y %H:%M:%S.%f")
    return stamp.replace(tzinfo=UTC).isoformat()


def _libpff_recovered(path: Path, out: Path) -> list[dict]:
    """The messages ``pffexport -m all`` puts in its .recovered directory."""
    subprocess.run(
        ["pffexport", "-q", "-m", "all", "-t", str(out), str(path)],
        check=False,
        capture_output=True,
        timeout=120,
    )
    found = []
    for item in sorted(Path(f"{out}.recovered").glob("*")):
        texts = [
            p.read_text("utf-8", "replace")
            for p in item.glob("*.txt")
            if p.name not in ("Message.txt", "Recipients.txt", "ConversationIndex.txt")
        ]
        text = "".join(texts)
        subject = re.search(r"^Subject:\t+(.*)$", text, re.MULTILINE)
        when = re.search(r"^Delivery time:\t+(.*)$", text, re.MULTILINE) or re.search(
            r"^Creation time:\t+(.*)$", text, re.MULTILINE
        )
        if subject is None or when is None:
            continue  # a folder
        body = item / "Message.txt"
        attachments = sorted(
            p.read_bytes() for p in (item / "Attachments").glob("*") if p.is_file()
        )
        found.append(
            {
                "name": item.name,
                "subject": subject.group(1),
                "time": _libpff_time(when.group(1)),
                "body": body.read_bytes() if body.exists() else b"",
                "attachments": attachments,
            }
        )
    return found


def _key(message: pstlib.messaging.message.Message, with_subject: bool) -> tuple:
    when = message.delivery_time or message.creation_time
    return (message.subject if with_subject else None, when.isoformat() if when else None)


@pytest.mark.skipif(shutil.which("pffexport") is None, reason="pffexport (pff-tools) not installed")
@pytest.mark.parametrize("name", sorted(LIBPFF_RECOVERS))
def test_every_libpff_recovered_message_is_recovered_or_still_in_the_tree(
    name: str, tmp_path: Path
) -> None:
    """Each message libpff recovers is one pstlib recovers (same subject, time, and body and
    attachments where libpff has them) or one the folder tree still holds.

    libpff also lists stale NBT entries that name the live blocks, once per stale copy, and
    its recovered copies often lack the body and attachments that pstlib reads, with every
    block CRC-checked (java-libpst__dist-list: libpff's three copies of "Test appointment"
    have no body; pstlib's has its 25-character body and both attachments). So pstlib is held
    to the distinct messages the tree does not reach, and to libpff's parts being a subset.
    """
    path = corpus_path(name)
    with_subject = name not in CP932_ANSI
    theirs = _libpff_recovered(path, tmp_path / "x")
    distinct = {(m["subject"] if with_subject else None, m["time"]) for m in theirs}
    assert len(distinct) == LIBPFF_RECOVERS[name]
    with pstlib.open(path) as pst:
        ours = {}
        for item in pst.recover(everywhere=True):
            ours.setdefault(_key(item.message, with_subject), []).append(item.message)
        live = {
            _key(m, with_subject) for folder in pst.root_folder.walk() for m in folder.messages()
        }
        unreached = 0
        for their in theirs:
            key = (their["subject"] if with_subject else None, their["time"])
            if key not in ours:
                assert key in live, f"{their['name']} {key} neither recovered nor in the tree"
                continue
            unreached += 1
            bodies = {(m.body or "").encode() for m in ours[key]}
            assert their["body"] in bodies | {b""}, their["name"]
            for data in their["attachments"]:
                assert any(
                    data in [a.read() for a in m.attachments if not a.is_embedded]
                    for m in ours[key]
                )
        assert unreached or name == "aspose-net__Outlook.pst"


def test_outlook_pst_libpff_items_are_the_live_blocks() -> None:
    """libpff's two recovered "Multiple attachments" in aspose-net__Outlook.pst are stale NBT
    entries (old page 0xEA00 and page slack) naming exactly the live nodes' blocks: the same
    messages the folder tree reaches, so pstlib does not list them as recovered."""
    with pstlib.open(corpus_path("aspose-net__Outlook.pst")) as pst:
        stale = {}
        for item in carve(pst.read_at, pst.header.ndb, [(0, pst.size)]):
            if isinstance(item, CarvedPage) and item.ptype == PTYPE_NBT:
                for entry in np.concatenate((item.entries, item.slack)):
                    stale.setdefault(int(entry["nid"]) & 0xFFFFFFFF, set()).add(
                        (int(entry["bidData"]), int(entry["bidSub"]))
                    )
        live = {e.nid: (e.bid_data, e.bid_sub) for e in pst.nodes()}
        for nid in (0x200124, 0x200144):
            assert live[nid] in stale[nid]
            assert pstlib.messaging.message.Message(pst.node(nid)).subject == "Multiple attachments"
        assert all(
            item.nid not in (0x200124, 0x200144) or item.message.node.bid_data != live[item.nid][0]
            for item in pst.recover(everywhere=True)
        )


# --- revision pairs -----------------------------------------------------------------------


def _revision_pairs() -> list[tuple[str, str]]:
    if not CORPUS.exists():
        return []
    pairs = []
    for rev in sorted(CORPUS.glob("*.rev-*")):
        stem, suffix = rev.name.split(".rev-")[0], rev.suffix
        newest = CORPUS / f"{stem}{suffix}"
        if newest.exists():
            pairs.append((rev.name, newest.name))
    return pairs


def _messages(path: Path) -> set[tuple]:
    with pstlib.open(path) as pst:
        return {
            _key(m, True)
            for folder in pst.root_folder.walk()
            if not folder.is_search_folder
            for m in folder.messages()
        }


@pytest.mark.parametrize(
    "older,newer",
    _revision_pairs() or [pytest.param(None, None, marks=pytest.mark.skip("no corpus"))],
)
def test_messages_gone_from_a_newer_revision_are_looked_for(older: str, newer: str) -> None:
    """Messages of an older revision missing from the newest one are looked for there.

    In this corpus no revision loses a message (each newer file only adds), so there is
    nothing to find: pinned, so that a corpus which gains a real deletion makes this test
    say how many of its messages recovery finds."""
    gone = _messages(CORPUS / older) - _messages(CORPUS / newer)
    with pstlib.open(CORPUS / newer) as pst:
        recovered = {
            _key(item.message, True) for item in pst.recover(everywhere=True) if not item.associated
        }
    print(f"{older} -> {newer}: {len(gone)} gone, {len(gone & recovered)} of them recovered")
    assert gone == set(), (
        f"{len(gone)} messages gone, {len(gone & recovered)} recovered: pin these counts"
    )


# --- every variant, and the carve itself --------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_carve_finds_every_live_block_and_leaf_page(variant: str) -> None:
    """Over the whole file, the trailer scan finds each block the live BBT lists, at its
    offset, and each live leaf page: nothing it should find slips between windows."""
    path = corpus_path(VARIANTS[variant])
    with pstlib.open(path) as pst:
        live_blocks = {(e.bid & ~1, e.offset) for e in pst.blocks()}
        live_pages = {ref.ib for tree in (pst.nbt, pst.bbt) for ref, _ in tree.leaves()}
        found_blocks, found_pages = set(), set()
        for item in carve(pst.read_at, pst.header.ndb, [(0, pst.size)]):
            if isinstance(item, CarvedBlock):
                found_blocks.add((item.bid & ~1, item.offset))
            else:
                found_pages.add(item.offset)
    assert live_blocks <= found_blocks
    assert live_pages <= found_pages


def test_carve_windows_overlap_without_repeats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small windows give the same structures as one big one, each once."""
    path = corpus_path(VARIANTS["ost"])
    with pstlib.open(path) as pst:
        whole = [
            (type(i).__name__, i.offset)
            for i in carve(pst.read_at, pst.header.ndb, [(0, pst.size)])
        ]
        monkeypatch.setattr("pstlib.ndb.carve.WINDOW", 64 * 1024)
        pieces = [
            (type(i).__name__, i.offset)
            for i in carve(pst.read_at, pst.header.ndb, [(0, pst.size)])
        ]
    assert len(pieces) == len(set(pieces))
    assert sorted(pieces) == sorted(whole)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_recovery_runs_on_every_variant(variant: str) -> None:
    with pstlib.open(corpus_path(VARIANTS[variant])) as pst:
        recovery = pst.recover(everywhere=True)
        items = list(recovery)
        assert recovery.stats.scope == "file"
        assert recovery.stats.bytes_scanned == pst.size
        assert recovery.stats.pages_found >= sum(1 for tree in (pst.nbt, pst.bbt) for _ in tree.leaves())
        for item in items:
            assert item.source in ("orphan", "unallocated")
            assert item.message.message_class


def test_deleted_items_in_pages_only_the_pmap_calls_free_are_found_by_default() -> None:
    """pst2john 97 (ANSI, 148 messages deleted from Deleted Items): the old NBT pages holding
    them are free in the PMap but still allocated in the AMap, so the default scope takes the
    PMaps' free pages too, and finds what the whole-file scan finds."""
    with pstlib.open(corpus_path(VARIANTS["ansi"])) as pst:
        ranges = pst.recover().ranges()
        free = [(i.nid, i.message.subject) for i in pst.recover()]
        everywhere = list(pst.recover(everywhere=True))
        assert free == [(i.nid, i.message.subject) for i in everywhere]
        amap = free_ranges(pst.read_at, pst.header.ndb, pst.size)
        pmap = free_pages(pst.read_at, pst.header.ndb, pst.size)
    amap_free = {offset for start, end in amap for offset in range(start, end, 512)}
    assert any(start not in amap_free for start, _ in pmap)  # pages only the PMap calls free
    assert sum(end - start for start, end in ranges) < pst.size
    assert sum(i.folder_hint == "/Top of Personal Folders/Deleted Items" for i in everywhere) >= 148
    assert all(i.complete and not i.superseded for i in everywhere)


# --- stores damaged on purpose ------------------------------------------------------------


def _write(path: Path, keep_row: bool = True, crypt: str = "permute") -> int:
    """A small store; the message "lost" is left out of its contents table unless ``keep_row``."""
    with pstlib.create(path, crypt=crypt) as writer:
        inbox = writer.root_folder.add_folder("Inbox")
        inbox.add_message(subject="kept", body="still listed")
        nid = inbox.add_message(
            subject="lost",
            body="a body worth keeping " * 50,
            sender_name="Ann",
            sender_email="ann@example.com",
            delivery_time=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
            recipients=[pstlib.writer.message.NewRecipient("Bob", "bob@example.com")],
            attachments=[pstlib.writer.message.NewAttachment("a.bin", data=bytes(range(256)) * 40)],
        )
        if not keep_row:
            inbox._rows = [row for row in inbox._rows if row[0] != nid]
    return nid


def _check_lost(message: pstlib.messaging.message.Message) -> None:
    assert message.subject == "lost"
    assert message.body == "a body worth keeping " * 50
    assert [r.email for r in message.recipients] == ["bob@example.com"]
    assert [a.read() for a in message.attachments] == [bytes(range(256)) * 40]


def _node_blocks(pst: pstlib.PSTFile, nid: int) -> list[pstlib.BBTEntry]:
    """Every block of a node, its subnodes and their data trees."""
    node = pst.node(nid)
    bids = {node.bid_data, node.bid_sub}
    for each in (node, *node.walk_subnodes()):
        bids |= {each.bid_data, each.bid_sub}
        bids |= set(each._leaves()[0])
    return [pst.block_store.entry(bid) for bid in bids if bid]


def _rewrite_page(data: bytearray, ndb, ib: int) -> None:
    """Recompute a page's dwCRC after its body changed."""
    page = bytes(data[ib : ib + ndb.page_size])
    trailer_at = ib + ndb.page_size - ndb.page_trailer_size
    crc_at = trailer_at + (8 if ndb.name == "ansi" else 4)
    data[crc_at : crc_at + 4] = struct.pack("<I", crc32(page[: ndb.page_crc_size]))


def _mark_free(data: bytearray, ndb, entries: list[pstlib.BBTEntry]) -> None:
    """Clear the AMap bits of these blocks, as a writer does when it frees them."""
    unit, size = AMAP_UNIT[ndb.name], interval_size(ndb)
    touched = set()
    for entry in entries:
        span = ndb.block_span(entry.size)
        for offset in range(entry.offset, entry.offset + span, unit):
            amap = FIRST_AMAP[ndb.name] + (offset - FIRST_AMAP[ndb.name]) // size * size
            bit = (offset - amap) // unit
            data[amap + AMAP_PADDING[ndb.name] + bit // 8] &= ~(0x80 >> (bit % 8)) & 0xFF
            touched.add(amap)
    for amap in touched:
        _rewrite_page(data, ndb, amap)


def _drop_entries(
    data: bytearray, pst: pstlib.PSTFile, tree: str, keys: set[int], leave: bool = True
) -> None:
    """Remove leaf entries from the NBT or BBT, moving later entries down and lowering cEnt as
    writers do; with ``leave``, a page's removed entries go to the slots past the new cEnt
    (what a writer leaves when they were the page's last), else those slots are zeroed."""
    ndb = pst.header.ndb
    removed_any = False
    for ref, entries in getattr(pst, tree).leaves():
        raw = entries["nid"] if tree == "nbt" else entries["BREF"]["bid"]
        ids = [key & (0xFFFFFFFF if tree == "nbt" else ~1) for key in raw.tolist()]
        drop = [i for i, key in enumerate(ids) if key in keys]
        if not drop:
            continue
        size = entries.dtype.itemsize
        body = bytes(data[ref.ib : ref.ib + len(ids) * size])
        rows = [body[i * size : (i + 1) * size] for i in range(len(ids))]
        kept = [row for i, row in enumerate(rows) if i not in drop]
        gone = [rows[i] if leave else bytes(size) for i in drop]
        data[ref.ib : ref.ib + len(body)] = b"".join(kept + gone)
        data[ref.ib + ndb.btree_entries_size] = len(kept)  # cEnt (one byte in 512-byte pages)
        _rewrite_page(data, ndb, ref.ib)
        removed_any = True
    assert removed_any, f"none of {keys} in the {tree}"


def test_a_message_missing_from_its_contents_table_is_an_orphan(tmp_path: Path) -> None:
    path = tmp_path / "orphan.pst"
    nid = _write(path, keep_row=False)
    with pstlib.open(path) as pst:
        items = list(pst.recover())
        assert [(i.source, i.nid, i.complete, i.superseded) for i in items] == [
            ("orphan", nid, True, False)
        ]
        assert items[0].folder_hint == "/Top of Personal Folders/Inbox"
        _check_lost(items[0].message)


def test_an_orphan_whose_blocks_the_amap_calls_free_is_recovered_complete(tmp_path: Path) -> None:
    path = tmp_path / "freed.pst"
    nid = _write(path, keep_row=False)
    data = bytearray(path.read_bytes())
    with pstlib.open(path) as pst:
        _mark_free(data, pst.header.ndb, _node_blocks(pst, nid))
    path.write_bytes(data)
    assert any(p.code == "amap-free-but-used" for p in pstlib.verify_file(path).problems)
    with pstlib.open(path) as pst:
        items = list(pst.recover())
        assert [(i.source, i.nid, i.complete) for i in items] == [("orphan", nid, True)]
        _check_lost(items[0].message)


def test_messages_of_a_folder_no_hierarchy_table_lists_are_orphans_with_its_path(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hidden.pst"
    with pstlib.create(path) as writer:
        inbox = writer.root_folder.add_folder("Inbox")
        hidden = inbox.add_folder("Hidden")
        nid = hidden.add_message(subject="in hiding", body="x")
        inbox.subfolders.remove(hidden)
        hidden._finish(
            inbox.nid
        )  # its node and tables are written, its row in Inbox's table is not
    with pstlib.open(path) as pst:
        assert [f.name for f in pst.root_folder.walk()].count("Hidden") == 0
        items = list(pst.recover())
        assert [(i.source, i.nid, i.folder_hint) for i in items] == [
            ("orphan", nid, "/Top of Personal Folders/Inbox/Hidden")
        ]
        assert items[0].message.subject == "in hiding"


@pytest.mark.parametrize("crypt", ["none", "permute", "cyclic"])
def test_a_deleted_message_is_recovered_from_page_slack_and_free_blocks(
    tmp_path: Path, crypt: str
) -> None:
    """NBT entry gone from the live tree (left in its page's slack) and blocks freed in the
    AMap: what deleting a message leaves behind."""
    path = tmp_path / "deleted.pst"
    nid = _write(path, keep_row=False, crypt=crypt)
    data = bytearray(path.read_bytes())
    with pstlib.open(path) as pst:
        _mark_free(data, pst.header.ndb, _node_blocks(pst, nid))
        _drop_entries(data, pst, "nbt", {nid})
    path.write_bytes(data)
    with pstlib.open(path) as pst:
        with pytest.raises(pstlib.NodeNotFound):
            pst.node(nid)
        recovery = pst.recover()
        items = list(recovery)
        assert recovery.stats.scope == "free"
        assert [(i.source, i.nid, i.complete, i.superseded) for i in items] == [
            ("unallocated", nid, True, False)
        ]
        assert items[0].folder_hint == "/Top of Personal Folders/Inbox"
        _check_lost(items[0].message)


@pytest.mark.parametrize("crypt", ["none", "permute", "cyclic"])
def test_a_message_no_nbt_entry_names_is_rebuilt_from_its_blocks(
    tmp_path: Path, crypt: str
) -> None:
    """Entry gone everywhere: the message's property context is found by its block trailer and
    read as a message of unknown NID and folder; its subnodes (recipients, attachments) are
    lost with the entry, so it is never complete."""
    path = tmp_path / "gone.pst"
    nid = _write(path, keep_row=False, crypt=crypt)
    data = bytearray(path.read_bytes())
    with pstlib.open(path) as pst:
        blocks = _node_blocks(pst, nid)
        _mark_free(data, pst.header.ndb, blocks)
        _drop_entries(data, pst, "nbt", {nid}, leave=False)
        _drop_entries(data, pst, "bbt", {entry.bid & ~1 for entry in blocks}, leave=False)
    path.write_bytes(data)
    with pstlib.open(path) as pst:
        items = list(pst.recover())
        assert [(i.source, i.nid, i.complete, i.superseded, i.folder_hint) for i in items] == [
            ("unallocated", 0, False, False, None)
        ]
        message = items[0].message
        assert (message.subject, message.body, message.sender_email) == (
            "lost",
            "a body worth keeping " * 50,
            "ann@example.com",
        )
        assert message.delivery_time == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_recovered_store_verifies_and_pypff_reads_it(tmp_path: Path) -> None:
    pypff = pytest.importorskip("pypff")
    source = tmp_path / "orphan.pst"
    _write(source, keep_row=False)
    out = tmp_path / "recovered.pst"
    report = recover_to(source, out)
    assert report.written == 1 and not report.skipped
    assert all(p.severity == "info" for p in pstlib.verify_file(out).problems)
    with pstlib.open(out) as pst:
        folder = next(
            f
            for f in pst.root_folder.walk()
            if f.path.endswith("/Recovered Items/Top of Personal Folders/Inbox")
        )
        (message,) = folder.messages()
        _check_lost(message)
    handle = pypff.file()
    handle.open(str(out))
    try:
        top = handle.root_folder.get_sub_folder(0)
        names = [top.get_sub_folder(i).name for i in range(top.number_of_sub_folders)]
        assert "Recovered Items" in names
    finally:
        handle.close()


@pytest.mark.parametrize(
    "name", ["aspose-net__SampleOstFile.ost", "pst2john__97_outlook_pass12345.pst"]
)
def test_recovered_corpus_items_write_a_store_that_verifies(name: str, tmp_path: Path) -> None:
    out = tmp_path / "recovered.pst"
    report = recover_to(corpus_path(name), out, everywhere=True)
    assert report.written == len(report.items) > 0
    assert all(p.severity in ("info", "warning") for p in pstlib.verify_file(out).problems)
    with pstlib.open(out) as pst:
        count = sum(1 for f in pst.root_folder.walk() for _ in f.messages()) + sum(
            1 for f in pst.root_folder.walk() for _ in f.associated_messages()
        )
    assert count == report.written


def test_the_cli_lists_and_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pstlib.cli import main

    source = tmp_path / "orphan.pst"
    nid = _write(source, keep_row=False)
    assert main(["recover", str(source), "--json"]) == 0
    listing = __import__("json").loads(capsys.readouterr().out)
    assert [(i["source"], i["nid"], i["subject"]) for i in listing["items"]] == [
        ("orphan", nid, "lost")
    ]
    out = tmp_path / "r.pst"
    assert main(["recover", str(source), "--out", str(out)]) == 0
    assert "1 messages recovered (1 complete, 0 partial)" in capsys.readouterr().out
    assert main(["recover", str(source), "--out", str(out)]) == 2  # exists, no --force
    assert main(["recover", str(source)]) == 2  # neither --out nor --json
    assert main(["recover", str(source), "--out", str(source), "--force"]) == 2


# --- damaged input ------------------------------------------------------------------------


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(st.tuples(st.integers(0, 271359), st.integers(0, 255)), min_size=1, max_size=40),
    st.booleans(),
)
def test_damaged_input_only_ever_raises_psterror(
    tmp_path_factory: pytest.TempPathFactory, damage: list[tuple[int, int]], everywhere: bool
) -> None:
    base = tmp_path_factory.getbasetemp() / "fuzz-base.pst"
    if not base.exists():
        _write(base, keep_row=False)
    data = bytearray(base.read_bytes())
    for offset, value in damage:
        data[offset % len(data)] = value
    try:
        with pstlib.open(bytes(data)) as pst:
            for item in pst.recover(everywhere=everywhere):
                item.message.subject  # noqa: B018
    except pstlib.PSTError:
        pass


def test_truncated_input(tmp_path: Path) -> None:
    path = tmp_path / "orphan.pst"
    _write(path, keep_row=False)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 512, 0x4400 + 512):
        try:
            with pstlib.open(data[:cut]) as pst:
                list(pst.recover(everywhere=True))
        except pstlib.PSTError:
            pass
