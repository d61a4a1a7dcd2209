"""``pstlib.scan`` over many stores: the same records with one process or two, cut into
folder ranges or whole, through the CLI's Parquet dataset, and an error record (never an
abort) for each store or item that cannot be read; ``verify --jobs``."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

import pstlib
from pstlib.bulk import DEFAULT_FIELDS, FIELDS, scan
from pstlib.bulk.pool import Pool
from pstlib.bulk.run import tasks
from pstlib.bulk.tasks import Task, plan, run
from pstlib.cli import main as cli_main
from pstlib.verify.__main__ import main as verify_main
from tests.conftest import BROKEN_HEADER, CORPUS, record_multiset

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample.pst"
SAMPLE_MESSAGES = 11


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pstlib", *args], capture_output=True, text=True, check=False
    )


def test_two_processes_and_cut_stores_give_the_records_of_one(
    corpus_scan: tuple[list[str], list[dict]],
) -> None:
    paths, records = corpus_scan
    assert len(paths) == 118 and len(records) > 2000
    (broken,) = [r for r in records if r["error"] is not None]
    assert (broken["store"], broken["error_item"]) == (str(CORPUS / BROKEN_HEADER), "store")
    assert len(list(tasks(paths, task_messages=50))) > len(paths)  # some stores are cut
    parallel = list(scan(paths, jobs=2, task_messages=50))
    assert record_multiset(parallel) == record_multiset(records)


def test_cli_parquet_dataset_reads_back_as_the_scan(
    corpus_scan: tuple[list[str], list[dict]], tmp_path: Path
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    from pstlib.arrow import schema

    paths, records = corpus_scan
    out = tmp_path / "dataset"
    result = run_cli("scan", *paths, "--to", "parquet", str(out), "--jobs", "2")
    assert result.returncode == 1, result.stderr  # the broken store is an error record
    assert f"{len(paths)} stores, {len(records) - 1} messages, 1 errors" in result.stderr
    table = pq.read_table(out)
    assert table.schema.remove_metadata() == schema()
    assert record_multiset(table.to_pylist()) == record_multiset(records)
    assert len(list(out.iterdir())) >= len(paths)  # at least one file per store
    again = run_cli("scan", paths[0], "--to", "parquet", str(out))
    assert again.returncode == 2 and "not empty" in again.stderr


def test_corrupt_and_unreadable_stores_are_error_records(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.pst"
    truncated.write_bytes(SAMPLE.read_bytes()[:20_000])
    not_a_store = tmp_path / "notes.pst"
    not_a_store.write_text("not a PST at all\n" * 100)
    missing = tmp_path / "missing.pst"
    paths = [str(truncated), str(SAMPLE), str(not_a_store), str(missing), str(SAMPLE)]
    records = list(scan(paths, jobs=2, task_messages=4))
    by_store = {path: [r for r in records if r["store"] == path] for path in paths}
    assert len(by_store[str(SAMPLE)]) == 2 * SAMPLE_MESSAGES
    assert all(r["error"] is None for r in by_store[str(SAMPLE)])
    for bad in (not_a_store, missing):
        (record,) = by_store[str(bad)]
        assert record["error_item"] == "store" and record["folder"] is None
    assert "magic" in by_store[str(not_a_store)][0]["error"]
    assert "FileNotFoundError" in by_store[str(missing)][0]["error"]
    assert any(r["error"] for r in by_store[str(truncated)])
    assert record_multiset(records) == record_multiset(scan(paths, jobs=1))


def _damage_one_message(tmp_path: Path) -> tuple[Path, int, str]:
    """A copy of the sample whose one message's property context fails its CRC."""
    data = bytearray(SAMPLE.read_bytes())
    with pstlib.open(bytes(data)) as pst:
        folder = next(f for f in pst.ipm_subtree.walk() if f.name == "Inbox")
        message = next(folder.messages())
        bid, _ = message.node.data_block_location(0)
        entry = pst.block_store.entry(bid)
        nid, path = message.nid, folder.path
    data[entry.offset + 3] ^= 0xFF
    damaged = tmp_path / "damaged.pst"
    damaged.write_bytes(bytes(data))
    return damaged, nid, path


def test_a_damaged_message_is_one_error_record(tmp_path: Path) -> None:
    damaged, nid, folder = _damage_one_message(tmp_path)
    records = list(scan(damaged, jobs=1))
    errors = [r for r in records if r["error"] is not None]
    assert len(records) == SAMPLE_MESSAGES
    assert [(r["error_item"], r["nid"], r["folder"]) for r in errors] == [("message", nid, folder)]
    assert "CRC" in errors[0]["error"]
    assert all(errors[0][name] is None for name in ("subject", "recipients", "is_read"))
    cut = list(scan(damaged, jobs=2, task_messages=2))
    assert record_multiset(cut) == record_multiset(records)


def _generated_store(path: Path) -> None:
    with pstlib.create(path) as writer:
        big = writer.root_folder.add_folder("Big")
        for number in range(60):
            big.add_message(subject=f"big {number}", body="x" * number)
        nested = big.add_folder("Nested")
        for number in range(7):
            nested.add_message(subject=f"nested {number}")
        writer.root_folder.add_folder("Empty")
        small = writer.root_folder.add_folder("Small")
        for number in range(3):
            small.add_message(subject=f"small {number}")


def test_a_store_cut_into_folder_ranges_reads_as_the_whole(tmp_path: Path) -> None:
    store = tmp_path / "generated.pst"
    _generated_store(store)
    parts = plan(0, store, task_messages=25)
    assert len(parts) >= 3
    ranges = [r for part in parts for r in part.ranges or ()]
    assert any(r.start > 0 for r in ranges if r.path.endswith("/Big"))  # Big is cut
    assert len({r.path for r in parts[0].ranges or ()}) >= 1
    fields = tuple(FIELDS)
    whole = list(run(Task(0, str(store)), fields))
    assert len(whole) == 70 and not any(r["error"] for r in whole)
    assert [r for part in parts for r in run(part, fields)] == whole  # same order, too
    parallel = list(scan([store], jobs=2, fields=FIELDS, task_messages=25))
    assert record_multiset(parallel) == record_multiset(whole)


def test_fields_select_columns() -> None:
    (record, *_) = scan(SAMPLE, jobs=1, fields=["subject"])
    assert list(record) == ["store", "folder", "nid", "subject", "error", "error_item"]
    assert record["store"] == str(SAMPLE)
    with_body = next(scan([SAMPLE], jobs=1, fields=[*DEFAULT_FIELDS, "body"]))
    assert list(with_body) == list(FIELDS)
    with pytest.raises(ValueError, match="unknown field"):
        scan([SAMPLE], fields=["subjet"])  # checked at the call, not at the first record
    with pytest.raises(ValueError, match="jobs"):
        scan([SAMPLE], jobs=0)


def test_closing_a_scan_early_stops_its_workers() -> None:
    records = scan([SAMPLE] * 8, jobs=2, task_messages=2)
    assert next(records)["store"] == str(SAMPLE)
    records.close()
    assert not multiprocessing.active_children()


def exit_on(item: str) -> str:
    """Dies (as a worker killed for memory would) on "die"."""
    if item == "die":
        os._exit(1)
    return item


def test_a_worker_that_dies_fails_its_tasks_only() -> None:
    items = ["a", "die", "b", "c", "d", "e"]
    with Pool(exit_on, 1) as pool:
        outcomes = {item: future.exception() for item, future in pool.ordered(items)}
    assert outcomes["a"] is None
    assert isinstance(outcomes["die"], BrokenProcessPool)
    assert [outcomes[item] for item in ("d", "e")] == [None, None]


def test_import_pstlib_loads_neither_dask_nor_pyarrow() -> None:
    code = (
        "import sys, pstlib; pstlib.scan; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'dask', 'distributed', 'pyarrow', 'pandas'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.parametrize(
    ("module", "blocked", "extra"),
    [("pstlib.arrow", "pyarrow", "pstlib[arrow]"), ("pstlib.dask", "dask", "pstlib[dask]")],
)
def test_optional_modules_name_their_extra(module: str, blocked: str, extra: str) -> None:
    code = f"import sys; sys.modules[{blocked!r}] = None; import {module}"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0 and extra in result.stderr


def test_cli_scan_json_lines_and_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fields = ["--fields", "subject,delivery_time", "--body", "--jobs", "1"]
    assert cli_main(["scan", str(SAMPLE), *fields]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == SAMPLE_MESSAGES
    assert list(rows[0]) == [
        "store",
        "folder",
        "nid",
        "subject",
        "delivery_time",
        "body",
        "error",
        "error_item",
    ]
    assert any(row["delivery_time"] and row["delivery_time"].endswith("Z") for row in rows)
    out = tmp_path / "records.jsonl"
    assert cli_main(["scan", str(SAMPLE), "--to", "json", str(out), "--jobs", "1"]) == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == SAMPLE_MESSAGES
    capsys.readouterr()
    assert cli_main(["scan", str(SAMPLE), str(tmp_path / "missing.pst"), "--jobs", "1"]) == 2
    captured = capsys.readouterr()
    assert "failed store" in captured.err
    assert len(captured.out.splitlines()) == SAMPLE_MESSAGES + 1  # its error record
    for usage in (["--to", "xml", "x"], ["--fields", "subjet"], ["--jobs", "0"]):
        assert cli_main(["scan", str(SAMPLE), *usage]) == 2


def test_verify_jobs_reports_in_the_order_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(SAMPLE), str(tmp_path / "missing.pst"), str(CORPUS / BROKEN_HEADER), str(SAMPLE)]
    if not Path(files[2]).exists():
        files[2] = str(SAMPLE)
    statuses, outputs = [], []
    for jobs in ("1", "2"):
        statuses.append(verify_main(["--json", "--quick", "--jobs", jobs, *files]))
        captured = capsys.readouterr()
        assert "missing.pst: cannot open" in captured.err
        reports = [json.loads(line) for line in captured.out.splitlines()]
        outputs.append([(r["path"], r["consistent"], r["problems"]) for r in reports])
    assert statuses == [2, 2]
    assert outputs[0] == outputs[1]
    assert [path for path, _, _ in outputs[0]] == [files[0], files[2], files[3]]
