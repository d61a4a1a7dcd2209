"""Compressed RTF of [MS-OXRTFCP]: the LZFu and the uncompressed ("MELA") forms.

LZFu is an LZ77 variant over a 4096-byte circular dictionary preloaded with
207 bytes of common RTF.  Laying that dictionary out in front of the output,
rotated so that dictionary slot ``(207 + n) % 4096`` sits right before output
byte ``n``, turns every reference into a copy from a fixed distance back,
which is what DEFLATE says too.  So the decoder re-encodes the tokens, with
numpy, as a fixed-Huffman DEFLATE stream (deflate.py) and lets zlib copy the
bytes: three to four times faster on a 27 KB body than the token-by-token
Python loop, which itself is twenty times faster than the ``compressed-rtf``
package and is kept for short bodies, where the numpy calls' fixed cost would
dominate (benchmarks/README.md).  The tests hold both decoders to that package
and to each other.

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


_SHORT = 1024
"""CONTENTS bytes under which the token loop beats the zlib route's fixed cost (about
80 us of numpy calls); measured over the corpus's bodies, benchmarks/README.md."""


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


def _token_layout() -> tuple[list[int], np.ndarray, np.ndarray]:
    """Per control byte: its run's size in bytes, each token's offset from the control
    byte, and which tokens are references ([MS-OXRTFCP] 2.2.1.1, lowest bit first)."""
    sizes, offsets, references = [], np.zeros((256, 8), np.intp), np.zeros((256, 8), bool)
    for control in range(256):
        at = 1
        for flag in range(8):
            offsets[control, flag] = at
            references[control, flag] = bool(control >> flag & 1)
            at += 2 if references[control, flag] else 1
        sizes.append(at)
    return sizes, offsets, references


_RUN_SIZE, _TOKEN_OFFSET, _IS_REFERENCE = _token_layout()


def _wide_codes() -> tuple[np.ndarray, np.ndarray]:
    """The DEFLATE field of every LZFu token, over an alphabet where each output byte is
    written as two (the byte, then 0): a reference of length 2, which DEFLATE cannot
    say, becomes one of length 4.  Entries ``length - 2 << 12 | distance`` are
    references, entries from ``_LITERALS`` on are literal bytes."""
    codes, widths = deflate.literals(np.arange(256))
    zero_code, zero_width = deflate.literals(np.zeros(1, np.intp))
    literal_codes = codes | zero_code << widths.astype(np.uint64)
    lengths = np.arange(2, 18)[:, None]
    distances = np.maximum(np.arange(DICTIONARY_SIZE), 1)[None, :]  # distance 0 is the end marker
    reference_codes, reference_widths = deflate.matches(2 * lengths, 2 * distances)
    return (
        np.concatenate([reference_codes.ravel(), literal_codes]),
        np.concatenate([reference_widths.ravel(), widths + zero_width]).astype(np.int64),
    )


_CODES, _WIDTHS = _wide_codes()
_LITERALS = 16 * DICTIONARY_SIZE
_WIDE_PRELOAD = np.frombuffer(_PRELOAD, np.uint8).astype("<u2").tobytes()  # each byte, then 0
_RUNS_PER_CHUNK = 2048
"""Control bytes (of up to 136 output bytes each) re-encoded per call: bounds the arrays."""


def _lzfu_by_zlib(contents: bytes, raw_size: int) -> bytes:
    """Decode LZFu CONTENTS ([MS-OXRTFCP] 2.2.3) by re-encoding it as DEFLATE for zlib.

    Each control byte and its eight tokens become array rows; a reference's offset into
    the circular dictionary becomes a distance back from the output position; and the
    tokens, written over a two-byte alphabet (see ``_wide_codes``) after a preset
    dictionary of the rotated preload, inflate to the RTF with a zero after each byte,
    dropped chunk by chunk so that memory stays near the RTF's size.  The Python loop
    runs once per control byte, to find where the next one is.
    """
    # raw_size bytes never need more input than this, all literals with their control bytes
    contents = contents[: raw_size + raw_size // 8 + 18]
    end = len(contents)
    data = np.frombuffer(contents + b"\0", np.uint8)  # a reference's second byte, read at the end
    inflater = zlib.decompressobj(-15, zdict=_WIDE_PRELOAD)
    writer = deflate.BitWriter()
    rtf = bytearray()
    wide = 0  # bytes inflated so far: the RTF is every other one, from the first

    def keep(piece: bytes) -> None:
        nonlocal wide
        rtf.extend(np.frombuffer(piece, np.uint8)[wide % 2 :: 2].tobytes())
        wide += len(piece)

    written = position = 0
    while position < end and written < raw_size:
        runs = []
        for _ in range(_RUNS_PER_CHUNK):
            if position >= end:
                break
            runs.append(position)
            position += _RUN_SIZE[contents[position]]
        start = np.fromiter(runs, np.intp, len(runs))
        control = data[start]
        at = (start[:, None] + _TOKEN_OFFSET[control]).ravel()
        reference = _IS_REFERENCE[control].ravel()
        count = len(at) - int(np.count_nonzero(at[-8:] >= end))  # only the last run can pass the end
        at, reference = at[:count], reference[:count]
        high, low = data[at].astype(np.intp), data[at + 1].astype(np.intp)
        length = np.where(reference, (low & 0xF) + 2, 1)
        out = np.cumsum(length)
        out += written - length
        distance = (_START + out - (high << 4 | low >> 4)) & (DICTIONARY_SIZE - 1)
        # a last reference cut off by the end of CONTENTS: its second byte is the padding,
        # so it is neither a token nor an end marker; reaching it is an error
        cut = bool(count and reference[-1] and at[-1] + 1 >= end)
        marker = np.flatnonzero((reference & (distance == 0))[: count - cut])  # a reference to the write position ends it
        stop = min(int(marker[0]) if len(marker) else count, int(np.searchsorted(out, raw_size)))
        if stop == count and cut:
            raise MessagingError("compressed RTF ends inside a reference")
        index = np.where(reference, (low & 0xF) << 12 | distance, _LITERALS + high)[:stop]
        keep(inflater.decompress(writer.write(_CODES[index], _WIDTHS[index])))
        if stop < count:  # the end marker, or raw_size reached
            break
        written += int(length.sum())
    keep(inflater.decompress(writer.finish()))
    del rtf[raw_size:]
    return bytes(rtf)


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
