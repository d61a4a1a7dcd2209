"""The documentation site builds cleanly, and the CLI reference keeps up with the CLI."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pstlib.cli import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parent.parent
CLI_MD = ROOT / "docs" / "cli.md"


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    """``mkdocs build --strict``: no broken links, no griffe or mkdocstrings warnings."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("mkdocstrings_handlers.python")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "cli" / "index.html").is_file()
    assert (tmp_path / "site" / "api" / "index.html").is_file()


def _sections() -> dict[str, str]:
    """docs/cli.md's text under each "## name" heading."""
    parts = re.split(r"^## (.+)$", CLI_MD.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2])}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_cli_reference_has_every_command_and_its_example(name: str) -> None:
    sections = _sections()
    assert name in sections, f"docs/cli.md has no '## {name}' section"
    lines = [line.strip() for line in sections[name].splitlines()]
    assert COMMANDS[name].example in lines, (
        f"docs/cli.md's '{name}' section lacks its example line"
    )


@pytest.mark.parametrize("name", list(COMMANDS))
def test_cli_reference_help_is_current(name: str) -> None:
    """The section holds the subcommand's real ``--help``, compared whitespace-insensitively
    so the terminal width does not matter.

    To refresh: ``COLUMNS=80 python -m pstlib NAME --help``.
    """
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        build_parser().parse_args([name, "--help"])
    expected = " ".join(out.getvalue().split())
    section = " ".join(_sections().get(name, "").split())
    assert expected in section, (
        f"docs/cli.md's '{name}' section is not the current `pstlib {name} --help`"
    )
