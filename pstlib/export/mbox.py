"""A folder's messages as one mbox file (``mailbox.mbox``), each converted by ``eml.to_email``.

Messages are written with LF line ends, as mbox readers expect; the ``From `` line
carries the sender's address (or MAILER-DAEMON) and the message's date in UTC.
"""

from __future__ import annotations

import mailbox
import os
import re
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from pstlib.export.eml import POLICY, to_email
from pstlib.export.report import ExportReport, Recorder
from pstlib.messaging.folder import Folder
from pstlib.messaging.message import Message

MBOX_POLICY = POLICY.clone(linesep="\n")
_PLAIN_ADDRESS = re.compile(r"[!-~]+@[!-~]+")


def _from_line(message: Message) -> bytes:
    sender = message.sender_email or ""
    when = message.submit_time or message.delivery_time or message.creation_time
    stamp = time.asctime(when.utctimetuple()) if when else time.asctime(time.gmtime(0))
    return (
        f"From {sender if _PLAIN_ADDRESS.fullmatch(sender) else 'MAILER-DAEMON'} {stamp}\n".encode()
    )


def _mbox_entry(message: Message) -> bytes:
    converted: EmailMessage = to_email(message)
    return _from_line(message) + converted.as_bytes(policy=MBOX_POLICY)


def export_mbox(
    folder: Folder,
    path: str | os.PathLike[str],
    *,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
    report: ExportReport | None = None,
) -> ExportReport:
    """Write ``folder``'s messages (not its subfolders') to a new mbox at ``path``.

    The file is created with the first message that converts, so a folder with none
    leaves no file.  Unreadable messages are listed in the report (``report`` if given).
    """
    path = Path(path)
    if path.exists() or path.is_symlink():
        raise FileExistsError(f"{path} exists")
    report = report if report is not None else ExportReport()
    box: mailbox.mbox | None = None
    try:
        for _, entry in Recorder(report, strict=strict, progress=progress).converted(
            folder, _mbox_entry
        ):
            if box is None:
                box = mailbox.mbox(path, create=True)
            box.add(entry)
    finally:
        if box is not None:
            box.close()
    return report
