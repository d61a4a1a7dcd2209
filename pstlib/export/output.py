"""The export's output directory: every file inside it, under a safe and unique name,
and nothing overwritten unless asked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from pstlib.export.names import safe_name, unique_path


class OutputTree:
    """Names claimed per directory, files created only below ``root``.

    Without ``force`` an existing, non-empty ``root`` is refused up front (nothing is
    written); with it, files of the same names are replaced (links are removed, never
    followed) and other files are left alone.
    """

    def __init__(self, root: str | os.PathLike[str], *, force: bool = False) -> None:
        root = Path(root)
        if not force and root.is_dir() and any(root.iterdir()):
            raise FileExistsError(f"{root} is not empty (force replaces what the export writes)")
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()
        self.force = force
        self._taken: dict[Path, set[str]] = {}

    def claim(self, directory: Path, name: str | None, *, fallback: str) -> Path:
        """A path in ``directory`` for the untrusted ``name``, unique in the export."""
        taken = self._taken.setdefault(directory, set())
        return unique_path(directory, safe_name(name, fallback=fallback), taken)

    def reserve(self, path: Path) -> Path:
        """Make ``path``'s directories and clear the way for a new file there (with ``force``)."""
        if not path.resolve().is_relative_to(self.root):
            raise ValueError(f"{path} is outside the output directory {self.root}")
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.force and (path.is_symlink() or path.is_file()):
            path.unlink()
        return path

    @contextmanager
    def create(self, path: Path) -> Iterator[BinaryIO]:
        """A new file at ``path`` to write; removed again if writing it fails."""
        with open(self.reserve(path), "xb") as handle:
            try:
                yield handle
            except BaseException:
                handle.close()
                path.unlink(missing_ok=True)
                raise
