"""Every PC and TC node of every corpus file parses, and every property decodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import pstlib
from pstlib import tags
from pstlib.ndb.nid import NID_MESSAGE_STORE, NID_NAME_TO_ID_MAP, PC_NODE_TYPES, TC_NODE_TYPES, nid_type
from pstlib.ltp.namedprops import PS_PUBLIC_STRINGS
from tests.conftest import corpus_path

def test_every_pc_and_tc_parses(corpus_file: Path) -> None:
    with pstlib.open(corpus_file) as pst:
        checked = 0
        for entry in pst.nodes():
            kind = nid_type(entry.nid)
            node = pst.node(entry.nid)
            if kind in PC_NODE_TYPES or entry.nid in (NID_MESSAGE_STORE, NID_NAME_TO_ID_MAP):
                pc = node.properties()
                assert len(pc) > 0
                for prop_id in pc:
                    for ptype in pc.types_of(prop_id):
                        pc.value(prop_id, ptype)
                        assert isinstance(pc.raw(prop_id, ptype), bytes)
                checked += 1
            elif kind in TC_NODE_TYPES:
                table = node.table()
                for row in table:
                    for prop_id in row:
                        row[prop_id]
                for column in table.columns:
                    values = table.column(column.tag)
                    assert len(values) == len(table)
                checked += 1
        assert checked > 0


def test_folder_tables_agree_with_folder_objects() -> None:
    """A hierarchy table's rows name the subfolders by NID (dwRowID), with their display names."""
    with pstlib.open(corpus_path("pstsdk__test_unicode.pst")) as pst:
        hierarchy = pst.node(0x12D).table()
        names = {row.row_id: row[tags.PidTagDisplayName] for row in hierarchy}
        for nid, name in names.items():
            assert pst.node(nid).properties()[tags.PidTagDisplayName] == name
        assert "Top of Personal Folders" in names.values()


def test_whole_columns_as_arrays() -> None:
    """Fixed-size columns come out as numpy arrays equal to the per-row values."""
    with pstlib.open(corpus_path("pst-extractor__enron.pst")) as pst:
        contents = max(
            (pst.node(e.nid).table() for e in pst.nodes() if nid_type(e.nid) == 0x0E),
            key=len,
        )
        assert len(contents) > 40
        sizes = contents.column(tags.PidTagMessageSize << 16 | 0x0003)
        assert isinstance(sizes, np.ndarray)
        assert sizes.tolist() == [row.get(tags.PidTagMessageSize, 0) for row in contents]
        subjects = contents.column(tags.PidTagSubject)
        assert subjects == [row.get(tags.PidTagSubject) for row in contents]


def test_pstsdk_sample1_has_172_named_properties() -> None:
    """The count pstsdk's own tests expect."""
    with pstlib.open(corpus_path("pstsdk__sample1.pst")) as pst:
        named = pst.named_properties
        assert len(named) == 172
        for prop_id, (guid, name) in named.items():
            assert 0x8000 <= prop_id <= 0xFFFE
            assert named.id_of(guid, name) == prop_id
        assert any(guid == PS_PUBLIC_STRINGS for guid, _ in named.values())
        assert any(isinstance(name, str) for _, name in named.values())


@pytest.mark.parametrize(
    ("name", "prop_id", "expected"),
    [
        ("hht-pst_to_msg__nonUnicodeCP932.pst", tags.PidTagSubject, "\x01\x01日本語 Non Unicode タイトル"),
        ("hht-pst_to_msg__nonUnicodeCP932.pst", tags.PidTagBody, "日本語 Non Unicode 本文\r\n"),
        ("hht-pst-extractor__contacts97-2002.pst", tags.PidTagDisplayName, "Mr. イグザンプル ドット コム 殿"),
    ],
)
def test_string8_in_code_page_932(name: str, prop_id: int, expected: str) -> None:
    """ANSI files from a Japanese Outlook: String8 is in code page 932.

    The messages carry PidTagInternetCodepage 50220 (iso-2022-jp, the MIME form)
    and PidTagMessageLocaleId 1041 (ja-JP) but no PidTagMessageCodepage; the
    stored bytes are Shift-JIS (cp932), the Windows ANSI code page of both.
    """
    with pstlib.open(corpus_path(name)) as pst:
        message = pst.node(0x200024).properties()
        assert message.type_of(prop_id) == pstlib.PropertyType.STRING8
        assert message.codepage == 932
        assert message[prop_id] == expected


def test_search_tables_in_the_0xac_layout() -> None:
    """The 0xAC search table of java-libpst__passworded.pst reads with per-column value heaps."""
    with pstlib.open(corpus_path("java-libpst__passworded.pst")) as pst:
        table = pst.node(0x730).table()
        assert pst.node(0x730).heap().client_signature == 0xAC
        assert [row[tags.PidTagMessageClass] for row in table] == [
            "IPM.Microsoft.ScheduleData.FreeBusy",
            "IPM.Contact",
            "IPM.DistList",
        ]
        assert [row.get(tags.PidTagSubject) for row in table] == [
            "LocalFreebusy",
            "\x01\x01contact name 1",
            "\x01\x01test dist list",
        ]
        assert table.row_ids.tolist() == [0x200044, 0x200064, 0x200024]
        assert [pst.node(nid).properties()[tags.PidTagMessageClass] for nid in table.row_ids.tolist()] == [
            row[tags.PidTagMessageClass] for row in table
        ]


def test_all_zero_pc_records_are_padding() -> None:
    """Aspose's split stores pad three messages' PC BTH with all-zero records; they are not properties."""
    with pstlib.open(corpus_path("aspose-java__Personal_folders_part0.pst")) as pst:
        pc = pst.node(0x200024).properties()
        assert 0 not in pc
        assert len(pc) > 10
        assert pc[tags.PidTagMessageClass].startswith("IPM.")
