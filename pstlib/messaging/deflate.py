"""Fixed-Huffman DEFLATE ([RFC 1951] 3.2.5-3.2.6) written from arrays of LZ77 tokens.

Nothing here compresses: it lets another LZ77 format (LZFu, in rtf.py) be
re-encoded, whole arrays at a time, as a DEFLATE stream, so that zlib's C
inflater does the byte-by-byte copying that a Python loop does slowly.
"""

from __future__ import annotations

import numpy as np

HEADER = 0b011
"""BFINAL = 1 and BTYPE = 01 (fixed Huffman codes), packed from the lowest bit."""
HEADER_BITS = 3
END_OF_BLOCK_BITS = 7
"""Symbol 256's fixed code is seven zero bits."""

_LENGTH_BASE = np.array([3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258])
_LENGTH_EXTRA = np.array([0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0])
_DISTANCE_BASE = np.array([1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577])
_DISTANCE_EXTRA = np.array([0, 0, 0, 0] + [k for k in range(1, 14) for _ in (0, 1)])


def _reversed(codes: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Huffman codes go out from their highest bit ([RFC 1951] 3.1.1); the stream is
    packed from the lowest, so each code is stored bit-reversed."""
    codes, width = np.asarray(codes, np.int64), np.asarray(width, np.int64)
    out = np.zeros(codes.shape, np.int64)
    for bit in range(int(width.max())):
        inside = bit < width
        out[inside] |= (codes[inside] >> bit & 1) << (width[inside] - 1 - bit)
    return out.astype(np.uint64)


def literals(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The codes and bit counts of literal bytes: 0-143 take 8 bits, 144-255 take 9."""
    values = np.asarray(values)
    nine = values >= 144
    codes = np.where(nine, 0x190 + values - 144, 0x30 + values)
    width = np.where(nine, 9, 8)
    return _reversed(codes, width), width


def matches(lengths: np.ndarray, distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The codes and bit counts of (length 3-258, distance 1-32768) references: the length
    symbol, its extra bits, the distance symbol and its extra bits, as one field each.
    The two arrays broadcast (a column of lengths and a row of distances make a table)."""
    lengths, distances = np.asarray(lengths), np.asarray(distances)
    index = np.searchsorted(_LENGTH_BASE, lengths, side="right") - 1
    symbol = 257 + index
    eight = symbol >= 280
    length_width = np.where(eight, 8, 7)
    length_code = _reversed(np.where(eight, 0xC0 + symbol - 280, symbol - 256), length_width)
    length_code |= (lengths - _LENGTH_BASE[index]).astype(np.uint64) << length_width.astype(np.uint64)
    length_width = length_width + _LENGTH_EXTRA[index]
    where = np.searchsorted(_DISTANCE_BASE, distances, side="right") - 1
    distance_code = _reversed(where, np.full_like(where, 5))
    distance_code |= (distances - _DISTANCE_BASE[where]).astype(np.uint64) << np.uint64(5)
    code = length_code | distance_code << length_width.astype(np.uint64)
    return code, length_width + 5 + _DISTANCE_EXTRA[where]


class BitWriter:
    """Packs variable-width fields from the lowest bit up, across calls: each call
    returns the whole bytes done and keeps the part-filled last one."""

    def __init__(self) -> None:
        self._carry, self._bits = HEADER, HEADER_BITS

    def write(self, fields: np.ndarray, widths: np.ndarray) -> bytes:
        """The whole bytes that ``fields`` (each under 2**64, ``widths`` bits wide) complete."""
        if not len(fields):
            return b""
        at = np.cumsum(widths, dtype=np.int64)
        total = int(at[-1]) + self._bits
        at += self._bits - widths
        shift = (at & 63).astype(np.uint64)
        low = fields << shift
        high = (fields >> np.uint64(1)) >> (np.uint64(63) - shift)  # what spills into the next word
        word = at >> 6
        words = np.zeros(total // 64 + 2, "<u8")
        words[0] = self._carry
        # fields never share a bit, so adding them up is OR-ing them (and np.add.at is
        # several times faster than np.bitwise_or.reduceat over the words' runs)
        np.add.at(words, word, low)
        np.add.at(words, word + 1, high)
        packed = words.view(np.uint8)
        done = total // 8
        self._carry, self._bits = int(packed[done]), total % 8
        return packed[:done].tobytes()

    def finish(self) -> bytes:
        """The end-of-block symbol and the last, part-filled bytes."""
        bits = self._bits + END_OF_BLOCK_BITS
        return self._carry.to_bytes((bits + 7) // 8, "little")
