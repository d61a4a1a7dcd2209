"""The messaging layer on real files: what their origin projects' own tests expect."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

import pstlib
from pstlib import tags
from tests.conftest import corpus_manifest, corpus_path

PSETID_ADDRESS = uuid.UUID("00062004-0000-0000-C000-000000000046")
PID_LID_DISTRIBUTION_LIST_MEMBERS = 0x8055
PID_LID_DISTRIBUTION_LIST_ONE_OFF_MEMBERS = 0x8054


def walk_messages(message: pstlib.messaging.message.Message):
    """A message and every message embedded in it, depth-first."""
    yield message
    for attachment in message.attachments:
        if attachment.is_embedded and attachment.message is not None:
            yield from walk_messages(attachment.message)


def test_full_walk(corpus_file: Path) -> None:
    """Every folder, message, recipient and attachment of every readable file reads."""
    with pstlib.open(corpus_file) as pst:
        folders = list(pst.root_folder.walk())
        assert folders[0].path == "/"
        assert pst.ipm_subtree.nid in {folder.nid for folder in folders}
        for folder in folders:
            for top in [*folder.messages(), *folder.associated_messages()]:
                for message in walk_messages(top):
                    message.subject, message.sender_email, message.body, message.html_body
                    message.rtf_body
                    for recipient in message.recipients:
                        assert recipient.kind in {"to", "cc", "bcc", "other"}
                    for attachment in message.attachments:
                        if attachment.method in (0, 1, 6):
                            data = attachment.read()
                            assert len(data) == attachment.size
                            with attachment.open() as stream:
                                assert stream.read() == data


PASSWORDS = {
    "pst2john__97_outlook_pass12345.pst": "pass12345",
    "pst2john__97_outlook_qwerty12345.pst": "qwerty12345",
    "pst2john__2003_no-encryption_quickquick.pst": "quickquick",
    "pst2john__2003_compressable-encryption_quickquick.pst": "quickquick",
    "pst2john__2003_high-encryption_quickquick.pst": "quickquick",
    "pst2john__2003_no-encryption_quickquick12.pst": "quickquick12",
    "pst2john__2003_outlook-high-encryption_cheechNchong.pst": "cheechNchong",
    "pst2john__2007_default_a1sellers.pst": "a1sellers",
    "pst2john__2007_default_orxgnm.pst": "orxgnm",
    "tghanem-PST__user1@test.lab.pst": "user1",
    "aspose-net__passwordprotectedPST.pst": "Password1",
}
COLLISIONS = {
    "pst2john__97_outlook_pass12345.pst": ["007206627412", "iafix"],
    # For these two the MANIFEST's password ('quickbrownfox', 'qwerty1234') does not
    # give the stored CRC, but pst2john's collisions, which it lists too, do.
    "pst2john__2003_no-encryption_quickbrownfox.pst": ["HxaJKK", "104664214677"],
    "pst2john__2k_outlook_qwerty1234.pst": ["106136527435", "aiAiCz"],
}


@pytest.mark.parametrize(("name", "password"), sorted(PASSWORDS.items()))
def test_check_password(name: str, password: str) -> None:
    """PidTagPstPassword is the [MS-PST] 5.3 CRC of the password (the MANIFEST's test vectors)."""
    with pstlib.open(corpus_path(name)) as pst:
        assert pst.store.is_password_protected
        assert pst.store.check_password(password)
        assert not pst.store.check_password(password + "x")


@pytest.mark.parametrize(("name", "collisions"), sorted(COLLISIONS.items()))
def test_password_collisions(name: str, collisions: list[str]) -> None:
    """Any string with the password's CRC opens the store, as pst2john lists."""
    with pstlib.open(corpus_path(name)) as pst:
        for collision in collisions:
            assert pst.store.check_password(collision)


def test_ost_has_no_password() -> None:
    """OSTs store 0xFFFFFFFF as PidTagPstPassword; that is not a password."""
    with pstlib.open(corpus_path("groupdocs-net__sample.ost")) as pst:
        assert pst.store.password_crc == 0xFFFFFFFF
        assert not pst.store.is_password_protected


def test_unprotected_store() -> None:
    with pstlib.open(corpus_path("java-libpst__dist-list.pst")) as pst:
        assert not pst.store.is_password_protected
        assert pst.store.check_password("anything")


def test_hughbe_backup_folder_tree() -> None:
    """hughbe/PstReader's expectations of its backup.pst."""
    with pstlib.open(corpus_path("hughbe-PstReader__backup.pst")) as pst:
        assert pst.store.display_name == "Outlook Data File"
        root_children = sorted(folder.name for folder in pst.root_folder.subfolders())
        assert "Search Root" in root_children and "Top of Outlook data file" in root_children
        top = pst.ipm_subtree
        assert top.path == "/Top of Outlook data file"
        subfolders = {folder.name: folder for folder in top.subfolders()}
        assert len(subfolders) == 20
        inbox = subfolders["Inbox"]
        assert (inbox.message_count, inbox.unread_count) == (1, 1)
        assert len(list(inbox.messages())) == 1
        assert len(list(subfolders["Sent Items"].messages())) == 1


def test_distribution_list_members() -> None:
    """java-libpst: the distribution list at NID 2097188 has 3 members, two of them one-offs."""
    with pstlib.open(corpus_path("java-libpst__dist-list.pst")) as pst:
        members_id = pst.named_properties.id_of(PSETID_ADDRESS, PID_LID_DISTRIBUTION_LIST_MEMBERS)
        one_offs_id = pst.named_properties.id_of(PSETID_ADDRESS, PID_LID_DISTRIBUTION_LIST_ONE_OFF_MEMBERS)
        message = pstlib.messaging.message.Message(pst.node(2097188))
        assert message.message_class == "IPM.DistList"
        assert len(message[members_id]) == 3
        one_offs = b"".join(message[one_offs_id]).decode("utf-16-le", errors="replace")
        for text in ("dist name 1", "dist1@rjohnson.id.au", "dist name 2", "dist2@rjohnson.id.au"):
            assert text in one_offs


def test_message_in_message_in_message() -> None:
    with pstlib.open(corpus_path("hht-pst_to_msg__msgInMsgInMsg.pst")) as pst:
        message = pstlib.messaging.message.Message(pst.node(2097188))
        depth = 0
        while True:
            embedded = [a.message for a in message.attachments if a.is_embedded]
            if not embedded:
                break
            message = embedded[0]
            depth += 1
        assert depth == 2


def test_two_hundred_recipients() -> None:
    with pstlib.open(corpus_path("hht-pst_to_msg__200_recipients.pst")) as pst:
        counts = [len(m.recipients) for f in pst.root_folder.walk() for m in f.messages()]
        assert 200 in counts


def test_tika_message() -> None:
    """Apache Tika's expectations of testPST.pst (a French-locale Outlook)."""
    with pstlib.open(corpus_path("tika__testPST.pst")) as pst:
        assert pst.ipm_subtree.name == "Début du fichier de données Outlook"
        messages = [m for f in pst.root_folder.walk() for m in f.messages()]
        feature = next(m for m in messages if m.subject == "Re: Feature Generators")
        assert feature.sender_name == "Jörn Kottmann"
        assert feature.sender_email == "kottmann@gmail.com"
        assert feature.submit_time == datetime(2014, 2, 26, 7, 50, 4, tzinfo=timezone.utc)
        assert feature.creation_time.replace(microsecond=0) == datetime(2014, 2, 26, 7, 51, 2, tzinfo=timezone.utc)
        assert "users@opennlp.apache.org" in {r.email for r in feature.recipients}
        assert any("Gary Murphy commented on TIKA-1250" in (m.body or "") for m in messages)
        embedded = [
            a.message for m in messages for a in m.attachments if a.is_embedded and a.filename == "First email"
        ]
        assert embedded
        docx = [a for a in embedded[0].attachments if a.filename == "attachment.docx"]
        assert docx and docx[0].read()[:2] == b"PK"


def test_tghanem_user1() -> None:
    with pstlib.open(corpus_path("tghanem-PST__user1@test.lab.pst")) as pst:
        assert pst.store.display_name.lower() == "user1@test.lab"
        messages = {m.subject: m for f in pst.root_folder.walk() for m in f.messages()}
        (text,) = messages["TestWithTextFileAttachment"].attachments
        assert (text.filename, text.read()) == ("TextFile.txt", b"Test")
        (embedded,) = messages["TestWithEmbeddedMessage"].attachments
        assert embedded.is_embedded and embedded.message.subject == "Test1"
        with pytest.raises(pstlib.MessagingError, match="Attachment.message"):
            embedded.read()


def test_uncompressed_rtf_is_read() -> None:
    """[MS-OXRTFCP] 2.1.3.1.1: COMPTYPE "MELA" with CRC 0 is uncompressed RTF; libpff drops it."""
    with pstlib.open(corpus_path("aspose-java__sample.pst")) as pst:
        rtfs = [m.rtf_body for f in pst.root_folder.walk() for m in f.messages() if m.rtf_body]
        assert rtfs and all(rtf.startswith(b"{\\rtf") for rtf in rtfs)
        raw = [
            m.properties.raw(tags.PidTagRtfCompressed)
            for f in pst.root_folder.walk()
            for m in f.messages()
            if tags.PidTagRtfCompressed in m.properties
        ]
        assert any(r[8:12] == b"MELA" for r in raw)


def test_folder_paths_escape_slashes() -> None:
    assert pstlib.messaging.folder.escape_name("a/b\\c") == "a\\/b\\\\c"


def test_manifest_known() -> None:
    assert corpus_manifest() or pytest.skip("corpus not present")


def test_ost_ipm_subtree() -> None:
    """An Exchange OST names no IPM subtree in its store: it is Root - Mailbox/IPM_SUBTREE."""
    with pstlib.open(corpus_path("pst-extractor__mtnman1965@outlook.com.ost")) as pst:
        assert pst.store.ipm_subtree_nid is None
        assert pst.ipm_subtree.path == "/Root - Mailbox/IPM_SUBTREE"
        assert any(folder.name == "Inbox" for folder in pst.ipm_subtree.subfolders())
