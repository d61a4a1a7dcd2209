"""The ``pstlib`` command: a registry of subcommands, git-style.

Each subcommand is a ``Command`` registered with ``@command``; later layers
add theirs (``verify``, ``export``, ...) the same way.  Exit status: 0 done,
1 the file is damaged, 2 usage errors and files the OS cannot open.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pstlib


@dataclass(frozen=True)
class Command:
    """One subcommand: its argument set-up and the function that runs it."""

    name: str
    help: str
    example: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {}


def command(
    name: str, help: str, example: str, configure: Callable[[argparse.ArgumentParser], None]
) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    """Register the decorated function as subcommand ``name``."""

    def register(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = Command(name, help, example, configure, run)
        return run

    return register


def _configure_info(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a PST or OST file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


@command("info", "show a file's format and NDB counts", "pstlib info mail.pst", _configure_info)
def run_info(args: argparse.Namespace) -> int:
    """Print the header facts and node/block counts of one file."""
    with pstlib.open(args.file) as pst:
        header = pst.header
        facts = {
            "file": args.file,
            "size": pst.size,
            "format": header.format,
            "kind": header.kind,
            "version": header.version,
            "crypt": header.crypt,
            "nodes": sum(1 for _ in pst.nodes()),
            "blocks": sum(1 for _ in pst.blocks()),
        }
    if args.json:
        print(json.dumps(facts))
    else:
        width = max(map(len, facts))
        for key, value in facts.items():
            print(f"{key:<{width}}  {value}")
    return 0


def _configure_verify(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--json", action="store_true", help="one JSON report per line")
    parser.add_argument("--quick", action="store_true", help="header, ROOT and B-tree structure only")


@command(
    "verify",
    "check files for internal consistency (as python -m pstlib.verify)",
    "pstlib verify --json backup/mail.pst",
    _configure_verify,
)
def run_verify(args: argparse.Namespace) -> int:
    """Exit 0 if every file is consistent, 1 if any is not, 2 if one cannot be opened."""
    from pstlib.verify.__main__ import main as verify_main

    return verify_main([*args.files, *(["--json"] if args.json else []), *(["--quick"] if args.quick else [])])


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per registered command."""
    parser = argparse.ArgumentParser(prog="pstlib", description=pstlib.__doc__)
    parser.add_argument("--version", action="version", version=f"pstlib {pstlib.__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for cmd in COMMANDS.values():
        sub = subparsers.add_parser(
            cmd.name,
            help=cmd.help,
            description=cmd.help,
            epilog=f"example: {cmd.example}",
        )
        cmd.configure(sub)
        sub.set_defaults(run=cmd.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pstlib`` console script and ``python -m pstlib``."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except OSError as exc:
        print(f"pstlib: {exc}", file=sys.stderr)
        return 2
    except pstlib.PSTError as exc:
        print(f"pstlib: {getattr(args, 'file', '')}: {exc}", file=sys.stderr)
        return 1
