"""Writing new Unicode PSTs: ``create()`` for a fresh store, ``copy()`` to rewrite any readable one."""

from pstlib.errors import WriterError
from pstlib.writer.copy import CopyReport, Skipped, copy
from pstlib.writer.folder import FolderWriter
from pstlib.writer.message import NewAttachment, NewMessage, NewRecipient
from pstlib.writer.store import PSTWriter, create

__all__ = [
    "CopyReport",
    "FolderWriter", "NewAttachment", "NewMessage", "NewRecipient", "PSTWriter",
    "Skipped",
    "WriterError",
    "copy",
    "create",
]
