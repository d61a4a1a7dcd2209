"""``pstlib.dask`` on a real ``dask.distributed`` cluster: a scheduler and two worker
processes on localhost, each reading the stores by path as workers on shared storage do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("dask")
pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pa = pytest.importorskip("pyarrow")

from pstlib import dask as pstlib_dask
from pstlib.arrow import schema
from tests.conftest import BROKEN_HEADER, CORPUS, record_multiset

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample.pst"


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    """A scheduler and two single-threaded worker processes, for this module's tests.

    The workers' sampling profiler stays on: it holds running tasks' frames for a moment,
    which once made ``verify_file``'s ``mapped.close()`` raise ``BufferError``."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_read_pst_on_the_cluster_equals_scan(
    client: distributed.Client, corpus_scan: tuple[list[str], list[dict]]
) -> None:
    paths, records = corpus_scan
    frame = pstlib_dask.read_pst(str(CORPUS / "*.[po]st"), task_messages=100)
    assert frame.npartitions > len(paths)  # the larger stores are cut into folder ranges
    computed = client.compute(frame).result()
    assert len(client.scheduler_info()["workers"]) == 2
    assert dict(computed.dtypes) == dict(frame.dtypes)
    table = pa.Table.from_pandas(computed, preserve_index=False)
    expected = schema()  # pandas keeps every type; it has no not-null columns
    assert (table.schema.names, table.schema.types) == (expected.names, expected.types)
    assert record_multiset(table.to_pylist()) == record_multiset(records)


def test_verify_on_the_cluster(client: distributed.Client, tmp_path: Path) -> None:
    broken = CORPUS / BROKEN_HEADER
    files = [str(SAMPLE), str(broken), str(tmp_path / "missing.pst")]
    if not broken.exists():
        files[1] = str(SAMPLE)
    reports = client.compute(pstlib_dask.verify(files, level="quick")).result()
    assert list(reports["path"]) == files
    assert list(reports["consistent"]) == [True, not broken.exists(), False]
    assert reports["error"].isna().tolist() == [True, True, False]
    assert len(reports["problems"].iloc[1]) > 0 or not broken.exists()
    assert reports["level"].tolist() == ["quick"] * 3
