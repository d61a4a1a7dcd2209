"""Writing new Unicode PSTs: ``create()`` for a fresh store."""

from pstlib.errors import WriterError
from pstlib.writer.folder import FolderWriter
from pstlib.writer.message import NewAttachment, NewMessage, NewRecipient
from pstlib.writer.store import PSTWriter, create

__all__ = ["FolderWriter", "NewAttachment", "NewMessage", "NewRecipient", "PSTWriter", "WriterError", "create"]
