"""pst-extractor (the npm library) reads what pstlib writes: folders, messages, attachments.

pst-extractor is the writer issue's fourth oracle; it is the strictest about
heap layout (it expects a heap's BTHHEADER at HID 0x20, as Outlook writes it).
`.ci/run` installs it under ``~/.cache/pstlib-npm``; without node or the
package these tests skip.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

import pstlib
from pstlib.writer import NewAttachment, NewMessage, NewRecipient

MODULES = Path(os.environ.get("PSTLIB_NPM", Path.home() / ".cache" / "pstlib-npm")) / "node_modules"
SCRIPT = Path(__file__).parent / "oracles" / "pst_extractor_walk.js"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (MODULES / "pst-extractor").is_dir(),
    reason="node or the pst-extractor package is not installed",
)


def extract(path: Path) -> dict[str, dict]:
    """pst-extractor's view of a file: folder path -> {count, messages}."""
    result = subprocess.run(
        ["node", str(SCRIPT), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(MODULES)},
        check=True,
    )
    return {row["path"]: row for row in map(json.loads, result.stdout.splitlines())}


@pytest.mark.parametrize("crypt", ["none", "permute"])
def test_pst_extractor_reads_a_written_store(tmp_path: Path, crypt: str) -> None:
    path = tmp_path / "out.pst"
    blob = bytes(range(256)) * 200  # 51,200 bytes: a data tree of seven blocks
    with pstlib.create(path, crypt=crypt) as writer:
        inbox = writer.root_folder.add_folder("Inbox")
        for i in range(12):
            inbox.add_message(
                subject=f"message {i} ✓",
                body="text " * i,
                sender_name="Alice",
                sender_email="alice@example.com",
                delivery_time=datetime(2024, 5, 1 + i, tzinfo=timezone.utc),
                recipients=[NewRecipient("Bob", "bob@example.com"), NewRecipient("Cy", "cy@example.com", "cc")][: i % 3],
                attachments=[NewAttachment("blob.bin", io.BytesIO(blob))] if i % 4 == 0 else [],
            )
        inbox.add_folder("Archive").add_message(
            subject="carrier", attachments=[NewAttachment(message=NewMessage(subject="inner", body="inside"))]
        )
    seen = extract(path)
    assert set(seen) >= {"/Top of Personal Folders/Inbox", "/Top of Personal Folders/Inbox/Archive"}
    inbox_seen = seen["/Top of Personal Folders/Inbox"]
    assert inbox_seen["count"] == 12
    assert [m["subject"] for m in inbox_seen["messages"]] == [f"message {i} ✓" for i in range(12)]
    assert [m["body"] for m in inbox_seen["messages"]] == [len("text " * i) for i in range(12)]
    assert [m["recipients"] for m in inbox_seen["messages"]] == [i % 3 for i in range(12)]
    assert [m["attachments"] for m in inbox_seen["messages"]] == [
        [{"name": "blob.bin", "size": len(blob)}] if i % 4 == 0 else [] for i in range(12)
    ]
    assert {m["sender"] for m in inbox_seen["messages"]} == {"Alice"}
    assert seen["/Top of Personal Folders/Inbox/Archive"]["messages"][0]["subject"] == "carrier"


def test_pst_extractor_refuses_cyclic_encoding(tmp_path: Path) -> None:
    """pst-extractor 1.12 has no CryptCyclic ([MS-PST] 5.2): it refuses such files outright,
    even though pstlib, pypff and readpst read them (tested in test_writer)."""
    path = tmp_path / "cyclic.pst"
    with pstlib.create(path, crypt="cyclic") as writer:
        writer.root_folder.add_folder("Inbox").add_message(subject="x", body="hello")
    with pytest.raises(subprocess.CalledProcessError) as failed:
        extract(path)
    assert "PST is encrypted" in failed.value.stderr
