"""Nodes that know their LTP structures: ``heap()``, ``properties()``, ``table()``.

The NDB ``Node`` knows blocks only; this subclass, which ``pstlib.open``
hands out, adds the structures of [MS-PST] 2.3 that a node's data holds.
"""

from __future__ import annotations

from typing import Any

from pstlib.ltp.codepage import DEFAULT_CODEPAGE
from pstlib.ltp.heap import Heap
from pstlib.ltp.propertycontext import PropertyContext
from pstlib.ltp.tablecontext import TableContext
from pstlib.ndb import node as ndb_node


class Node(ndb_node.Node):
    """A node (or subnode) with readers for the heap, PC or TC its data holds."""

    __slots__ = ("default_codepage",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_codepage = DEFAULT_CODEPAGE
        """Code page of String8 values where the object names none (the store's)."""

    def subnodes(self) -> dict[int, Node]:  # type: ignore[override]
        return super().subnodes()  # type: ignore[return-value]

    def _read_subnodes(self) -> dict[int, Node]:  # type: ignore[override]
        """The subnodes, each taking this node's code page once, when first read."""
        subnodes: dict[int, Node] = super()._read_subnodes()  # type: ignore[assignment]
        for sub in subnodes.values():
            sub.default_codepage = self.default_codepage
        return subnodes

    def heap(self) -> Heap:
        """The heap-on-node in the node's data ([MS-PST] 2.3.1)."""
        return Heap(self)

    def properties(self) -> PropertyContext:
        """The node's property context ([MS-PST] 2.3.3)."""
        return PropertyContext(self, self.default_codepage)

    def table(self) -> TableContext:
        """The node's table context ([MS-PST] 2.3.4)."""
        return TableContext(self, self.default_codepage)
