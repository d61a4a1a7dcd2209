"""The aligned text tables the benchmark scripts print."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Column = tuple[str, str, Callable[[dict[str, Any]], Any]]
"""(header, format string, getter); a getter's KeyError shows as n/a (pypff missing)."""


def render(results: Sequence[dict[str, Any]], columns: Sequence[Column]) -> str:
    """One row per result, the first column left-aligned and the numbers right-aligned."""
    rows = []
    for result in results:
        row = []
        for _name, fmt, get in columns:
            try:
                row.append(fmt.format(get(result)))
            except KeyError:
                row.append("n/a")
        rows.append(row)
    headers = [name for name, _fmt, _get in columns]
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows)]
    lines = []
    for row in [headers, *rows]:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def base_parser(description: str) -> argparse.ArgumentParser:
    """The options every side-by-side benchmark takes: files, --runs, --json."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("files", nargs="*", type=Path, help="PST/OST files (default: corpus picks)")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs (default 3)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def emit(results: Sequence[dict[str, Any]], columns: Sequence[Column], as_json: bool) -> None:
    """Print the results as a table, or as JSON with the machine's CPU count."""
    if as_json:
        print(json.dumps({"cpus": os.cpu_count(), "results": list(results)}, indent=2))
    else:
        print(render(results, columns))


def peak_rss_bytes() -> int:
    """This process's peak resident set size (ru_maxrss is KiB on Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def in_fresh_process(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a new interpreter, so its ru_maxrss covers only it."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def require(files: Sequence[Path]) -> None:
    """Exit naming the files that do not exist, before anything is measured."""
    missing = [str(path) for path in files if not path.exists()]
    if missing:
        raise SystemExit(f"not found: {', '.join(missing)}")


def print_profiles(files: Sequence[Path], profile: Callable[[Path, int], str], top: int) -> None:
    """Each file's cProfile report (``profile(path, top)``) under its name."""
    for path in files:
        print(f"== {path.name}\n{profile(path, top)}")
