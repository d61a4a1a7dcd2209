"""Coverage-guided fuzzing of pstlib with atheris (libFuzzer), for long runs outside CI.

    pip install atheris
    mkdir -p /tmp/pst-seeds && cp ../shared/corpus/pstsdk__test_unicode.pst /tmp/pst-seeds/
    python -m tests.fuzz.atheris_run /tmp/pst-seeds -timeout=60 -rss_limit_mb=4096 \\
        -max_len=1048576 -max_total_time=3600

The seed directory also receives the inputs libFuzzer finds interesting; a
crash is written to ``crash-<sha1>`` in the current directory and replays with
``python -m tests.fuzz.atheris_run crash-<sha1>``.  The target is the same
``harness.exercise`` as the hypothesis tests, so only PSTError may escape;
libFuzzer's ``-timeout`` and ``-rss_limit_mb`` stand in for the time and
memory bounds (tracemalloc would slow every run several times over).

Random bytes almost never get past pstlib's CRCs, so half of the mutations are
structure-aware: libFuzzer mutates one block's decoded bytes, which are then
re-encoded with the file's encoding and given a correct CRC.
"""

from __future__ import annotations

import random
import sys

import atheris

with atheris.instrument_imports(include=["pstlib"]):
    import pstlib
    from pstlib.ndb import crypt
    from pstlib.ndb.block import is_internal
    from tests.fuzz.harness import exercise
    from tests.mutate import fix_block_crc


def _mutate_block(data: bytes, rng: random.Random) -> bytes | None:
    """One block's decoded bytes mutated by libFuzzer, re-encoded with its CRC fixed; None if no file."""
    try:
        pst = pstlib.open(data)
        entries = [entry for entry in pst.blocks() if pst.block_store.size(entry.bid) == entry.size]
    except pstlib.PSTError:
        return None
    if not entries:
        return None
    entry = rng.choice(entries)
    if entry.offset < 0 or entry.offset + entry.size > len(data):
        return None
    method = pst.header.crypt_method
    stored = data[entry.offset:entry.offset + entry.size]
    plain = stored if is_internal(entry.bid) else crypt.decode(stored, method, entry.bid)
    edited = atheris.Mutate(plain, len(plain)).ljust(len(plain), b"\0")[: len(plain)]
    encoded = edited if is_internal(entry.bid) else crypt.encode(edited, method, entry.bid)
    out = bytearray(data)
    out[entry.offset:entry.offset + entry.size] = encoded
    return bytes(fix_block_crc(out, pst.header.ndb, entry.offset, entry.size))


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """Half structure-aware block edits, half libFuzzer's own byte mutations."""
    rng = random.Random(seed)
    if rng.random() < 0.5:
        edited = _mutate_block(data, rng)
        if edited is not None:
            return edited
    return atheris.Mutate(data, max(len(data), 1))


def test_one_input(data: bytes) -> None:
    """The target: every pstlib entry point; anything but a PSTError is a crash."""
    exercise(data)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
