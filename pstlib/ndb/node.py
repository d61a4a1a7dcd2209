"""Nodes of [MS-PST] 2.2.2.7.7.4 and their subnodes: the NDB's unit of data.

A node is a data tree (one block, or an XBLOCK/XXBLOCK of blocks) plus an
optional subnode tree.  ``Node`` gives its data whole (``read``) or as a
seekable stream (``open``) that holds one block at a time, and its subnodes
as a mapping of ``Node`` objects with the same methods.
"""

from __future__ import annotations

import io
from bisect import bisect_right
from collections.abc import Iterator
from itertools import accumulate

from pstlib.errors import BlockError, LimitExceeded
from pstlib.limits import Limits
from pstlib.ndb.block import BlockStore, is_internal
from pstlib.ndb.datatree import data_tree
from pstlib.ndb.subnode import subnode_entries


class Node:
    """A node (or subnode): its NID, the roots of its two trees, and readers."""

    __slots__ = (
        "_ancestors",
        "_limits",
        "_store",
        "_subnodes",
        "_tree",
        "bid_data",
        "bid_sub",
        "nid",
        "nid_parent",
    )

    def __init__(
        self,
        store: BlockStore,
        limits: Limits,
        nid: int,
        bid_data: int,
        bid_sub: int,
        nid_parent: int,
        ancestors: tuple[int, ...] = (),
    ) -> None:
        self._store = store
        self._limits = limits
        self.nid = nid
        self.bid_data = bid_data
        self.bid_sub = bid_sub
        self.nid_parent = nid_parent
        """The parent NID from the NBT; for a subnode, the NID of the node holding it."""
        self._ancestors = ancestors
        """The bidSub of every node above this subnode, to refuse cycles."""
        self._tree: tuple[tuple[int, ...], int] | None = None
        self._subnodes: dict[int, Node] | None = None

    @property
    def limits(self) -> Limits:
        """The bounds this node's file was opened with."""
        return self._limits

    def __repr__(self) -> str:
        return (
            f"Node(nid=0x{self.nid:X}, bid_data=0x{self.bid_data:X},"
            f" bid_sub=0x{self.bid_sub:X}, nid_parent=0x{self.nid_parent:X})"
        )

    def _leaves(self) -> tuple[tuple[int, ...], int]:
        """The data blocks in order and the size the data must add up to."""
        if self._tree is None:
            if self.bid_data == 0:
                self._tree = (), 0
            elif is_internal(self.bid_data):
                tree = data_tree(
                    self._store,
                    self.bid_data,
                    self.nid,
                    self._limits.max_node_size,
                    self._limits.max_data_tree_depth,
                )
                self._tree = tree.leaves, tree.total_size
            else:
                self._tree = (self.bid_data,), self._store.size(self.bid_data)
        return self._tree

    @property
    def data_block_count(self) -> int:
        """How many data blocks the node's data tree has (heaps address them by index)."""
        return len(self._leaves()[0])

    def data_block_location(self, index: int) -> tuple[int, int]:
        """(BID, file offset) of the data block at ``index``, for error reports."""
        bid = self._leaves()[0][index]
        return bid, self._store.entry(bid).offset

    def read_data_block(self, index: int) -> bytes:
        """The decoded data block at ``index`` of the data tree."""
        leaves = self._leaves()[0]
        if not 0 <= index < len(leaves):
            raise BlockError(
                f"data block {index} requested of a node with {len(leaves)}",
                nid=self.nid,
                bid=self.bid_data,
            )
        return self._store.read(leaves[index])

    @property
    def size(self) -> int:
        """Bytes of the node's data, as its data tree declares them."""
        return self._leaves()[1]

    def read(self) -> bytes:
        """The node's whole data, decoded."""
        leaves, total = self._leaves()
        if total > self._limits.max_node_size:
            raise LimitExceeded(
                f"node data is {total} bytes, over the limit; use Node.open() to stream it",
                nid=self.nid,
                bid=self.bid_data,
            )
        if len(leaves) == 1:  # most nodes: no join, no generator
            data = self._store.read(leaves[0])
        else:
            data = b"".join([self._store.read(bid) for bid in leaves])
        if len(data) != total:
            raise BlockError(
                f"node data blocks hold {len(data)} bytes, its data tree declares {total}",
                nid=self.nid,
                bid=self.bid_data,
            )
        return data

    def open(self) -> NodeStream:
        """A read-only, seekable stream over the data, holding one block at a time."""
        leaves, total = self._leaves()
        return NodeStream(self._store, leaves, total, self.nid)

    def subnodes(self) -> dict[int, Node]:
        """The subnodes by NID, each a ``Node`` with the same methods (read once; do not
        change the mapping)."""
        if self._subnodes is None:
            self._subnodes = self._read_subnodes()
        return self._subnodes

    def _read_subnodes(self) -> dict[int, Node]:
        if self.bid_sub == 0:
            return {}
        if len(self._ancestors) >= self._limits.max_subnode_nesting:
            raise LimitExceeded(
                f"subnodes nested deeper than {self._limits.max_subnode_nesting}",
                nid=self.nid,
                bid=self.bid_sub,
            )
        ancestors = (*self._ancestors, self.bid_sub)
        out: dict[int, Node] = {}
        for entry in subnode_entries(
            self._store, self.bid_sub, self.nid, self._limits.max_subnode_tree_depth
        ):
            if entry.nid in out:
                raise BlockError(
                    f"subnode 0x{entry.nid:X} listed twice", nid=self.nid, bid=self.bid_sub
                )
            if entry.bid_sub in ancestors:
                raise BlockError(
                    f"subnode 0x{entry.nid:X} leads back to subnode tree 0x{entry.bid_sub:X}"
                    " (a cycle)",
                    nid=self.nid,
                    bid=self.bid_sub,
                )
            out[entry.nid] = type(self)(
                self._store,
                self._limits,
                entry.nid,
                entry.bid_data,
                entry.bid_sub,
                self.nid,
                ancestors,
            )
        return out

    def walk_subnodes(self) -> Iterator[Node]:
        """Every subnode at any depth, depth-first, each tree in NID order.

        A subnode tree reached twice in one walk is refused, so a hostile file
        cannot make the walk exponential by sharing trees.
        """
        seen: set[int] = {self.bid_sub}
        pending = [iter(self.subnodes().values())]
        while pending:
            sub = next(pending[-1], None)
            if sub is None:
                pending.pop()
                continue
            yield sub
            if sub.bid_sub:
                if sub.bid_sub in seen:
                    raise BlockError(
                        f"subnode tree 0x{sub.bid_sub:X} reached twice", nid=sub.nid, bid=sub.bid_sub
                    )
                seen.add(sub.bid_sub)
                pending.append(iter(sub.subnodes().values()))


class NodeStream(io.RawIOBase):
    """Streams a node's data tree block by block (``Node.open``)."""

    def __init__(self, store: BlockStore, leaves: tuple[int, ...], total: int, nid: int) -> None:
        super().__init__()
        self._store = store
        self._leaves = leaves
        self._total = total
        self._nid = nid
        self._starts: list[int] | None = None
        self._position = 0
        self._index = 0
        self._block: bytes | None = None
        self._block_start = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def _block_starts(self) -> list[int]:
        if self._starts is None:
            starts = [0, *accumulate(self._store.size(bid) for bid in self._leaves)]
            if starts[-1] != self._total:
                raise BlockError(
                    f"node data blocks hold {starts[-1]} bytes, its data tree declares {self._total}",
                    nid=self._nid,
                )
            self._starts = starts
        return self._starts

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._position + offset
        elif whence == io.SEEK_END:
            target = self._total + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if target < 0:
            raise ValueError("negative seek position")
        starts = self._block_starts()
        self._index = min(bisect_right(starts, target) - 1, len(self._leaves))
        self._block_start = starts[self._index]
        self._block = None
        self._position = target
        return target

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        written = 0
        while written < len(view) and self._position < self._total:
            if self._block is None:
                if self._index >= len(self._leaves):
                    raise BlockError(
                        f"node data ends at {self._position} bytes, its data tree declares {self._total}",
                        nid=self._nid,
                    )
                self._block = self._store.read(self._leaves[self._index])
            offset = self._position - self._block_start
            if offset >= len(self._block):
                self._block_start += len(self._block)
                self._index += 1
                self._block = None
                continue
            count = min(len(view) - written, len(self._block) - offset, self._total - self._position)
            view[written:written + count] = self._block[offset:offset + count]
            written += count
            self._position += count
        return written
