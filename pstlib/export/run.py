"""Whole-store exports: messages as EML, mbox, JSON Lines or Parquet, and attachments as files.

Folders become directories under the output directory, named by ``safe_name``
and made unique per directory; the root folder is the output directory
itself.  Search folders are left out (their messages live in other folders).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pstlib.errors import MessagingError, PSTError
from pstlib.export.eml import POLICY, REFERENCE_METHODS, to_email
from pstlib.export.jsonl import message_record, write_jsonl
from pstlib.export.mbox import export_mbox
from pstlib.export.output import OutputTree
from pstlib.export.parquet import write_parquet
from pstlib.export.report import ExportReport, Recorder
from pstlib.messaging.attachment import Attachment
from pstlib.messaging.folder import Folder
from pstlib.messaging.message import Message
from pstlib.pstfile import PSTFile

FORMATS = ("eml", "mbox", "json", "parquet")


def find_folder(pst: PSTFile, folder_path: str) -> Folder:
    """The folder whose ``Folder.path`` is ``folder_path`` (as ``pstlib ls`` prints it)."""
    for folder in pst.root_folder.walk():
        if folder.path == folder_path:
            return folder
    raise LookupError(f"no folder {folder_path!r} in the store")


def _folders(start: Folder, tree: OutputTree, recorder: Recorder) -> Iterator[tuple[Folder, Path]]:
    """``start`` and the folders below it, depth-first, each with its output directory."""
    directory = tree.root
    if start.path != "/":
        directory = tree.claim(tree.root, start.name, fallback=f"folder-{start.nid:x}")
    pending = [(start, directory)]
    seen = {start.nid}
    while pending:
        folder, directory = pending.pop()
        recorder.report.folders += 1
        yield folder, directory
        try:
            children = list(folder.subfolders())
        except PSTError as exc:
            recorder.fail(folder.path, folder.nid, "subfolders", exc)
            continue
        places = []
        for child in children:
            if child.nid in seen:
                recorder.fail(
                    folder.path, child.nid, "folder", MessagingError("folder reached twice")
                )
                continue
            seen.add(child.nid)
            if child.is_search_folder:
                continue
            try:
                name = child.name
            except PSTError as exc:
                recorder.fail(folder.path, child.nid, "folder", exc)
                continue
            places.append((child, tree.claim(directory, name, fallback=f"folder-{child.nid:x}")))
        pending.extend(reversed(places))


def _eml_name(message: Message) -> str:
    """Date and subject: ``2024-03-04 091500 Subject.eml`` (``undated`` without a date)."""
    when = message.delivery_time or message.submit_time or message.creation_time
    stamp = when.strftime("%Y-%m-%d %H%M%S") if when else "undated"
    return f"{stamp} {message.subject or ''}".strip() + ".eml"


def _eml_file(message: Message) -> tuple[bytes, str]:
    return to_email(message).as_bytes(policy=POLICY), _eml_name(message)


def _export_eml(folder: Folder, directory: Path, tree: OutputTree, recorder: Recorder) -> None:
    for message, (data, name) in recorder.converted(folder, _eml_file):
        with tree.create(tree.claim(directory, name, fallback=f"{message.nid:x}.eml")) as handle:
            handle.write(data)


def _mbox_path(directory: Path, tree: OutputTree) -> Path:
    """``<folder>.mbox`` beside the folder's directory (``root.mbox`` for the root folder)."""
    if directory == tree.root:
        return tree.claim(tree.root, "root.mbox", fallback="root.mbox")
    return tree.claim(directory.parent, f"{directory.name}.mbox", fallback="folder.mbox")


def _records(
    folders: Iterator[tuple[Folder, Path]], recorder: Recorder
) -> Iterator[dict[str, Any]]:
    for folder, _ in folders:
        for _, record in recorder.converted(
            folder, lambda m, path=folder.path: message_record(m, path)
        ):
            yield record


def export_store(
    pst: PSTFile,
    out_dir: str | os.PathLike[str],
    to: str,
    *,
    folder_path: str | None = None,
    force: bool = False,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ExportReport:
    """Export every message below ``folder_path`` (default: the whole store) to ``out_dir``.

    ``to`` is ``"eml"`` (one file per message, named from date and subject),
    ``"mbox"`` (one ``<folder>.mbox`` per folder with messages), ``"json"``
    (``messages.jsonl``) or ``"parquet"`` (``messages.parquet``).  Raises
    ``FileExistsError`` for a non-empty ``out_dir`` without ``force``,
    ``LookupError`` for an unknown ``folder_path``, ``ValueError`` for an unknown
    format, and ``PSTError`` only with ``strict``: otherwise unreadable items are
    listed in the report.  ``progress`` is called with 1 per message.
    """
    if to not in FORMATS:
        raise ValueError(f"unknown export format {to!r} (one of {', '.join(FORMATS)})")
    start = find_folder(pst, folder_path) if folder_path else pst.root_folder
    tree = OutputTree(out_dir, force=force)
    report = ExportReport()
    recorder = Recorder(report, strict=strict, progress=progress)
    if to in ("json", "parquet"):
        name, write = (
            ("messages.jsonl", write_jsonl) if to == "json" else ("messages.parquet", write_parquet)
        )
        path = tree.reserve(tree.claim(tree.root, name, fallback=name))
        write(_records(_folders(start, tree, recorder), recorder), path)
        return report
    for folder, directory in _folders(start, tree, recorder):
        if to == "eml":
            _export_eml(folder, directory, tree, recorder)
            continue
        path = tree.reserve(_mbox_path(directory, tree))
        export_mbox(folder, path, strict=strict, progress=progress, report=report)
    return report


def _save_attachment(
    attachment: Attachment, number: int, message: Message, directory: Path, tree: OutputTree
) -> bool:
    """Write one attachment into ``directory``; False for by-reference ones, which have no data."""
    if attachment.is_embedded:
        inner = attachment.message
        if inner is None:
            raise MessagingError("embedded message attachment has no message", nid=attachment.nid)
        data = to_email(inner, depth=1).as_bytes(policy=POLICY)
        name = f"{attachment.filename or inner.subject or 'message'}.eml"
        with tree.create(
            tree.claim(directory, name, fallback=f"message-{message.nid:x}-{number}.eml")
        ) as handle:
            handle.write(data)
        return True
    if attachment.method in REFERENCE_METHODS:
        return False
    fallback = f"attachment-{message.nid:x}-{number}"
    with (
        attachment.open() as source,
        tree.create(tree.claim(directory, attachment.filename, fallback=fallback)) as handle,
    ):
        shutil.copyfileobj(source, handle)
    return True


def export_attachments(
    pst: PSTFile,
    out_dir: str | os.PathLike[str],
    *,
    force: bool = False,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ExportReport:
    """Save every attachment in the store as a file (embedded messages as .eml) in directories
    mirroring the folders; by-reference attachments, which the store holds no data for, are
    left out.  Errors and ``progress`` as for ``export_store``."""
    tree = OutputTree(out_dir, force=force)
    report = ExportReport()
    recorder = Recorder(report, strict=strict, progress=progress)
    for folder, directory in _folders(pst.root_folder, tree, recorder):
        for message, attachments in recorder.converted(folder, lambda m: m.attachments):
            for number, attachment in enumerate(attachments, 1):
                try:
                    report.attachments += int(
                        _save_attachment(attachment, number, message, directory, tree)
                    )
                except PSTError as exc:
                    recorder.fail(folder.path, message.nid, f"attachment {number}", exc)
    return report
