"""The ``pstlib`` command: a registry of subcommands, git-style.

Each subcommand is a ``Command`` registered with ``@command``; later layers
add theirs (``verify``, ``export``, ...) the same way.  Exit status: 0 done,
1 the file is damaged, 2 usage errors and files the OS cannot open.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from tqdm import tqdm

import pstlib
import pstlib.messaging.message


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


@command(
    "info",
    "show a file's format, encoding, password flag and counts",
    "pstlib info --json mail.pst",
    _configure_info,
)
def run_info(args: argparse.Namespace) -> int:
    """Print the header facts, node/block counts and folder/message counts of one file."""
    with pstlib.open(args.file) as pst:
        header = pst.header
        facts: dict[str, object] = {
            "file": args.file,
            "size": pst.size,
            "format": header.format,
            "kind": header.kind,
            "version": header.version,
            "crypt": header.crypt,
            "nodes": sum(1 for _ in pst.nodes()),
            "blocks": sum(1 for _ in pst.blocks()),
        }
        try:  # the NDB facts stand even where the messaging layer is damaged
            facts["display_name"] = pst.store.display_name
            facts["password_protected"] = pst.store.is_password_protected
            folders = list(pst.root_folder.walk())
            facts["folders"] = len(folders)
            facts["messages"] = sum(len(list(folder.messages())) for folder in folders if not folder.is_search_folder)
        except pstlib.PSTError as exc:
            facts["messaging_error"] = str(exc)
    if args.json:
        print(json.dumps(facts))
    else:
        width = max(map(len, facts))
        for key, value in facts.items():
            print(f"{key:<{width}}  {value}")
    return 1 if "messaging_error" in facts else 0


def _configure_ls(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a PST or OST file")
    parser.add_argument("path", nargs="?", default="/", help='a folder path, e.g. "/Top of Personal Folders/Inbox"')
    parser.add_argument("--messages", action="store_true", help="one line per message: date, sender, subject, attachments")
    parser.add_argument("--json", action="store_true", help="one JSON object per folder (and message), one per line")


@command("ls", "list the folder tree with counts, and optionally the messages", 'pstlib ls mail.pst "/Top of Personal Folders" --messages', _configure_ls)
def run_ls(args: argparse.Namespace) -> int:
    """Exit 0, 1 if some folder or message could not be read, 2 if PATH names no folder."""
    failed = 0
    with pstlib.open(args.file) as pst:
        wanted = args.path.rstrip("/") or "/"
        start = next((folder for folder in pst.root_folder.walk() if folder.path == wanted), None)
        if start is None:
            print(f"pstlib: no folder {args.path!r} in {args.file}", file=sys.stderr)
            return 2
        depth0 = start.path.count("/") - (start.path == "/")
        for folder in start.walk():
            depth = folder.path.count("/") - (folder.path == "/") - depth0
            try:
                messages = list(folder.messages()) if args.messages else []
                count, unread = folder.message_count, folder.unread_count
            except pstlib.PSTError as exc:
                failed += 1
                print(f"pstlib: {folder.path}: {exc}", file=sys.stderr)
                continue
            if args.json:
                print(json.dumps({"path": folder.path, "nid": folder.nid, "messages": count, "unread": unread}))
            else:
                print(f"{'  ' * depth}{folder.name or '/'}  ({count} messages, {unread} unread)")
            for message in messages:
                try:
                    line = _message_line(message)
                except pstlib.PSTError as exc:
                    failed += 1
                    print(f"pstlib: {folder.path}: message 0x{message.nid:X}: {exc}", file=sys.stderr)
                    continue
                if args.json:
                    print(json.dumps({"folder": folder.path, **line}))
                else:
                    print(f"{'  ' * (depth + 1)}{line['date'] or '-':<19}  {line['sender'] or '-':<30.30}  {line['subject'] or ''}  [{line['attachments']}]")
    return 1 if failed else 0


def _message_line(message: pstlib.messaging.message.Message) -> dict[str, object]:
    """The facts ``ls --messages`` shows for one message."""
    when = message.delivery_time or message.submit_time
    sender = message.sender_name or message.sender_email
    return {
        "nid": message.nid,
        "date": when.strftime("%Y-%m-%d %H:%M:%S") if when else None,
        "sender": sender,
        "subject": message.subject,
        "attachments": len(message.attachments),
    }


def _configure_verify(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--json", action="store_true", help="one JSON report per line")
    parser.add_argument("--quick", action="store_true", help="header, ROOT and B-tree structure only")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="check N files at a time in worker processes (default 1)")


@command(
    "verify",
    "check files for internal consistency (as python -m pstlib.verify)",
    "pstlib verify --json backup/mail.pst",
    _configure_verify,
)
def run_verify(args: argparse.Namespace) -> int:
    """Exit 0 if every file is consistent, 1 if any is not, 2 if one cannot be opened."""
    from pstlib.verify.__main__ import main as verify_main

    options = [*(["--json"] if args.json else []), *(["--quick"] if args.quick else []), "--jobs", str(args.jobs)]
    return verify_main([*options, "--", *args.files])


def _configure_scan(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="PST or OST files")
    parser.add_argument(
        "--to", nargs=2, metavar=("FORMAT", "OUT"),
        help="parquet: a dataset directory OUT (created, must be empty); json: a new JSON Lines file OUT"
        " (default: JSON Lines on stdout)",
    )
    parser.add_argument("--jobs", type=int, metavar="N", help="worker processes (default: one per CPU; 1: none)")
    parser.add_argument("--fields", metavar="LIST", help="comma-separated fields to keep (default: all but body)")
    parser.add_argument("--body", action="store_true", help="add the plain body text")


@command(
    "scan",
    "read the message records of many stores in parallel, as JSON Lines or a Parquet dataset",
    "pstlib scan mail/*.pst --to parquet mail-parquet/ --jobs 4",
    _configure_scan,
)
def run_scan(args: argparse.Namespace) -> int:
    """Exit 0 when every message was read, 1 when some item or store could not be (each is
    named on stderr, and is an error record in the output), 2 on usage errors, unusable
    output, or a file the OS cannot open (the others are still scanned)."""
    from pstlib.bulk import DEFAULT_FIELDS, scan_parts

    to, out = args.to or ("json", "-")
    if to not in ("json", "parquet"):
        print(f"pstlib: unknown --to format {to!r} (json or parquet)", file=sys.stderr)
        return 2
    fields = [*(args.fields.split(",") if args.fields else DEFAULT_FIELDS), *(["body"] if args.body else [])]
    try:
        parts = scan_parts(args.paths, args.jobs, fields)
    except ValueError as exc:
        print(f"pstlib: {exc}", file=sys.stderr)
        return 2
    unopenable = [path for path in args.paths if not _can_open(path)]
    counts: Counter[str] = Counter()
    with tqdm(unit="msg", file=sys.stderr, disable=not sys.stderr.isatty(), leave=False) as bar:
        counted = (replace(part, records=_counted(part.records, counts, bar)) for part in parts)
        try:
            if to == "parquet":
                from pstlib.arrow import write_dataset

                write_dataset(counted, out, fields)
            else:
                _write_json_lines(counted, out)
        except (FileExistsError, ImportError) as exc:
            print(f"pstlib: {exc}", file=sys.stderr)
            return 2
    print(f"{len(args.paths)} stores, {counts['messages']} messages, {counts['errors']} errors", file=sys.stderr)
    return 2 if unopenable else 1 if counts["errors"] else 0


def _can_open(path: str) -> bool:
    """Whether the OS opens ``path`` (the scan names the reason in its error record)."""
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False


def _counted(records: Iterable[dict], counts: Counter[str], bar: tqdm) -> Iterator[dict]:
    """``records``, counted (messages and errors), each error named on stderr."""
    for record in records:
        if record["error"] is None:
            counts["messages"] += 1
            bar.update(1)
        else:
            counts["errors"] += 1
            nid = "" if record["nid"] is None else f" (nid 0x{record['nid']:X})"
            folder = f" in {record['folder']}" if record["folder"] else ""
            tqdm.write(f"pstlib: {record['store']}: failed {record['error_item']}{nid}{folder}: {record['error']}", file=sys.stderr)
        yield record


def _write_json_lines(parts: Iterable[Any], out: str) -> None:
    """Every record as one JSON object per line (times in ISO 8601 UTC) to ``out`` ("-": stdout)."""
    from pstlib.export.jsonl import iso_utc

    def default(value: object) -> str | None:
        if isinstance(value, datetime):
            return iso_utc(value)
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    with contextlib.nullcontext(sys.stdout) if out == "-" else open(out, "x", encoding="utf-8", newline="\n") as handle:
        for part in parts:
            for record in part.records:
                handle.write(json.dumps(record, ensure_ascii=False, default=default) + "\n")


def _configure_copy(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="a PST or OST file to read")
    parser.add_argument("destination", help="the new Unicode PST to write")
    parser.add_argument(
        "--crypt", choices=("none", "permute", "cyclic"), default="permute", help="encoding of the new file (default permute)"
    )
    parser.add_argument("--force", action="store_true", help="replace DESTINATION if it exists")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")


@command(
    "copy",
    "copy a store into a fresh Unicode PST, skipping (and listing) what cannot be read",
    "pstlib copy mailbox.ost mailbox.pst",
    _configure_copy,
)
def run_copy(args: argparse.Namespace) -> int:
    """Exit 0 when everything was copied, 1 when items were skipped, 2 on usage errors."""
    if os.path.exists(args.destination) and os.path.samefile(args.source, args.destination):
        print("pstlib: the copy would overwrite its source", file=sys.stderr)
        return 2
    if os.path.exists(args.destination) and not args.force:
        print(f"pstlib: {args.destination} exists (use --force to replace it)", file=sys.stderr)
        return 2
    args.file = args.source
    counter = _Progress(args.source)
    try:
        report = pstlib.copy(args.source, args.destination, crypt=args.crypt, progress=counter)
    finally:
        counter.done()
    where = {"source": args.source, "destination": args.destination}
    return _report(report, report.skipped, where, ("skipped", "copied"), args.json)


def _configure_export(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a PST or OST file")
    parser.add_argument("--to", required=True, choices=("eml", "mbox", "json", "parquet"), help="output format")
    parser.add_argument("--out", required=True, help="output directory (created; must be empty unless --force)")
    parser.add_argument("--folder", help='export only this folder and below, e.g. "/Top of Personal Folders/Inbox"')
    _export_options(parser)


def _export_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="replace files of the same names in --out")
    parser.add_argument("--strict", action="store_true", help="stop at the first item that cannot be read")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")


@command(
    "export",
    "export messages as EML, mbox, JSON Lines or Parquet, in folders mirroring the store",
    "pstlib export mail.pst --to eml --out mail-eml/",
    _configure_export,
)
def run_export(args: argparse.Namespace) -> int:
    """Exit 0 when every message was written, 1 when some failed (with --strict, at the first),
    2 on unusable input or output."""
    from pstlib.export import export_store

    return _run_export(args, lambda pst, progress: export_store(
        pst, args.out, args.to, folder_path=args.folder, force=args.force, strict=args.strict, progress=progress
    ))


def _configure_attachments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a PST or OST file")
    parser.add_argument("--out", required=True, help="output directory (created; must be empty unless --force)")
    _export_options(parser)


@command(
    "attachments",
    "save every attachment as a file (embedded messages as .eml), in folders mirroring the store",
    "pstlib attachments mail.pst --out mail-attachments/",
    _configure_attachments,
)
def run_attachments(args: argparse.Namespace) -> int:
    """Exit 0 when every attachment was saved, 1 when some failed (with --strict, at the first),
    2 on unusable input or output."""
    from pstlib.export import export_attachments

    return _run_export(args, lambda pst, progress: export_attachments(
        pst, args.out, force=args.force, strict=args.strict, progress=progress
    ))


def _run_export(args: argparse.Namespace, job: Callable) -> int:
    """Open the store, run an export job with a progress counter on a terminal, report."""
    try:
        pst = pstlib.open(args.file)
    except pstlib.PSTError as exc:
        print(f"pstlib: {args.file}: {exc}", file=sys.stderr)
        return 2
    counter = _Progress(args.file)
    try:
        with pst:
            report = job(pst, counter)
    except pstlib.PSTError as exc:  # --strict: the first item that cannot be read ends the run
        print(f"pstlib: {args.file}: {exc}", file=sys.stderr)
        return 1
    except (FileExistsError, LookupError, ValueError, ImportError) as exc:
        print(f"pstlib: {args.file}: {exc}", file=sys.stderr)
        return 2
    finally:
        counter.done()
    where = {"file": args.file, "out": args.out}
    return _report(report, report.failed, where, ("failed", f"written to {args.out}"), args.json)


def _report(report: Any, items: list, where: dict[str, str], words: tuple[str, str], as_json: bool) -> int:
    """Print a copy or export report (counts, then each item left out); 0 if none was, else 1."""
    left_out, done = words
    if as_json:
        counts = {"folders": report.folders, "messages": report.messages, "attachments": report.attachments}
        print(json.dumps({**where, **counts, left_out: [vars(item) for item in items]}))
    else:
        print(f"{report.folders} folders, {report.messages} messages, {report.attachments} attachments {done}")
        for item in items:
            print(f"{left_out} {item.what} (nid 0x{item.nid:X}) in {item.folder}: {item.reason}")
    return 1 if items else 0


class _Progress:
    """A tqdm bar on stderr when it is a terminal, counting messages; silent when piped."""

    def __init__(self, source: str) -> None:
        self.bar = None
        if sys.stderr.isatty():
            self.bar = tqdm(total=_message_total(source), unit="msg", file=sys.stderr, leave=False)

    def __call__(self, step: int) -> None:
        if self.bar is not None:
            self.bar.update(step)

    def done(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _message_total(source: str) -> int | None:
    """Messages the store's folders say they hold (for the bar's total), or None if unknown."""
    try:
        with pstlib.open(source) as pst:
            return sum(folder.message_count for folder in pst.root_folder.walk())
    except pstlib.PSTError:
        return None


def _configure_recover(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a PST or OST file")
    parser.add_argument("--out", help="write the recovered messages into this new PST")
    parser.add_argument("--everywhere", action="store_true", help="scan the whole file, not only the space the AMaps call free")
    parser.add_argument("--crypt", choices=("none", "permute", "cyclic"), default="permute", help="encoding of the new file (default permute)")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")


@command(
    "recover",
    "find messages the folder tree no longer reaches (orphaned, deleted) and save them into a new PST",
    "pstlib recover damaged.pst --out recovered.pst",
    _configure_recover,
)
def run_recover(args: argparse.Namespace) -> int:
    """Exit 0 when the scan ran (whatever it found), 1 when a recovered message could not be
    written, 2 on usage errors and files that cannot be opened."""
    from pstlib.recovery import describe, save

    if args.out is None and not args.json:
        print("pstlib: give --out RECOVERED.pst, --json, or both", file=sys.stderr)
        return 2
    if args.out and os.path.exists(args.out):
        if os.path.samefile(args.file, args.out):
            print("pstlib: the recovered store would overwrite its source", file=sys.stderr)
            return 2
        if not args.force:
            print(f"pstlib: {args.out} exists (use --force to replace it)", file=sys.stderr)
            return 2
    bar = tqdm(unit="B", unit_scale=True, file=sys.stderr, leave=False) if sys.stderr.isatty() else None
    try:
        with pstlib.open(args.file) as pst:
            recovery = pst.recover(args.everywhere, bar.update if bar is not None else None)
            if bar is not None:
                bar.total = sum(end - start for start, end in recovery.ranges())
            if args.out:
                report = save(recovery, args.out, args.crypt)
                items, skipped = report.items, report.skipped
            else:
                items, skipped = [describe(item) for item in recovery], []
            stats = recovery.stats
    except (pstlib.PSTError, OSError) as exc:
        print(f"pstlib: {args.file}: {exc}", file=sys.stderr)
        return 2
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        scan = {"scope": stats.scope, "bytes_scanned": stats.bytes_scanned, "pages_found": stats.pages_found, "blocks_found": stats.blocks_found}
        candidates = [{"nid": nid, "reason": reason} for nid, reason in stats.skipped]
        print(json.dumps({"file": args.file, "out": args.out, "scan": scan, "items": items, "candidates_skipped": candidates, "skipped": [vars(s) for s in skipped]}))
    else:
        complete = sum(item["complete"] for item in items)
        print(f"{len(items)} messages recovered ({complete} complete, {len(items) - complete} partial)"
              f" from {stats.bytes_scanned} bytes of {'free space' if stats.scope == 'free' else 'the whole file'};"
              f" {len(stats.skipped)} candidates could not be rebuilt")
        for item in items:
            state = "complete" if item["complete"] else "partial"
            older = ", older version" if item["superseded"] else ""
            print(f"{item['source']} 0x{item['nid']:X} ({state}{older}) in {item['folder_hint'] or '?'}: {item['subject']!r}")
        for part in skipped:
            print(f"skipped {part.what} (nid 0x{part.nid:X}) in {part.folder}: {part.reason}")
    return 1 if skipped else 0


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
    except BrokenPipeError:  # piped into head: the reader has all it wants
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - so the interpreter's flush at exit is quiet
        return 0
    except OSError as exc:
        print(f"pstlib: {exc}", file=sys.stderr)
        return 2
    except pstlib.PSTError as exc:
        print(f"pstlib: {getattr(args, 'file', '')}: {exc}", file=sys.stderr)
        return 1
