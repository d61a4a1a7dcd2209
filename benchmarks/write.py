"""Time pstlib's writer against a plain file write of the same bytes.

    python benchmarks/write.py [--size 1G] [--seed 1] [--out DIR] [--runs N] [--fsync] [--keep] [--json]

Each run writes a store with ``make_store.py`` (same seed, so the same file
every time) in a child process, which reports its own time, the part of it
spent making content, and its peak RSS (``ru_maxrss``).  Then this process
writes a plain file of exactly as many bytes, 1 MiB at a time (the chunk the
writer flushes), to the same directory.  Neither is synced unless ``--fsync``
(then each time includes an ``os.fsync`` of its file).  Times are the best
of ``--runs``; the files are deleted unless ``--keep``.  See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from tables import render  # noqa: E402

CHUNK = 1 << 20
MB = 1e6


def write_store(path: Path, size: str, seed: int, fsync: bool) -> dict[str, Any]:
    """make_store.py in a child process; its statistics, plus the fsync when asked."""
    command = [sys.executable, str(REPO / "benchmarks" / "make_store.py"), "--size", size, "--seed", str(seed), "--json", str(path)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    stats = json.loads(done.stdout)
    if fsync:  # the child's clock stopped at close; the sync is timed here
        started = time.perf_counter()
        sync(path)
        stats["seconds"] += time.perf_counter() - started
    return stats


def sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def plain_write(path: Path, size: int, fsync: bool) -> float:
    """Seconds to write ``size`` bytes in 1 MiB chunks (and fsync them when asked)."""
    chunk = os.urandom(CHUNK)
    started = time.perf_counter()
    with open(path, "w+b") as handle:
        left = size
        while left > 0:
            handle.write(chunk if left >= CHUNK else chunk[:left])
            left -= CHUNK
        handle.flush()
        if fsync:
            os.fsync(handle.fileno())
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1G", help="store size, as make_store.py takes it (default 1G)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("/tmp"), help="directory for the files (default /tmp)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--fsync", action="store_true", help="include an fsync of each file in its time")
    parser.add_argument("--keep", action="store_true", help="keep the store (the plain file is always deleted)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    store = args.out / f"bench-write-{args.size}-seed{args.seed}.pst"
    plain = args.out / f"bench-write-{args.size}.plain"
    best: dict[str, Any] | None = None
    plain_best = float("inf")
    peak = 0.0
    try:
        for _ in range(args.runs):
            stats = write_store(store, args.size, args.seed, args.fsync)
            peak = max(peak, stats["peak_rss_mib"])
            if best is None or stats["seconds"] < best["seconds"]:
                best = stats
            plain_best = min(plain_best, plain_write(plain, stats["size"], args.fsync))
            plain.unlink()
    finally:
        if not args.keep:
            store.unlink(missing_ok=True)
        plain.unlink(missing_ok=True)
    assert best is not None
    size = best["size"]
    write_seconds = best["seconds"] - best["generate_seconds"]
    result = {
        "file": store.name,
        "MB": size / MB,
        "messages": best["messages"],
        "per_gb": best["messages"] / (size / 1e9),
        "attachments": best["attachments"],
        "seconds": best["seconds"],
        "generate_seconds": best["generate_seconds"],
        "mbps": size / MB / best["seconds"],
        "writer_mbps": size / MB / write_seconds,
        "plain_seconds": plain_best,
        "plain_mbps": size / MB / plain_best,
        "ratio": plain_best / best["seconds"],
        "writer_ratio": plain_best / write_seconds,
        "peak_rss_mib": peak,
        "baseline_rss_mib": best["extra"].get("baseline_rss_mib", 0.0),
        "fsync": args.fsync,
        "runs": args.runs,
        "stats": best,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(render([result], [
        ("store", "{}", lambda r: r["file"]),
        ("MB", "{:.1f}", lambda r: r["MB"]),
        ("msgs", "{}", lambda r: r["messages"]),
        ("msgs/GB", "{:.0f}", lambda r: r["per_gb"]),
        ("total s", "{:.1f}", lambda r: r["seconds"]),
        ("content s", "{:.1f}", lambda r: r["generate_seconds"]),
        ("MB/s", "{:.1f}", lambda r: r["mbps"]),
        ("writer MB/s", "{:.1f}", lambda r: r["writer_mbps"]),
        ("plain MB/s", "{:.0f}", lambda r: r["plain_mbps"]),
        ("MB/s ÷ plain", "{:.3f}", lambda r: r["ratio"]),
        ("writer ÷ plain", "{:.3f}", lambda r: r["writer_ratio"]),
        ("RSS MiB", "{:.0f}", lambda r: r["peak_rss_mib"]),
        ("+RSS", "{:.0f}", lambda r: r["peak_rss_mib"] - r["baseline_rss_mib"]),
    ]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
