"""Property types of [MS-OXCDATA] 2.11.1 and how their stored bytes decode.

``decode`` turns the bytes a PC or TC holds for a property into a Python
value: ints, floats, ``Decimal`` (currency), timezone-aware ``datetime``
(``None`` where a FILETIME is outside ``datetime``'s range), ``uuid.UUID``,
``str`` and ``bytes``, and lists of them for the multi-valued types.
"""

from __future__ import annotations

import math
import struct
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from enum import IntEnum
from typing import Any

from pstlib.errors import PropertyValueError
from pstlib.ltp.codepage import codec_for


class PropertyType(IntEnum):
    """PropertyType values, [MS-OXCDATA] 2.11.1."""

    UNSPECIFIED = 0x0000
    NULL = 0x0001
    INTEGER16 = 0x0002
    INTEGER32 = 0x0003
    FLOATING32 = 0x0004
    FLOATING64 = 0x0005
    CURRENCY = 0x0006
    FLOATING_TIME = 0x0007
    ERROR_CODE = 0x000A
    BOOLEAN = 0x000B
    OBJECT = 0x000D
    INTEGER64 = 0x0014
    STRING8 = 0x001E
    STRING = 0x001F
    TIME = 0x0040
    GUID = 0x0048
    SERVER_ID = 0x00FB
    RESTRICTION = 0x00FD
    RULE_ACTION = 0x00FE
    BINARY = 0x0102
    MULTIPLE_INTEGER16 = 0x1002
    MULTIPLE_INTEGER32 = 0x1003
    MULTIPLE_FLOATING32 = 0x1004
    MULTIPLE_FLOATING64 = 0x1005
    MULTIPLE_CURRENCY = 0x1006
    MULTIPLE_FLOATING_TIME = 0x1007
    MULTIPLE_INTEGER64 = 0x1014
    MULTIPLE_STRING8 = 0x101E
    MULTIPLE_STRING = 0x101F
    MULTIPLE_TIME = 0x1040
    MULTIPLE_GUID = 0x1048
    MULTIPLE_BINARY = 0x1102


MULTIPLE = 0x1000

FIXED_SIZES: dict[int, int] = {
    PropertyType.NULL: 0,
    PropertyType.INTEGER16: 2,
    PropertyType.INTEGER32: 4,
    PropertyType.FLOATING32: 4,
    PropertyType.FLOATING64: 8,
    PropertyType.CURRENCY: 8,
    PropertyType.FLOATING_TIME: 8,
    PropertyType.ERROR_CODE: 4,
    PropertyType.BOOLEAN: 1,
    PropertyType.INTEGER64: 8,
    PropertyType.TIME: 8,
    PropertyType.GUID: 16,
}
"""Bytes of each fixed-size type; every other type is variable-size."""

_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)
_OLE_EPOCH = datetime(1899, 12, 30)


def filetime(value: int) -> datetime | None:
    """A FILETIME (100 ns ticks since 1601, UTC) as an aware datetime, or None if out of range."""
    try:
        return _FILETIME_EPOCH + timedelta(microseconds=value // 10)
    except OverflowError:
        return None


def floating_time(value: float) -> datetime | None:
    """A PtypFloatingTime (OLE automation date) as a naive datetime, or None if out of range.

    The whole part counts days from 1899-12-30 and the fraction's absolute value is
    the time of day, so -1.25 is 1899-12-29 06:00 (not 1899-12-28 18:00).
    """
    try:
        whole = math.trunc(value)
        return _OLE_EPOCH + timedelta(days=whole) + timedelta(days=abs(value - whole))
    except (OverflowError, ValueError):
        return None


def _strip_nul(text: str) -> str:
    end = len(text)
    while end and text[end - 1] == "\0":
        end -= 1
    return text[:end]


def decode_string8(raw: bytes, codepage: int) -> str:
    """PtypString8 in the object's code page, [MS-OXCDATA] 2.11.1."""
    return _strip_nul(raw.decode(codec_for(codepage), errors="replace"))


def decode_string(raw: bytes) -> str:
    """PtypString: UTF-16LE; an odd trailing byte is dropped."""
    return _strip_nul(raw[: len(raw) & ~1].decode("utf-16-le", errors="surrogatepass"))


_SCALARS: dict[int, tuple[struct.Struct, Callable[[Any], Any]]] = {
    PropertyType.INTEGER16: (struct.Struct("<h"), int),
    PropertyType.INTEGER32: (struct.Struct("<i"), int),
    PropertyType.FLOATING32: (struct.Struct("<f"), float),
    PropertyType.FLOATING64: (struct.Struct("<d"), float),
    PropertyType.CURRENCY: (struct.Struct("<q"), lambda v: Decimal(v).scaleb(-4)),
    PropertyType.FLOATING_TIME: (struct.Struct("<d"), floating_time),
    PropertyType.ERROR_CODE: (struct.Struct("<I"), int),
    PropertyType.BOOLEAN: (struct.Struct("<B"), bool),
    PropertyType.INTEGER64: (struct.Struct("<q"), int),
    PropertyType.TIME: (struct.Struct("<Q"), filetime),
}
SCALAR_STRUCTS: dict[int, struct.Struct] = {ptype: packed for ptype, (packed, _) in _SCALARS.items()}
"""How each fixed-size scalar type is stored (the writer packs with the same)."""


def _scalar(ptype: int, raw: bytes) -> Any:
    if ptype == PropertyType.GUID:
        if len(raw) != 16:
            raise ValueError(f"a GUID is 16 bytes, not {len(raw)}")
        return uuid.UUID(bytes_le=bytes(raw))
    packed, convert = _SCALARS[ptype]
    if len(raw) < packed.size:
        raise ValueError(f"{PropertyType(ptype).name} needs {packed.size} bytes, has {len(raw)}")
    return convert(packed.unpack_from(raw)[0])


def _variable_parts(raw: bytes) -> list[bytes]:
    """The items of a variable-size multi-valued property, [MS-PST] 2.3.3.4.2."""
    if len(raw) < 4:
        raise ValueError("multi-valued property shorter than its count")
    (count,) = struct.unpack_from("<I", raw)
    if 4 + 4 * count > len(raw):
        raise ValueError(f"multi-valued property claims {count} items, more than fit")
    offsets = [*struct.unpack_from(f"<{count}I", raw, 4), len(raw)]
    parts = []
    for start, end in zip(offsets, offsets[1:]):
        if not 4 + 4 * count <= start <= end <= len(raw):
            raise ValueError("multi-valued property offsets out of order")
        parts.append(raw[start:end])
    return parts


def decode(ptype: int, raw: bytes, codepage: int = 1252) -> Any:
    """The Python value of a property of type ``ptype`` stored as ``raw``.

    Raises ``LTPError`` where the bytes cannot be of that type; unknown types
    and the opaque ones (Object, ServerId, Restriction, RuleAction) stay bytes.
    """
    try:
        if ptype in _SCALARS or ptype == PropertyType.GUID:
            return _scalar(ptype, raw)
        if ptype == PropertyType.STRING:
            return decode_string(raw)
        if ptype == PropertyType.STRING8:
            return decode_string8(raw, codepage)
        if ptype in (PropertyType.NULL, PropertyType.UNSPECIFIED):
            return None
        if ptype & MULTIPLE:
            base = ptype & ~MULTIPLE
            size = FIXED_SIZES.get(base)
            if size:
                if len(raw) % size:
                    raise ValueError(f"{len(raw)} bytes is not a whole number of {size}-byte items")
                return [_scalar(base, raw[i:i + size]) for i in range(0, len(raw), size)]
            parts = _variable_parts(raw)
            if base == PropertyType.STRING:
                return [decode_string(p) for p in parts]
            if base == PropertyType.STRING8:
                return [decode_string8(p, codepage) for p in parts]
            return [bytes(p) for p in parts]
        return bytes(raw)
    except ValueError as exc:
        raise PropertyValueError(f"property of type 0x{ptype:04X} does not decode: {exc}") from None
