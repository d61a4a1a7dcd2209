"""The export layer: EML round trips against the reading API, readpst's counts, hostile names
kept inside the output directory, mbox/JSON Lines/Parquet counts, overwrite refusal."""

from __future__ import annotations

import collections
import email
import email.policy
import json
import mailbox
import os
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

import pstlib
from pstlib.errors import MessagingError
from pstlib.export import (
    export_attachments,
    export_store,
    safe_name,
    to_email,
    unique_path,
    write_eml,
    write_parquet,
)
from pstlib.export.text import encodable, one_line
from pstlib.messaging.attachment import Attachment
from pstlib.writer import NewAttachment, NewMessage
from tests.conftest import corpus_path

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample.pst"
REPRESENTATIVE = [
    "pstsdk__test_ansi.pst",  # ANSI
    "hht-pst_to_msg__nonUnicodeCP932.pst",  # ANSI, Japanese code page
    "pst2john__97_outlook_qwerty12345.pst",  # ANSI, 180 messages
    "hht-pst_to_msg__msgInMsgInMsg.pst",  # Unicode, nested embedded messages
    "hht-pst_to_msg__attachAndInline.pst",  # inline (Content-ID) attachment
    "hht-pst_to_msg__unicodeAttachmentFilename.pst",
    "tika__testPST_variousBodyTypes.pst",  # plain, HTML, RTF bodies
    "pst2john__2003_high-encryption_quickquick.pst",  # cyclic encryption, many attachments
    "groupdocs-net__sample.ost",  # OST
    "pst-extractor__pstextractortestpdf@outlook.com.ost",  # 4K-page OST
]
HOSTILE_NAMES = [
    "../../etc/passwd",
    "/abs",
    "CON",
    "con.txt",
    "a\\b",
    "n" * 300,
    "x" * 290 + ".pdf",
    "bell\x07tab\tnew\r\nline\x85end",
    "..",
    ".",
    "trailing. . ",
    "Cafe\u0301",  # NFD: normalised to NFC
    "gpj.\u202eexe",  # a right-to-left override disguising the extension
    "Report.txt",
    "REPORT.TXT",
]


def _normal(text: str) -> str:
    """Text as the stdlib writes it back: LF line ends, one final newline dropped."""
    return encodable(text).replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")


def _leaves(part: EmailMessage) -> list[EmailMessage]:
    """Non-multipart parts below ``part``, not descending into message/rfc822 parts."""
    if part.get_content_maintype() != "multipart":
        return []
    out = []
    for child in part.iter_parts():
        out.extend(_leaves(child) if child.get_content_maintype() == "multipart" else [child])
    return out


def _check_round_trip(message: pstlib.messaging.message.Message, parsed: EmailMessage) -> None:
    """``parsed`` (an EML read back) has the API's bodies and attachments."""
    assert not [d for d in parsed.defects if "Boundary" in type(d).__name__]
    text, html = message.body, message.html_body
    if text is not None:
        assert _normal(parsed.get_body(("plain",)).get_content()) == _normal(text)
    if html is not None:
        assert parsed.get_body(("html",)).get_payload(decode=True) == html
    files = [p for p in _leaves(parsed) if p.get_filename() is not None]
    expected_data, embedded = [], []
    for number, attachment in enumerate(message.attachments, 1):
        if attachment.is_embedded:
            embedded.append(attachment.message)
        elif attachment.method not in (2, 4, 7):
            name = one_line(attachment.filename or "") or f"attachment-{number}"
            expected_data.append((name, attachment.read()))
    if text is None and html is None and message.rtf_body is not None:
        expected_data.append(("body.rtf", message.rtf_body))
    got_data = [
        (p.get_filename(), p.get_payload(decode=True))
        for p in files
        if p.get_content_maintype() != "message"
    ]
    assert sorted(got_data) == sorted(expected_data)
    inner_parts = [p.get_content() for p in files if p.get_content_type() == "message/rfc822"]
    assert len(inner_parts) == len(embedded)
    for inner, parsed_inner in zip(embedded, inner_parts):
        _check_round_trip(inner, parsed_inner)


def _message_count(pst: pstlib.PSTFile) -> int:
    return sum(
        len(list(folder.messages()))
        for folder in pst.root_folder.walk()
        if not folder.is_search_folder
    )


def _files(root: Path, suffix: str = "") -> list[Path]:
    return [p for p in root.rglob(f"*{suffix}") if p.is_file()]


def _check_store(path: Path, out: Path) -> None:
    with pstlib.open(path) as pst:
        for folder in pst.root_folder.walk():
            if folder.is_search_folder:
                continue
            for message in folder.messages():
                data = to_email(message).as_bytes()
                assert data.isascii(), "the output is 7-bit"
                _check_round_trip(
                    message, email.message_from_bytes(data, policy=email.policy.default)
                )
        report = export_store(pst, out, "eml")
        count = _message_count(pst)
    assert report.complete and report.messages == count
    emls = _files(out, ".eml")
    assert len(emls) == count
    for eml in emls:
        email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)


def test_sample_round_trip(tmp_path: Path) -> None:
    _check_store(SAMPLE, tmp_path / "out")
    with pstlib.open(SAMPLE) as pst:
        inbox = next(f for f in pst.ipm_subtree.subfolders() if f.name == "Inbox")
        welcome, agenda, _, forwarded = (
            email.message_from_bytes(to_email(m).as_bytes(), policy=email.policy.default)
            for m in inbox.messages()
        )
    assert welcome["Received"].startswith("from mail.example.org")  # transport headers kept
    assert welcome["Message-ID"] == "<welcome@example.org>" and "X-Pstlib-Headers" not in welcome
    assert agenda["X-Pstlib-Headers"] == "built" and "Zoë Müller" in str(agenda["From"])
    related = agenda.get_body(("related",))
    assert related is not None and any(
        p["Content-ID"] == "<logo@sample>" for p in related.iter_parts()
    )
    inner = next(
        p for p in _leaves(forwarded) if p.get_content_type() == "message/rfc822"
    ).get_content()
    assert inner["Subject"] == "会議の議事録"


def test_rtf_only_body_is_an_attachment(tmp_path: Path) -> None:
    store = tmp_path / "rtf.pst"
    with pstlib.create(store) as w:
        w.root_folder.add_folder("Inbox").add_message(
            subject="RTF only", rtf_body=rb"{\rtf1\ansi Hello}"
        )
    with pstlib.open(store) as pst:
        (message,) = [m for f in pst.root_folder.walk() for m in f.messages()]
        parsed = email.message_from_bytes(to_email(message).as_bytes(), policy=email.policy.default)
    (part,) = _leaves(parsed)
    assert part.get_filename() == "body.rtf" and part.get_content_type() == "application/rtf"
    assert part.get_payload(decode=True) == rb"{\rtf1\ansi Hello}"


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_corpus_round_trip(name: str, tmp_path: Path) -> None:
    _check_store(corpus_path(name), tmp_path / "out")


READPST_FILES = ["pst-extractor__enron.pst", "hughbe-PstReader__DFRWS2009-Outlook-Email.pst"]


@pytest.mark.skipif(shutil.which("readpst") is None, reason="readpst (pst-utils) not installed")
@pytest.mark.parametrize("name", READPST_FILES)
def test_readpst_mail_counts(name: str, tmp_path: Path) -> None:
    """Per folder below the IPM subtree, as many EMLs as ``readpst -e`` writes.

    The one expected disagreement: readpst leaves out the wastebasket ("Deleted
    Items") unless given -D ("Include deleted items in output"), so that folder
    is not compared.  Both files hold only IPM.Note messages.
    """
    path = corpus_path(name)
    # readpst now and then leaves out a folder's last EML (enron's Personal/47.eml in about
    # 1 run of 25, measured): take the most it writes per folder over three runs.
    theirs: collections.Counter[str] = collections.Counter()
    for run in range(3):
        out = tmp_path / f"readpst{run}"
        out.mkdir()
        subprocess.run(["readpst", "-q", "-e", "-o", str(out), str(path)], check=True, capture_output=True)
        (top,) = out.iterdir()
        theirs |= collections.Counter(str(p.parent.relative_to(top)) for p in _files(top, ".eml"))
    with pstlib.open(path) as pst:
        ipm = pst.ipm_subtree
        assert {m.message_class for f in ipm.walk() for m in f.messages()} == {"IPM.Note"}
        wastebasket = next(
            (f.name for f in ipm.subfolders() if f.nid == pst.store.deleted_items_nid), None
        )
        export_store(pst, tmp_path / "ours", "eml", folder_path=ipm.path)
    ours_top = tmp_path / "ours" / safe_name(ipm.name, fallback="")
    ours = collections.Counter(
        str(p.parent.relative_to(ours_top)) for p in _files(ours_top, ".eml")
    )
    ours.pop(wastebasket, None)
    assert wastebasket not in theirs
    assert ours == theirs


def _hostile_store(path: Path) -> int:
    """A store whose folder, subject and attachment names try to escape; its attachment count."""
    attachments = [
        NewAttachment(name, name.encode("utf-8", "surrogatepass")) for name in HOSTILE_NAMES
    ]
    attachments.append(NewAttachment("../inner", message=NewMessage(subject="../../../inner")))
    with pstlib.create(path) as w:
        for name in HOSTILE_NAMES:
            folder = w.root_folder.add_folder(name)
            folder.add_message(subject=name, body="hostile", attachments=attachments)
            folder.add_message(subject=name.upper(), body="same name, other case")
    return len(attachments) * len(HOSTILE_NAMES)


def _assert_inside(out: Path, base: Path) -> None:
    root = out.resolve()
    for directory, dirs, files in os.walk(out):
        for entry in dirs + files:
            assert (Path(directory) / entry).resolve().is_relative_to(root)
            assert not (Path(directory) / entry).is_symlink()
    assert sorted(p.name for p in base.iterdir()) == sorted(["hostile.pst", out.name]), (
        "nothing beside --out"
    )


@pytest.mark.parametrize("to", ["eml", "mbox", "json", "attachments"])
def test_hostile_names_stay_inside(to: str, tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    attachment_count = _hostile_store(base / "hostile.pst")
    out = base / "out"
    with pstlib.open(base / "hostile.pst") as pst:
        if to == "attachments":
            report = export_attachments(pst, out)
            assert report.complete and report.attachments == attachment_count
            assert len(_files(out)) == attachment_count
        else:
            report = export_store(pst, out, to)
            assert report.complete and report.messages == 2 * len(HOSTILE_NAMES)
    if to == "eml":
        assert len(_files(out, ".eml")) == 2 * len(HOSTILE_NAMES)
    if to == "mbox":
        assert len(_files(out, ".mbox")) == len(HOSTILE_NAMES)
    _assert_inside(out, base)


@pytest.mark.parametrize(
    "name", HOSTILE_NAMES + ["", "COM1", "lpt9.tar.gz", "Aux ", "nul.", "\ud800x"]
)
def test_safe_name(name: str) -> None:
    result = safe_name(name, fallback="fallback")
    assert result and result not in (".", "..") and result == unicodedata.normalize("NFC", result)
    assert not any(c in result for c in "/\\") and not result.endswith((".", " "))
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in result)
    assert result.split(".")[0].rstrip().upper() not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT9"}
    assert len(result.encode("utf-8")) <= 120
    result.encode("utf-8")  # no lone surrogates
    if name.endswith(".pdf"):
        assert result.endswith(".pdf")


def test_unique_path(tmp_path: Path) -> None:
    taken: set[str] = set()
    names = [unique_path(tmp_path, n, taken).name for n in ("a.txt", "A.TXT", "a.txt", "b", "B")]
    assert names == ["a.txt", "A (2).TXT", "a (3).txt", "b", "B (2)"]
    with pytest.raises(ValueError):
        unique_path(tmp_path, "..", set())


def test_mbox_json_parquet_counts(tmp_path: Path) -> None:
    with pstlib.open(SAMPLE) as pst:
        count = _message_count(pst)
        assert export_store(pst, tmp_path / "mbox", "mbox").messages == count
        assert export_store(pst, tmp_path / "json", "json").messages == count
    boxes = _files(tmp_path / "mbox", ".mbox")
    assert sum(len(mailbox.mbox(box)) for box in boxes) == count
    for box in boxes:
        for entry in mailbox.mbox(box):
            assert entry.get_from()
    lines = (tmp_path / "json" / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == count
    welcome = next(r for r in records if r["subject"] == "Welcome to the sample store")
    assert welcome["folder"] == "/Top of Personal Folders/Inbox"
    assert welcome["delivery_time"] == "2024-03-04T09:15:00Z"
    assert welcome["recipients"] == [
        {"name": "Ana Sánchez", "email": "ana.sanchez@example.com", "kind": "to"}
    ]
    agenda = next(r for r in records if r["attachments"] and r["has_html"])
    assert {a["filename"] for a in agenda["attachments"]} == {"logo.png", "ordre-du-jour.txt"}

    pq = pytest.importorskip("pyarrow.parquet")
    with pstlib.open(SAMPLE) as pst:
        assert export_store(pst, tmp_path / "parquet", "parquet").messages == count
    table = pq.read_table(tmp_path / "parquet" / "messages.parquet")
    assert table.num_rows == count
    assert sorted(table.column("subject").to_pylist()) == sorted(r["subject"] for r in records)


def test_parquet_without_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)
    with pytest.raises(ImportError, match=r"pstlib\[parquet\]"):
        write_parquet([], tmp_path / "x.parquet")


def test_overwrite_refused_without_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pstlib.open(SAMPLE) as pst:
        first = export_store(pst, out, "eml")
        before = sorted(p.relative_to(out) for p in _files(out))
        with pytest.raises(FileExistsError):
            export_store(pst, out, "eml")
        with pytest.raises(FileExistsError):
            export_attachments(pst, out)
        again = export_store(pst, out, "eml", force=True)
        message = next(pst.ipm_subtree.subfolders()).messages().__next__()
        with pytest.raises(FileExistsError):
            write_eml(message, out / _files(out, ".eml")[0].relative_to(out))
    assert sorted(p.relative_to(out) for p in _files(out)) == before
    assert first.messages == again.messages


def test_unreadable_items_are_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_read, real_open = Attachment.read, Attachment.open

    def broken(method: Callable[[Attachment], Any]) -> Callable[[Attachment], Any]:
        """``method``, failing for the attachment "figures.bin"."""

        def read(self: Attachment) -> Any:
            if self.filename == "figures.bin":
                raise MessagingError("damaged for the test", nid=self.nid)
            return method(self)

        return read

    monkeypatch.setattr(Attachment, "read", broken(real_read))
    monkeypatch.setattr(Attachment, "open", broken(real_open))
    with pstlib.open(SAMPLE) as pst:
        count = _message_count(pst)
        report = export_store(pst, tmp_path / "eml", "eml")
        assert report.messages == count - 1
        (failed,) = report.failed
        assert (
            failed.folder == "/Top of Personal Folders/Inbox"
            and "damaged for the test" in failed.reason
        )
        attachments = export_attachments(pst, tmp_path / "attachments")
        assert [f.what for f in attachments.failed] == [
            "attachment 1"
        ] and attachments.attachments == 4 - 1
        assert not list((tmp_path / "attachments").rglob("figures.bin")), "no partial file left"
        with pytest.raises(MessagingError):
            export_store(pst, tmp_path / "strict", "eml", strict=True)


def test_folder_path_selects_a_subtree(tmp_path: Path) -> None:
    with pstlib.open(SAMPLE) as pst:
        report = export_store(
            pst, tmp_path / "inbox", "eml", folder_path="/Top of Personal Folders/Inbox"
        )
        with pytest.raises(LookupError):
            export_store(pst, tmp_path / "none", "eml", folder_path="/nope")
    assert report.folders == 2 and report.messages == 5
    assert {p.parent.name for p in _files(tmp_path / "inbox")} == {"Inbox", "Projekte – 2024"}
