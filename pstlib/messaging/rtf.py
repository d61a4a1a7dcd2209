"""Compressed RTF of [MS-OXRTFCP]: the LZFu and the uncompressed ("MELA") forms.

LZFu is an LZ77 variant over a 4096-byte circular dictionary preloaded with
207 bytes of common RTF.  Laying that dictionary out in front of the output,
rotated so that dictionary slot ``(207 + n) % 4096`` sits right before output
byte ``n``, turns every reference into a copy from a fixed distance back,
which is what DEFLATE says too.  So the decoder re-encodes the tokens, with
numpy, as DEFLATE (deflate.py) under Huffman codes that make every token three
whole bytes, so that the stream is a table gather, and lets zlib copy the
bytes: six to seven times faster on a 27 KB body than the token-by-token Python
loop, which itself is twenty times faster than the ``compressed-rtf`` package
and is kept for short bodies, where the numpy calls' fixed cost would dominate
(benchmarks/README.md).  The tests hold both decoders to that package and to
each other.

The uncompressed form (COMPTYPE "MELA", CRC 0, [MS-OXRTFCP] 2.1.3.1.1) is the
RTF itself after the 16-byte header; libpff rejects it, which the spec shows
wrong.  Output is bounded by the header's RAWSIZE and by a caller's limit.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from pstlib.errors import MessagingError
from pstlib.messaging import deflate
from pstlib.ndb.crc import crc32

COMPRESSED = b"LZFu"
UNCOMPRESSED = b"MELA"
HEADER = struct.Struct("<II4sI")
"""COMPSIZE, RAWSIZE, COMPTYPE, CRC ([MS-OXRTFCP] 2.1.3.1.1)."""

DICTIONARY_SIZE = 4096
INITIAL_DICTIONARY = (
    b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript "
    b"\\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par "
    b"\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"
)
"""[MS-OXRTFCP] 2.1.2.1; the rest of the dictionary starts as spaces, as in compressed-rtf."""

_START = len(INITIAL_DICTIONARY)
_FULL_DICTIONARY = INITIAL_DICTIONARY + b" " * (DICTIONARY_SIZE - _START)
_PRELOAD = _FULL_DICTIONARY[_START:] + _FULL_DICTIONARY[:_START]
"""The dictionary rotated so that slot ``(207 + n) % 4096`` is 4096 bytes before output byte n."""


def decompress_rtf(data: bytes, max_size: int) -> bytes:
    """The RTF text of a PidTagRtfCompressed value."""
    if len(data) < HEADER.size:
        raise MessagingError(f"compressed RTF of {len(data)} bytes is shorter than its header")
    comp_size, raw_size, comp_type, crc = HEADER.unpack_from(data)
    if raw_size > max_size:
        raise MessagingError(f"compressed RTF claims {raw_size} bytes, over the limit of {max_size}")
    contents = memoryview(data)[HEADER.size:HEADER.size + max(comp_size - 12, 0)]
    if comp_type == UNCOMPRESSED:
        # CRC "MUST be set to 0x00000000"; some writers (Aspose) set RAWSIZE = COMPSIZE,
        # so the end of CONTENTS bounds it too.
        return bytes(contents[:raw_size])
    if comp_type != COMPRESSED:
        raise MessagingError(f"compressed RTF has unknown COMPTYPE {comp_type!r}")
    if crc32(contents) != crc:
        raise MessagingError(f"compressed RTF CRC is 0x{crc:08X}, its contents give 0x{crc32(contents):08X}")
    if len(contents) < _SHORT:
        return _lzfu_by_tokens(bytes(contents), raw_size)
    return _lzfu_by_zlib(bytes(contents), raw_size)


_SHORT = 320
"""CONTENTS bytes under which the token loop beats the zlib route's fixed cost (about
40 us of numpy calls and zlib's setup); measured over the corpus's bodies, 300 to 1,000
bytes long, where the two cross between 305 and 336."""


def _group_reader(control: int) -> struct.Struct:
    """Unpacks the tokens a control byte announces in one call: each run of literals as
    one bytes object, each reference as a big-endian 16-bit int ([MS-OXRTFCP] 2.2.1.1)."""
    codes, flag = "", 0
    while flag < 8:
        if control >> flag & 1:
            codes += "H"
            flag += 1
        else:
            run = flag
            while run < 8 and not control >> run & 1:
                run += 1
            codes += f"{run - flag}s"
            flag = run
    return struct.Struct(">" + codes)


_GROUPS = [_group_reader(control) for control in range(256)]


def _lzfu_by_tokens(contents: bytes, raw_size: int) -> bytes:
    """Decode LZFu CONTENTS token by token, which is faster than ``_lzfu_by_zlib`` while
    it is short: each control byte and its eight tokens are read with one ``struct``
    call, so the loop runs per reference and per run of literals, not per byte; only a
    last group cut short by the end of CONTENTS goes token by token.
    """
    out = bytearray(_PRELOAD)
    size = DICTIONARY_SIZE  # len(out), kept in a local: this loop runs per token
    limit = DICTIONARY_SIZE + raw_size
    position, end = 0, len(contents)
    while position < end and size < limit:
        group = _GROUPS[contents[position]]
        position += 1
        if position + group.size > end:
            break
        for token in group.unpack_from(contents, position):
            if token.__class__ is bytes:
                out += token
                size += len(token)
                continue
            length = (token & 0xF) + 2
            distance = (_START + size - (token >> 4)) % DICTIONARY_SIZE
            if distance == 0:  # a reference to the write position marks the end
                return bytes(out[DICTIONARY_SIZE:limit])
            start = size - distance
            out += out[start : start + length] if length <= distance else _copy(out, start, size, length)
            size += length
        position += group.size
    else:
        return bytes(out[DICTIONARY_SIZE:limit])
    control = contents[position - 1]
    for _ in range(8):
        if position >= end or size >= limit:  # tokens from raw_size on are not read
            break
        if not control & 1:
            out.append(contents[position])
            position += 1
            size += 1
        else:
            if position + 2 > end:
                raise MessagingError("compressed RTF ends inside a reference")
            token = contents[position] << 8 | contents[position + 1]
            position += 2
            length = (token & 0xF) + 2
            distance = (_START + size - (token >> 4)) % DICTIONARY_SIZE
            if distance == 0:
                return bytes(out[DICTIONARY_SIZE:limit])
            out += _copy(out, size - distance, size, length)
            size += length
        control >>= 1
    return bytes(out[DICTIONARY_SIZE:limit])


def _copy(out: bytearray, start: int, size: int, length: int) -> bytes | bytearray:
    """``length`` bytes copied from ``start`` on, where the copy may run into itself."""
    if length <= size - start:
        return out[start : start + length]
    period = out[start:size]  # an overlapping copy repeats the bytes between start and the end
    return (period * (length // len(period) + 1))[:length]


_RUN_SIZE = [1 + 8 + control.bit_count() for control in range(256)]
"""Bytes from a control byte to the next: itself, eight tokens and one more per reference."""


def _token_tables() -> tuple[np.ndarray, ...]:
    """Per control byte, a byte for each of its eight tokens (lowest bit first, [MS-OXRTFCP]
    2.2.1.1), the eight packed in a uint64 so that a chunk's rows come in one ``take``: the
    token's size (with the control byte counted in the first token's); the mask that keeps
    a reference's length bits, shifted up by 4, and what is added to them to give 16 times
    the token's output length; and whether the token is a literal."""
    reference = (np.arange(256)[:, None] >> np.arange(8)) & 1
    size = 1 + reference + (np.arange(8) == 0)
    tables = (size, 0xF0 * reference, 16 + 16 * reference, 1 - reference)
    return tuple(table.astype(np.uint8).view(np.uint64).ravel() for table in tables)


_TOKEN_SIZE, _LENGTH_MASK, _LENGTH_BASE, _IS_LITERAL = _token_tables()
_LENGTH_BITS, _DISTANCE_BITS = 11, 13
"""The width of every length code with its extra bits, and of every distance code with its."""


def _wide_code_lengths() -> tuple[list[int], list[int]]:
    """Huffman code lengths over the wide alphabet that make every token 24 bits.

    The alphabet writes each output byte as two, the byte then 0, so that LZFu's length-2
    references, which DEFLATE cannot say, become length-4 ones.  A literal is then two
    literal codes, 12 bits each; a reference's length code has 11 bits less its extra
    bits, its distance code 13 less its.  The 256 literals and the lengths used fill under
    a sixth of their code, the distances used all but 2**-12 of theirs, and spare symbols
    complete both, as zlib requires.
    """
    lengths = set(deflate.length_symbols(2 * np.arange(2, 18)).tolist())
    distances = set(deflate.distance_symbols(2 * np.arange(1, DICTIONARY_SIZE)).tolist())
    literal = [12] * 256 + [0] * 30
    for symbol in lengths:
        literal[257 + symbol] = _LENGTH_BITS - int(deflate.LENGTH_EXTRA[symbol])
    distance = [0] * 30
    for symbol in distances:
        distance[symbol] = _DISTANCE_BITS - int(deflate.DISTANCE_EXTRA[symbol])
    spare_lengths = [257 + symbol for symbol in range(29) if symbol not in lengths]
    return (
        deflate.complete(literal, [deflate.END_OF_BLOCK, *spare_lengths]),
        deflate.complete(distance, [symbol for symbol in range(30) if symbol not in distances]),
    )


def _wide_codes(literal_lengths: list[int], distance_lengths: list[int]) -> np.ndarray:
    """Every token's 24 bits as three bytes: entry ``16 * d + 15 - (length - 2)`` is a
    reference ``d`` (1-4095) bytes back, entry ``65536 + v`` the literal ``v & 0xFF``."""
    literal_codes = np.array(deflate.codes(literal_lengths))
    distance_codes = np.array(deflate.codes(distance_lengths))
    lengths = 2 * np.arange(2, 18)
    symbol = deflate.length_symbols(lengths)
    extra = (lengths - deflate.LENGTH_BASE[symbol]) << np.array(literal_lengths)[257 + symbol]
    length_fields = literal_codes[257 + symbol] | extra
    distances = 2 * np.arange(1, DICTIONARY_SIZE)
    symbol = deflate.distance_symbols(distances)
    extra = (distances - deflate.DISTANCE_BASE[symbol]) << np.array(distance_lengths)[symbol]
    distance_fields = distance_codes[symbol] | extra
    table = np.zeros(2 * 65536, "<u4")
    references = table[:65536].reshape(DICTIONARY_SIZE, 16)[1:, ::-1]
    references[:] = length_fields | distance_fields[:, None] << _LENGTH_BITS
    table[65536:].reshape(256, 256)[:] = literal_codes[:256] | literal_codes[0] << 12  # any v >> 8
    return np.ascontiguousarray(table.view(np.uint8).reshape(-1, 4)[:, :3]).view("V3").ravel()


_LITERAL_LENGTHS, _DISTANCE_LENGTHS = _wide_code_lengths()
_CODES = _wide_codes(_LITERAL_LENGTHS, _DISTANCE_LENGTHS)
_LITERALS = np.intp(65536)
"""Where the literals start in ``_CODES``."""
_HEADER = deflate.header(_LITERAL_LENGTHS, _DISTANCE_LENGTHS)
_WIDE_PRELOAD = np.frombuffer(_PRELOAD, np.uint8).astype("<u2").tobytes()  # each byte, then 0
_RUNS_PER_CHUNK = 2048
"""Control bytes (of up to 136 output bytes each) re-encoded per call at most: bounds the arrays."""


def _lzfu_by_zlib(contents: bytes, raw_size: int) -> bytes:
    """Decode LZFu CONTENTS ([MS-OXRTFCP] 2.2.3) by re-encoding it as DEFLATE for zlib.

    A Python loop finds the control bytes, one per eight tokens; the rest is array work
    over a chunk of them.  A running sum of the token sizes gives where each token ends,
    and a 16-bit read there the token: a literal in its low byte, or a reference.  The
    output position, a running sum too, is kept as ``16 * p + 15`` in the rotated
    dictionary, so that subtracting a reference's 16 bits (its offset times 16, plus its
    length less 2), modulo 65536, gives ``16 * distance + 15 - (length - 2)``: the index
    of its code in ``_CODES``, and under 16 for the end marker.  The codes, gathered,
    follow the block header and inflate, after a preset dictionary of the wide preload,
    to the RTF with a zero after each byte, dropped chunk by chunk so that memory stays
    near the RTF's size.  The stream never gets its end-of-block code: zlib has given out
    every byte before it.
    """
    # raw_size bytes never need more input than this, all literals with their control bytes
    contents = contents[: raw_size + raw_size // 8 + 18]
    end = len(contents)
    # pairs[q] is CONTENTS[q - 2] << 8 | CONTENTS[q - 1], the bytes before position q
    pairs = np.ndarray((end + 2,), ">u2", b"\0\0" + contents + b"\0", strides=(1,))
    inflater = zlib.decompressobj(-15, zdict=_WIDE_PRELOAD)
    inflater.decompress(_HEADER)
    pieces: list[np.ndarray] = []  # of the RTF
    written = position = 0
    run_size, window = _RUN_SIZE, 9 * _RUNS_PER_CHUNK  # runs take 9 to 17 bytes
    while position < end and written < raw_size:
        first = position
        part = contents[first : first + window]
        found = bytearray()
        append = found.append
        position = 0
        try:  # until the first control byte past the window
            while True:
                control = part[position]
                append(control)
                position += run_size[control]
        except IndexError:
            position += first
        control = np.frombuffer(found, np.uint8)
        # where each token ends, less first
        ends = np.add.accumulate(_TOKEN_SIZE.take(control).view(np.uint8), dtype=np.intp)
        literal = _IS_LITERAL.take(control).view(bool)
        count, cut = len(ends), False
        if position > end:  # the last run passes the end: its tokens from there are not read
            flags = found[-1]
            token = position - run_size[flags] + 1
            count -= 8
            while token < end:
                token += 1 + (flags & 1)
                flags >>= 1
                count += 1
            # a last reference cut off by the end of CONTENTS reads a zero for its second
            # byte, so it is neither a token nor an end marker; reaching it is an error
            cut = token > end
            if not count:
                break
            ends, literal = ends[:count], literal[:count]
        pair = pairs[first:].take(ends).astype(np.uint16)
        at = 16 * ((_START + written) % DICTIONARY_SIZE) + 15
        length = np.empty(count + 1, np.intp)  # 16 times each token's output length, after at
        length[0] = at
        mask = _LENGTH_MASK.take(control).view(np.uint8)[:count]
        base = _LENGTH_BASE.take(control).view(np.uint8)[:count]
        np.add((pair << 4) & mask, base, out=length[1:])
        out = np.add.accumulate(length)  # at each token, then after the last
        index = np.empty(count, np.intp)
        np.subtract(out[:-1], pair, out=index, dtype=np.uint16, casting="unsafe")
        np.putmask(index, literal, pair + _LITERALS)
        marker = index < 16  # a reference to the write position ends it
        if cut:
            marker[-1] = False
        stop = int(marker.argmax())
        if not marker[stop]:
            stop = count
        if stop and (int(out[stop - 1]) - at) >> 4 >= raw_size - written:
            # tokens from raw_size on are not written
            stop = int(np.searchsorted((out[:stop] - at) >> 4, raw_size - written))
        if stop == count and cut:
            raise MessagingError("compressed RTF ends inside a reference")
        wide = inflater.decompress(_CODES.take(index[:stop]))
        pieces.append(np.frombuffer(wide, "<u2").astype(np.uint8))  # every other byte
        if stop < count:  # the end marker, or raw_size reached
            break
        written += (int(out[-1]) - at) >> 4
    excess = sum(map(len, pieces)) - raw_size  # the last reference can run past raw_size
    if excess > 0:
        pieces[-1] = pieces[-1][:-excess]
    return b"".join(pieces)


_MIN_MATCH, _MAX_MATCH, _CHAIN = 3, 17, 16


def compress_rtf(rtf: bytes) -> bytes:
    """A PidTagRtfCompressed value (LZFu) holding ``rtf``.

    Greedy matching over the last 4,095 bytes, never into dictionary slots
    past the 207 preloaded bytes (decoders disagree on what those hold).
    """
    out = _PRELOAD + bytes(rtf)
    end = len(out)
    oldest = DICTIONARY_SIZE - _START
    chains: dict[bytes, list[int]] = {}
    for q in range(oldest, DICTIONARY_SIZE - 2):
        chains.setdefault(out[q:q + 3], []).append(q)
    result = bytearray()
    group = bytearray()
    control = count = 0
    p = DICTIONARY_SIZE
    while True:
        if p >= end:  # the end marker: a reference to the write position
            control |= 1 << count
            group += (((_START + p) % DICTIONARY_SIZE) << 4).to_bytes(2, "big")
            result.append(control)
            result += group
            break
        best, source = 0, 0
        longest = min(_MAX_MATCH, end - p)
        if longest >= _MIN_MATCH:
            for s in reversed(chains.get(out[p:p + 3], ())[-_CHAIN:]):
                if p - s >= DICTIONARY_SIZE:
                    break
                length = 3
                while length < longest and out[s + length] == out[p + length]:
                    length += 1
                if length > best:
                    best, source = length, s
                    if length == longest:
                        break
        step = best if best >= _MIN_MATCH else 1
        if step > 1:
            control |= 1 << count
            group += ((((_START + source) % DICTIONARY_SIZE) << 4) | (best - 2)).to_bytes(2, "big")
        else:
            group.append(out[p])
        for q in range(p, min(p + step, end - 2)):
            chain = chains.setdefault(out[q:q + 3], [])
            chain.append(q)
            if len(chain) > 4 * _CHAIN:
                del chain[:-_CHAIN]
        p += step
        count += 1
        if count == 8:
            result.append(control)
            result += group
            group = bytearray()
            control = count = 0
    return HEADER.pack(len(result) + 12, len(rtf), COMPRESSED, crc32(result)) + bytes(result)
