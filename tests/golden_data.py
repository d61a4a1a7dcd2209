"""Loader for the golden hex dumps under tests/golden/.

The files are transcriptions of the annotated binary dumps in [MS-PST]
section 3 ("Structure Examples").  Format of a ``.hex`` file:

* lines starting with ``#`` are comments;
* ``# expect: key=value key=value ...`` comment lines state field values
  that the spec's annotation (or the dump itself) gives; values never
  contain spaces;
* every other non-blank line is ``<offset> <hex bytes>``: the offset is the
  file offset the spec prints (hex), followed by up to 16 two-digit hex
  bytes, optionally with the spec's ``-`` between byte 7 and byte 8.  Rows
  must be contiguous (each row's offset = previous offset + previous row
  length); a gap would mean a missing row, so it raises ``ValueError``.
"""

from __future__ import annotations

import re
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"

_HEX_BYTE = re.compile(r"^[0-9A-Fa-f]{2}$")
_OFFSET = re.compile(r"^[0-9A-Fa-f]+$")


def golden_path(name: str) -> Path:
    """Path of a golden file; ``name`` may omit the ``.hex`` suffix."""
    if not name.endswith(".hex"):
        name += ".hex"
    return GOLDEN_DIR / name


def golden_names() -> list[str]:
    """Names (without suffix) of all golden hex files."""
    return sorted(p.stem for p in GOLDEN_DIR.glob("*.hex"))


def _rows(name: str):
    path = golden_path(name)
    for lineno, raw in enumerate(path.read_text(encoding="ascii").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.replace("-", " ").split()
        offset, tokens = fields[0], fields[1:]
        if not _OFFSET.match(offset):
            raise ValueError(f"{path.name}:{lineno}: bad offset {offset!r}")
        if not tokens or len(tokens) > 16:
            raise ValueError(f"{path.name}:{lineno}: expected 1..16 bytes, got {len(tokens)}")
        for tok in tokens:
            if not _HEX_BYTE.match(tok):
                raise ValueError(f"{path.name}:{lineno}: bad hex byte {tok!r}")
        yield lineno, int(offset, 16), bytes(int(t, 16) for t in tokens)


def load_hex_with_base(name: str) -> tuple[int, bytes]:
    """Return ``(file_offset_of_first_byte, data)`` for a golden file."""
    base = None
    out = bytearray()
    for lineno, offset, chunk in _rows(name):
        if base is None:
            base = offset
        elif offset != base + len(out):
            raise ValueError(
                f"{golden_path(name).name}:{lineno}: row offset {offset:#x} is not contiguous "
                f"(expected {base + len(out):#x})"
            )
        out += chunk
    if base is None:
        raise ValueError(f"{golden_path(name).name}: no data rows")
    return base, bytes(out)


def load_hex(name: str) -> bytes:
    """The bytes of a golden dump (comments and the offset column dropped)."""
    return load_hex_with_base(name)[1]


def expectations(name: str) -> dict[str, str]:
    """Key/value strings from the ``# expect:`` lines of a golden file.

    A key given twice raises ``ValueError``.
    """
    result: dict[str, str] = {}
    path = golden_path(name)
    for lineno, raw in enumerate(path.read_text(encoding="ascii").splitlines(), 1):
        line = raw.strip()
        if not line.startswith("#"):
            continue
        body = line[1:].strip()
        if not body.startswith("expect:"):
            continue
        for token in body[len("expect:"):].split():
            key, sep, value = token.partition("=")
            if not sep or not key:
                raise ValueError(f"{path.name}:{lineno}: malformed expectation {token!r}")
            if key in result:
                raise ValueError(f"{path.name}:{lineno}: duplicate expectation key {key!r}")
            result[key] = value
    return result


def crc32_pst(data: bytes) -> int:
    """[MS-PST] section 5.3 CRC: CRC-32 (poly 0xEDB88320) with initial value 0, no final xor.

    Equal to ``zlib.crc32(data, 0xFFFFFFFF) ^ 0xFFFFFFFF``.
    """
    import zlib

    return zlib.crc32(data, 0xFFFFFFFF) ^ 0xFFFFFFFF
