"""Shared fixtures: the real-file corpus in ../shared/corpus, skipped when absent."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
BROKEN_HEADER = "aspose-net__AddingBulkMessagesWithImprovedPerformance.pst"
"""Both header CRCs and its BBT root page trailer are wrong; every reader fails on it."""


def corpus_manifest() -> list[dict[str, str]]:
    """The MANIFEST.tsv rows, one per corpus file ([] when the corpus is absent)."""
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    with manifest.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def corpus_files(*, include_broken: bool = False) -> list[str]:
    """Names of the corpus files (for parametrize ids)."""
    return [
        row["file"]
        for row in corpus_manifest()
        if include_broken or row["file"] != BROKEN_HEADER
    ]


def corpus_path(name: str) -> Path:
    """A corpus file's path; skips the test when the corpus is not beside the repo."""
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"corpus file {name} not present (../shared/corpus)")
    return path


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``corpus_file`` over every readable corpus file (skip if none)."""
    if "corpus_file" in metafunc.fixturenames:
        names = corpus_files()
        metafunc.parametrize(
            "corpus_file", names or [None], ids=names or ["no-corpus"], indirect=True
        )


@pytest.fixture
def corpus_file(request: pytest.FixtureRequest) -> Path:
    """Path of one corpus file (parametrized over all of them)."""
    name = request.param
    if name is None:
        pytest.skip("corpus not present (../shared/corpus)")
    return corpus_path(name)
