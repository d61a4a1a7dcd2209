"""Time a full messaging-level walk of PST/OST files with pstlib, side by side with pypff.

    python benchmarks/walk.py [FILE ...] [--runs N] [--rounds R] [--json] [--profile N]

The walk visits every folder from the root; for every message of every normal
folder it reads the subject, the sender, the plain, HTML and RTF bodies, each
recipient's name and address, and the bytes of every attachment, and it walks
embedded messages the same way (pypff cannot open them: it reads their data
only).  Each reader runs in a fresh process so its peak RSS (ru_maxrss) is its
own; times are the best of N runs from the page cache.  See benchmarks/README.md.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tables import base_parser, emit, in_fresh_process, peak_rss_bytes, print_profiles, require
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
sys.path.insert(0, str(REPO))  # run from a checkout without installing pstlib

DEFAULT_FILES = [
    "pst-extractor__enron.pst",
    "pst-extractor__mtnman1965@outlook.com.ost",
    "pst-extractor__pstextractortest@outlook.com.ost",
    "pst-extractor__pstextractortestpdf@outlook.com.ost",
    "pst2john__2003_no-encryption_quickbrownfox.pst",
    "aspose-net__SampleOstFile.ost",
    "pst2john__2007_default_orxgnm.pst",
]
"""The largest corpus files: Unicode PSTs, 4K-page OSTs and a 512-byte-page OST."""

ATTACH_BY_REFERENCE = (2, 4, 7)
"""afByReference, afByReferenceOnly, afByWebReference: no data in the file."""
PR_SENDER_EMAIL_ADDRESS = 0x0C1F
PR_DISPLAY_NAME = 0x3001
PR_EMAIL_ADDRESS = 0x3003
MB = 1e6
MIB = 1 << 20



def pstlib_walk(path: str) -> dict[str, int]:
    """Walk with pstlib; return what was read."""
    import pstlib
    from pstlib.messaging.message import Message

    counts: Counter[str] = Counter()

    def read_message(message: Message) -> None:
        counts["text_chars"] += len(message.subject or "") + len(message.sender_name or "")
        counts["text_chars"] += len(message.sender_email or "")
        counts["plain_chars"] += len(message.body or "")
        counts["html_bytes"] += len(message.html_body or b"")
        counts["rtf_bytes"] += len(message.rtf_body or b"")
        for recipient in message.recipients:
            counts["recipients"] += 1
            counts["text_chars"] += len(recipient.name or "") + len(recipient.email or "")
        for attachment in message.attachments:
            counts["attachments"] += 1
            if attachment.is_embedded:
                embedded = attachment.message
                if embedded is not None:
                    counts["embedded"] += 1
                    read_message(embedded)
            elif attachment.method not in ATTACH_BY_REFERENCE:
                counts["attachment_bytes"] += len(attachment.read())

    with pstlib.open(path) as pst:
        for folder in pst.walk():
            counts["folders"] += 1
            if folder.is_search_folder:  # its rows are messages of other folders
                continue
            for message in folder.messages():
                counts["messages"] += 1
                read_message(message)
    return dict(counts)


def pypff_walk(path: str) -> dict[str, int]:
    """Walk with pypff; items it refuses (OSError) are counted and skipped."""
    import pypff

    counts: Counter[str] = Counter()

    def guarded(read: Callable[..., Any], *args: object) -> Any:
        try:
            return read(*args)
        except OSError:
            counts["errors"] += 1
            return None

    def entry_text(record_set: Any, entry_type: int) -> str:
        entry = record_set.get_entry_by_type(entry_type)
        return (entry.data_as_string or "") if entry is not None else ""

    def read_message(message: Any) -> None:
        counts["messages"] += 1
        if not isinstance(message, pypff.message):  # classes libpff has no API for
            return
        counts["text_chars"] += len(message.subject or "") + len(message.sender_name or "")
        # pypff has no sender address getter: read it from the record set, as pstlib does
        counts["text_chars"] += len(entry_text(message.get_record_set(0), PR_SENDER_EMAIL_ADDRESS))
        counts["plain_utf8_bytes"] += len(message.plain_text_body or b"")
        counts["html_bytes"] += len(message.html_body or b"")
        counts["rtf_bytes"] += len(guarded(getattr, message, "rtf_body") or b"")  # one NUL more
        recipients = message.recipients
        for index in range(recipients.number_of_recipients if recipients is not None else 0):
            record_set = recipients.get_recipient(index)
            counts["recipients"] += 1
            counts["text_chars"] += len(entry_text(record_set, PR_DISPLAY_NAME))
            counts["text_chars"] += len(entry_text(record_set, PR_EMAIL_ADDRESS))
        for index in range(guarded(getattr, message, "number_of_attachments") or 0):
            attachment = message.get_attachment(index)
            counts["attachments"] += 1
            counts["attachment_bytes"] += len(attachment.read_buffer(attachment.size) or b"")

    def read_folder(folder: Any) -> None:
        counts["folders"] += 1
        for index in range(guarded(getattr, folder, "number_of_sub_messages") or 0):
            message = guarded(folder.get_sub_message, index)
            if message is not None:
                read_message(message)
        for index in range(folder.number_of_sub_folders):
            read_folder(folder.get_sub_folder(index))

    pff = pypff.open(path)
    try:
        read_folder(pff.get_root_folder())
    finally:
        pff.close()
    return dict(counts)


WALKS: dict[str, Callable[[str], dict[str, int]]] = {"pstlib": pstlib_walk, "pypff": pypff_walk}


def measure(reader: str, path: str, runs: int) -> dict[str, Any]:
    """Best-of-``runs`` time of one reader's walk, its counts and its peak RSS (in a child)."""
    walk = WALKS[reader]
    __import__(reader)  # imported before the baseline RSS reading
    baseline = peak_rss_bytes()
    best = float("inf")
    counts: dict[str, int] = {}
    for _ in range(runs):
        start = time.perf_counter()
        counts = walk(path)
        best = min(best, time.perf_counter() - start)
    rss = peak_rss_bytes()
    return {
        "seconds": best,
        **counts,
        "rss_peak_bytes": rss,
        "rss_over_imports_bytes": rss - baseline,
    }



def have_pypff() -> bool:
    """Whether pypff (PyPI libpff-python) is importable."""
    try:
        import pypff  # noqa: F401
    except ImportError:
        return False
    return True


def benchmark(path: Path, runs: int, rounds: int, with_pypff: bool) -> dict[str, Any]:
    """Both readers' measurements for one file: ``rounds`` fresh children per reader,
    alternating which goes first, each reader keeping its best time and its highest RSS
    (this VM's speed drifts by tens of percent over a minute; alternating lets both
    readers see the same drift)."""
    with path.open("rb") as handle:  # warm the page cache
        while handle.read(1 << 20):
            pass
    result: dict[str, Any] = {"file": path.name, "size_bytes": path.stat().st_size, "runs": runs, "rounds": rounds}
    readers = ["pstlib", "pypff"] if with_pypff else ["pstlib"]
    for number in range(rounds):
        for reader in readers if number % 2 == 0 else readers[::-1]:
            got = in_fresh_process(measure, reader, str(path), runs)
            kept = result.get(reader)
            if kept is not None:
                got["rss_peak_bytes"] = max(got["rss_peak_bytes"], kept["rss_peak_bytes"])
                got["rss_over_imports_bytes"] = max(got["rss_over_imports_bytes"], kept["rss_over_imports_bytes"])
                if kept["seconds"] < got["seconds"]:
                    got["seconds"] = kept["seconds"]
            result[reader] = got
    pst = result["pstlib"]
    pst["messages_per_s"] = (pst.get("messages", 0) + pst.get("embedded", 0)) / pst["seconds"]
    if with_pypff:
        pff = result["pypff"]
        pff["messages_per_s"] = pff.get("messages", 0) / pff["seconds"]
        result["pstlib_over_pypff"] = pst["seconds"] / pff["seconds"]
    return result


COLUMNS = [
    ("file", "{}", lambda r: r["file"]),
    ("MB", "{:.1f}", lambda r: r["size_bytes"] / MB),
    ("msgs+emb", "{}", lambda r: f'{r["pstlib"]["messages"]}+{r["pstlib"].get("embedded", 0)}'),
    ("att", "{}", lambda r: r["pstlib"].get("attachments", 0)),
    ("att MB", "{:.1f}", lambda r: r["pstlib"].get("attachment_bytes", 0) / MB),
    ("pstlib s", "{:.3f}", lambda r: r["pstlib"]["seconds"]),
    ("pypff s", "{:.3f}", lambda r: r["pypff"]["seconds"]),
    ("ratio", "{:.2f}", lambda r: r["pstlib_over_pypff"]),
    ("pstlib msg/s", "{:.0f}", lambda r: r["pstlib"]["messages_per_s"]),
    ("pypff msg/s", "{:.0f}", lambda r: r["pypff"]["messages_per_s"]),
    ("pstlib RSS MiB", "{:.0f}", lambda r: r["pstlib"]["rss_peak_bytes"] / MIB),
    ("+RSS", "{:.1f}", lambda r: r["pstlib"]["rss_over_imports_bytes"] / MIB),
    ("pypff RSS MiB", "{:.0f}", lambda r: r["pypff"]["rss_peak_bytes"] / MIB),
    ("pypff err", "{}", lambda r: r["pypff"].get("errors", 0)),
]


def profile(path: Path, top: int) -> str:
    """cProfile of one pstlib walk, the ``top`` functions by cumulative time (imports excluded)."""
    import pstlib  # noqa: F401

    profiler = cProfile.Profile()
    profiler.runcall(pstlib_walk, str(path))
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=1, help="fresh children per reader, alternating (default 1)"
    )
    parser.add_argument(
        "--profile", type=int, metavar="N", help="cProfile pstlib's walk instead: top N functions"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.rounds < 1:
        parser.error("--runs and --rounds must be at least 1")
    files = args.files or [CORPUS / name for name in DEFAULT_FILES]
    require(files)
    if args.profile:
        print_profiles(files, profile, args.profile)
        return
    with_pypff = have_pypff()
    emit([benchmark(path, args.runs, args.rounds, with_pypff) for path in files], COLUMNS, args.json)


if __name__ == "__main__":
    main()
