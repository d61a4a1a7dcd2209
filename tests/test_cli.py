"""The ``pstlib`` command: registry, ``info``, exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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
