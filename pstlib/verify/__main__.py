"""``python -m pstlib.verify FILE...``: exit 0 if every file is consistent,
1 if any is not, 2 for usage errors and files the OS cannot open.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

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
    parser.add_argument("--quick", action="store_true", help="header, ROOT and B-tree structure only")
    return parser


def summary(report: Report) -> str:
    """A few lines for people: the verdict, the problems, what was checked."""
    verdict = "consistent" if report.consistent else "INCONSISTENT"
    stats = report.stats
    lines = [
        f"{report.path}: {verdict} ({report.level}; {stats.pages} pages, {stats.blocks} blocks,"
        f" {stats.nodes} nodes, {stats.folders} folders, {stats.messages} messages,"
        f" {stats.bytes_read} bytes in {stats.seconds:.2f} s)"
    ]
    lines += [f"  {problem}" for problem in report.problems]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = "quick" if args.quick else "full"
    status = EXIT_CONSISTENT
    progress = sys.stderr.isatty() and len(args.files) > 1
    for number, path in enumerate(args.files, 1):
        if progress:
            print(f"\r[{number}/{len(args.files)}] {path}", end="", file=sys.stderr, flush=True)
        try:
            report = verify_file(path, level=level)
        except OSError as exc:
            print(f"{path}: cannot open: {exc.strerror or exc}", file=sys.stderr)
            status = EXIT_UNUSABLE
            continue
        if progress:
            print("\r\033[K", end="", file=sys.stderr)
        print(report.to_json() if args.json else summary(report))
        if not report.consistent and status == EXIT_CONSISTENT:
            status = EXIT_INCONSISTENT
    return status


if __name__ == "__main__":
    sys.exit(main())
