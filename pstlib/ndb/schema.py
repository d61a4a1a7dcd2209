"""Bridges from construct declarations to the fast parsers of the hot path.

Each on-disk structure is declared once, with construct.  Fixed-size records
read by the thousand (B-tree entries, trailers) are then parsed through a
``struct.Struct`` or numpy dtype derived here from that declaration, so there
is never a second hand-written layout to drift from the first.
"""

from __future__ import annotations

import struct
from collections import namedtuple
from collections.abc import Callable
from typing import Any

import construct
import numpy as np

from pstlib.errors import NDBError, PSTError

# struct format characters to numpy types of the same width ("L" is 4 bytes in
# a struct format but the platform's long, 8 bytes, to numpy).
_NUMPY_CODES = {
    "B": "u1", "H": "u2", "L": "u4", "I": "u4", "Q": "u8",
    "b": "i1", "h": "i2", "l": "i4", "i": "i4", "q": "i8",
    "e": "f2", "f": "f4", "d": "f8",
}


def _fields(declaration: construct.Construct) -> list[tuple[str, construct.Construct]]:
    if not isinstance(declaration, construct.Struct):
        raise TypeError(f"not a fixed construct Struct: {declaration!r}")
    fields = []
    for sub in declaration.subcons:
        if sub.name is None:
            raise TypeError(f"unnamed field in {declaration!r}")
        fields.append((sub.name, sub.subcon if isinstance(sub, construct.Renamed) else sub))
    return fields


def numpy_dtype(declaration: construct.Construct) -> np.dtype:
    """The structured dtype with the same names, widths and offsets."""
    spec: list[tuple[Any, ...]] = []
    for name, field in _fields(declaration):
        if isinstance(field, construct.FormatField):
            spec.append((name, np.dtype(field.fmtstr[0] + _NUMPY_CODES[field.fmtstr[1]])))
        elif isinstance(field, construct.Struct):
            spec.append((name, numpy_dtype(field)))
        elif isinstance(field, construct.Bytes) and isinstance(field.length, int):
            spec.append((name, np.dtype(f"V{field.length}")))
        else:
            raise TypeError(f"field {name!r} has no fixed numpy equivalent")
    dtype = np.dtype(spec)
    if dtype.itemsize != declaration.sizeof():
        raise TypeError("numpy dtype and construct declaration disagree in size")
    return dtype


def _is_array(field: construct.Construct) -> bool:
    """An Array of a fixed count of plain numbers (TCINFO's rgib)."""
    return isinstance(field, construct.Array) and isinstance(field.count, int) and isinstance(field.subcon, construct.FormatField)


def record_reader(declaration: construct.Construct, name: str) -> Callable[[bytes | memoryview, int], tuple]:
    """``read(data, offset)``: the declaration's top-level fields as a named tuple, through
    ``struct`` (an Array field comes out as a tuple).  Callers check the length first."""
    fields = _fields(declaration)
    packed = struct_format(declaration)
    record = namedtuple(name, [field_name for field_name, _ in fields])  # type: ignore[misc]
    widths = [field.count if _is_array(field) else 1 for _, field in fields]
    if all(width == 1 for width in widths):
        return lambda data, offset=0: record._make(packed.unpack_from(data, offset))

    def read(data: bytes | memoryview, offset: int = 0) -> tuple:
        flat = packed.unpack_from(data, offset)
        values, at = [], 0
        for width in widths:
            values.append(flat[at] if width == 1 else flat[at : at + width])
            at += width
        return record._make(values)

    return read


def struct_format(
    declaration: construct.Construct, skip: frozenset[str] = frozenset(), stride: int | None = None
) -> struct.Struct:
    """A ``struct.Struct`` unpacking the flattened fields in declaration order.

    Fields named in ``skip`` (padding) become pad bytes, left out of what it unpacks;
    ``stride`` widens each record with trailing pad bytes (a B-tree page's cbEnt).
    """

    def codes(decl: construct.Construct) -> str:
        out = ""
        for name, field in _fields(decl):
            if name in skip:
                out += f"{field.sizeof()}x"
            elif isinstance(field, construct.FormatField):
                out += field.fmtstr[1:]
            elif isinstance(field, construct.Struct):
                out += codes(field)
            elif isinstance(field, construct.Bytes) and isinstance(field.length, int):
                out += f"{field.length}s"
            elif _is_array(field):
                out += field.subcon.fmtstr[1:] * field.count
            else:
                raise TypeError(f"field {name!r} has no fixed struct equivalent")
        return out

    size = declaration.sizeof()
    tail = f"{stride - size}x" if stride is not None and stride > size else ""
    packed = struct.Struct("<" + codes(declaration) + tail)
    if packed.size != max(size, stride or 0):
        raise TypeError("struct format and construct declaration disagree in size")
    return packed


def field_names(declaration: construct.Construct, skip: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The names of what ``struct_format(declaration, skip)`` unpacks, in order."""
    names: list[str] = []
    for name, field in _fields(declaration):
        if name in skip:
            continue
        if isinstance(field, construct.Struct):
            names.extend(field_names(field, skip))
        elif _is_array(field):
            names.extend(f"{name}[{index}]" for index in range(field.count))
        else:
            names.append(name)
    return tuple(names)


def parse(
    declaration: construct.Construct,
    data: bytes,
    *,
    offset: int | None = None,
    error: type[PSTError] = NDBError,
    what: str = "structure",
) -> construct.Container:
    """Parse with construct, turning every construct failure into a pstlib error."""
    try:
        return declaration.parse(data)
    except construct.ConstructError as exc:
        raise error(f"malformed {what}: {exc}", offset=offset) from None
