"""The table context of [MS-PST] 2.3.4: rows of properties in a node's heap.

TCINFO lists the columns (TCOLDESC: tag, offset and size in the row, bit in
the cell-existence bitmap) and points at the row index (a BTH of row id to
row number) and the row matrix (a heap allocation, or a subnode whose blocks
each hold whole rows).  The matrix becomes one 2-D numpy array, so a
fixed-size column is a strided view and existence bits unpack in one step.

Outlook 2007+ also writes a variant with bType 0xAC (reserved in [MS-PST];
libpff calls it the "ac table"), seen in the corpus as search contents tables
(NID 0x730).  Read from those files: its TCINFO adds cCols as 2 bytes and the
NID of a subnode holding the column descriptors (16 bytes each: tag, ibData,
cbData and iBit as 2-byte fields, and the NID of a subnode whose heap holds
that column's variable-size values; a cell then holds a HID into that heap).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from construct import Array, Bytes, Int8ul, Int16ul, Int32ul, Struct

from pstlib.errors import LimitExceeded, PropertyValueError, TableContextError
from pstlib.ltp.bth import BTH
from pstlib.ltp.codepage import (
    DEFAULT_CODEPAGE,
    PID_TAG_INTERNET_CODEPAGE,
    PID_TAG_MESSAGE_CODEPAGE,
    PID_TAG_MESSAGE_LOCALE_ID,
    object_codepage,
)
from pstlib.ltp.heap import CLIENT_SIG_TC, Heap, is_hid
from pstlib.ltp.propertycontext import _PREFERRED, value_bytes
from pstlib.ltp.proptypes import FIXED_SIZES, PropertyType, decode
from pstlib.ndb.node import Node
from pstlib.ndb.schema import numpy_dtype, record_reader

# TCINFO without its rgTCOLDESC, and TCOLDESC, [MS-PST] 2.3.4.1-2.
TCINFO_HEAD = Struct(
    "bType" / Int8ul,
    "cCols" / Int8ul,
    "rgib" / Array(4, Int16ul),
    "hidRowIndex" / Int32ul,
    "hnidRows" / Int32ul,
    "hidIndex" / Int32ul,
)
TCOLDESC = Struct("tag" / Int32ul, "ibData" / Int16ul, "cbData" / Int8ul, "iBit" / Int8ul)
_TCOLDESC = numpy_dtype(TCOLDESC)

# The 0xAC variant (not in [MS-PST]; layout read from the corpus).
TCINFO_AC = Struct(
    "bType" / Int8ul,
    "bPadding" / Int8ul,
    "rgib" / Array(4, Int16ul),
    "hidRowIndex" / Int32ul,
    "hnidRows" / Int32ul,
    "hidIndex" / Int32ul,
    "cCols" / Int16ul,
    "nidColumns" / Int32ul,
    "rgbUnknown" / Bytes(12),
)
TCOLDESC_AC = Struct(
    "tag" / Int32ul,
    "ibData" / Int16ul,
    "cbData" / Int16ul,
    "iBit" / Int16ul,
    "wPadding" / Int16ul,
    "nidValues" / Int32ul,
)
_TCOLDESC_AC = numpy_dtype(TCOLDESC_AC)
_TCINFO_HEAD_SIZE = TCINFO_HEAD.sizeof()
_TCINFO_AC_SIZE = TCINFO_AC.sizeof()
_READ_TCINFO = record_reader(TCINFO_HEAD, "TCINFO")
_READ_TCINFO_AC = record_reader(TCINFO_AC, "TCINFO_AC")
TYPE_TC_AC = 0xAC

TCI_4B, TCI_2B, TCI_1B, TCI_BM = range(4)

PID_TAG_LTP_ROW_ID = 0x67F2


class Column(NamedTuple):
    """A TCOLDESC: the column's property tag and where its cells sit in a row."""

    tag: int
    offset: int
    size: int
    bit: int
    values_nid: int = 0
    """0xAC tables only: the subnode whose heap holds this column's variable-size values."""

    @property
    def prop_id(self) -> int:
        return self.tag >> 16

    @property
    def type(self) -> int:
        return self.tag & 0xFFFF


class _Layout(NamedTuple):
    info: Any
    columns: tuple[Column, ...]
    by_tag: dict[int, Column]
    by_id: dict[int, Column]
    """The column of each property id (the Unicode one where both string forms exist)."""
    bitmap_bytes: int


_LAYOUTS: dict[bytes, _Layout] = {}
"""Checked layouts by TCINFO bytes: a store's recipient and attachment tables share a few
TCINFOs, so each is parsed and checked once.  Never mutated once stored."""
LAYOUT_CACHE = 256


class TableContext(Sequence["Row"]):
    """A node's table: ``columns``, ``len()``, rows as mappings, whole columns at once."""

    def __init__(self, node: Node, default_codepage: int = DEFAULT_CODEPAGE) -> None:
        self.node = node
        self.heap = heap = Heap(node)
        nid = node.nid
        if heap.client_signature not in (CLIENT_SIG_TC, TYPE_TC_AC):
            raise TableContextError(
                f"not a table context: heap client signature 0x{heap.client_signature:02X}", nid=nid
            )
        raw = heap.item(heap.user_root)
        layout = _LAYOUTS.get(raw)
        if layout is None:
            layout = self._layout(raw)
            if raw[:1] != bytes([TYPE_TC_AC]):  # 0xAC columns live in a subnode, not in raw
                if len(_LAYOUTS) >= LAYOUT_CACHE:
                    _LAYOUTS.clear()
                _LAYOUTS[raw] = layout
        info, self.columns, self._by_tag, self._by_id, bitmap_bytes = layout
        self.row_size: int = info.rgib[TCI_BM]
        self._bitmap_offset: int = info.rgib[TCI_1B]
        self._default_codepage = default_codepage
        self._value_heaps: dict[int, Heap] = {}
        self._row_ids = self._read_row_index(info.hidRowIndex)
        limit = node.limits.max_table_rows
        if len(self._row_ids) > limit:
            raise LimitExceeded(f"table has {len(self._row_ids)} rows, over the limit of {limit}", nid=nid)
        self._matrix = self._read_matrix(info.hnidRows)
        if len(self._row_ids) > len(self._matrix):
            raise TableContextError(
                f"row index lists {len(self._row_ids)} rows, the row matrix holds {len(self._matrix)}",
                nid=nid,
            )
        self._matrix = self._matrix[: len(self._row_ids)]
        bits = np.unpackbits(self._matrix[:, self._bitmap_offset:self._bitmap_offset + bitmap_bytes], axis=1)
        self._exists = bits

    def _layout(self, raw: bytes) -> _Layout:
        """TCINFO and its columns, checked, with the lookups rows use."""
        nid = self.node.nid
        info, columns = self._read_columns(raw)
        row_size, bitmap_offset = info.rgib[TCI_BM], info.rgib[TCI_1B]
        bitmap_bytes = (info.cCols + 7) // 8
        if not info.rgib[TCI_4B] <= info.rgib[TCI_2B] <= bitmap_offset <= row_size or (
            info.cCols and bitmap_offset + bitmap_bytes > row_size
        ):
            raise TableContextError(f"TCINFO row layout offsets {list(info.rgib)} are inconsistent", nid=nid)
        for column in columns:
            if column.offset + column.size > bitmap_offset or column.bit >= max(info.cCols, 1):
                raise TableContextError(
                    f"column 0x{column.tag:08X} lies outside the row's data or bitmap", nid=nid
                )
        by_tag = {column.tag: column for column in columns}
        by_id: dict[int, Column] = {}
        for column in columns:
            known = by_id.get(column.prop_id)
            if known is None or _PREFERRED.get(known.type) == column.type:
                by_id[column.prop_id] = column
        return _Layout(info, columns, by_tag, by_id, bitmap_bytes)

    def _read_columns(self, raw: bytes) -> tuple[Any, tuple[Column, ...]]:
        """TCINFO and the column descriptors, from the 0x7C or the 0xAC layout."""
        nid = self.node.nid
        ac = raw[:1] == bytes([TYPE_TC_AC])
        head_size = _TCINFO_AC_SIZE if ac else _TCINFO_HEAD_SIZE
        if len(raw) < head_size:
            raise TableContextError(f"TCINFO of {len(raw)} bytes is too short", nid=nid)
        info = (_READ_TCINFO_AC if ac else _READ_TCINFO)(raw, 0)
        if info.bType != CLIENT_SIG_TC and not ac:
            raise TableContextError(f"TCINFO bType is 0x{info.bType:02X}, expected 0x7C", nid=nid)
        if ac:
            source, offset, dtype = self._subnode(info.nidColumns).read(), 0, _TCOLDESC_AC
        else:
            source, offset, dtype = raw, head_size, _TCOLDESC
        if offset + info.cCols * dtype.itemsize > len(source):
            raise TableContextError(f"TCINFO claims {info.cCols} columns, more than its bytes hold", nid=nid)
        descriptors = np.frombuffer(source, dtype, count=info.cCols, offset=offset)
        fields = [descriptors[name].tolist() for name in ("tag", "ibData", "cbData", "iBit")]
        if ac:
            fields.append(descriptors["nidValues"].tolist())
        return info, tuple(Column(*values) for values in zip(*fields))

    def _read_row_index(self, hid: int) -> np.ndarray:
        """Row ids in row-number order, from the TCROWID BTH ([MS-PST] 2.3.4.3)."""
        if hid == 0:
            return np.zeros(0, "<u4")
        bth = BTH(self.heap, hid)
        if bth.key_size != 4 or bth.data_size not in (2, 4):
            raise TableContextError(
                f"row index BTH has cbKey {bth.key_size} and cbEnt {bth.data_size}", nid=self.node.nid
            )
        dtype = np.dtype([("dwRowID", "<u4"), ("dwRowIndex", f"<u{bth.data_size}")])
        records = bth.records(dtype)
        if records["dwRowIndex"].tolist() == list(range(len(records))):  # the usual case: no sort
            return records["dwRowID"]
        order = np.argsort(records["dwRowIndex"], kind="stable")
        numbers = records["dwRowIndex"][order]
        if len(numbers) and not np.array_equal(numbers, np.arange(len(numbers))):
            raise TableContextError("row index does not number its rows 0..n-1", nid=self.node.nid)
        return records["dwRowID"][order]

    def _read_matrix(self, hnid: int) -> np.ndarray:
        """The row matrix as (rows, row_size) bytes ([MS-PST] 2.3.4.4)."""
        size = self.row_size
        if hnid == 0 or size == 0:
            return np.zeros((0, size), np.uint8)
        if is_hid(hnid):
            blocks = [self.heap.item(hnid)]
        else:
            node = self._subnode(hnid)
            blocks = [node.read_data_block(i) for i in range(node.data_block_count)]
        parts = [
            np.frombuffer(block, np.uint8, count=len(block) // size * size).reshape(-1, size)
            for block in blocks
        ]
        if not parts:
            return np.zeros((0, size), np.uint8)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def _subnode(self, nid: int) -> Node:
        subnodes = self.__dict__.get("_subnodes")
        if subnodes is None:
            subnodes = self._subnodes = self.node.subnodes()
        try:
            return subnodes[nid]
        except KeyError:
            raise TableContextError(f"table names subnode 0x{nid:X}, which is missing", nid=self.node.nid) from None

    def _value_heap(self, nid: int) -> Heap:
        if nid not in self._value_heaps:
            self._value_heaps[nid] = Heap(self._subnode(nid))
        return self._value_heaps[nid]

    def __len__(self) -> int:
        return len(self._row_ids)

    def __getitem__(self, index: int) -> Row:  # type: ignore[override]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return Row(self, index % len(self))

    def __iter__(self) -> Iterator[Row]:
        return (Row(self, index) for index in range(len(self)))

    @property
    def row_ids(self) -> np.ndarray:
        """dwRowID of each row (for folder tables, the NID of the row's object)."""
        return self._row_ids

    def _column(self, tag: int) -> Column:
        """The column of a full tag, or of a property id (the Unicode one where there are two)."""
        column = self._by_id.get(tag) if tag <= 0xFFFF else None
        column = column or self._by_tag.get(tag)
        if column is None:
            raise KeyError(f"no column 0x{tag:X}")
        return column

    def exists(self, tag: int) -> np.ndarray:
        """Per row, whether the cell of column ``tag`` (a tag or property id) exists."""
        return self._exists[:, self._column(tag).bit].astype(bool)

    def column(self, tag: int) -> np.ndarray | list[Any]:
        """All cells of a column: a numpy array for integer/float/bool/time columns stored
        in the row (missing cells are 0), else a list of decoded values (None where missing).
        """
        column = self._column(tag)
        if column.type in _ARRAY_TYPES and FIXED_SIZES.get(column.type) == column.size:
            cells = self._matrix[:, column.offset:column.offset + column.size]
            values = np.ascontiguousarray(cells).view(_ARRAY_TYPES[column.type]).reshape(-1)
            return np.where(self.exists(tag), values, 0).astype(values.dtype)
        return [self.cell(index, column) for index in range(len(self))]

    def cell_bytes(self, index: int, column: Column) -> bytes | None:
        """The stored bytes of a cell, or None where the cell does not exist."""
        if not self._exists[index, column.bit]:
            return None
        cell = self._matrix[index, column.offset:column.offset + column.size].tobytes()
        fixed = FIXED_SIZES.get(column.type)
        if fixed is not None and fixed <= column.size:
            return cell[:fixed]
        if column.size != 4:
            raise TableContextError(
                f"column 0x{column.tag:08X} of a variable type has {column.size}-byte cells",
                nid=self.node.nid,
            )
        hnid = int.from_bytes(cell, "little")
        if column.values_nid:
            return self._value_heap(column.values_nid).item(hnid)
        return value_bytes(column.type, hnid, self.heap, self._subnode, 0)

    def cell(self, index: int, column: Column) -> Any:
        """The decoded value of a cell, or None where it does not exist."""
        raw = self.cell_bytes(index, column)
        if raw is None:
            return None
        codepage = self.row_codepage(index) if column.type & 0xFFF == PropertyType.STRING8 else 0
        try:
            return decode(column.type, raw, codepage)
        except PropertyValueError as exc:
            raise PropertyValueError(
                f"row {index}, column 0x{column.tag:08X}: {exc.message}", nid=self.node.nid
            ) from None

    def row_codepage(self, index: int) -> int:
        """The code page of a row's String8 cells, from its code page columns where it has them."""
        hints = []
        for prop_id in (PID_TAG_MESSAGE_CODEPAGE, PID_TAG_INTERNET_CODEPAGE, PID_TAG_MESSAGE_LOCALE_ID):
            column = self._by_tag.get(prop_id << 16 | PropertyType.INTEGER32)
            value = self.cell(index, column) if column is not None else None
            hints.append(value or 0)
        return object_codepage(*hints, self._default_codepage)


_ARRAY_TYPES = {
    PropertyType.INTEGER16: np.dtype("<i2"),
    PropertyType.INTEGER32: np.dtype("<i4"),
    PropertyType.FLOATING32: np.dtype("<f4"),
    PropertyType.FLOATING64: np.dtype("<f8"),
    PropertyType.ERROR_CODE: np.dtype("<u4"),
    PropertyType.BOOLEAN: np.dtype("u1"),
    PropertyType.INTEGER64: np.dtype("<i8"),
    PropertyType.TIME: np.dtype("<u8"),
}
"""Column types ``TableContext.column`` returns as numpy arrays (times as raw FILETIMEs)."""


class Row(Mapping[int, Any]):
    """One row: its existing cells by property id, decoded on access."""

    __slots__ = ("_cells", "_table", "index")

    def __init__(self, table: TableContext, index: int) -> None:
        self._table = table
        self.index = index
        self._cells: dict[int, Column] | None = None

    @property
    def row_id(self) -> int:
        return int(self._table.row_ids[self.index])

    def _present(self) -> dict[int, Column]:
        """The existing cells' columns by property id (the Unicode one where there are two)."""
        if self._cells is None:
            exists = self._table._exists[self.index].tolist()
            present: dict[int, Column] = {}
            for column in self._table.columns:
                if exists[column.bit]:
                    prop_id = column.tag >> 16
                    known = present.get(prop_id)
                    if known is None or _PREFERRED.get(known.type) == column.type:
                        present[prop_id] = column
            self._cells = present
        return self._cells

    def _cell_column(self, prop_id: int) -> Column:
        if prop_id > 0xFFFF:
            column = self._table._column(prop_id)
            if self._table._exists[self.index, column.bit]:
                return column
        elif prop_id in (present := self._present()):
            return present[prop_id]
        raise KeyError(prop_id)

    def __getitem__(self, prop_id: int) -> Any:
        """The value of a cell, by property id or full tag."""
        return self._table.cell(self.index, self._cell_column(prop_id))

    def __iter__(self) -> Iterator[int]:
        return iter(self._present())

    def __len__(self) -> int:
        return len(self._present())

    def __contains__(self, prop_id: object) -> bool:
        return isinstance(prop_id, int) and prop_id in self._present()

    def type_of(self, prop_id: int) -> int:
        """The stored type of an existing cell."""
        return self._cell_column(prop_id).type

    def raw(self, prop_id: int) -> bytes:
        """The stored bytes of an existing cell."""
        return self._table.cell_bytes(self.index, self._cell_column(prop_id)) or b""
