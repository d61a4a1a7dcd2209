"""Property: repair by copy over damaged input either refuses the file with a PSTError or
writes a store that verifies clean, whatever the damage (a copy is the backup's last resort).

Derandomized, a few dozen mutations of three small files of different variants; the
fuzzer's structure-aware mutators get past the CRCs into heaps, tables and subnode trees.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

import pstlib
from tests.conftest import corpus_path
from tests.fuzz.mutators import Mutation, Target, corpus, mutations, patch_block

FILES = ("hht-pst_to_msg__msgInMsgInMsg.pst", "pstsdk__test_ansi.pst", "aspose-net__PersonalStorageFile.ost")


@pytest.mark.parametrize("name", FILES)
def test_a_copy_of_damaged_input_verifies_clean(name: str, tmp_path: Path) -> None:
    target = Target(corpus_path(name))

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(mutations(target))
    def copy_verifies(mutation: Mutation) -> None:
        source, destination = tmp_path / "damaged.pst", tmp_path / "copy.pst"
        source.write_bytes(mutation.data)
        destination.unlink(missing_ok=True)
        try:
            pstlib.copy(source, destination)
        except pstlib.PSTError:
            return
        report = pstlib.verify_file(destination)
        assert [str(p) for p in report.problems if p.severity in ("error", "fatal")] == [], mutation

    copy_verifies()


RECIPES = {
    # A heap page map edit leaves PidTagLastModificationTime 5 bytes long: copied verbatim it
    # would not read back, so the copy leaves it out (and reports it).
    "time-of-five-bytes": lambda: patch_block(corpus("pstsdk__test_ansi.pst"), 0x128, 0x3D8, bytes.fromhex("8701")),
    # An attachment table whose TCINFO does not parse: the message is copied without
    # attachments, so its mfHasAttach flag must go too.
    "unreadable-attachment-table": lambda: patch_block(corpus("pst-extractor__enron.pst"), 0x5BC, 0x18, bytes.fromhex("0800")),
}


@pytest.mark.parametrize("recipe", RECIPES)
def test_found_by_fuzzing_the_copy(recipe: str, tmp_path: Path) -> None:
    source, destination = tmp_path / "damaged.pst", tmp_path / "copy.pst"
    source.write_bytes(RECIPES[recipe]())
    report = pstlib.copy(source, destination)
    assert report.skipped
    assert [str(p) for p in pstlib.verify_file(destination).problems if p.severity in ("error", "fatal")] == []
