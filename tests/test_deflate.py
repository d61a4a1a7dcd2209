"""pstlib.messaging.deflate: token arrays written as DEFLATE that zlib inflates back."""

from __future__ import annotations

import zlib

import numpy as np
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


def fields(tokens: list[Token]) -> tuple[np.ndarray, np.ndarray]:
    """Each token's code and width, in order."""
    codes, widths = np.zeros(len(tokens), np.uint64), np.zeros(len(tokens), np.int64)
    literal = np.array([distance == 0 for _, distance in tokens], bool)
    first = np.array([a for a, _ in tokens], np.int64)
    second = np.array([b for _, b in tokens], np.int64)
    if literal.any():
        codes[literal], widths[literal] = deflate.literals(first[literal])
    if (~literal).any():
        codes[~literal], widths[~literal] = deflate.matches(first[~literal], second[~literal])
    return codes, widths


@settings(max_examples=100, deadline=None)
@given(token_lists(), st.integers(1, 5))
def test_zlib_inflates_what_the_tokens_say(case: tuple[bytes, list[Token], bytes], pieces: int) -> None:
    """Every literal, every length code with its extra bits, every distance up to 32 KB,
    written in one call or several (bits carried across), inflates to the expansion."""
    dictionary, tokens, expected = case
    codes, widths = fields(tokens)
    writer = deflate.BitWriter()
    stream = b"".join(writer.write(c, w) for c, w in zip(np.array_split(codes, pieces), np.array_split(widths, pieces)))
    stream += writer.finish()
    inflater = zlib.decompressobj(-15, zdict=dictionary)
    assert inflater.decompress(stream) == expected
    assert inflater.eof and not inflater.unused_data


def test_every_literal_and_the_longest_distance() -> None:
    """All 256 literals (8- and 9-bit codes) and a reference 32,768 bytes back."""
    dictionary = bytes(range(256)) * 128
    codes, widths = deflate.literals(np.arange(256))
    match_codes, match_widths = deflate.matches(np.array([258]), np.array([32768]))
    writer = deflate.BitWriter()
    stream = writer.write(np.concatenate([codes, match_codes]), np.concatenate([widths, match_widths])) + writer.finish()
    assert zlib.decompressobj(-15, zdict=dictionary).decompress(stream) == bytes(range(256)) + bytes(range(256)) + bytes(range(2))
