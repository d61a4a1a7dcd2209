"""Time ``pst.recover()`` and the carve under it against reading the file and CRC-ing it.

    python benchmarks/recover.py [FILE ...] [--largest N] [--runs N] [--json] [--profile N]

For each file, four measurements, each in its own spawned process so that its
peak RSS (ru_maxrss) is its own, best of N runs after a warm-up read (page cache):

- carve: ``carve(pst.read_at, pst.header.ndb, [(0, pst.size)])`` consumed, the
  trailer scan of the whole file alone;
- everywhere: ``pst.recover(everywhere=True)`` iterated to the end: the carve,
  plus the live trees, the folder walk, rebuilding every candidate message and
  the pass over blocks no NBT entry names;
- free: ``pst.recover()``, the default, which scans the space the AMaps call
  free and the live leaf pages;
- read+CRC: the file read in 1 MiB chunks through ``zlib.crc32``, as in
  benchmarks/verify.py, the least any pass over every byte pays.

With no FILE: the 1 GB store of benchmarks/make_store.py (``--size 1G --seed 1``)
at /tmp/bench-write-1G-seed1.pst if it is there, then the ``--largest`` N
largest corpus files.  ``--profile N`` runs the carve and ``recover(everywhere=True)``
under cProfile instead and prints the top N functions by internal time.
See benchmarks/README.md.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing pstlib

from tables import base_parser, emit, in_fresh_process, peak_rss_bytes, print_profiles, require
from verify import best_of, largest, read_and_crc

STORE_1G = Path("/tmp/bench-write-1G-seed1.pst")
"""Made by ``python benchmarks/make_store.py --size 1G --seed 1 /tmp/bench-write-1G-seed1.pst``."""
MB = 1e6
MIB = 1 << 20



def run_carve(path: str) -> dict[str, int]:
    """The whole file through ``carve``; the pages and blocks it finds."""
    import pstlib
    from pstlib.ndb.carve import CarvedBlock, carve

    counts = {"pages_found": 0, "blocks_found": 0}
    with pstlib.open(path) as pst:
        for item in carve(pst.read_at, pst.header.ndb, [(0, pst.size)]):
            counts["blocks_found" if isinstance(item, CarvedBlock) else "pages_found"] += 1
    return counts


def run_recover(path: str, everywhere: bool) -> dict[str, Any]:
    """``pst.recover()`` iterated to the end; its stats and what it yielded."""
    import pstlib

    with pstlib.open(path) as pst:
        recovery = pst.recover(everywhere=everywhere)
        items = incomplete = 0
        for item in recovery:
            items += 1
            incomplete += not item.complete
        stats = recovery.stats
    return {
        "scope": stats.scope,
        "bytes_scanned": stats.bytes_scanned,
        "pages_found": stats.pages_found,
        "blocks_found": stats.blocks_found,
        "items": items,
        "incomplete": incomplete,
        "orphans": stats.orphans,
        "recovered": stats.recovered,
        "skipped": len(stats.skipped),
    }


MODES: dict[str, Callable[[str], dict[str, Any]]] = {
    "carve": run_carve,
    "everywhere": lambda path: run_recover(path, everywhere=True),
    "free": lambda path: run_recover(path, everywhere=False),
    "read_crc": lambda path: {"crc": read_and_crc(Path(path))},
}


def measure(mode: str, path: str, runs: int) -> dict[str, Any]:
    """Best-of-``runs`` time of one mode, its counts and its peak RSS (run in a child)."""
    import pstlib.recovery  # noqa: F401  (imported before the baseline RSS reading)

    baseline = peak_rss_bytes()
    seconds, counts = best_of(runs, lambda: MODES[mode](path))
    rss = peak_rss_bytes()
    return {
        "seconds": seconds,
        **counts,
        "rss_peak_bytes": rss,
        "rss_over_imports_bytes": rss - baseline,
    }



def benchmark(path: Path, runs: int) -> dict[str, Any]:
    """Every mode's measurement of one file, with MB/s and the ratios to read+CRC."""
    read_and_crc(path)  # warm the page cache
    size = path.stat().st_size
    result: dict[str, Any] = {"file": path.name, "size_bytes": size, "runs": runs}
    for mode in MODES:
        result[mode] = measured = in_fresh_process(measure, mode, str(path), runs)
        measured["mb_per_s"] = size / MB / measured["seconds"]
    for mode in ("carve", "everywhere", "free"):
        result[f"{mode}_over_read_crc"] = result[mode]["seconds"] / result["read_crc"]["seconds"]
    return result


def rss_mib(result: dict[str, Any], modes: tuple[str, ...]) -> str:
    """The modes' peak RSS in MiB, slash-separated."""
    return "/".join(f"{result[mode]['rss_peak_bytes'] / MIB:.0f}" for mode in modes)


COLUMNS = [
    ("file", "{}", lambda r: r["file"]),
    ("MB", "{:.1f}", lambda r: r["size_bytes"] / MB),
    ("read+CRC MB/s", "{:.0f}", lambda r: r["read_crc"]["mb_per_s"]),
    ("carve MB/s", "{:.0f}", lambda r: r["carve"]["mb_per_s"]),
    ("carve / read+CRC", "{:.1f}", lambda r: r["carve_over_read_crc"]),
    ("everywhere MB/s", "{:.0f}", lambda r: r["everywhere"]["mb_per_s"]),
    ("everywhere / read+CRC", "{:.1f}", lambda r: r["everywhere_over_read_crc"]),
    ("free s", "{:.3f}", lambda r: r["free"]["seconds"]),
    ("free MB/s", "{:.0f}", lambda r: r["free"]["mb_per_s"]),
    ("free scanned MB", "{:.1f}", lambda r: r["free"]["bytes_scanned"] / MB),
    ("pages+blocks", "{}", lambda r: f"{r['carve']['pages_found']}+{r['carve']['blocks_found']}"),
    ("items all/free", "{}", lambda r: f"{r['everywhere']['items']}/{r['free']['items']}"),
    ("RSS MiB carve/all/free", "{}", lambda r: rss_mib(r, ("carve", "everywhere", "free"))),
]


def profile(path: Path, top: int) -> str:
    """cProfile of the carve and of ``recover(everywhere=True)``, top ``top`` functions each."""
    import pstlib.recovery  # noqa: F401  (imports stay out of the profile)

    out = io.StringIO()
    for mode in ("carve", "everywhere"):
        profiler = cProfile.Profile()
        profiler.runcall(MODES[mode], str(path))
        out.write(f"-- {mode}\n")
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--largest",
        type=int,
        default=4,
        help="with no FILE, this many largest corpus files (default 4)",
    )
    parser.add_argument(
        "--profile", type=int, metavar="N", help="cProfile instead: top N functions"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    files = args.files
    if not files:
        files = largest(args.largest)
        if STORE_1G.exists():
            files.insert(0, STORE_1G)
        else:
            print(
                f"{STORE_1G} not found (see benchmarks/make_store.py): corpus files only",
                file=sys.stderr,
            )
    require(files)
    if args.profile:
        print_profiles(files, profile, args.profile)
        return
    emit([benchmark(path, args.runs) for path in files], COLUMNS, args.json)


if __name__ == "__main__":
    main()
