"""What an export wrote, which items it could not read, and the recorder that keeps count."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from pstlib.errors import PSTError
from pstlib.messaging.folder import Folder
from pstlib.messaging.message import Message

T = TypeVar("T")


@dataclass(frozen=True)
class FailedItem:
    """An item left out: its folder's path, its node (the message's, or the folder's for
    folder-level failures), what it was, and pstlib's reason."""

    folder: str
    nid: int
    what: str
    reason: str


@dataclass
class ExportReport:
    """Counts of what was exported and the items that failed.

    ``messages`` counts messages exported (read, for ``export_attachments``);
    ``attachments`` counts attachment files written by ``export_attachments``.
    """

    folders: int = 0
    messages: int = 0
    attachments: int = 0
    failed: list[FailedItem] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failed


class Recorder:
    """Fills a report: an unreadable item (``PSTError``) is listed and skipped, or with
    ``strict`` ends the export; ``progress`` is called with 1 per message."""

    def __init__(
        self,
        report: ExportReport,
        *,
        strict: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.report = report
        self.strict = strict
        self.progress = progress

    def fail(self, folder: str, nid: int, what: str, error: PSTError) -> None:
        if self.strict:
            raise error
        self.report.failed.append(FailedItem(folder, nid, what, error.message))

    def _messages(self, folder: Folder) -> Iterator[Message]:
        try:
            yield from folder.messages()
        except PSTError as exc:
            self.fail(folder.path, folder.nid, "contents table", exc)

    def converted(
        self, folder: Folder, convert: Callable[[Message], T]
    ) -> Iterator[tuple[Message, T]]:
        """Each message of ``folder`` that ``convert`` reads without error, with the result,
        counted as exported once yielded."""
        for message in self._messages(folder):
            try:
                result = convert(message)
            except PSTError as exc:
                self.fail(folder.path, message.nid, "message", exc)
                continue
            finally:
                if self.progress:
                    self.progress(1)
            self.report.messages += 1
            yield message, result
