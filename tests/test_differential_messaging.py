"""Messaging-level differential tests: pstlib against pypff (libpff) on every corpus file.

Both readers walk the folder tree from the root folder (node 0x122).  Folders are
matched by node id and compared by path and by the node ids of their messages;
messages are matched by node id (pypff's order is not the contents-table order)
and compared field by field; attachments are matched by subnode id.  pypff's
conventions are normalised first (../shared/ORACLES.md): subjects keep Outlook's
two-character prefix, bodies are UTF-8 bytes with empty and missing both None,
decompressed RTF carries one extra NUL, recipients are counted by
``number_of_recipients`` and ``long_filename`` is PidTagAttachLongFilename alone.

Every remaining disagreement is either a test failure or one of the libpff
mistakes below.  Each is recognised by its own evidence (the error libpff raises
and what the file holds, checked against the spec sentence quoted with it) and
counted per file in ``EXPECTED``, so a known mistake cannot hide a new one.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pstlib
from pstlib.ltp.bth import BTH
from pstlib.messaging.attachment import Attachment
from pstlib.messaging.folder import Folder
from pstlib.messaging.message import Message
from pstlib.ndb import crypt
from pstlib.ndb.nid import NID_ATTACHMENT_TABLE, NIDType, make_nid, nid_index
from pstlib.tags import PropertyId
from tests.conftest import corpus_path

pypff = pytest.importorskip("pypff")

SEARCH_FOLDER = "search folder listed empty"
"""libpff lists no messages in a search folder; pstlib reads its search contents table.

[MS-PST] 2.2.2.1 lists nidType 0x10 NID_TYPE_SEARCH_CONTENTS_TABLE, "Contents table
(TC) of a search Folder object".  Evidence: pstlib's rows number PidTagContentCount
and every row is a message that some normal folder also lists.
"""

EMPTY_ROW_INDEX = "contents table refused"
"""libpff refuses a contents table with no rows ("table contains record entries but
no value array"); pstlib reads it as empty.

The TCINFO's hnidRows is 0, and [MS-PST] 2.3.4.1 says of hnidRows: "This value is
set to zero if the TC contains no rows."  The row index BTH's hidRoot points at a
zero-length heap allocation, which holds no records; libpff seems to take any non-zero
hidRoot for "record entries", while 2.3.2.1 only says hidRoot "is set to zero if the BTH is
empty", not that a non-zero one names records.
PidTagContentCount is 0 as well.  Aspose-written split stores (aspose-net__Outlook_part*).
"""

PADDED_PC = "message refused"
"""libpff refuses a message whose PC BTH ends in all-zero records ("unsupported value
type: 0x00000000"); pstlib skips them.

Property type 0x0000 is PtypUnspecified, of which [MS-OXCDATA] 2.11.1 says "a server
MUST return the actual type in its response": no stored property has it, and with
property id 0 too the record names no property.  readpst agrees with pstlib byte for
byte (``test_split_aspose_my_messages_match_readpst``).
"""

UNKNOWN_CLASS = "no message API"
"""pypff returns messages of classes it does not know (IPM.Microsoft.ScheduleData.FreeBusy,
IPM.AbchPerson, IPM.Network) as bare items with no message API; their class and subject are
compared from the item's record set instead."""

CP932 = "code page 932 read as 1252"
"""pypff decodes String8 of a code page 932 message as windows-1252 (ORACLES.md);
pstlib's text, encoded in cp932 and decoded as cp1252, must give pypff's exactly."""

CP932_NAME = "folder name in code page 932 read as 1252"
"""Folder names of a Japanese ANSI store name no code page; pstlib takes the store's
default from its messages' hints (932), pypff decodes them as windows-1252."""

UNCOMPRESSED_RTF = "uncompressed RTF refused"
"""libpff checks the CRC of uncompressed ("MELA") RTF and rejects it; [MS-OXRTFCP]
2.1.3.1.1: "If the COMPTYPE field is set to UNCOMPRESSED, then the CRC field MUST be
set to %x00.00.00.00" and "The CONTENTS field is set to RAWDATA if the COMPTYPE field
is set to UNCOMPRESSED".  pstlib must return those CONTENTS (COMPSIZE - 12 bytes, "the
length of the compressed data ... plus 12"), no longer than RAWSIZE."""

RESERVED_BID_BIT = "attachment table misdecoded"
"""libpff keys the cyclic decoding of a block with the BID as referenced, reserved bit
set, and reads heap signature 0xAC ("unsupported table signature: 0xac"); pstlib reads
the HNHDR bSig 0xEC and bClientSig 0x7C of a TC ([MS-PST] 2.3.1.2).

[MS-PST] 2.2.2.2 says of the BID's reserved bit: "Readers MUST ignore this bit and
treat it as zero before looking up the BID from the BBT", and 5.2 that "the value to
use for dwKey is the lower DWORD of the BID associated with this data block": the
BBT's (and the block trailer's) BID, 0x152C, not the reference 0x152D.  Decoding with
0x152D reproduces libpff's 0xAC.  readpst agrees with pstlib
(``test_cyclic_attachment_table_matches_readpst``).
"""

EXPECTED: dict[str, dict[str, int]] = {
    # folders for SEARCH_FOLDER and EMPTY_ROW_INDEX, messages for the rest
    "aspose-java__Personal_folders_part0.pst": {PADDED_PC: 3},
    "aspose-java__Personal_folders_part1.pst": {PADDED_PC: 3},
    "aspose-java__sample.pst": {UNCOMPRESSED_RTF: 1},
    "aspose-net__Outlook.pst": {SEARCH_FOLDER: 1, UNKNOWN_CLASS: 1},
    "aspose-net__Outlook_1.pst": {SEARCH_FOLDER: 1, UNKNOWN_CLASS: 1},
    "aspose-net__Outlook_part0.pst": {EMPTY_ROW_INDEX: 1},
    "aspose-net__Outlook_part1.pst": {EMPTY_ROW_INDEX: 2},
    "aspose-net__Outlook_part2.pst": {EMPTY_ROW_INDEX: 6},
    "aspose-net__SampleOstFile.ost": {SEARCH_FOLDER: 1},
    "aspose-net__passwordprotectedPST.pst": {UNCOMPRESSED_RTF: 8},
    "aspose-net__passwordprotectedPST.rev-2017-02-14.pst": {UNCOMPRESSED_RTF: 8},
    "hht-pst-extractor__contacts97-2002.pst": {CP932: 1, CP932_NAME: 4, SEARCH_FOLDER: 1},
    "hht-pst_to_msg__nonUnicodeCP932.pst": {CP932: 1, CP932_NAME: 3},
    "hughbe-PstReader__backup_with_rules.pst": {UNKNOWN_CLASS: 1},
    "hughbe-PstReader__hughbe_Outlook.pst": {SEARCH_FOLDER: 2, UNKNOWN_CLASS: 1},
    "java-libpst__dist-list.pst": {SEARCH_FOLDER: 2, UNKNOWN_CLASS: 1},
    "java-libpst__dist-list.rev-2014-05-26.pst": {SEARCH_FOLDER: 1, UNKNOWN_CLASS: 1},
    "java-libpst__passworded.pst": {SEARCH_FOLDER: 1, UNKNOWN_CLASS: 1},
    "process-pst__flags_jane_doe.pst": {SEARCH_FOLDER: 1},
    "process-pst__unsent_email.pst": {UNKNOWN_CLASS: 1},
    "pst-data-generator__cannuraksu@example.org.pst": {UNCOMPRESSED_RTF: 150},
    "pst-data-generator__test@cinergroup.com.tr.pst": {UNCOMPRESSED_RTF: 27},
    "pst-extractor__mtnman1965@outlook.com.ost": {SEARCH_FOLDER: 3, UNKNOWN_CLASS: 15},
    "pst-extractor__pstextractortest@outlook.com.ost": {SEARCH_FOLDER: 1},
    "pst2john__2003_outlook-high-encryption_cheechNchong.pst": {RESERVED_BID_BIT: 1},
    "pst2john__openwall.pst": {UNKNOWN_CLASS: 1},
    "pst2john__password.pst": {UNKNOWN_CLASS: 1},
}
"""Known libpff mistakes per file.  The 194 uncompressed RTF bodies in 5 files are
ORACLES.md's count; files not listed must agree with pypff everywhere."""

CP932_SUBJECT = "日本語 Non Unicode タイトル"
CYCLIC_FILE = "pst2john__2003_outlook-high-encryption_cheechNchong.pst"
READPST_CYCLIC_ATTACHMENTS = 324
"""readpst's count in the cyclic file (ORACLES.md), where libpff finds 315."""
SPLIT_ASPOSE = [
    "aspose-java__Personal_folders_part0.pst",
    "aspose-java__Personal_folders_part1.pst",
]
ATTACH_BY_VALUE = 1
RTF_HEADER = struct.Struct("<II4sI")
"""COMPSIZE, RAWSIZE, COMPTYPE, CRC ([MS-OXRTFCP] 2.1.3.1.1)."""
PC_RECORD = np.dtype([("wPropId", "<u2"), ("wPropType", "<u2"), ("dwValueHnid", "<u4")])
TCINFO_ROWS = struct.Struct("<II")
"""hidRowIndex and hnidRows, at offset 10 of TCINFO ([MS-PST] 2.3.4.1)."""
BTHHEADER_ROOT = struct.Struct("<I")
"""hidRoot, at offset 4 of BTHHEADER ([MS-PST] 2.3.2.1)."""


def escape_name(name: str) -> str:
    """A folder name as a path component, escaped as pstlib documents it."""
    return name.replace("\\", "\\\\").replace("/", "\\/")


def without_prefix(subject: str | None) -> str | None:
    """A pypff subject without the 0x01 and prefix length Outlook may store first."""
    return subject[2:] if subject and subject.startswith("\x01") else subject


def as_cp1252(text: str) -> str | None:
    """Code page 932 text as libpff renders it: its bytes decoded as windows-1252.

    None for text code page 932 cannot hold, which was never String8 in it.
    """
    try:
        return text.encode("cp932").decode("cp1252", errors="replace")
    except UnicodeEncodeError:
        return None


def utc_naive(moment: datetime | None) -> datetime | None:
    """A pstlib time as pypff gives it: naive, in UTC."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def pypff_folders(pff: Any) -> Iterator[tuple[str, Any]]:
    """Every pypff folder with its path: names joined with "/" from the root folder."""
    stack = [("/", pff.get_root_folder())]
    while stack:
        path, folder = stack.pop()
        yield path, folder
        for index in range(folder.number_of_sub_folders):
            sub = folder.get_sub_folder(index)
            stack.append((f"{path.rstrip('/')}/{escape_name(sub.name or '')}", sub))


def record_entries(item: Any) -> dict[int, Any]:
    """An item's record entries by property id, for items pypff has no API for."""
    return {
        entry.entry_type: entry for record_set in item.record_sets for entry in record_set.entries
    }


class Differ:
    """Walks one file with both readers; every disagreement is excused with evidence or kept."""

    def __init__(self, pst: pstlib.PSTFile, pff: Any) -> None:
        self.pst = pst
        self.pff = pff
        self.unexplained: list[str] = []
        self.known: dict[str, set[str]] = defaultdict(set)
        self.compared: Counter[str] = Counter()
        self.search_rows: set[int] = set()
        self.listed: set[int] = set()

    def differ(self, where: str, what: str, theirs: object, ours: object) -> None:
        self.unexplained.append(f"{where}: {what}: pypff {theirs!r}, pstlib {ours!r}")

    def check(
        self,
        where: str,
        what: str,
        theirs: object,
        ours: object,
        excuse: str | None = None,
        shown: tuple[object, object] | None = None,
    ) -> None:
        """Record a disagreement unless the values agree or ``excuse`` names its known cause.

        ``shown`` replaces the values in the failure message (lengths, for bodies and data).
        """
        self.compared[what] += 1
        if theirs == ours:
            return
        if excuse is not None:
            self.known[excuse].add(where)
        else:
            self.differ(where, what, *(shown or (theirs, ours)))

    def run(self) -> None:
        theirs = {folder.identifier: (path, folder) for path, folder in pypff_folders(self.pff)}
        ours = {folder.nid: folder for folder in self.pst.walk()}
        self.check("folders", "folder nids", sorted(theirs), sorted(ours))
        for nid in sorted(theirs.keys() & ours.keys()):
            path, pff_folder = theirs[nid]
            folder = ours[nid]
            cp932 = CP932_NAME if self.pst.default_codepage == 932 and path == as_cp1252(folder.path) else None
            self.check(f"folder 0x{nid:X}", "path", path, folder.path, cp932)
            self.compare_contents(folder, pff_folder)
        stray = self.search_rows - self.listed
        self.check("search folders", "rows no normal folder lists", set(), stray)

    def compare_contents(self, folder: Folder, pff_folder: Any) -> None:
        where = folder.path
        messages = {message.nid: message for message in folder.messages()}
        if not folder.is_search_folder:
            self.listed.update(messages)
        try:
            count = pff_folder.number_of_sub_messages
        except OSError as error:
            empty = not messages and self.empty_row_index(folder, str(error))
            excuse = EMPTY_ROW_INDEX if empty else None
            self.check(where, "contents table", str(error), list(messages), excuse)
            return
        if folder.is_search_folder and count == 0:
            self.search_rows.update(messages)
            counted = len(messages) == folder.message_count
            excuse = SEARCH_FOLDER if counted else None
            self.check(where, "message count", 0, len(messages), excuse)
            return
        items: dict[int, Any] = {}
        refused = 0
        for index in range(count):
            try:
                item = pff_folder.get_sub_message(index)
            except OSError as error:
                if "unsupported value type: 0x00000000" not in str(error):
                    self.differ(where, f"message {index}", str(error), None)
                refused += 1
                continue
            items[item.identifier] = item
        self.check(where, "message count", count, len(messages))
        unread = sorted(messages.keys() - items.keys())
        padded = len(unread) == refused and all(self.zero_padded(nid) for nid in unread)
        for nid in unread:
            self.check(f"{where} 0x{nid:X}", "message", None, nid, PADDED_PC if padded else None)
        self.check(where, "messages pstlib lacks", [], sorted(items.keys() - messages.keys()))
        for nid in sorted(items.keys() & messages.keys()):
            self.compare_message(f"{where} 0x{nid:X}", items[nid], messages[nid])

    def compare_message(self, where: str, item: Any, message: Message) -> None:
        if not isinstance(item, pypff.message):
            self.compare_unknown_class(where, item, message)
            return
        cp932 = CP932 if message.properties.codepage == 932 else None

        def text(what: str, theirs: str | None, ours: str | None) -> None:
            excuse = cp932 if cp932 and ours is not None and theirs == as_cp1252(ours) else None
            self.check(where, what, theirs, ours, excuse)

        text("subject", without_prefix(item.subject), message.subject)
        # pypff's sender_name is PidTagSenderName alone; pstlib's sender_name falls
        # back on PidTagSentRepresentingName where the message has none.
        stored = message.properties.get(PropertyId.PidTagSenderName)
        text("sender name", item.sender_name, message.sender_name if stored else stored)
        self.check(where, "delivery time", item.delivery_time, utc_naive(message.delivery_time))
        recipients = item.recipients.number_of_recipients if item.recipients is not None else 0
        self.check(where, "recipient count", recipients, len(message.recipients))
        self.compare_attachments(where, item, message)
        self.compare_bodies(where, item, message, cp932)

    def compare_unknown_class(self, where: str, item: Any, message: Message) -> None:
        entries = record_entries(item)
        theirs = (
            entries[PropertyId.PidTagMessageClass].data_as_string,
            without_prefix(entries[PropertyId.PidTagSubject].data_as_string)
            if PropertyId.PidTagSubject in entries
            else None,
        )
        ours = (message.message_class, message.subject)
        self.check(where, "class and subject", theirs, ours)
        excuse = UNKNOWN_CLASS if theirs == ours else None
        self.check(where, "pypff type", "message", type(item).__name__, excuse)

    def compare_attachments(self, where: str, item: Any, message: Message) -> None:
        ours = {attachment.nid: attachment for attachment in message.attachments}
        try:
            count = item.number_of_attachments
        except OSError as error:
            excuse = RESERVED_BID_BIT if self.reserved_bit_misdecode(message, str(error)) else None
            self.check(where, "attachment table", str(error), len(ours), excuse)
            return
        theirs = {att.identifier: att for att in map(item.get_attachment, range(count))}
        self.check(where, "attachment nids", sorted(theirs), sorted(ours))
        for nid in sorted(theirs.keys() & ours.keys()):
            pff_att, attachment = theirs[nid], ours[nid]
            at = f"{where} attachment 0x{nid:X}"
            if pff_att.long_filename is None:
                long_name = attachment.properties.get(PropertyId.PidTagAttachLongFilename)
                self.check(at, "PidTagAttachLongFilename", None, long_name)
            else:
                self.check(at, "filename", pff_att.long_filename, attachment.filename)
            if attachment.is_embedded:  # pypff's size is not the data length there (ORACLES.md)
                continue
            self.check(at, "size", pff_att.size, attachment.size)
            if attachment.method == ATTACH_BY_VALUE:
                data, read = pff_att.read_buffer(pff_att.size), attachment.read()
                self.check(at, "data", data, read, shown=(len(data), len(read)))

    def compare_bodies(self, where: str, item: Any, message: Message, cp932: str | None) -> None:
        """Bodies compared as bytes, reported by length: plain text as UTF-8, HTML and RTF as is."""

        def body(what: str, theirs: bytes | None, ours: bytes | None, excuse: str | None) -> None:
            shown = (None if theirs is None else len(theirs), None if ours is None else len(ours))
            self.check(where, what, theirs, ours, excuse, shown)

        text = message.body
        plain = text.encode("utf-8") if text else None
        recoded = as_cp1252(text) if text and cp932 else None
        mojibake = recoded is not None and item.plain_text_body == recoded.encode("utf-8")
        body("plain body", item.plain_text_body, plain, cp932 if mojibake else None)
        body("HTML body", item.html_body, message.html_body or None, None)
        try:
            rtf = item.rtf_body
        except OSError as error:
            excuse = UNCOMPRESSED_RTF if self.uncompressed_rtf(message, str(error)) else None
            self.check(where, "RTF body", str(error), len(message.rtf_body or b""), excuse)
            return
        if rtf is not None:
            self.check(where, "pypff's extra RTF byte", rtf[-1:], b"\0")
            rtf = rtf[:-1]
        body("RTF body", rtf, message.rtf_body, None)

    def empty_row_index(self, folder: Folder, error: str) -> bool:
        """Whether the contents TC has no rows (hnidRows 0) but a row index root of zero bytes."""
        if folder.message_count or "record entries but no value array" not in error:
            return False
        heap = self.pst.node(make_nid(NIDType.CONTENTS_TABLE, nid_index(folder.nid))).heap()
        hid_row_index, hnid_rows = TCINFO_ROWS.unpack_from(heap.item(heap.user_root), 10)
        (hid_root,) = BTHHEADER_ROOT.unpack_from(heap.item(hid_row_index), 4)
        return hnid_rows == 0 and hid_root != 0 and heap.item(hid_root) == b""

    def zero_padded(self, nid: int) -> bool:
        """Whether the message's PC BTH holds records of property id 0 and type 0x0000."""
        heap = self.pst.node(nid).heap()
        records = BTH(heap, heap.user_root).records(PC_RECORD)
        return bool(np.any((records["wPropId"] == 0) & (records["wPropType"] == 0)))

    def reserved_bit_misdecode(self, message: Message, error: str) -> bool:
        """Whether libpff's bSig 0xAC comes from keying the decoding with the referenced BID."""
        table = message.node.subnodes()[NID_ATTACHMENT_TABLE]
        bid = table.bid_data
        if self.pst.header.crypt != "cyclic" or not bid & 1 or "signature: 0xac" not in error:
            return False
        stored, _trailer, entry = self.pst.block_store.read_stored(bid)
        libpff_view = crypt.cyclic(stored[:4], bid)
        return entry.bid == bid & ~1 and libpff_view[2] == 0xAC and table.read()[2:4] == b"\xec\x7c"

    def uncompressed_rtf(self, message: Message, error: str) -> bool:
        """Whether the RTF is MELA with CRC 0 and pstlib returns its CONTENTS, RAWSIZE at most."""
        raw = message.properties.raw(PropertyId.PidTagRtfCompressed)
        comp_size, raw_size, comp_type, crc = RTF_HEADER.unpack_from(raw)
        contents = raw[RTF_HEADER.size:RTF_HEADER.size + comp_size - 12][:raw_size]
        return (
            "mismatch in checksum ( 0 != " in error
            and (comp_type, crc) == (b"MELA", 0)
            and message.rtf_body == contents
            and contents.startswith(b"{\\rtf")
        )


def test_messaging_matches_pypff(corpus_file: Path) -> None:
    """Folders, message counts and every message field agree with pypff, but for known mistakes."""
    pff = pypff.open(str(corpus_file))
    try:
        with pstlib.open(corpus_file) as pst:
            differ = Differ(pst, pff)
            differ.run()
    finally:
        pff.close()
    assert differ.unexplained == []
    known = {kind: len(where) for kind, where in differ.known.items()}
    assert known == EXPECTED.get(corpus_file.name, {})
    assert differ.compared["path"] > 0


def test_cp932_subject() -> None:
    """The subject MANIFEST and ORACLES.md give, from String8 in code page 932."""
    with pstlib.open(corpus_path("hht-pst_to_msg__nonUnicodeCP932.pst")) as pst:
        message = Message(pst.node(0x200024))
        assert message.properties.type_of(PropertyId.PidTagSubject) == pstlib.PropertyType.STRING8
        assert message.subject == CP932_SUBJECT


def test_cp932_folder_names() -> None:
    """The IPM subtree of a Japanese ANSI store is "Outlook データ ファイルのトップ", not mojibake.

    Neither the folder nor the store names a code page; the messages do (PidTagInternetCodepage
    50220 and the Japanese locale), so pstlib takes the store's default from them.  libpff
    decodes as cp1252 and loses the bytes 1252 leaves undefined (0x81, 0x8D, ...).
    """
    with pstlib.open(corpus_path("hht-pst_to_msg__nonUnicodeCP932.pst")) as pst:
        assert pst.ipm_subtree.name == "Outlook データ ファイルのトップ"


def readpst_attachments(path: Path, out: Path) -> list[Path]:
    """The attachment files readpst writes for a file, one ``N-name`` file each (``-S``).

    ``-b`` leaves out the RTF bodies it would otherwise write as attachments, ``-D``
    keeps deleted items and ``-j 0`` avoids its parallel mode (ORACLES.md).
    """
    readpst = shutil.which("readpst")
    if readpst is None:
        pytest.skip("readpst (Debian pst-utils) not installed")
    command = [readpst, "-q", "-b", "-D", "-j", "0", "-S", "-o", str(out), str(path)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    written = (file for file in out.rglob("*") if file.is_file())
    return sorted(file for file in written if re.fullmatch(r"\d+-.+", file.name))


def all_attachments(pst: pstlib.PSTFile) -> list[tuple[int, Attachment]]:
    """(message nid, attachment) for every message of every normal folder."""
    return [
        (message.nid, attachment)
        for folder in pst.walk()
        if not folder.is_search_folder
        for message in folder.messages()
        for attachment in message.attachments
    ]


def test_cyclic_attachment_table_matches_readpst(tmp_path: Path) -> None:
    """pstlib reads the attachment table libpff misdecodes: 324 attachments, as readpst finds."""
    path = corpus_path(CYCLIC_FILE)
    with pstlib.open(path) as pst:
        found = all_attachments(pst)
        assert len(found) == READPST_CYCLIC_ATTACHMENTS
        assert sum(nid == 0x200024 for nid, _attachment in found) == 9
    assert len(readpst_attachments(path, tmp_path)) == READPST_CYCLIC_ATTACHMENTS


@pytest.mark.parametrize("name", SPLIT_ASPOSE)
def test_split_aspose_my_messages_match_readpst(name: str, tmp_path: Path) -> None:
    """The three "My Messages" messages libpff refuses: their attachments are readpst's exactly."""
    path = corpus_path(name)
    with pstlib.open(path) as pst:
        folder = next(folder for folder in pst.walk() if folder.name == "My Messages")
        messages = list(folder.messages())
        assert len(messages) == 3
        assert all(message.subject.startswith("About Aspose ") for message in messages)
        ours = sorted((a.filename, a.read()) for message in messages for a in message.attachments)
    files = readpst_attachments(path, tmp_path)
    theirs = sorted((file.name.split("-", 1)[1], file.read_bytes()) for file in files)
    assert len(ours) == 6
    assert ours == theirs
