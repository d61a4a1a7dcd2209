"""Compressed RTF ([MS-OXRTFCP]): pstlib's LZFu decoder against compressed-rtf, and the edge cases."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import pstlib
from pstlib.messaging import deflate, rtf
from pstlib.messaging.rtf import HEADER, INITIAL_DICTIONARY, decompress_rtf
from pstlib.ndb.crc import crc32
from pstlib.tags import PropertyId
from tests.conftest import corpus_path

compressed_rtf = pytest.importorskip("compressed_rtf")

RTF_FILES = [
    "pst2john__2007_default_orxgnm.pst",
    "pst2john__2003_outlook-high-encryption_cheechNchong.pst",
    "pst2john__97_outlook_qwerty12345.pst",
    "aspose-net__SampleOstFile.ost",
    "hht-pst_to_msg__nonUnicodeCP932.pst",
]


def lzfu(contents: bytes, raw_size: int) -> bytes:
    """A PidTagRtfCompressed value around ``contents``, with its CRC."""
    return HEADER.pack(len(contents) + 12, raw_size, b"LZFu", crc32(contents)) + contents


def test_initial_dictionary_is_the_specs() -> None:
    """[MS-OXRTFCP] 2.1.2.1's 207 bytes, as compressed-rtf has them too."""
    assert len(INITIAL_DICTIONARY) == 207
    assert INITIAL_DICTIONARY == compressed_rtf.compressed_rtf.INIT_DICT


DECODERS = [rtf._lzfu_by_tokens, rtf._lzfu_by_zlib]


def lzfu_bodies(name: str) -> list[bytes]:
    """Every LZFu PidTagRtfCompressed value of a corpus file's messages and attachments."""
    bodies = []
    with pstlib.open(corpus_path(name)) as pst:
        for entry in pst.nodes():
            if entry.nid & 0x1F not in (0x04, 0x08):
                continue
            pc = pst.node(entry.nid).properties()
            if PropertyId.PidTagRtfCompressed not in pc:
                continue
            raw = pc.raw(PropertyId.PidTagRtfCompressed)
            if raw[8:12] == b"LZFu":
                bodies.append(bytes(raw))
    assert bodies
    return bodies


@pytest.mark.parametrize("decoder", DECODERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("name", RTF_FILES)
def test_agrees_with_compressed_rtf(name: str, decoder: Callable[[bytes, int], bytes]) -> None:
    """Both LZFu decoders give what the compressed-rtf package gives, for every body of
    the file, whichever one decompress_rtf would have picked for its size."""
    for raw in lzfu_bodies(name):
        comp_size, raw_size = struct.unpack_from("<II", raw)
        assert decoder(raw[16 : 16 + comp_size - 12], raw_size) == compressed_rtf.decompress(raw)[:raw_size]


def test_zlib_decoder_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A body re-encoded a few control bytes at a time, with the DEFLATE stream's bits
    carried from one call to the next, decodes as it does in one piece."""
    raw = lzfu_bodies("pst2john__2007_default_orxgnm.pst")[0]
    comp_size, raw_size = struct.unpack_from("<II", raw)
    contents = raw[16 : 16 + comp_size - 12]
    whole = rtf._lzfu_by_zlib(contents, raw_size)
    for runs in (1, 3, 64):
        monkeypatch.setattr(rtf, "_RUNS_PER_CHUNK", runs)
        assert rtf._lzfu_by_zlib(contents, raw_size) == whole
    assert len(whole) == raw_size


def decoded(decoder: Callable[[bytes, int], bytes], contents: bytes, raw_size: int) -> bytes | str:
    """What ``decoder`` gives, or the error it raises."""
    try:
        return decoder(contents, raw_size)
    except pstlib.MessagingError as error:
        return str(error)


def assert_decoders_agree(contents: bytes, raw_size: int, runs: int) -> bytes | str:
    """Both decoders give the same bytes or error, the zlib route whole and in chunks of
    ``runs`` control bytes; the token loop's result."""
    expected = decoded(rtf._lzfu_by_tokens, contents, raw_size)
    assert decoded(rtf._lzfu_by_zlib, contents, raw_size) == expected
    original = rtf._RUNS_PER_CHUNK
    rtf._RUNS_PER_CHUNK = runs
    try:
        assert decoded(rtf._lzfu_by_zlib, contents, raw_size) == expected
    finally:
        rtf._RUNS_PER_CHUNK = original
    return expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.integers(0, 40000), st.integers(1, 4))
@example(b"\x02\x00\r", 2, 1)  # a cut-off reference that would read as the end marker
def test_decoders_agree_on_any_input(contents: bytes, raw_size: int, runs: int) -> None:
    """Arbitrary CONTENTS (overlapping copies, references into the preload, end markers,
    a reference cut off by the end) decode to the same bytes, or the same error, both
    ways, and never past RAWSIZE; the zlib route also in chunks of a few control bytes."""
    expected = assert_decoders_agree(contents, raw_size, runs)
    if isinstance(expected, bytes):
        assert len(expected) <= raw_size


@st.composite
def lzfu_streams(draw: st.DrawFn) -> tuple[bytes, int]:
    """LZFu CONTENTS of random literals and references (into the preload or the output,
    overlapping or not, every length) with end markers here and there, perhaps cut short,
    and a RAWSIZE at, under or over what the tokens up to the first marker write."""
    contents, group = bytearray(), bytearray()
    control = flag = written = 0
    total = None
    literals = st.integers(0, 255)
    references = st.tuples(st.integers(0, 4095), st.integers(0, 15))
    for token in draw(st.lists(st.one_of(literals, references, st.just("end")), max_size=400)):
        if token == "end":
            total = written if total is None else total
            token = ((rtf._START + written) % rtf.DICTIONARY_SIZE, draw(st.integers(0, 15)))
        if isinstance(token, int):
            group.append(token)
            written += 1
        else:
            control |= 1 << flag
            group += (token[0] << 4 | token[1]).to_bytes(2, "big")
            written += token[1] + 2
        flag += 1
        if flag == 8:
            contents += bytes([control]) + group
            group, control, flag = bytearray(), 0, 0
    if flag:
        contents += bytes([control]) + group
    contents = contents[: len(contents) - draw(st.integers(0, 2))]
    total = written if total is None else total
    return bytes(contents), draw(st.sampled_from([total, max(total - 1, 0), total + 100]) | st.integers(0, total))


@settings(max_examples=300, deadline=None)
@given(lzfu_streams(), st.integers(1, 4))
def test_decoders_agree_on_lzfu_streams(case: tuple[bytes, int], runs: int) -> None:
    """Streams that say something (test_decoders_agree_on_any_input's random bytes almost
    never reach an end marker) decode the same, or fail the same, both ways, whole and in
    chunks of a few control bytes."""
    contents, raw_size = case
    assert_decoders_agree(contents, raw_size, runs)


def test_wide_codes_make_every_token_three_bytes() -> None:
    """The Huffman codes of the zlib route are complete prefix codes (zlib refuses any
    other) of at most 15 bits, and every token is 24 bits: a literal's two 12-bit codes,
    a reference's length code and extra bits (11) and distance code and extra bits (13);
    the block header is whole bytes and needs no empty block before it."""
    for lengths in (rtf._LITERAL_LENGTHS, rtf._DISTANCE_LENGTHS):
        assert sum(Fraction(1, 2**bits) for bits in lengths if bits) == 1
        assert max(lengths) <= deflate.MAX_BITS
    assert rtf._LITERAL_LENGTHS[:256] == [12] * 256 and rtf._LITERAL_LENGTHS[deflate.END_OF_BLOCK]
    symbols = deflate.length_symbols(2 * np.arange(2, 18))
    widths = np.array(rtf._LITERAL_LENGTHS)[257 + symbols] + deflate.LENGTH_EXTRA[symbols]
    assert (widths == 11).all()
    symbols = deflate.distance_symbols(2 * np.arange(1, rtf.DICTIONARY_SIZE))
    assert (np.array(rtf._DISTANCE_LENGTHS)[symbols] + deflate.DISTANCE_EXTRA[symbols] == 13).all()
    assert rtf._HEADER[0] & 0b111 == 0b101  # the last block, with dynamic codes


def wide_inflate(codes: np.ndarray) -> bytes:
    """What a stream of ``rtf._CODES`` entries inflates to after the preset dictionary."""
    inflater = zlib.decompressobj(-15, zdict=rtf._WIDE_PRELOAD)
    return inflater.decompress(rtf._HEADER) + inflater.decompress(codes.tobytes())


def test_every_literal_code() -> None:
    """Entry 65536 + v writes the byte v & 0xFF, then 0: the zlib route reads a literal as
    the low byte of the 16 bits that end with it."""
    literals = rtf._CODES[rtf._LITERALS :]
    assert (literals.reshape(256, 256) == literals[:256]).all()
    assert wide_inflate(literals[:256]) == np.arange(256, dtype="<u2").tobytes()


@pytest.mark.parametrize("length", range(2, 18))
def test_every_reference_code(length: int) -> None:
    """Entry 16 * d + 15 - (length - 2) copies ``length`` bytes from ``d`` back, each then
    a zero: every distance 1-4095 in turn, into the preload and then into what the
    references before wrote, overlapping when d is under the length."""
    distances = np.arange(1, rtf.DICTIONARY_SIZE)
    out = bytearray(rtf._PRELOAD)
    for distance in distances.tolist():
        for _ in range(length):
            out.append(out[-distance])
    expected = np.frombuffer(out[rtf.DICTIONARY_SIZE :], np.uint8).astype("<u2").tobytes()
    assert wide_inflate(rtf._CODES[16 * distances + 15 - (length - 2)]) == expected


def test_spec_example() -> None:
    """[MS-OXRTFCP] 3.1.1: "{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\\r\\n"."""
    example = bytes.fromhex(
        "2d0000002b0000004c5a4675f1c5c7a703000a007263706731323542320af32068656c090020627705b06c"
        "647d0a800fa0"
    )
    assert decompress_rtf(example, 1000) == b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n"


def test_overlapping_reference() -> None:
    """A reference longer than its distance repeats the bytes it is still writing."""
    # literal "a", then a reference to the slot just written (distance 1) of length 17.
    contents = bytes([0b10, ord("a")]) + ((207 << 4) | 15).to_bytes(2, "big") + bytes([0b1]) + (225 << 4).to_bytes(2, "big")
    assert decompress_rtf(lzfu(contents, 18), 100) == b"a" * 18


def test_uncompressed_form() -> None:
    """COMPTYPE "MELA": the contents are the RTF ([MS-OXRTFCP] 2.1.3.1.1); RAWSIZE = COMPSIZE is tolerated."""
    body = b"{\\rtf1 plain}"
    assert decompress_rtf(HEADER.pack(len(body) + 12, len(body), b"MELA", 0) + body, 100) == body
    assert decompress_rtf(HEADER.pack(len(body) + 12, len(body) + 12, b"MELA", 0) + body, 100) == body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"short", "shorter than its header"),
        (HEADER.pack(12, 10, b"XXXX", 0), "unknown COMPTYPE"),
        (HEADER.pack(14, 10, b"LZFu", 0) + b"\x01\x02", "CRC"),
        (lzfu(b"\x01\x00", 10), "inside a reference"),
        (lzfu(b"\x00a", 0xFFFFFFFF), "over the limit"),
    ],
)
def test_malformed(data: bytes, message: str) -> None:
    with pytest.raises(pstlib.MessagingError, match=message):
        decompress_rtf(data, 1 << 20)


def repeating_lzfu(groups: int) -> tuple[bytes, int]:
    """LZFu CONTENTS of 8 literals, then ``groups`` control bytes of eight 17-byte
    references 8 bytes back: 136 bytes of RTF per 17 bytes of input."""
    contents = bytearray([0]) + b"{\\rtf1 x"
    size = 8
    for _ in range(groups):
        contents.append(0xFF)
        for _ in range(8):
            offset = (rtf._START + size - 8) % rtf.DICTIONARY_SIZE
            contents += (offset << 4 | 15).to_bytes(2, "big")
            size += 17
    return bytes(contents), size


def test_zlib_decoder_memory_stays_near_the_rtf_size() -> None:
    """4 MB of RTF from 0.5 MB of LZFu: the two-byte DEFLATE output is narrowed chunk by
    chunk, so the peak is the RTF in pieces, their join and one chunk's arrays, not the
    8 MB of inflated output."""
    import tracemalloc

    contents, raw_size = repeating_lzfu(30_000)
    expected = (b"{\\rtf1 x" * (raw_size // 8 + 1))[:raw_size]
    tracemalloc.start()
    try:
        decoded_rtf = rtf._lzfu_by_zlib(contents, raw_size)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert decoded_rtf == expected
    assert peak < 2.5 * raw_size + (2 << 20)
    assert rtf._lzfu_by_tokens(contents, raw_size) == expected


def test_a_cut_off_reference_is_not_an_end_marker() -> None:
    """CONTENTS whose last token is a reference missing its second byte: read with a zero
    there it would point at the write position (the end marker), but it is cut off, so
    both decoders refuse it rather than stop cleanly (found by hypothesis)."""
    contents = b"\x02\x00\r"  # control: literal, reference; the literal 0x00; half a reference
    for decode in (rtf._lzfu_by_tokens, rtf._lzfu_by_zlib):
        with pytest.raises(pstlib.MessagingError, match="ends inside a reference"):
            decode(contents, 2)
