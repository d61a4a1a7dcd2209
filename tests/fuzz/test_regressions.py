"""Every crash the fuzzer found, as a recipe: these fail until pstlib is fixed.

Each recipe rebuilds the crashing input from a corpus file with one call of
``tests.fuzz.mutators`` (the call the fuzzer printed), then runs the whole
target under the fuzzer's oracle: every pstlib entry point and ``verify_file``
may raise nothing but a ``PSTError`` (``verify_file`` nothing at all, nor
report an "internal-error"), within 10 s and 64 x size + 64 MB of traced
memory.  ``bug`` says where it failed when it was found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.fuzz.harness import LAYERS, check
from tests.fuzz.mutators import corpus, patch_block, patch_header, patch_page


@dataclass(frozen=True)
class Recipe:
    """A crashing input: how to make it, and what went wrong when it was found."""

    id: str
    bug: str
    make: Callable[[], bytes]


RECIPES = [
    Recipe(
        "verify-bbt-offset-overflows-int64",
        "verify/ndb.py check_allocation: np.array(starts, np.int64) raises OverflowError on a BBT"
        " entry whose BREF.ib is 0xFFFFFFFFFFFFFFFF; verify_file reports it as internal-error",
        lambda: patch_page(corpus("node-libpst__outlook.pst"), 0x6000, 0x50, bytes.fromhex("ffffffffffffffff")),
    ),
    Recipe(
        "folder-name-not-a-string",
        "messaging/folder.py escape_name: PidTagDisplayName of folder 0x2223 stored as type 0x021F"
        " decodes to bytes, so Folder.path raises TypeError (str.replace args on bytes)",
        lambda: patch_block(corpus("node-libpst__outlook.pst"), 0x7C, 0x16, bytes.fromhex("1f02")),
    ),
    Recipe(
        "table-rows-subnode-without-data",
        "ltp/tablecontext.py _read_matrix: the row-matrix subnode's SLENTRY bidData set to 0 leaves"
        " no data blocks, and parts[0] of an empty list raises IndexError (reader and verify_file)",
        lambda: patch_block(corpus("aspose-net__PersonalStorage1.pst"), 0xE6, 0x10, bytes(8)),
    ),
    Recipe(
        "verify-amap-sized-by-claimed-eof",
        "verify/ndb.py check_allocation: AMap offsets come from ROOT ibFileEof, not the file size;"
        " a 64 KB ANSI file claiming 0xFFFFFFFF bytes gets 16,500 placeholder AMaps and int64"
        " arrays over all their bits: 1.28 GB traced (a Unicode file's 8-byte EOF can ask for more)",
        lambda: patch_header(corpus("go-pst__32-bit.pst"), 0xA8, bytes.fromhex("ffffffff")),
    ),
    Recipe(
        "verify-amap-list-of-claimed-eof",
        "verify/ndb.py check_allocation: a Unicode ROOT ibFileEof of 2**64-1 makes"
        " list(range(first, eof, interval)) raise MemoryError, reported as internal-error (found as"
        " overwrite(data, 0xAD, b'\\xff' * 23), header CRC left wrong, which verify also reads on)",
        lambda: patch_header(corpus("hht-pst_to_msg__attachAndInline.pst"), 0xB8, bytes.fromhex("ff" * 8)),
    ),
    Recipe(
        "verify-amap-oom-from-claimed-eof",
        "verify/ndb.py check_allocation: ROOT ibFileEof 0x42400 with bit 46 set (0x400000042400)"
        " asks for 277 million placeholder AMaps; without an address-space cap the process grew to"
        " 24 GB and was OOM-killed (with the harness's cap: over the 10 s bound)",
        lambda: patch_header(corpus("node-libpst__outlook.pst"), 0xB8, bytes.fromhex("0024040000400000")),
    ),
    Recipe(
        "verify-amap-index-past-bitmap",
        "verify/ndb.py check_allocation: a BBT entry's BREF.ib of 0x7FFFFFFFFFFFFFFF wraps"
        " ib + span past int64, passes the range filter, and np.add.at raises IndexError"
        " (index 144115188075855599, bitmap size 3969); verify_file reports internal-error",
        lambda: patch_page(corpus("hht-pst_to_eml__threeItems.pst"), 0x8600, 0xB0, bytes.fromhex("ffffffffffffff7f")),
    ),
    Recipe(
        "message-subject-not-a-string",
        "messaging/message.py _without_prefix_marker: PidTagSubject of message 0x200084 stored as"
        " type 0x0659 decodes to bytes, and Message.subject raises TypeError (str.startswith on bytes)",
        lambda: patch_block(corpus("aspose-net__SampleContacts.pst"), 0xF0, 0x1E, bytes.fromhex("5906")),
    ),
]


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda recipe: recipe.id)
def test_crash_recipe(recipe: Recipe) -> None:
    """The input that crashed pstlib now ends in a result or a PSTError, in bounded time and memory."""
    assert check(recipe.make(), baseline_seconds=1.0).layer in LAYERS, recipe.bug
