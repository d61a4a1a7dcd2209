"""Time pstlib reading every node of a PST/OST file, against raw I/O and pypff.

    python benchmarks/read_nodes.py [FILE ...] [--runs N] [--json]

Each reader runs in a fresh process so its peak RSS (ru_maxrss) is its own.
Times are the best of N runs from the page cache; see benchmarks/README.md.
"""

from __future__ import annotations

import csv
import multiprocessing
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tables import base_parser, emit

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
sys.path.insert(0, str(REPO))  # run from a checkout without installing pstlib

CHUNK = 1 << 20
MB = 1e6
MIB = 1 << 20


def best_of(runs: int, work: Callable[[str], dict], path: str) -> tuple[float, dict]:
    """Fastest wall time of ``runs`` calls and the last call's counts."""
    best = float("inf")
    counts: dict = {}
    for _ in range(runs):
        start = time.perf_counter()
        counts = work(path)
        best = min(best, time.perf_counter() - start)
    return best, counts


def peak_rss_bytes() -> int:
    """This process's peak resident set size (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def raw_read(path: str) -> dict:
    """Read the whole file in 1 MiB chunks, as the floor any reader pays."""
    buffer = bytearray(CHUNK)
    total = 0
    with open(path, "rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            total += count
    return {"bytes": total}


def pstlib_read_all(path: str) -> dict:
    """Open with pstlib and decode every node's data and every subnode's data."""
    import pstlib

    decoded = nodes = subnodes = 0
    with pstlib.open(path) as pst:
        for entry in pst.nodes():
            node = pst.node(entry.nid)
            decoded += len(node.read())
            nodes += 1
            for sub in node.walk_subnodes():
                decoded += len(sub.read())
                subnodes += 1
    return {"decoded_bytes": decoded, "nodes": nodes, "subnodes": subnodes}


def pypff_read_all(path: str) -> dict:
    """Open with pypff and read every folder, message, record set and attachment.

    pypff has no node-level API; this walk is the closest it has to reading
    every node.  Items it refuses (OSError, or MemoryError for items it cannot
    create) are counted, not fatal.
    """
    import pypff

    counts = {"folders": 0, "messages": 0, "attachments": 0, "value_bytes": 0, "errors": 0}

    def read_record_sets(item: object) -> None:
        for record_set in item.record_sets:
            for entry in record_set.entries:
                counts["value_bytes"] += len(entry.data or b"")

    def guarded(read: Callable[..., object], *args: object) -> object | None:
        try:
            return read(*args)
        except (OSError, MemoryError):
            counts["errors"] += 1
            return None

    def read_message(message: object) -> None:
        counts["messages"] += 1
        read_record_sets(message)
        if not isinstance(message, pypff.message):  # classes libpff does not know
            return
        for index in range(guarded(getattr, message, "number_of_attachments") or 0):
            attachment = guarded(message.get_attachment, index)
            if attachment is None:
                continue
            counts["attachments"] += 1
            data = guarded(attachment.read_buffer, attachment.size)
            counts["value_bytes"] += len(data or b"")

    def read_folder(folder: object) -> None:
        counts["folders"] += 1
        guarded(read_record_sets, folder)
        for index in range(guarded(getattr, folder, "number_of_sub_messages") or 0):
            message = guarded(folder.get_sub_message, index)
            if message is not None:
                guarded(read_message, message)
        for index in range(guarded(getattr, folder, "number_of_sub_folders") or 0):
            sub = guarded(folder.get_sub_folder, index)
            if sub is not None:
                read_folder(sub)

    pff = pypff.open(path)
    try:
        read_folder(pff.get_root_folder())
    finally:
        pff.close()
    return counts


def measure_raw(path: str, runs: int) -> dict:
    """Raw read time after a warm-up read that puts the file in the page cache."""
    raw_read(path)
    seconds, _ = best_of(runs, raw_read, path)
    return {"seconds": seconds}


def measure_pstlib(path: str, runs: int) -> dict:
    """pstlib timings and peak RSS, then one more run under tracemalloc for its peak."""
    import pstlib  # noqa: F401  (imported before the baseline RSS reading)

    baseline = peak_rss_bytes()
    seconds, counts = best_of(runs, pstlib_read_all, path)
    rss = peak_rss_bytes()
    tracemalloc.start()
    pstlib_read_all(path)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "seconds": seconds,
        **counts,
        "rss_peak_bytes": rss,
        "rss_over_imports_bytes": rss - baseline,
        "tracemalloc_peak_bytes": traced_peak,
    }


def measure_pypff(path: str, runs: int) -> dict:
    """pypff timings and peak RSS."""
    import pypff  # noqa: F401  (imported before the baseline RSS reading)

    baseline = peak_rss_bytes()
    seconds, counts = best_of(runs, pypff_read_all, path)
    rss = peak_rss_bytes()
    return {
        "seconds": seconds,
        **counts,
        "rss_peak_bytes": rss,
        "rss_over_imports_bytes": rss - baseline,
    }


def in_fresh_process(measure: Callable[[str, int], dict], path: str, runs: int) -> dict:
    """Run one measurement in a new interpreter so ru_maxrss covers only it."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(measure, path, runs).result()


def have_pypff() -> bool:
    """Whether pypff (PyPI libpff-python) is importable."""
    try:
        import pypff  # noqa: F401
    except ImportError:
        return False
    return True


def default_files() -> list[Path]:
    """Largest Unicode PST, largest 4K OST, largest ANSI file and largest cyclic file."""
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.exists():
        sys.exit(f"no files given and no corpus at {CORPUS}")
    with manifest.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    picks = [
        lambda row: row["format"] == "unicode" and row["magic_client"] == "SM",
        lambda row: row["format"] == "unicode4k" and row["magic_client"] == "SO",
        lambda row: row["format"] == "ansi",
        lambda row: row["crypt"] == "cyclic",
    ]
    chosen: list[Path] = []
    for pick in picks:
        matching = sorted(filter(pick, rows), key=lambda row: (-int(row["bytes"]), row["file"]))
        if matching and (path := CORPUS / matching[0]["file"]) not in chosen:
            chosen.append(path)
    return chosen


def benchmark(path: Path, runs: int, with_pypff: bool) -> dict:
    """Every measurement for one file."""
    size = path.stat().st_size
    raw = measure_raw(str(path), runs)
    raw["mb_per_s"] = size / MB / raw["seconds"]
    pst = in_fresh_process(measure_pstlib, str(path), runs)
    pst["decoded_mb_per_s"] = pst["decoded_bytes"] / MB / pst["seconds"]
    pst["file_mb_per_s"] = size / MB / pst["seconds"]
    result = {"file": path.name, "size_bytes": size, "runs": runs, "raw": raw, "pstlib": pst}
    if with_pypff:
        result["pypff"] = in_fresh_process(measure_pypff, str(path), runs)
        result["pstlib_over_pypff"] = result["pstlib"]["seconds"] / result["pypff"]["seconds"]
    return result


COLUMNS = [
    ("file", "{}", lambda r: r["file"]),
    ("MB", "{:.1f}", lambda r: r["size_bytes"] / MB),
    ("raw MB/s", "{:.0f}", lambda r: r["raw"]["mb_per_s"]),
    ("nodes+sub", "{}", lambda r: f'{r["pstlib"]["nodes"]}+{r["pstlib"]["subnodes"]}'),
    ("dec MB", "{:.1f}", lambda r: r["pstlib"]["decoded_bytes"] / MB),
    ("pstlib s", "{:.3f}", lambda r: r["pstlib"]["seconds"]),
    ("dec MB/s", "{:.1f}", lambda r: r["pstlib"]["decoded_mb_per_s"]),
    ("file MB/s", "{:.1f}", lambda r: r["pstlib"]["file_mb_per_s"]),
    ("RSS MiB", "{:.0f}", lambda r: r["pstlib"]["rss_peak_bytes"] / MIB),
    ("+RSS", "{:.1f}", lambda r: r["pstlib"]["rss_over_imports_bytes"] / MIB),
    ("tracemalloc", "{:.1f}", lambda r: r["pstlib"]["tracemalloc_peak_bytes"] / MIB),
    ("pypff s", "{:.3f}", lambda r: r["pypff"]["seconds"]),
    ("pypff RSS", "{:.0f}", lambda r: r["pypff"]["rss_peak_bytes"] / MIB),
    ("pypff err", "{}", lambda r: r["pypff"]["errors"]),
    ("ratio", "{:.2f}", lambda r: r["pstlib_over_pypff"]),
]


def main(argv: list[str] | None = None) -> None:
    parser = base_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    files = args.files or default_files()
    with_pypff = have_pypff()
    emit([benchmark(path, args.runs, with_pypff) for path in files], COLUMNS, args.json)


if __name__ == "__main__":
    main()
