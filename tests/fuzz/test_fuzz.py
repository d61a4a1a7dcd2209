"""Property: whatever the damage, pstlib raises only PSTError, in bounded time and memory.

Each test fuzzes one input with ``mutators.mutations`` and judges every run with
``harness.check``.  CI runs derandomized (the same examples every time) within
about five minutes; a longer run or a replay takes environment variables:

    PSTLIB_FUZZ_SEED=123 PSTLIB_FUZZ_EXAMPLES=5000 python -m pytest tests/fuzz -q -s

``PSTLIB_FUZZ_SEED`` makes the run random from that seed (the same seed and
count replay the same inputs); ``PSTLIB_FUZZ_EXAMPLES`` is the number of
examples per input; ``PSTLIB_FUZZ_FILES=long`` fuzzes the long-run set of
corpus files instead of the CI set (or give comma-separated corpus names).
``PSTLIB_FUZZ_LOG=failures.jsonl`` keeps going after a failure: each one is
appended there with its recipe, and the test fails at the end listing them all
(hypothesis alone stops at the first, and one common crash would end every run).
"""

from __future__ import annotations

import json
import os
import traceback
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings

from tests.conftest import BROKEN_HEADER, CORPUS, corpus_manifest, corpus_path
from tests.fuzz.harness import LAYERS, Outcome, check, record
from tests.fuzz.mutators import Mutation, Target, mutations

SEED = os.environ.get("PSTLIB_FUZZ_SEED")
EXAMPLES = os.environ.get("PSTLIB_FUZZ_EXAMPLES")
FILES = os.environ.get("PSTLIB_FUZZ_FILES")
LOG = os.environ.get("PSTLIB_FUZZ_LOG")


@dataclass(frozen=True)
class Input:
    """A corpus file to fuzz, optionally re-encoded, and its CI example count."""

    name: str
    crypt: str | None
    examples: int

    @property
    def id(self) -> str:
        return f"{self.name}[{self.crypt}]" if self.crypt else self.name


CI_INPUTS = (
    # ANSI, permute; the smallest files of the corpus.
    Input("hughbe-PstReader__Outlook98Backup.pst", None, 180),
    Input("go-pst__32-bit.pst", None, 120),
    # ANSI re-encoded cyclic: no ANSI file of the corpus is.
    Input("pstsdk__test_ansi.pst", "cyclic", 120),
    # Unicode PST, permute: nested embedded messages, attachments.
    Input("pstsdk__test_unicode.pst", None, 120),
    Input("hht-pst_to_msg__msgInMsgInMsg.pst", None, 100),
    Input("hht-pst_to_msg__attachAndInline.pst", None, 80),
    # Unicode PST, cyclic and none: the corpus has them only in files of 1.5 MB and up.
    Input("hht-pst-extractor__alpha-beta-gamma-delta.pst", "cyclic", 80),
    Input("pstsdk__sample1.pst", "none", 80),
    # OST (512-byte pages), permute.
    Input("groupdocs-net__sample.ost", None, 24),
    # 4K-page OST, none (the only encoding of the corpus's 4K files).
    Input("pst-extractor__pstextractortestpdf@outlook.com.ost", None, 6),
)

LONG_RUN_EXAMPLES = 100
"""Examples per file of a long run when PSTLIB_FUZZ_EXAMPLES does not say."""
LONG_RUN_MAX_BYTES = 2_600_000
LONG_RUN_4K = "pst-extractor__pstextractortestpdf@outlook.com.ost"
LONG_RUN_SKIP = {
    BROKEN_HEADER,  # nothing opens: its header CRCs are wrong
    "pst2john__97_outlook_pass12345.pst",  # 39 s per run under tracemalloc
}


def long_run_inputs() -> tuple[Input, ...]:
    """Every readable corpus file up to 2.6 MB and the fastest 4K OST: all variants and encodings."""
    return tuple(
        Input(row["file"], None, LONG_RUN_EXAMPLES)
        for row in corpus_manifest()
        if row["file"] not in LONG_RUN_SKIP
        and (row["file"] == LONG_RUN_4K or (row["format"] != "unicode4k" and int(row["bytes"]) <= LONG_RUN_MAX_BYTES))
    )


def selected_inputs() -> tuple[Input, ...]:
    """The CI set, the long-run set, or the files PSTLIB_FUZZ_FILES names."""
    if not FILES:
        return CI_INPUTS
    if FILES == "long":
        return long_run_inputs()
    return tuple(Input(name.strip(), None, LONG_RUN_EXAMPLES) for name in FILES.split(",") if name.strip())


def donors_for(name: str) -> tuple[Path, ...]:
    """The three smallest other corpus files of the same NDB format, to swap pages in from."""
    rows = {row["file"]: row for row in corpus_manifest()}
    fmt = rows[name]["format"] if name in rows else None
    small = sorted(
        (int(row["bytes"]), row["file"])
        for row in rows.values()
        if row["format"] == fmt and row["file"] not in (name, BROKEN_HEADER)
    )
    return tuple(CORPUS / file for _, file in small[:3] if (CORPUS / file).exists())


def log_failure(exc: Exception, recipe: str) -> str:
    """Append one failure (exception, innermost pstlib frame, recipe) to PSTLIB_FUZZ_LOG."""
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if "/pstlib/" in frame.filename]
    where = f"{frames[-1].filename.split('/pstlib/')[-1]}:{frames[-1].lineno}" if frames else "harness"
    line = f"{type(exc).__name__}: {exc} at {where}; recipe: {recipe}"
    with open(LOG, "a", encoding="utf-8") as handle:  # type: ignore[arg-type]
        handle.write(json.dumps({"error": type(exc).__name__, "message": str(exc), "where": where, "recipe": recipe}) + "\n")
    return line


def target_of(entry: Input) -> Target:
    """The fuzz target of an input (skips without the corpus); equal inputs give equal targets."""
    return Target(corpus_path(entry.name), entry.crypt, donors_for(entry.name))


@cache
def baseline(target: Target) -> Outcome:
    """The unmutated input under the oracle (which it must pass): its time scales the bound."""
    return check(target.data, baseline_seconds=3600.0)


def fuzz_settings(examples: int) -> settings:
    """Derandomized for CI; random from PSTLIB_FUZZ_SEED when it is set."""
    return settings(
        max_examples=int(EXAMPLES) if EXAMPLES else examples,
        deadline=None,
        derandomize=SEED is None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=SEED is not None,
    )


@pytest.mark.parametrize("entry", selected_inputs(), ids=lambda entry: entry.id)
def test_only_psterror_escapes(entry: Input) -> None:
    """Mutated inputs end in a PSTError or a result, within time and memory; most still open."""
    target = target_of(entry)
    bound = baseline(target).seconds
    layers: Counter[str] = Counter()
    failures: list[str] = []

    @fuzz_settings(entry.examples)
    @given(mutation=mutations(target))
    def run(mutation: Mutation) -> None:
        recipe = f"data = {target.label}; {mutation.description}"
        try:
            outcome = check(mutation.data, bound)
        except Exception as exc:
            if LOG is None:
                exc.add_note(f"recipe: {recipe}")
                raise
            failures.append(log_failure(exc, recipe))
            return
        layers[outcome.layer] += 1
        record(outcome, target.label)
        assert outcome.layer in LAYERS

    if SEED is not None:
        print(f"\nPSTLIB_FUZZ_SEED={SEED} {entry.id}")
        run = seed(int(SEED))(run)
    run()
    assert not failures, "\n".join(failures)
    total = sum(layers.values())
    assert total > 0
    assert total - layers["header"] >= total / 2, f"most mutated inputs fail the header check: {dict(layers)}"


@pytest.mark.parametrize("entry", CI_INPUTS, ids=lambda entry: entry.id)
def test_unmutated_input_completes(entry: Input) -> None:
    """The fuzzer's starting points are clean: every layer reads them without a refusal."""
    assert baseline(target_of(entry)).layer == "complete"
