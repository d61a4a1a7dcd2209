"""Shared fixtures: the real-file corpus in ../shared/corpus, skipped when absent."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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


def record_multiset(records: Iterable[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    """Scan records as a comparable multiset: each record a sorted tuple of its items,
    lists and dicts inside made tuples (Parquet and pandas give lists back as lists)."""

    def frozen(value: Any) -> Any:
        if isinstance(value, list):
            return tuple(map(frozen, value))
        if isinstance(value, dict):
            return tuple(sorted((key, frozen(item)) for key, item in value.items()))
        return value

    return Counter(map(frozen, records))


@pytest.fixture(scope="session")
def corpus_scan() -> tuple[list[str], list[dict[str, Any]]]:
    """Every corpus file (the unreadable one too) and its scan records, read once per session
    in this process (``jobs=1``): the reference the parallel, Parquet and Dask reads must equal."""
    paths = [str(CORPUS / name) for name in corpus_files(include_broken=True)]
    if not paths:
        pytest.skip("corpus not present (../shared/corpus)")
    from pstlib.bulk import scan

    return paths, list(scan(paths, jobs=1))
