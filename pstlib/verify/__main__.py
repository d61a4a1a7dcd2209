"""``python -m pstlib.verify FILE...``: exit 0 if every file is consistent,
1 if any is not, 2 for usage errors and files the OS cannot open.

``--jobs N`` checks N files at a time in worker processes; reports are still
printed in the order the files were given.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from functools import partial

from pstlib.verify import verify_file
from pstlib.verify.report import Report

EXIT_CONSISTENT = 0
EXIT_INCONSISTENT = 1
EXIT_UNUSABLE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pstlib.verify",
        description="Check PST/OST files for internal consistency (e.g. a backup copy).",
        epilog="example: python -m pstlib.verify --json backup/mail.pst",
    )
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--json", action="store_true", help="one JSON report per line")
    parser.add_argument(
        "--quick", action="store_true", help="header, ROOT and B-tree structure only"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="check N files at a time in worker processes (default 1)",
    )
    return parser


def summary(report: Report) -> str:
    """A few lines for people: the verdict, the problems, what was checked."""
    verdict = "consistent" if report.consistent else "INCONSISTENT"
    stats = report.stats
    lines = [
        (
            f"{report.path}: {verdict} ({report.level}; {stats.pages} pages, {stats.blocks} blocks,"
            f" {stats.nodes} nodes, {stats.folders} folders, {stats.messages} messages,"
            f" {stats.bytes_read} bytes in {stats.seconds:.2f} s)"
        )
    ]
    lines += [f"  {problem}" for problem in report.problems]
    return "\n".join(lines)


def _reports(paths: list[str], level: str, jobs: int) -> Iterator[Report | Exception]:
    """Each file's report, in order, or the exception that kept it from being checked:
    ``OSError`` when the OS cannot open it (or, with ``jobs`` > 1, a worker that died)."""
    if jobs == 1 or len(paths) == 1:
        for path in paths:
            try:
                yield verify_file(path, level=level)
            except OSError as exc:
                yield exc
        return
    from pstlib.bulk.pool import Pool  # the bulk layer loads the export records: only when needed

    with Pool(partial(verify_file, level=level), min(jobs, len(paths))) as pool:
        for _, future in pool.ordered(paths):
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - OSError, or the worker died
                yield exc


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    level = "quick" if args.quick else "full"
    status = EXIT_CONSISTENT
    progress = sys.stderr.isatty() and len(args.files) > 1
    reports = _reports(args.files, level, args.jobs)
    for number, path in enumerate(args.files, 1):
        if progress:
            print(f"\r[{number}/{len(args.files)}] {path}", end="", file=sys.stderr, flush=True)
        report = next(reports)
        if progress:
            print("\r\033[K", end="", file=sys.stderr)
        if isinstance(report, OSError):
            print(f"{path}: cannot open: {report.strerror or report}", file=sys.stderr)
        elif isinstance(report, Exception):
            print(f"{path}: cannot check: {report}", file=sys.stderr)
        if isinstance(report, Exception):
            status = EXIT_UNUSABLE
            continue
        print(report.to_json() if args.json else summary(report))
        if not report.consistent and status == EXIT_CONSISTENT:
            status = EXIT_INCONSISTENT
    return status


if __name__ == "__main__":
    sys.exit(main())
