"""The ``pstlib`` command: registry, ``info``, exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import pstlib
from pstlib.cli import COMMANDS, main
from tests.conftest import corpus_path


def test_info_json(capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus_path("pstsdk__test_ansi.pst")
    assert main(["info", "--json", str(path)]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["format"] == "ansi"
    assert facts["crypt"] == "permute"
    assert (facts["nodes"], facts["blocks"]) == (47, 38)


def test_info_on_damaged_and_missing_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.pst"
    junk.write_bytes(b"not a pst at all" * 100)
    assert main(["info", str(junk)]) == 1
    assert "magic" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "missing.pst")]) == 2


def test_every_command_has_help_with_an_example() -> None:
    for name, cmd in COMMANDS.items():
        result = subprocess.run(
            [sys.executable, "-m", "pstlib", name, "--help"], capture_output=True, text=True
        )
        assert result.returncode == 0
        assert f"example: {cmd.example}" in result.stdout


def test_verify_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    """``pstlib verify`` is ``python -m pstlib.verify``: exit 0 and a JSON report for a sound file."""
    assert main(["verify", "--json", str(corpus_path("pstsdk__test_ansi.pst"))]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["consistent"] is True
    assert main(["verify", "--quick", str(corpus_path("aspose-net__AddingBulkMessagesWithImprovedPerformance.pst"))]) == 1


SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample.pst"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m pstlib ARGS`` as a user runs it."""
    return subprocess.run([sys.executable, "-m", "pstlib", *args], capture_output=True, text=True, check=False)


def test_info_counts_folders_and_messages_of_the_sample() -> None:
    result = run_cli("info", "--json", str(SAMPLE))
    assert result.returncode == 0
    facts = json.loads(result.stdout)
    assert (facts["format"], facts["kind"], facts["crypt"]) == ("unicode", "pst", "permute")
    assert (facts["folders"], facts["messages"], facts["password_protected"]) == (11, 11, False)


def test_ls_lists_the_tree_and_the_messages() -> None:
    result = run_cli("ls", str(SAMPLE), "/Top of Personal Folders/Inbox", "--messages")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "Inbox  (4 messages, 1 unread)"
    assert any("Welcome to the sample store  [0]" in line for line in lines)
    assert any(line.startswith("  Projekte – 2024  (1 messages, 1 unread)") for line in lines)
    as_json = [json.loads(line) for line in run_cli("ls", "--json", str(SAMPLE)).stdout.splitlines()]
    assert [row["path"] for row in as_json][:3] == ["/", "/Top of Personal Folders", "/Top of Personal Folders/Deleted Items"]
    assert sum(row["messages"] for row in as_json) == 11
    missing = run_cli("ls", str(SAMPLE), "/No such folder")
    assert (missing.returncode, missing.stdout) == (2, "")


def test_export_and_attachments_subcommands(tmp_path: Path) -> None:
    """Each export format and the attachment dump, as a user runs them, on the sample store."""
    for to, wanted in (("eml", "*.eml"), ("mbox", "*.mbox"), ("json", "messages.jsonl")):
        out = tmp_path / to
        result = run_cli("export", str(SAMPLE), "--to", to, "--out", str(out), "--json")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert (summary["messages"], summary["failed"]) == (11, [])
        assert list(out.rglob(wanted))
    assert len(list((tmp_path / "eml").rglob("*.eml"))) == 11
    again = run_cli("export", str(SAMPLE), "--to", "eml", "--out", str(tmp_path / "eml"))
    assert again.returncode == 2 and "not empty" in again.stderr
    inbox = run_cli("export", str(SAMPLE), "--to", "eml", "--out", str(tmp_path / "inbox"),
                    "--folder", "/Top of Personal Folders/Inbox")
    assert inbox.returncode == 0
    assert len(list((tmp_path / "inbox").rglob("*.eml"))) == 5  # the Inbox and its subfolder
    attachments = run_cli("attachments", str(SAMPLE), "--out", str(tmp_path / "att"), "--json")
    assert attachments.returncode == 0
    assert json.loads(attachments.stdout)["attachments"] == sum(1 for p in (tmp_path / "att").rglob("*") if p.is_file())


def test_verify_subcommand_as_a_user_runs_it() -> None:
    result = run_cli("verify", str(SAMPLE))
    assert result.returncode == 0
    assert "consistent" in result.stdout


def test_copy_subcommand_on_the_sample(tmp_path: Path) -> None:
    out = tmp_path / "copy.pst"
    result = run_cli("copy", str(SAMPLE), str(out), "--json")
    assert result.returncode == 0, result.stderr
    assert (json.loads(result.stdout)["messages"], json.loads(result.stdout)["skipped"]) == (11, [])
    assert run_cli("verify", str(out)).returncode == 0
    assert run_cli("copy", str(SAMPLE), str(out)).returncode == 2  # exists, no --force


def test_strict_export_stops_with_status_1(tmp_path: Path) -> None:
    """An unreadable item under --strict ends the run with 1 (the input itself was readable)."""
    data = bytearray(SAMPLE.read_bytes())
    with pstlib.open(bytes(data)) as pst:
        (message,) = [m for f in pst.ipm_subtree.walk() for m in f.messages() if m.subject == "Quarterly figures (RTF)"]
        (attachment,) = message.attachments
        node = attachment.properties.value_node(0x3701) or attachment.node
        bid, _ = node.data_block_location(0)
        entry = pst.block_store.entry(bid)
    data[entry.offset + 3] ^= 0xFF  # the block's CRC no longer matches
    damaged = tmp_path / "damaged.pst"
    damaged.write_bytes(bytes(data))
    lenient = run_cli("attachments", str(damaged), "--out", str(tmp_path / "a"))
    strict = run_cli("attachments", str(damaged), "--out", str(tmp_path / "b"), "--strict")
    assert (lenient.returncode, strict.returncode) == (1, 1)
    assert "failed attachment" in lenient.stdout and "CRC" in strict.stderr
