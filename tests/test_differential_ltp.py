"""LTP-level differential tests: pstlib's property contexts against pypff's record sets.

libpff reads every PC and TC on its own, so where its record sets and pstlib's
property contexts hold the same (property id, type) pairs with the same stored
bytes, a bug in pstlib's heap-on-node, BTH, PC or TC code (or in the NDB reads
beneath them) would need the same bug in libpff to go unnoticed.  Compared, for
every corpus file: the message store, every folder, every message, every
attachment (the attachment subnode PCs named by the attachment table's row ids)
and every recipient (the rows of the recipient table, subnode 0x692).

Conventions, measured on the corpus, and the only normalisations made:

* pypff's ``data`` is ``None`` where the stored value is empty (an HNID of 0 or
  a zero-length heap allocation); pstlib's ``raw`` is ``b""``.  ``None`` is read
  as ``b""``.
* Inline values of 2- and 1-byte types (PtypInteger16, PtypBoolean) come from
  both readers as the low 2 or 1 bytes of dwValueHnid ([MS-PST] 2.3.3.3), so
  no normalisation is needed; nor for String8 in any code page (both give the
  stored bytes, CP932 included).
* A recipient record set lists every column of the table, even cells whose
  bit in the row's Cell Existence Block is clear.  [MS-PST] 2.3.4.4.3 (Cell
  Existence Test): the slot of a non-existent column "contains random values",
  so implementations "MUST first check the CEB ... and only process the column
  data if the column exists"; libpff does not.  Those entries are left out of
  the comparison.  On this corpus their slots are zero (pypff gives zero bytes
  or ``None``), which is checked: it catches pstlib calling a stored cell absent.

Items pypff cannot read are counted by reason and checked against the known
libpff failures below; each of those has a test here showing from [MS-PST] that
pstlib reads the item correctly.  Items pypff has no API for (messages embedded
in attachments) are counted and left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

import pstlib
from pstlib import tags
from pstlib.ltp.bth import BTH
from pstlib.ltp.proptypes import PropertyType
from pstlib.ltp.tablecontext import PID_TAG_LTP_ROW_ID, TCINFO_HEAD, TableContext
from pstlib.ndb.crypt import cyclic
from pstlib.ndb.nid import (
    NID_ATTACHMENT_TABLE,
    NID_MESSAGE_STORE,
    NID_RECIPIENT_TABLE,
    NIDType,
    nid_type,
)
from pstlib.ndb.schema import parse
from tests.conftest import corpus_path

pypff = pytest.importorskip("pypff")

Key = tuple[int, int]
"""(property id, property type)."""
T = TypeVar("T")

ATTACH_EMBEDDED_MESSAGE = 5  # PidTagAttachMethod afEmbeddedMessage, [MS-OXCMSG] 2.2.2.9
HN_SIGNATURE = 0xEC  # HNHDR bSig, [MS-PST] 2.3.1.2
CLIENT_SIG_TC = 0x7C  # HNHDR bClientSig bTypeTC, [MS-PST] 2.3.1.2
BID_RESERVED = 0x1  # BID bit r, [MS-PST] 2.2.2.2
LTP_ROW_ID: Key = (PID_TAG_LTP_ROW_ID, PropertyType.INTEGER32)  # dwRowID, [MS-PST] 2.3.4.4.1

CANNOT_READ_CONTENTS = "pypff cannot read a folder's contents table"
CANNOT_OPEN_MESSAGE = "pypff cannot open a message"
CANNOT_READ_ATTACHMENTS = "pypff cannot read a message's attachment table"
EMBEDDED = "embedded message (pypff cannot open one): its PC is not compared"

SPLIT_ASPOSE = [
    "aspose-java__Personal_folders_part0.pst",
    "aspose-java__Personal_folders_part1.pst",
]
EMPTIED_TABLES = {
    "aspose-net__Outlook_part0.pst": 1,
    "aspose-net__Outlook_part1.pst": 2,
    "aspose-net__Outlook_part2.pst": 6,
}
CYCLIC = "pst2john__2003_outlook-high-encryption_cheechNchong.pst"

EXPECTED_PYPFF_FAILURES: dict[str, dict[str, int]] = {
    # PC BTH padded with all-zero records: test_split_aspose_pc_padding_records.
    **{name: {CANNOT_OPEN_MESSAGE: 3} for name in SPLIT_ASPOSE},
    # Row index BTH whose hidRoot names an empty allocation: test_emptied_contents_tables.
    **{name: {CANNOT_READ_CONTENTS: count} for name, count in EMPTIED_TABLES.items()},
    # Block decrypted with the reserved BID bit set: test_cyclic_key_ignores_reserved_bid_bit.
    CYCLIC: {CANNOT_READ_ATTACHMENTS: 1},
}


@dataclass
class Tally:
    """What one file's comparison covered, skipped and found different."""

    items: Counter[str] = field(default_factory=Counter)
    properties: int = 0
    skips: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)

    def attempt(self, reason: str, call: Callable[..., T], *args: Any) -> T | None:
        """``call(*args)``, or None with ``reason`` counted where pypff raises."""
        try:
            return call(*args)
        except OSError:
            self.failures[reason] += 1
            return None

    def compare(self, where: str, expected: dict[Key, bytes], got: dict[Key, bytes]) -> None:
        """Record every (id, type) pair only one reader has, and every value that differs."""
        if expected.keys() != got.keys():
            self.mismatches.append(
                f"{where}: only pypff {_tags(expected.keys() - got.keys())},"
                f" only pstlib {_tags(got.keys() - expected.keys())}"
            )
        for key in sorted(expected.keys() & got.keys()):
            self.properties += 1
            if expected[key] != got[key]:
                self.mismatches.append(
                    f"{where} 0x{key[0]:04X}{key[1]:04X}: pypff {expected[key][:32]!r}"
                    f" ({len(expected[key])} bytes),"
                    f" pstlib {got[key][:32]!r} ({len(got[key])} bytes)"
                )


def _tags(keys: set[Key]) -> list[str]:
    """Full property tags, as [MS-PST] and pypff's error messages spell them."""
    return [f"0x{prop_id:04X}{ptype:04X}" for prop_id, ptype in sorted(keys)]


def pypff_entries(record_set: Any) -> dict[Key, bytes]:
    """A record set's entries by (id, type), ``None`` data read as ``b""``."""
    entries: dict[Key, bytes] = {}
    for entry in record_set.entries:
        key = (entry.entry_type, entry.value_type)
        assert key not in entries, f"pypff lists 0x{key[0]:04X}{key[1]:04X} twice"
        entries[key] = entry.data or b""
    return entries


def pstlib_properties(node: pstlib.Node) -> dict[Key, bytes]:
    """A node's PC as stored bytes by (id, type), every stored type of every id."""
    pc = node.properties()
    return {
        (prop_id, ptype): pc.raw(prop_id, ptype) for prop_id in pc for ptype in pc.types_of(prop_id)
    }


def compare_pc(tally: Tally, kind: str, item: Any, node: pstlib.Node) -> None:
    """pypff's one record set for an item against the PC of its node."""
    tally.items[kind] += 1
    where = f"{kind} 0x{node.nid:X}"
    if item.number_of_record_sets != 1:
        tally.mismatches.append(f"{where}: pypff has {item.number_of_record_sets} record sets")
        return
    tally.compare(where, pypff_entries(item.get_record_set(0)), pstlib_properties(node))


def compare_recipients(tally: Tally, nid: int, recipients: Any, table: TableContext) -> None:
    """Each pypff recipient record set against the recipient table row of the same row id.

    Rows are matched by PidTagLtpRowId, not position: a TC's rows are "not sorted
    in any meaningful manner" ([MS-PST] 2.3.4), and the two readers list some
    tables in different orders (row index key order against row matrix order).
    """
    rows = {row_id: index for index, row_id in enumerate(table.row_ids.tolist())}
    for record_set in recipients.record_sets:
        tally.items["recipient"] += 1
        entries = pypff_entries(record_set)
        row_id = int.from_bytes(entries.get(LTP_ROW_ID, b""), "little")
        index = rows.pop(row_id, None)
        where = f"recipient 0x{row_id:X} of 0x{nid:X}"
        if index is None:
            tally.mismatches.append(f"{where}: not a row of pstlib's recipient table")
            continue
        cells = {(c.prop_id, c.type): table.cell_bytes(index, c) for c in table.columns}
        for key in [key for key, raw in cells.items() if raw is None]:
            if any(entries.pop(key, b"")):
                tally.mismatches.append(f"{where}: pypff has a value in absent cell {_tags({key})}")
        tally.compare(where, entries, {key: raw for key, raw in cells.items() if raw is not None})
    if rows:
        tally.mismatches.append(f"recipients of 0x{nid:X}: pypff lacks rows {sorted(rows)}")


def compare_message(tally: Tally, message: Any, node: pstlib.Node) -> None:
    """A message's PC, its attachments' PCs and its recipient rows."""
    compare_pc(tally, "message", message, node)
    subnodes = node.subnodes()
    if not isinstance(message, pypff.message):
        # A class pypff does not know comes back as a bare item: its PC only.
        tally.items["message of a class pypff does not know"] += 1
        if {NID_ATTACHMENT_TABLE, NID_RECIPIENT_TABLE} & subnodes.keys():
            tally.failures["pypff bare item with attachments or recipients"] += 1
        return
    count = tally.attempt(CANNOT_READ_ATTACHMENTS, getattr, message, "number_of_attachments")
    if count is not None:
        table = subnodes.get(NID_ATTACHMENT_TABLE)
        row_ids = table.table().row_ids.tolist() if table is not None else []
        attachments = [message.get_attachment(index) for index in range(count)]
        # Compared as sets: pypff lists attachments in row index order, pstlib rows in
        # row matrix order, and neither order means anything ([MS-PST] 2.3.4).
        if sorted(attachment.identifier for attachment in attachments) != sorted(row_ids):
            tally.mismatches.append(f"attachments of 0x{node.nid:X}: pypff and row ids differ")
        for attachment in attachments:
            sub = subnodes[attachment.identifier]
            compare_pc(tally, "attachment", attachment, sub)
            if sub.properties().get(tags.PidTagAttachMethod) == ATTACH_EMBEDDED_MESSAGE:
                tally.skips[EMBEDDED] += 1
    recipients = message.recipients
    table = subnodes.get(NID_RECIPIENT_TABLE)
    if (recipients is None) != (table is None):
        tally.mismatches.append(f"recipients of 0x{node.nid:X}: only one reader has a table")
    elif recipients is not None:
        compare_recipients(tally, node.nid, recipients, table.table())


def compare_file(path: Path) -> Tally:
    """Walk pypff's folder tree from the root; compare every item with pstlib's node."""
    tally = Tally()
    pff = pypff.open(str(path))
    try:
        with pstlib.open(path) as pst:
            compare_pc(tally, "store", pff.get_message_store(), pst.node(NID_MESSAGE_STORE))
            folders = [pff.get_root_folder()]
            while folders:
                folder = folders.pop()
                compare_pc(tally, "folder", folder, pst.node(folder.identifier))
                folders.extend(folder.sub_folders)
                count = tally.attempt(
                    CANNOT_READ_CONTENTS, getattr, folder, "number_of_sub_messages"
                )
                for index in range(count or 0):
                    message = tally.attempt(CANNOT_OPEN_MESSAGE, folder.get_sub_message, index)
                    if message is not None:
                        compare_message(tally, message, pst.node(message.identifier))
    finally:
        pff.close()
    return tally


def test_record_sets_match_property_contexts(
    corpus_file: Path, record_property: Callable[[str, object], None]
) -> None:
    """Every item pypff reads has the same properties, with the same bytes, in pstlib."""
    tally = compare_file(corpus_file)
    record_property("items", dict(tally.items))
    record_property("properties", tally.properties)
    record_property("skips", dict(tally.skips | tally.failures))
    assert tally.mismatches == []
    assert tally.failures == Counter(EXPECTED_PYPFF_FAILURES.get(corpus_file.name, {}))
    assert tally.items["store"] == 1
    assert tally.properties > 0


def walk_folders(pff: Any) -> list[Any]:
    """Every folder pypff lists under the root folder, the root included."""
    folders, stack = [], [pff.get_root_folder()]
    while stack:
        folder = stack.pop()
        folders.append(folder)
        stack.extend(folder.sub_folders)
    return folders


@pytest.mark.parametrize("name", sorted(EMPTIED_TABLES))
def test_emptied_contents_tables(name: str) -> None:
    """Contents tables whose row index names an empty allocation have no rows; libpff fails.

    In these Aspose SplitPST chunks the TCINFO of some contents tables has
    hnidRows 0 and a row-index BTH whose hidRoot is not 0 but names a heap
    allocation of 0 bytes.  [MS-PST] 2.3.2.1 (BTHHEADER): hidRoot "points to the
    BTH entries ... The data consists of an array of BTH records. This value is
    set to zero if the BTH is empty."  Aspose should have written 0; an array of
    0 bytes still holds no record, so the table has no rows, which the NBT (no
    message under the folder) and the folder's PidTagContentCount (0) confirm.
    pstlib reads 0 rows; libpff refuses the table ("table contains record entries
    but no value array") and so cannot list the folder's messages.
    """
    path = corpus_path(name)
    pff = pypff.open(str(path))
    try:
        failing = set()
        for folder in walk_folders(pff):
            try:
                folder.number_of_sub_messages
            except OSError as exc:
                assert "no value array" in str(exc)
                failing.add(folder.identifier)
    finally:
        pff.close()
    with pstlib.open(path) as pst:
        hollow = {}
        for entry in pst.nodes():
            if nid_type(entry.nid) != NIDType.CONTENTS_TABLE:
                continue
            table = pst.node(entry.nid).table()
            info = parse(TCINFO_HEAD, table.heap.item(table.heap.user_root))
            root = BTH(table.heap, info.hidRowIndex).root
            if root and table.heap.item(root) == b"":
                folder = entry.nid & ~0x1F | NIDType.NORMAL_FOLDER
                hollow[folder] = (table, info)
        assert set(hollow) == failing
        assert len(hollow) == EMPTIED_TABLES[name]
        children = {entry.nid_parent for entry in pst.nodes()}
        for folder, (table, info) in hollow.items():
            assert len(table) == 0
            assert info.hnidRows == 0
            assert folder not in children
            assert pst.node(folder).properties()[tags.PidTagContentCount] == 0


def test_cyclic_key_ignores_reserved_bid_bit() -> None:
    """The attachment table libpff cannot read is a sound TC once decrypted with the right key.

    The subnode entry of message 0x200024's attachment table (0x671) names
    bidData 0x152D: the reserved bit r is set.  [MS-PST] 2.2.2.2 (BID): "Readers
    MUST ignore this bit and treat it as zero before looking up the BID from the
    BBT."  The BBT holds the block as 0x152C, and CryptCyclic ([MS-PST] 5.2) keyed
    by that BID gives a heap (bSig 0xEC) holding a TC (bClientSig 0x7C).  Keyed by
    0x152D it gives 0xAC in the bSig byte: libpff's "unsupported table signature:
    0xac", so libpff keys the cipher with the unmasked BID.  pstlib reads the 9
    rows (readpst also finds 9), and each row agrees with its attachment's PC.
    """
    path = corpus_path(CYCLIC)
    with pstlib.open(path) as pst:
        message = pst.node(0x200024)
        subnodes = message.subnodes()
        node = subnodes[NID_ATTACHMENT_TABLE]
        assert node.bid_data == 0x152D
        entry = pst.block_store.entry(node.bid_data)
        assert entry.bid == node.bid_data & ~BID_RESERVED
        stored = pst.read_at(entry.offset, entry.size)
        assert cyclic(stored, entry.bid)[2:4] == bytes([HN_SIGNATURE, CLIENT_SIG_TC])
        assert cyclic(stored, node.bid_data)[2] == 0xAC
        table = node.table()
        attachments = sorted(nid for nid in subnodes if nid_type(nid) == NIDType.ATTACHMENT)
        assert sorted(table.row_ids.tolist()) == attachments
        assert len(attachments) == 9
        for index, row_id in enumerate(table.row_ids.tolist()):
            pc = subnodes[row_id].properties()
            for column in table.columns:
                raw = table.cell_bytes(index, column)
                if raw is not None and column.prop_id in pc:
                    assert pc.raw(column.prop_id, column.type) == raw
    pff = pypff.open(str(path))
    try:
        messages = [message for folder in walk_folders(pff) for message in folder.sub_messages]
        (message_item,) = [message for message in messages if message.identifier == 0x200024]
        with pytest.raises(OSError, match="unsupported table signature: 0xac"):
            message_item.number_of_attachments
    finally:
        pff.close()


@pytest.mark.parametrize("name", SPLIT_ASPOSE)
def test_split_aspose_pc_padding_records(name: str) -> None:
    """Trailing all-zero PC records are padding, not properties; libpff rejects the whole PC.

    The three messages of folder 0x8082 have a one-level PC BTH of 37 records
    whose last 4 are all zero: wPropId 0, wPropType 0x0000, dwValueHnid 0.  They
    are not properties.  [MS-PST] 2.3.3.3: wPropType is "the lower 16 bits of the
    property tag value", and [MS-OXCDATA] 2.11.1 describes 0x0000, PtypUnspecified,
    as "Any: this property type value matches any type; a server MUST return the
    actual type in its response": it names no stored type.  Nor are they records
    of the BTH: wPropId "constitutes the key of this record" (2.3.3.3), a BTH
    "implements a classic BTree" (2.3.2), which keeps keys in order, and key 0
    follows key 0x8023 here.  The 33 records before them are well formed and in
    strict key order.  So a reader should ignore the zero records and read the
    message, which is what pstlib does: 33 properties, and 2 attachments each
    (readpst also finds 3 messages with 6 attachments).  libpff fails on the
    first zero record ("unsupported value type: 0x00000000") and loses the
    message; ORACLES.md blames a contents table column, but the error comes from
    the message's own PC.
    """
    path = corpus_path(name)
    with pstlib.open(path) as pst:
        nids = sorted(entry.nid for entry in pst.nodes() if entry.nid_parent == 0x8082)
        assert nids == [0x200024, 0x200044, 0x200064]
        for nid in nids:
            pc = pst.node(nid).properties()
            records = BTH(pc.heap, pc.heap.user_root).records()
            stored = [
                (int(key), int.from_bytes(bytes(data)[:2], "little"), bytes(data)[2:])
                for key, data in zip(records["key"].tolist(), records["data"].tolist())
            ]
            assert len(stored) == 37
            assert stored[33:] == [(0, 0, bytes(4))] * 4
            real = stored[:33]
            assert [key for key, _, _ in real] == sorted({key for key, _, _ in real})
            assert all(key and ptype for key, ptype, _ in real)
            assert {(prop_id, t) for prop_id in pc for t in pc.types_of(prop_id)} == {
                (key, ptype) for key, ptype, _ in real
            }
            assert pc[tags.PidTagMessageClass] == "IPM.Note"
            assert len(pst.node(nid).subnodes()[NID_ATTACHMENT_TABLE].table()) == 2
    pff = pypff.open(str(path))
    try:
        (folder,) = [folder for folder in walk_folders(pff) if folder.identifier == 0x8082]
        assert folder.number_of_sub_messages == 3
        for index in range(3):
            with pytest.raises(OSError, match="unsupported value type: 0x00000000"):
                folder.get_sub_message(index)
    finally:
        pff.close()
