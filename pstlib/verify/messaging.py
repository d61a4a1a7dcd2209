"""Messaging checks: mandatory nodes, folder tables against the NBT, stored counts."""

from __future__ import annotations

from pstlib.pstfile import PSTFile
from pstlib.verify.report import Report


def check_folders(pst: PSTFile, report: Report) -> None:
    """Walk the folder tree (the full checks are added in a later commit)."""
    for folder in pst.root_folder.walk():
        report.stats.folders += 1
        report.stats.messages += sum(1 for _ in folder.messages())
