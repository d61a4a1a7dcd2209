"""File names from untrusted folder, subject and attachment names.

Names in a PST are whatever the sender or a hostile tool wrote: ``../x``,
``/etc/passwd``, ``CON``, control characters, 300-byte names.  Each becomes
one portable path component (valid on Linux, macOS and Windows) before it
touches the file system, and collisions are resolved without ever leaving
the output directory.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f"  # C0, DEL, C1 controls
    '/\\\\<>:"|?*'  # separators, and the characters Windows refuses
    "\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidirectional marks: they disguise extensions
    "\u2028\u2029"  # line and paragraph separators
    "\ud800-\udfff]"  # lone surrogates (pstlib decodes UTF-16 with surrogatepass)
)
_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in "123456789\u00b9\u00b2\u00b3"]
)
"""Windows device names, reserved with any extension ("con.txt") and in any case."""
_MAX_EXTENSION = 16
"""Longer suffixes after the last dot are part of the name, not an extension to keep."""


def _split_extension(name: str) -> tuple[str, str]:
    stem, extension = os.path.splitext(name)
    if len(extension) > _MAX_EXTENSION or " " in extension:
        return name, ""
    return stem, extension


def _truncate(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 fits ``max_bytes`` (whole code points only)."""
    return text.encode("utf-8")[: max(max_bytes, 0)].decode("utf-8", errors="ignore")


def _bound(name: str, max_length: int) -> str:
    """``name`` cut to ``max_length`` UTF-8 bytes, shortening the stem to keep the extension."""
    if len(name.encode("utf-8")) <= max_length:
        return name
    stem, extension = _split_extension(name)
    room = max_length - len(extension.encode("utf-8"))
    if extension and room > 0:
        return _truncate(stem, room).rstrip(". ") + extension
    return _truncate(name, max_length)


def _is_device(name: str) -> bool:
    return name.split(".", 1)[0].rstrip(" ").upper() in _DEVICES


def safe_name(name: str | None, *, fallback: str, max_length: int = 120) -> str:
    """``name`` as one safe path component, or ``fallback`` (itself made safe) when nothing is left.

    NFC-normalised; separators, controls and Windows-reserved characters become
    ``_``; no trailing dots or spaces (so no ``.`` or ``..``); Windows device
    names get a ``_`` prefix; at most ``max_length`` bytes of UTF-8.
    """
    text = _UNSAFE.sub("_", unicodedata.normalize("NFC", name or ""))
    text = _bound(text.strip(" ").rstrip(". "), max_length).rstrip(". ")
    if _is_device(text):
        text = _bound("_" + text, max_length)
    return text or safe_name(fallback, fallback="_", max_length=max_length)


def unique_path(directory: Path, name: str, taken: set[str]) -> Path:
    """``directory / name``, or ``name (2)``, ``name (3)``... before the extension when a name
    already in ``taken`` equals it ignoring case (as on Windows and macOS); the result is added
    to ``taken``.  ``name`` must be a ``safe_name``; a path outside ``directory`` is refused.
    """
    stem, extension = _split_extension(name)
    candidate, number = name, 1
    while candidate.casefold() in taken:
        number += 1
        candidate = f"{stem} ({number}){extension}"
    path = directory / candidate
    if path.resolve().parent != directory.resolve():
        raise ValueError(f"{name!r} does not name a file directly inside {directory}")
    taken.add(candidate.casefold())
    return path
