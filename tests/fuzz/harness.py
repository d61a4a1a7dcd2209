"""Run every public pstlib entry point over one input and judge the run.

``exercise`` is the target: it drives the NDB, LTP and messaging layers to the
bottom of every tree, continuing past each ``PSTError`` so that one damaged
block does not hide the code behind its neighbours, then runs ``verify_file``.
It returns the first layer that refused the input ("complete" if none did);
any other exception propagates.  ``check`` is the oracle around it: a watchdog
for time, tracemalloc for memory, and the input buffer left unmodified.
"""

from __future__ import annotations

import io
import resource
import signal
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pstlib
from pstlib.ltp.heap import CLIENT_SIG_BTH, CLIENT_SIG_PC, CLIENT_SIG_TC, HN_SIGNATURE
from pstlib.ltp.tablecontext import TYPE_TC_AC
from pstlib.messaging.folder import Folder
from pstlib.messaging.message import Message

LAYERS = ("header", "ndb", "ltp", "messaging", "complete")
"""Where a run stopped: the first layer that refused the input, or "complete"."""

LAYER_COUNTS: Counter[str] = Counter()
"""Layers reached by the mutated inputs of this session (printed by conftest)."""

RUN_STATS: dict[str, Any] = {"inputs": 0, "files": set(), "max_peak": 0, "max_seconds": 0.0}
"""Session totals for the summary: inputs run, corpus files used, worst memory and time."""

STREAM_CHUNK = 1 << 16
MIN_TIME_BOUND = 10.0
TIME_FACTOR = 10.0
MEMORY_FACTOR = 64
MEMORY_SLACK = 64 << 20
ADDRESS_SPACE_SLACK = 4 << 30
"""Address space a run may add before allocations fail: far above the bound, far below the machine."""


class Overrun(BaseException):
    """Raised by the watchdog inside the target: a BaseException, so no ``except Exception`` eats it."""


class OracleFailure(AssertionError):
    """The run broke a guarantee other than "only PSTError escapes"."""


class _Progress:
    """Notes the first layer that refused the input."""

    def __init__(self) -> None:
        self.stopped: str | None = None

    @contextmanager
    def layer(self, name: str) -> Iterator[None]:
        """Swallow a PSTError (the documented refusal), remembering the first layer it came from."""
        try:
            yield
        except pstlib.PSTError:
            if self.stopped is None:
                self.stopped = name


def _drain(stream: Any) -> int:
    """Read a stream to its end in chunks, as a streaming caller would."""
    total = 0
    while chunk := stream.read(STREAM_CHUNK):
        total += len(chunk)
    return total


def _touch(obj: object, *names: str) -> None:
    """Read attributes for their side effects: each property decodes what it names."""
    for name in names:
        getattr(obj, name)


def _decode_pc(pc: pstlib.PropertyContext) -> None:
    """Every stored (id, type) of a PC decoded, and every value held in a subnode streamed."""
    _touch(pc, "codepage")
    for prop_id in list(pc):
        for ptype in pc.types_of(prop_id):
            pc.value(prop_id, ptype)
            node = pc.value_node(prop_id, ptype)
            if node is not None:
                with node.open() as stream:
                    _drain(stream)


def _decode_tc(table: pstlib.TableContext) -> None:
    """Every column as a whole, then every cell row by row."""
    for column in table.columns:
        table.exists(column.tag)
        table.column(column.tag)
    for row in table:
        _touch(row, "row_id")
        for prop_id in row:
            row[prop_id]
            row.raw(prop_id)


def _heap_kind(node: pstlib.Node) -> int | None:
    """The bClientSig of a node's heap, or None where its data is not a heap (raw data)."""
    if node.data_block_count == 0:
        return None
    first = node.read_data_block(0)
    if len(first) < 4 or first[2] != HN_SIGNATURE:
        return None
    return first[3]


def _exercise_ndb(pst: pstlib.PSTFile, progress: _Progress) -> list[int]:
    """Every block, every node's data (whole and streamed) and every subnode; returns the NIDs."""
    bids: list[int] = []
    with progress.layer("ndb"):
        bids = [entry.bid for entry in pst.blocks()]
    for bid in bids:
        with progress.layer("ndb"):
            pst.read_block(bid)
    nids: list[int] = []
    with progress.layer("ndb"):
        nids = [entry.nid for entry in pst.nodes()]
    for nid in nids:
        with progress.layer("ndb"):
            node = pst.node(nid)
            node.read()
            with node.open() as stream:
                _drain(stream)
            for sub in node.walk_subnodes():
                with progress.layer("ndb"):
                    sub.read()
    return nids


def _exercise_structures(node: pstlib.Node, progress: _Progress) -> None:
    """The PC or TC a node's heap holds, chosen by the heap's client signature."""
    kind = None
    with progress.layer("ndb"):
        kind = _heap_kind(node)
    with progress.layer("ltp"):
        if kind == CLIENT_SIG_PC:
            _decode_pc(node.properties())
        elif kind in (CLIENT_SIG_TC, TYPE_TC_AC):
            _decode_tc(node.table())
        elif kind == CLIENT_SIG_BTH:
            node.heap()


def _exercise_ltp(pst: pstlib.PSTFile, nids: list[int], progress: _Progress) -> None:
    """Every node's and subnode's PC or TC, and the named property map."""
    for nid in nids:
        with progress.layer("ndb"):
            node = pst.node(nid)
            _exercise_structures(node, progress)
            for sub in node.walk_subnodes():
                _exercise_structures(sub, progress)
    with progress.layer("ltp"):
        named = pst.named_properties
        for prop_id in named:
            named.id_of(*named[prop_id])


def _exercise_message(message: Message, progress: _Progress) -> None:
    """A message's common properties, bodies, recipients and attachments, embedded ones recursively."""
    for name in (
        "message_class", "subject", "sender_name", "sender_email", "delivery_time",
        "submit_time", "creation_time", "last_modified", "importance", "is_read",
        "internet_headers", "body", "html_body", "rtf_body",
    ):
        with progress.layer("messaging"):
            _touch(message, name)
    with progress.layer("messaging"):
        for recipient in message.recipients:
            _touch(recipient, "name", "email", "address_type", "kind")
    attachments = []
    with progress.layer("messaging"):
        attachments = message.attachments
    for attachment in attachments:
        with progress.layer("messaging"):
            _touch(attachment, "filename", "mime_type", "content_id", "stored_size", "size")
            if attachment.is_embedded:
                embedded = attachment.message
                if embedded is not None:
                    _exercise_message(embedded, progress)
            else:
                attachment.read()
                with attachment.open() as stream:
                    _drain(stream)


def _exercise_folder(folder: Folder, progress: _Progress) -> None:
    """A folder's properties and its normal and associated messages."""
    with progress.layer("messaging"):
        _touch(folder, "name", "path", "container_class", "message_count", "unread_count")
    for listing in (folder.messages, folder.associated_messages):
        with progress.layer("messaging"):
            for message in listing():
                _exercise_message(message, progress)


def _exercise_messaging(pst: pstlib.PSTFile, progress: _Progress) -> None:
    """The store, the IPM subtree, and the whole folder tree from the root."""
    with progress.layer("messaging"):
        store = pst.store
        _touch(store, "display_name", "record_key", "ipm_subtree_nid", "deleted_items_nid")
        _touch(store, "search_root_nid", "is_password_protected")
        store.check_password("x")
    with progress.layer("messaging"):
        _touch(pst, "ipm_subtree")
    with progress.layer("messaging"):
        for folder in pst.root_folder.walk():
            _exercise_folder(folder, progress)


def _exercise_recovery(pst: pstlib.PSTFile) -> None:
    """Recovery over the whole file, each item's message read; a refusal is a PSTError."""
    try:
        for item in pst.recover(everywhere=True):
            try:
                _touch(item.message, "subject", "message_class", "body", "recipients", "attachments")
            except pstlib.PSTError:
                continue
    except pstlib.PSTError:
        pass


def _verify(data: bytes) -> None:
    """``verify_file`` must report, never raise, and never hide an internal failure."""
    stream = io.BytesIO(data)
    report = pstlib.verify_file(stream)
    internal = [problem for problem in report.problems if problem.code == "internal-error"]
    if internal:
        raise OracleFailure(f"verify_file hid a crash: {internal[0].message}")
    if stream.getvalue() != data:
        raise OracleFailure("verify_file modified its input stream")


def exercise(data: bytes) -> str:
    """Run every target on ``data``; return the first layer that refused it, or "complete"."""
    progress = _Progress()
    buffer = bytearray(data)
    try:
        pst = pstlib.open(buffer)
    except pstlib.PSTError:
        progress.stopped = "header"
    else:
        with pst:
            nids = _exercise_ndb(pst, progress)
            _exercise_ltp(pst, nids, progress)
            _exercise_messaging(pst, progress)
            _exercise_recovery(pst)
    if buffer != data:
        raise OracleFailure("pstlib.open modified the bytearray it was given")
    _verify(data)
    return progress.stopped or "complete"


@dataclass(frozen=True)
class Outcome:
    """One judged run: how far it got, how long it took, its peak traced memory."""

    layer: str
    seconds: float
    peak: int


def time_bound(baseline_seconds: float) -> float:
    """Seconds a mutated input may take: ten times the unmutated file, at least ten."""
    return max(MIN_TIME_BOUND, TIME_FACTOR * baseline_seconds)


def memory_bound(size: int) -> int:
    """Bytes of traced memory a run over ``size`` input bytes may peak at."""
    return MEMORY_FACTOR * size + MEMORY_SLACK


@contextmanager
def _watchdog(seconds: float) -> Iterator[None]:
    """Raise ``Overrun`` in the target once ``seconds`` of wall time have passed."""
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("the watchdog needs the main thread (it uses SIGALRM)")

    def expire(signum: int, frame: Any) -> None:
        raise Overrun(f"over the {seconds:.1f} s time bound")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _address_space_cap(extra: int) -> Iterator[None]:
    """Make a runaway allocation fail with MemoryError instead of waking the OOM killer.

    tracemalloc only sees a blow-up once it is over; one numpy array sized by a
    hostile field can take the machine down first (24 GB in one long run).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            used = int(handle.read().split()[0]) * resource.getpagesize()
    except OSError:
        yield
        return
    cap = used + extra if hard == resource.RLIM_INFINITY else min(used + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def check(data: bytes, baseline_seconds: float) -> Outcome:
    """``exercise`` under the oracle: time and memory bounds; other exceptions propagate."""
    bound = time_bound(baseline_seconds)
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    try:
        with _watchdog(bound), _address_space_cap(max(ADDRESS_SPACE_SLACK, 4 * memory_bound(len(data)))):
            layer = exercise(data)
    except Overrun as exc:
        raise OracleFailure(str(exc)) from None
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] - before
        if not tracing:
            tracemalloc.stop()
    if peak > memory_bound(len(data)):
        raise OracleFailure(f"peak traced memory {peak} bytes over the bound {memory_bound(len(data))}")
    return Outcome(layer, seconds, peak)


def record(outcome: Outcome, corpus_name: str) -> None:
    """Count a mutated input's outcome into the session statistics."""
    LAYER_COUNTS[outcome.layer] += 1
    RUN_STATS["inputs"] += 1
    RUN_STATS["files"].add(corpus_name)
    RUN_STATS["max_peak"] = max(RUN_STATS["max_peak"], outcome.peak)
    RUN_STATS["max_seconds"] = max(RUN_STATS["max_seconds"], outcome.seconds)
