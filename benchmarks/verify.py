"""Time ``pstlib.verify_file`` against reading the file and CRC-ing it, step by step.

    python benchmarks/verify.py [FILE ...] [--largest N] [--runs N] [--json]

For each file: ``verify_file(level="full")``, ``verify_file(level="quick")``,
and a plain pass that reads the file in 1 MiB chunks through ``zlib.crc32``
(the least a checker that looks at every byte pays).  Then the full check
again, one step at a time as ``pstlib.verify._run`` runs them, to split the
NDB layer from the LTP and messaging layers.  Times are the best of N runs,
in this process, after imports and a warm-up read (page cache).  See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import mmap
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
sys.path.insert(0, str(REPO))  # run from a checkout without installing pstlib

from pstlib.limits import Limits  # noqa: E402
from pstlib.ndb.header import HEADER_READ_SIZE  # noqa: E402
from pstlib.pstfile import PSTFile  # noqa: E402
from pstlib.verify import verify_file  # noqa: E402
from pstlib.verify.header import check_header  # noqa: E402
from pstlib.verify.ltp import check_node_structures  # noqa: E402
from pstlib.verify.messaging import check_folders  # noqa: E402
from pstlib.verify.ndb import NDBCheck  # noqa: E402
from pstlib.verify.report import Report  # noqa: E402

CHUNK = 1 << 20
MB = 1e6
NDB_STEPS = ("header", "walk_trees", "check_ids", "check_blocks", "check_references", "check_allocation")
UPPER_STEPS = ("ltp", "messaging")


def best_of(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """Fastest wall time of ``runs`` calls, and the last call's result."""
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def read_and_crc(path: Path) -> int:
    """Every byte read in 1 MiB chunks and fed to zlib.crc32."""
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    crc = 0
    with path.open("rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            crc = zlib.crc32(view[:count], crc)
    return crc


def steps(path: Path) -> dict[str, float]:
    """Seconds of each step of a full check, in the order ``pstlib.verify._run`` runs them."""
    with path.open("rb") as handle:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    data = memoryview(mapped)
    try:
        return timed_steps(data, str(path))
    finally:  # the checks' views of the map are gone with timed_steps' frame
        data.release()
        mapped.close()


def timed_steps(data: memoryview, name: str) -> dict[str, float]:
    times: dict[str, float] = {}
    report = Report(name, "full")
    start = time.perf_counter()
    header = check_header(bytes(data[:HEADER_READ_SIZE]), len(data), report)
    times["header"] = time.perf_counter() - start
    if header is None:
        raise SystemExit(f"{name}: not a readable PST, nothing to time")
    ndb = NDBCheck(data, header, report, Limits().max_btree_depth)
    for step in NDB_STEPS[1:]:
        start = time.perf_counter()
        getattr(ndb, step)()
        times[step] = time.perf_counter() - start
    if report.consistent:
        with PSTFile(io.BytesIO(data), limits=Limits()) as pst:
            for step, check in zip(UPPER_STEPS, (check_node_structures, check_folders)):
                start = time.perf_counter()
                check(pst, report)
                times[step] = time.perf_counter() - start
    return times


def benchmark(path: Path, runs: int) -> dict[str, Any]:
    """Every measurement of one file."""
    read_and_crc(path)  # warm the page cache
    size = path.stat().st_size
    read_s, _ = best_of(runs, lambda: read_and_crc(path))
    full_s, full = best_of(runs, lambda: verify_file(path, level="full"))
    quick_s, quick = best_of(runs, lambda: verify_file(path, level="quick"))
    split: dict[str, float] = {}
    for _ in range(runs):  # per step, the best over the runs
        for name, seconds in steps(path).items():
            split[name] = min(split.get(name, float("inf")), seconds)
    ndb_s = sum(split.get(name, 0.0) for name in NDB_STEPS)
    upper_s = sum(split.get(name, 0.0) for name in UPPER_STEPS)
    return {
        "file": path.name,
        "size_bytes": size,
        "runs": runs,
        "consistent": full.consistent and quick.consistent,
        "read_crc_s": read_s,
        "full_s": full_s,
        "quick_s": quick_s,
        "steps_s": split,
        "ndb_share": ndb_s / (ndb_s + upper_s),
        "full_over_read_crc": full_s / read_s,
        "stats": {"pages": full.stats.pages, "blocks": full.stats.blocks, "bytes_read": full.stats.bytes_read},
    }


def largest(count: int) -> list[Path]:
    """The ``count`` largest corpus files, per MANIFEST.tsv."""
    with (CORPUS / "MANIFEST.tsv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    rows.sort(key=lambda row: int(row["bytes"]), reverse=True)
    return [CORPUS / row["file"] for row in rows[:count]]


def table(results: list[dict[str, Any]]) -> str:
    """The Markdown table that benchmarks/README.md keeps."""
    lines = [
        "| file | MB | read+CRC MB/s | full s | full MB/s | full / read+CRC | quick ms | quick MB/s"
        " | NDB share | NDB s | LTP+msg s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        mb = r["size_bytes"] / MB
        ndb = sum(r["steps_s"].get(name, 0.0) for name in NDB_STEPS)
        upper = sum(r["steps_s"].get(name, 0.0) for name in UPPER_STEPS)
        lines.append(
            f"| {r['file']} | {mb:.1f} | {mb / r['read_crc_s']:.0f} | {r['full_s']:.3f} | {mb / r['full_s']:.1f}"
            f" | {r['full_over_read_crc']:.0f} | {r['quick_s'] * 1e3:.1f} | {mb / r['quick_s']:.0f}"
            f" | {r['ndb_share']:.0%} | {ndb:.3f} | {upper:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE")
    parser.add_argument("--largest", type=int, default=8, help="with no FILE, the N largest corpus files")
    parser.add_argument("--runs", type=int, default=5, help="best of N runs (default 5)")
    parser.add_argument("--json", action="store_true", help="every number, one JSON object per file")
    args = parser.parse_args(argv)
    paths = args.files or largest(args.largest)
    results = [benchmark(path, args.runs) for path in paths]
    if args.json:
        for result in results:
            print(json.dumps(result))
    else:
        print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
