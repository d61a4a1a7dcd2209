"""pstlib.messaging.deflate: dynamic-Huffman headers and codes of the caller's choosing, that
zlib inflates to what the tokens say."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pstlib.messaging import deflate

Token = tuple[int, int]
"""(literal byte, 0) or (length, distance)."""


@st.composite
def token_lists(draw: st.DrawFn) -> tuple[bytes, list[Token], bytes]:
    """A preset dictionary, tokens whose references stay inside it and the output, and
    the bytes they expand to, expanded one byte at a time."""
    dictionary = draw(st.binary(min_size=1, max_size=300))
    tokens: list[Token] = []
    out = bytearray(dictionary)
    for _ in range(draw(st.integers(0, 200))):
        if draw(st.booleans()):
            value = draw(st.integers(0, 255))
            tokens.append((value, 0))
            out.append(value)
        else:
            length = draw(st.sampled_from([3, 4, 10, 11, 12, 17, 18, 34, 100, 257, 258]))
            distance = draw(st.integers(1, min(len(out), 32768)))
            tokens.append((length, distance))
            for _ in range(length):  # an overlapping copy repeats what it is writing
                out.append(out[-distance])
    return dictionary, tokens, bytes(out[len(dictionary):])


def kraft(lengths: list[int]) -> float:
    return sum(2.0 ** -bits for bits in lengths if bits)


def chosen_lengths(draw: st.DrawFn, size: int, used: set[int]) -> list[int]:
    """Code lengths for ``used`` drawn long enough to leave room, completed with the other
    symbols; or, when there are too few of them, a complete code over ``used`` alone."""
    shortest = len(used).bit_length()  # 2**shortest > len(used): the Kraft sum stays under 1
    lengths = [0] * size
    for symbol in sorted(used):
        lengths[symbol] = draw(st.integers(max(shortest, 1), deflate.MAX_BITS))
    try:
        return deflate.complete(lengths, [symbol for symbol in range(size) if symbol not in used])
    except ValueError:
        bits = (len(used) - 1).bit_length()
        short = (1 << bits) - len(used)  # so many take a bit less
        for rank, symbol in enumerate(sorted(used)):
            lengths[symbol] = bits - (rank < short)
        return lengths


def pack(fields: list[tuple[int, int]]) -> bytes:
    """Fields (value, bit count) packed from the lowest bit up, the last byte zero-filled."""
    value = at = 0
    for field, bits in fields:
        value |= field << at
        at += bits
    return value.to_bytes((at + 7) // 8, "little")


@settings(max_examples=100, deadline=None)
@given(token_lists(), st.data())
def test_zlib_inflates_a_block_under_chosen_codes(case: tuple[bytes, list[Token], bytes], data: st.DataObject) -> None:
    """Random code lengths for the symbols some tokens use, completed by ``complete``, a
    header from ``header`` and codes from ``codes``: zlib takes the header (whole bytes)
    and inflates every literal, length and distance with its extra bits to the expansion."""
    dictionary, tokens, expected = case
    literals = [a for a, b in tokens if b == 0]
    lengths = np.array([a for a, b in tokens if b], np.intp)
    distances = np.array([b for _, b in tokens if b], np.intp)
    length_symbols = deflate.length_symbols(lengths)
    distance_symbols = deflate.distance_symbols(distances)
    used = {*literals, deflate.END_OF_BLOCK, *(257 + length_symbols).tolist()}
    literal_lengths = chosen_lengths(data.draw, 286, used)
    used = set(distance_symbols.tolist())
    distance_lengths = chosen_lengths(data.draw, 30, used) if used else [0] * 30
    assert kraft(literal_lengths) == 1 and (not used or kraft(distance_lengths) == 1)
    literal_codes, distance_codes = deflate.codes(literal_lengths), deflate.codes(distance_lengths)
    fields = []
    symbols = iter(zip(length_symbols.tolist(), distance_symbols.tolist()))
    for first, distance in tokens:
        if not distance:
            fields.append((literal_codes[first], literal_lengths[first]))
            continue
        length_symbol, distance_symbol = next(symbols)
        symbol = 257 + length_symbol
        fields.append((literal_codes[symbol], literal_lengths[symbol]))
        fields.append((first - int(deflate.LENGTH_BASE[length_symbol]), int(deflate.LENGTH_EXTRA[length_symbol])))
        fields.append((distance_codes[distance_symbol], distance_lengths[distance_symbol]))
        extra = distance - int(deflate.DISTANCE_BASE[distance_symbol])
        fields.append((extra, int(deflate.DISTANCE_EXTRA[distance_symbol])))
    fields.append((literal_codes[deflate.END_OF_BLOCK], literal_lengths[deflate.END_OF_BLOCK]))
    inflater = zlib.decompressobj(-15, zdict=dictionary)
    assert inflater.decompress(deflate.header(literal_lengths, distance_lengths)) == b""
    assert inflater.decompress(pack(fields)) == expected
    assert inflater.eof and not inflater.unused_data


def test_canonical_codes() -> None:
    """[RFC 1951] 3.2.2's example: lengths (3, 3, 3, 3, 3, 2, 4, 4) give 010, 011, 100,
    101, 110, 00, 1110, 1111, here bit-reversed."""
    expected = ["010", "011", "100", "101", "110", "00", "1110", "1111"]
    assert deflate.codes([3, 3, 3, 3, 3, 2, 4, 4]) == [int(code[::-1], 2) for code in expected]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, deflate.MAX_BITS), min_size=1, max_size=40))
def test_complete_fills_the_kraft_sum(lengths: list[int]) -> None:
    """With enough spare symbols any code under the Kraft sum is made complete, without
    touching the given lengths; an over-full one is refused; an empty one stays empty."""
    spare = list(range(len(lengths), len(lengths) + deflate.MAX_BITS))
    lengths += [0] * deflate.MAX_BITS
    if kraft(lengths) > 1:
        with pytest.raises(ValueError, match="over-subscribe"):
            deflate.complete(lengths, spare)
        return
    completed = deflate.complete(lengths, spare)
    assert completed[: len(lengths) - deflate.MAX_BITS] == lengths[: len(lengths) - deflate.MAX_BITS]
    assert kraft(completed) == (1 if any(lengths) else 0)


def test_complete_needs_enough_spares() -> None:
    """A 2-bit code leaves 3/4 of the Kraft sum, which takes two codes (1 and 2 bits)."""
    assert deflate.complete([2, 0, 0], [1, 2]) == [2, 1, 2]
    with pytest.raises(ValueError, match="too few spare"):
        deflate.complete([2, 0, 0], [1])


def test_a_header_that_cannot_pad_itself_follows_an_empty_block() -> None:
    """A code whose own padding never makes whole bytes (here the end-of-block code and
    four spares, of 1-4 bits) gets an empty block first, whose header pads to anything."""
    literal_lengths = deflate.complete([0] * 256 + [4] + [0] * 29, range(256))
    with pytest.raises(ValueError, match="no header"):
        deflate._header(literal_lengths, [0] * 30, True, 0)
    header = deflate.header(literal_lengths, [0] * 30)
    assert header[0] & 0b111 == 0b100  # not the last block, dynamic codes
    end = deflate.codes(literal_lengths)[deflate.END_OF_BLOCK]
    inflater = zlib.decompressobj(-15)
    assert inflater.decompress(header + end.to_bytes(1, "little")) == b""
    assert inflater.eof and not inflater.unused_data
