"""Python values to the bytes a PC or TC stores: the inverse of ``ltp.proptypes.decode``."""

from __future__ import annotations

import struct
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from pstlib.errors import WriterError
from pstlib.ltp.proptypes import FIXED_SIZES, MULTIPLE, SCALAR_STRUCTS, PropertyType

_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)
_OLE_EPOCH = datetime(1899, 12, 30, tzinfo=timezone.utc)



def tag_of(prop_id: int, ptype: int) -> int:
    """The 32-bit property tag of an id and a type."""
    return (int(prop_id) << 16) | int(ptype)


def filetime_of(value: datetime) -> int:
    """A FILETIME (100 ns since 1601 UTC); a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    delta = value - _FILETIME_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def _signed(ptype: int, value: int) -> int:
    """Accept an unsigned spelling of a negative number (flags are often written so);
    refuse what fits neither."""
    bits = {PropertyType.INTEGER16: 16, PropertyType.INTEGER32: 32, PropertyType.INTEGER64: 64}[ptype]
    if not -(1 << (bits - 1)) <= value < 1 << bits:
        raise ValueError(f"{value} does not fit {bits} bits")
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def _scalar(ptype: int, value: Any) -> bytes:
    if ptype == PropertyType.GUID:
        raw = value.bytes_le if isinstance(value, uuid.UUID) else value
        if not isinstance(raw, (bytes, bytearray, memoryview)) or len(raw) != 16:
            raise ValueError("a GUID is a uuid.UUID or 16 bytes")
        return bytes(raw)
    if ptype == PropertyType.TIME and isinstance(value, datetime):
        value = filetime_of(value)
    elif ptype == PropertyType.FLOATING_TIME and isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = (value - _OLE_EPOCH).total_seconds() / 86_400
    elif ptype == PropertyType.CURRENCY and not isinstance(value, int):
        value = int(Decimal(value).scaleb(4))
    elif ptype in (PropertyType.INTEGER16, PropertyType.INTEGER32, PropertyType.INTEGER64):
        value = _signed(ptype, int(value))
    elif ptype == PropertyType.BOOLEAN:
        value = 1 if value else 0
    return SCALAR_STRUCTS[ptype].pack(value)


def _string(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-16-le", "surrogatepass")


def encode_value(ptype: int, value: Any) -> bytes:
    """The stored bytes of ``value`` as a property of type ``ptype``.

    Bytes are taken as already stored (so a copy can pass values through);
    ``str`` for PtypString8 is written as cp1252, with the replacement character where needed.
    """
    try:
        if isinstance(value, (bytes, bytearray, memoryview)) and ptype not in (
            PropertyType.GUID,
            PropertyType.STRING,
        ):
            return bytes(value)
        if ptype in SCALAR_STRUCTS or ptype == PropertyType.GUID:
            return _scalar(ptype, value)
        if ptype == PropertyType.STRING:
            return _string(value)
        if ptype == PropertyType.STRING8:
            return value.encode("cp1252", "replace")
        if ptype & MULTIPLE:
            return _multiple(ptype & ~MULTIPLE, value)
        if ptype in (PropertyType.NULL, PropertyType.UNSPECIFIED):
            return b""
    except (struct.error, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise WriterError(f"{value!r} cannot be stored as type 0x{ptype:04X}: {exc}") from None
    raise WriterError(f"a {type(value).__name__} cannot be stored as type 0x{ptype:04X}")


def _multiple(base: int, values: Sequence[Any]) -> bytes:
    """Fixed-size items back to back; variable-size ones after a count and offsets ([MS-PST] 2.3.3.4)."""
    if base in FIXED_SIZES:
        return b"".join(_scalar(base, v) for v in values)
    if base == PropertyType.STRING:
        parts = [_string(v) for v in values]
    elif base == PropertyType.STRING8:
        parts = [v if isinstance(v, bytes) else v.encode("cp1252", "replace") for v in values]
    else:
        parts = [bytes(v) for v in values]
    offsets, at = [], 4 + 4 * len(parts)
    for part in parts:
        offsets.append(at)
        at += len(part)
    return struct.pack(f"<I{len(parts)}I", len(parts), *offsets) + b"".join(parts)
