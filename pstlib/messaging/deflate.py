"""DEFLATE ([RFC 1951]) dynamic-Huffman blocks whose codes the caller picks, for re-encoding.

Nothing here compresses: it lets another LZ77 format (LZFu, in rtf.py) be re-encoded, whole
arrays at a time, as a DEFLATE stream, so that zlib's C inflater does the byte-by-byte copying
that a Python loop does slowly.  A dynamic block may use any complete prefix code, so the
caller can choose code lengths that make each of its tokens a whole number of bytes: writing
the stream is then one table lookup per token, with no bit packing, and ``header`` writes the
block header in whole bytes too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

LENGTH_BASE = np.array([3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258])
LENGTH_EXTRA = np.array([0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0])
"""Symbols 257-285: the shortest length each stands for and its count of extra bits (3.2.5)."""
DISTANCE_BASE = np.array([1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577])
DISTANCE_EXTRA = np.array([0, 0, 0, 0] + [k for k in range(1, 14) for _ in (0, 1)])
END_OF_BLOCK = 256
MAX_BITS = 15
"""The longest Huffman code DEFLATE allows."""
_CODE_LENGTH_ORDER = (16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15)


def length_symbols(lengths: np.ndarray) -> np.ndarray:
    """Each match length's (3-258) symbol less 257, an index into LENGTH_BASE and LENGTH_EXTRA."""
    return np.searchsorted(LENGTH_BASE, lengths, side="right") - 1


def distance_symbols(distances: np.ndarray) -> np.ndarray:
    """Each distance's (1-32,768) symbol, an index into DISTANCE_BASE and DISTANCE_EXTRA."""
    return np.searchsorted(DISTANCE_BASE, distances, side="right") - 1


def complete(lengths: Sequence[int], spare: Iterable[int]) -> list[int]:
    """``lengths`` (0 for an unused symbol) with codes given to some ``spare`` symbols so that
    together they make a complete prefix code, which zlib insists on: the room left under the
    Kraft sum, written in binary, is one code per set bit, shortest first.  A code with no
    symbols stays empty (for distances, zlib takes that as none used)."""
    left = (1 << MAX_BITS) - sum(1 << (MAX_BITS - bits) for bits in lengths if bits)
    if left < 0:
        raise ValueError("code lengths over-subscribe the prefix code")
    lengths, spare = list(lengths), iter(spare)
    for bits in range(1, MAX_BITS + 1):
        if left >> (MAX_BITS - bits) & 1:
            symbol = next(spare, None)
            if symbol is None:
                raise ValueError("too few spare symbols to complete the prefix code")
            lengths[symbol] = bits
    return lengths


def codes(lengths: Sequence[int]) -> list[int]:
    """The canonical Huffman code of each symbol ([RFC 1951] 3.2.2), bit-reversed: codes go
    out from their highest bit but the stream is packed from the lowest."""
    count = Counter(lengths)
    next_code, code = [0] * (MAX_BITS + 1), 0
    for bits in range(1, MAX_BITS + 1):
        code = (code + (count[bits - 1] if bits > 1 else 0)) << 1
        next_code[bits] = code
    out = []
    for bits in lengths:
        out.append(int(f"{next_code[bits]:0{bits}b}"[::-1], 2) if bits else 0)
        next_code[bits] += 1
    return out


def _run_lengths(lengths: Sequence[int]) -> list[tuple[int, int, int]]:
    """Code lengths as code-length symbols (3.2.7), each (symbol, extra value, extra bits): a
    length repeated 3-6 more times as 16, 3-10 zeros as 17, 11-138 as 18."""
    out: list[tuple[int, int, int]] = []
    at = 0
    while at < len(lengths):
        value, run = lengths[at], 1
        while at + run < len(lengths) and lengths[at + run] == value:
            run += 1
        at += run
        if value:
            out.append((value, 0, 0))
            run -= 1
        while run >= 3:
            step = min(run, 6 if value else 138)
            if value:
                out.append((16, step - 3, 2))
            else:
                out.append((17, step - 3, 3) if step <= 10 else (18, step - 11, 7))
            run -= step
        out += [(value, 0, 0)] * run
    return out


def _header(
    literal_lengths: Sequence[int], distance_lengths: Sequence[int], last: bool, residue: int | None
) -> tuple[int, int]:
    """The first header (3.2.7) for these codes whose bit count is ``residue`` modulo 8 (any
    if None), as (bits packed from the lowest, bit count), trying up to 7 more trailing
    unused codes in either code and every count of code-length codes from the fewest
    needed to 19 (trailing zeros, which say nothing)."""
    literals = max(i for i, bits in enumerate(literal_lengths) if bits) + 1
    # one distance code of zero bits says no distance is used
    distances = max((i for i, bits in enumerate(distance_lengths) if bits), default=0) + 1
    for extra_literals in range(min(286 - literals, 7) + 1):
        for extra_distances in range(min(30 - distances, 7) + 1):
            nlit, ndist = literals + extra_literals, distances + extra_distances
            lengths = [*literal_lengths[:literals], *[0] * extra_literals]
            lengths += [*distance_lengths[:distances], *[0] * extra_distances]
            symbols = _run_lengths(lengths)
            ranked = [symbol for symbol, _ in Counter(s for s, _, _ in symbols).most_common()]
            if len(ranked) == 1:
                ranked.append(0 if ranked[0] else 1)  # a one-symbol code would be incomplete
            short = (1 << (len(ranked) - 1).bit_length()) - len(ranked)
            widths = [0] * 19
            for rank, symbol in enumerate(ranked):  # a complete code: some k-1 bits, the rest k
                widths[symbol] = (len(ranked) - 1).bit_length() - (rank < short)
            used = max(i for i, symbol in enumerate(_CODE_LENGTH_ORDER) if widths[symbol]) + 1
            body = sum(widths[symbol] + extra for symbol, _, extra in symbols)
            for hclen in range(max(used, 4), 20):
                if residue is not None and (17 + 3 * hclen + body - residue) % 8:
                    continue
                value = last | 0b10 << 1 | (nlit - 257) << 3 | (ndist - 1) << 8 | (hclen - 4) << 13
                at = 17
                for symbol in _CODE_LENGTH_ORDER[:hclen]:
                    value |= widths[symbol] << at
                    at += 3
                code = codes(widths)
                for symbol, extra_value, extra_bits in symbols:
                    value |= (code[symbol] | extra_value << widths[symbol]) << at
                    at += widths[symbol] + extra_bits
                return value, at
    raise ValueError(f"no header for these codes is {residue} bits long modulo 8")


_EMPTY_CODE = [0] + [8] * 256
"""A literal/length code for an empty block (256 symbols of 8 bits, end-of-block among
them), whose header can take 5 to 19 code-length codes: any length modulo 8."""


def header(literal_lengths: Sequence[int], distance_lengths: Sequence[int]) -> bytes:
    """The header of a last block with these codes (BFINAL 1, BTYPE 10, [RFC 1951] 3.2.7) in
    whole bytes, so that the tokens after it start on a byte: padded with codes that say
    nothing (``_header``), or if that cannot do it, after an empty block whose header is."""
    try:
        value, bits = _header(literal_lengths, distance_lengths, True, 0)
    except ValueError:
        value, bits = _header(literal_lengths, distance_lengths, True, None)
        # the empty block's header, then its end-of-block code, 8 bits, then this header
        empty, empty_bits = _header(_EMPTY_CODE, [0], False, -(bits + 8) % 8)
        empty |= codes(_EMPTY_CODE)[END_OF_BLOCK] << empty_bits
        value, bits = empty | value << (empty_bits + 8), empty_bits + 8 + bits
    return value.to_bytes(bits // 8, "little")
