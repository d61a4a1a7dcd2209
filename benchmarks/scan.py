"""Messages per second of ``pstlib.scan`` with 1 and 2 processes, beside a one-process full walk.

    python benchmarks/scan.py [--stores N] [--size 100M] [--cache DIR] [--jobs 1,2]
                              [--task-messages N] [--runs N] [--json]

The stores are ``make_store.py``'s (seeds 1 to N), written once into ``--cache``
(default /tmp/pstlib-bench-scan) and reused.  After a warm-up read of every store
into the page cache, each run of each configuration reads all the stores in a new
interpreter, timed from after its imports to the last record, pool start-up
included; the runs go round the configurations ``--runs`` times (default 3) and each
configuration's best is kept.  ``walk`` is ``walk.py``'s
full walk (bodies, recipients, attachment bytes, embedded messages), one store after
the other; ``scan`` builds the default records (no body text).  See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from make_store import generate, parse_size
from tables import emit
from walk import pstlib_walk

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing pstlib

import pstlib
from pstlib.bulk import TASK_MESSAGES

MB = 1e6


def stores(directory: Path, count: int, size: str) -> list[Path]:
    """``count`` make_store stores of ``size``, written on first use."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(1, count + 1):
        path = directory / f"store-{size}-seed{seed}.pst"
        if not path.exists():
            partial = path.with_suffix(".partial")
            generate(partial, parse_size(size), seed)
            partial.rename(path)
        paths.append(path)
    return paths


def measure(run: str, jobs: int, paths: list[Path], task_messages: int) -> tuple[float, int]:
    """Seconds and messages of one run, in this process."""
    start = time.perf_counter()
    if run == "walk":
        messages = sum(pstlib_walk(str(path)).get("messages", 0) for path in paths)
    else:
        records = pstlib.scan(paths, jobs=jobs, task_messages=task_messages)
        messages = sum(1 for record in records if record["error"] is None)
    return time.perf_counter() - start, messages


def in_child(run: str, jobs: int, paths: list[Path], task_messages: int) -> tuple[float, int]:
    """One run in a new interpreter: no caches or heap left over from another configuration,
    and the pool starts as in a real call."""
    command = [sys.executable, __file__, "--measure", run, str(jobs), str(task_messages)]
    out = subprocess.run(
        [*command, *map(str, paths)], capture_output=True, text=True, check=True
    ).stdout
    seconds, messages = json.loads(out)
    return seconds, messages


def best(
    configurations: list[tuple[str, int]], paths: list[Path], task_messages: int, runs: int
) -> list[dict[str, Any]]:
    """Each configuration's fastest run.  The runs go round the configurations in turn, so
    a machine whose speed drifts (a shared VM) treats them alike."""
    timings: dict[tuple[str, int], list[tuple[float, int]]] = {c: [] for c in configurations}
    for _ in range(runs):
        for run, jobs in configurations:
            timings[run, jobs].append(in_child(run, jobs, paths, task_messages))
    results = []
    for (run, jobs), measured in timings.items():
        seconds, messages = min(measured)
        results.append({"run": run, "processes": jobs, "messages": messages, "seconds": seconds})
    return results


COLUMNS = [
    ("run", "{}", lambda r: r["run"]),
    ("processes", "{}", lambda r: r["processes"]),
    ("stores", "{}", lambda r: r["stores"]),
    ("MB", "{:.0f}", lambda r: r["bytes"] / MB),
    ("messages", "{}", lambda r: r["messages"]),
    ("s", "{:.2f}", lambda r: r["seconds"]),
    ("msg/s", "{:.0f}", lambda r: r["messages_per_s"]),
    ("x scan 1", "{:.2f}", lambda r: r["speedup"]),
]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--measure"]:  # one run, in a child: print seconds and messages
        run, jobs, task_messages, *paths = argv[1:]
        print(json.dumps(measure(run, int(jobs), [Path(p) for p in paths], int(task_messages))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=4, help="stores to scan (default 4)")
    parser.add_argument("--size", default="100M", help="size of each store (default 100M)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/pstlib-bench-scan"))
    parser.add_argument("--jobs", default="1,2", help="process counts to time (default 1,2)")
    parser.add_argument(
        "--task-messages", type=int, default=TASK_MESSAGES, help=f"default {TASK_MESSAGES}"
    )
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs (default 3)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    paths = stores(args.cache, args.stores, args.size)
    for path in paths:  # warm the page cache
        with path.open("rb") as handle:
            while handle.read(1 << 20):
                pass
    configurations = [("walk", 1), *(("scan", int(n)) for n in args.jobs.split(","))]
    results = best(configurations, paths, args.task_messages, args.runs)
    one = next((r["seconds"] for r in results if r["run"] == "scan" and r["processes"] == 1), None)
    for result in results:
        result.update(
            stores=len(paths),
            bytes=sum(path.stat().st_size for path in paths),
            messages_per_s=result["messages"] / result["seconds"],
        )
        if one is not None:
            result["speedup"] = one / result["seconds"]
    emit(results, COLUMNS, args.json)


if __name__ == "__main__":
    main()
