"""Write a large, realistic, deterministic PST with pstlib's writer.

    python benchmarks/make_store.py --size 1G --seed 1 /tmp/store-1g.pst [--crypt permute] [--json]

Sizes take K, M and G suffixes (powers of 10^3, as file sizes are quoted:
1G is 10^9 bytes).  The same seed and size give the same file, byte for byte:
everything random comes from one ``random.Random(seed)``, and every time is
fixed.  The store has 14 folders (some nested, a calendar and a contacts
folder among them); its mail has subjects with non-ASCII text, plain bodies
log-uniform from 200 to 20,000 characters, an HTML body on a third, 1 to 5
recipients, attachments on a quarter (1 to 3 of them, log-normal sizes around
40 KB, a few of 8-12 MB streamed from a file-like object), and some embedded
messages.  Messages are written until the file reaches ``--size``; the
writer's B-trees and maps then add a little over it.

Content is cheap to make: bodies and attachments are slices of a text pool
and a 16 MiB byte pool made once, at seeded offsets, so the writer is what
is timed.  Prints messages written, MB/s and peak RSS (``ru_maxrss``); see
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from random import Random
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing pstlib

import pstlib  # noqa: E402
from pstlib.ltp.proptypes import PropertyType as T  # noqa: E402
from pstlib.writer import NewAttachment, NewMessage, NewRecipient  # noqa: E402

MB = 1e6
BYTE_POOL = 16 << 20
TEXT_POOL = 1 << 20
"""Characters of body text to slice from (about 1 MB, mostly ASCII)."""
START = datetime(2021, 1, 4, 8, 0, tzinfo=timezone.utc)
PSETID_ADDRESS = "00062004-0000-0000-C000-000000000046"
PSETID_APPOINTMENT = "00062002-0000-0000-C000-000000000046"
PS_PUBLIC_STRINGS = "00020329-0000-0000-C000-000000000046"

# (path, container class, share of the messages)
FOLDERS = (
    ("Inbox", "IPF.Note", 30),
    ("Inbox/Projects", "IPF.Note", 8),
    ("Inbox/Projects/Alpha – Ω", "IPF.Note", 5),
    ("Inbox/Projects/Проект Бета", "IPF.Note", 4),
    ("Inbox/Newsletters", "IPF.Note", 6),
    ("Inbox/客户", "IPF.Note", 4),
    ("Sent Items", "IPF.Note", 15),
    ("Drafts", "IPF.Note", 1),
    ("Archive", "IPF.Note", 4),
    ("Archive/2022", "IPF.Note", 6),
    ("Archive/2023", "IPF.Note", 7),
    ("Calendar", "IPF.Appointment", 3),
    ("Contacts", "IPF.Contact", 3),
    ("Deleted Items", None, 4),  # the store's own
)

WORDS = (
    "the of and to in is that for it as with was on be at by this had not are but from or have an they which "
    "one you were all we her she there been if more when will would who so no meeting report budget project "
    "review draft invoice schedule team update quarter figures contract proposal customer deadline please "
    "thanks regards attached agenda minutes call follow up next week friday monday office travel order "
    "shipment delivery forecast revenue margin approval signed release version server backup network"
).split()
FOREIGN = (
    "Grüße Müller Straße Besprechung Übersicht Änderung größer schön "
    "café réunion déjà élève à bientôt garçon façade "
    "mañana año señor información niño "
    "Привет встреча отчёт бюджет проект спасибо "
    "会議 報告書 予算 よろしく お願いします 東京 "
    "客户 合同 发票 谢谢 "
    "Ελλάδα συνάντηση ευχαριστώ "
    "☕ 📅 ✔ € £ — «» …"
).split()
PEOPLE = (
    ("Ana Sánchez", "ana.sanchez@example.com"), ("Zoë Müller", "zoe.mueller@example.de"),
    ("山田 健二", "kenji.yamada@example.jp"), ("Олег Петров", "oleg.petrov@example.ru"),
    ("Pat Doe", "pat.doe@example.com"), ("François Lefèvre", "f.lefevre@example.fr"),
    ("李 伟", "li.wei@example.cn"), ("Νίκος Παπαδόπουλος", "nikos@example.gr"),
    ("Jane Smith", "jane.smith@example.org"), ("Søren Kierkegaard", "soren@example.dk"),
    ("Łukasz Żółw", "lukasz@example.pl"), ("Mary O'Brien", "mary.obrien@example.ie"),
    ("José da Silva", "jose.silva@example.br"), ("Ahmed Hassan", "ahmed@example.eg"),
    ("Chloé Martin", "chloe.martin@example.fr"), ("Björn Larsson", "bjorn@example.se"),
)
FILES = (
    ("report.pdf", "application/pdf"), ("figures.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("photo.jpg", "image/jpeg"), ("notes.txt", "text/plain"), ("Angebot_Müller.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("scan.png", "image/png"), ("archive.zip", "application/zip"), ("議事録.pdf", "application/pdf"),
)


def parse_size(text: str) -> int:
    """'1G', '100M', '500K' or a plain number of bytes (powers of 10)."""
    text = text.strip().upper().removesuffix("B")
    scale = {"K": 10**3, "M": 10**6, "G": 10**9}.get(text[-1:], 1)
    number = text[:-1] if scale != 1 else text
    return int(float(number) * scale)


class PoolStream:
    """A read-only binary stream over ``size`` bytes of the pool, from ``offset``."""

    def __init__(self, pool: memoryview, offset: int, size: int) -> None:
        self._pool, self._pos, self._end = pool, offset, offset + size

    def read(self, n: int = -1) -> bytes:
        end = self._end if n < 0 else min(self._end, self._pos + n)
        data = bytes(self._pool[self._pos:end])
        self._pos = end
        return data


@dataclass
class Stats:
    messages: int = 0
    embedded: int = 0
    attachments: int = 0
    attachment_bytes: int = 0
    large_attachments: int = 0
    recipients: int = 0
    html_bodies: int = 0
    folders: int = 0
    size: int = 0
    seconds: float = 0.0
    generate_seconds: float = 0.0
    """Time spent making the content (NewMessage objects), not writing it."""
    peak_rss_mib: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class Generator:
    """Seeded content: everything random comes from one ``Random(seed)``."""

    def __init__(self, seed: int) -> None:
        self.rng = rng = Random(seed)
        self.bytes = memoryview(rng.randbytes(BYTE_POOL))
        vocabulary = WORDS * 6 + FOREIGN
        words: list[str] = []
        length = 0
        while length < TEXT_POOL:
            sentence = " ".join(rng.choices(vocabulary, k=rng.randint(5, 18)))
            sentence = sentence[0].upper() + sentence[1:] + rng.choice(".....?!") + ("\r\n\r\n" if rng.random() < 0.2 else " ")
            words.append(sentence)
            length += len(sentence)
        self.text = "".join(words)
        self.when = START

    def text_slice(self, chars: int) -> str:
        start = self.rng.randrange(len(self.text) - chars)
        return self.text[start:start + chars]

    def subject(self) -> str:
        rng = self.rng
        words = rng.choices(WORDS, k=rng.randint(2, 7)) + rng.choices(FOREIGN, k=rng.randint(0, 3))
        rng.shuffle(words)
        prefix = rng.choices(("", "Re: ", "Fwd: ", "AW: ", "RE: RE: "), (60, 20, 8, 6, 6))[0]
        return prefix + " ".join(words).capitalize()

    def body_chars(self) -> int:
        """Log-uniform from 200 to 20,000."""
        return int(math.exp(self.rng.uniform(math.log(200), math.log(20_000))))

    def recipients(self) -> list[NewRecipient]:
        rng = self.rng
        chosen = rng.sample(PEOPLE, rng.randint(1, 5))
        return [NewRecipient(name, email, "to" if i == 0 else rng.choice(("to", "cc", "cc", "bcc"))) for i, (name, email) in enumerate(chosen)]

    def attachment(self, stats: Stats) -> NewAttachment:
        rng = self.rng
        name, mime = rng.choice(FILES)
        if rng.random() < 0.0015:  # a few of 8-12 MB, streamed
            size = rng.randint(8_000_000, 12_000_000)
            stats.large_attachments += 1
        else:
            size = min(max(int(rng.lognormvariate(math.log(40_000), 1.0)), 100), 4_000_000)
        offset = rng.randrange(BYTE_POOL - size)
        stats.attachment_bytes += size
        stats.attachments += 1
        if size > 1_000_000:
            data: Any = PoolStream(self.bytes, offset, size)
        else:
            data = bytes(self.bytes[offset:offset + size])
        return NewAttachment(name, data, mime_type=mime)

    def mail(self, stats: Stats, depth: int = 0) -> NewMessage:
        rng = self.rng
        self.when += timedelta(seconds=rng.randint(30, 3600))
        sender = rng.choice(PEOPLE)
        body = self.text_slice(self.body_chars())
        html = None
        if rng.random() < 1 / 3:
            html = "<html><head><meta charset=\"utf-8\"></head><body><p>" + body.replace("\r\n\r\n", "</p><p>") + "</p></body></html>"
            stats.html_bodies += 1
        attachments = []
        if rng.random() < 0.25:
            attachments = [self.attachment(stats) for _ in range(rng.choices((1, 2, 3), (70, 20, 10))[0])]
        if depth == 0 and rng.random() < 0.02:
            stats.embedded += 1
            inner = self.mail(stats, depth + 1)
            attachments.append(NewAttachment(inner.subject, message=inner))
        recipients = self.recipients()
        stats.recipients += len(recipients)
        return NewMessage(
            subject=self.subject(),
            body=body,
            html_body=html,
            sender_name=sender[0],
            sender_email=sender[1],
            delivery_time=self.when,
            submit_time=self.when - timedelta(seconds=rng.randint(1, 120)),
            is_read=rng.random() < 0.8,
            importance=rng.choices((0, 1, 2), (5, 85, 10))[0],
            recipients=recipients,
            attachments=attachments,
            internet_headers=f"Message-ID: <{rng.getrandbits(64):016x}@example.com>\r\nX-Mailer: make_store\r\n",
        )

    def appointment(self, stats: Stats) -> NewMessage:
        rng = self.rng
        start = START + timedelta(hours=rng.randrange(24 * 900))
        end = start + timedelta(minutes=rng.choice((30, 60, 90, 120)))
        recipients = self.recipients()
        stats.recipients += len(recipients)
        return NewMessage(
            subject=self.subject(), message_class="IPM.Appointment", body=self.text_slice(rng.randint(50, 600)),
            creation_time=self.when, recipients=recipients,
            properties={
                (PSETID_APPOINTMENT, 0x820D, T.TIME): start,
                (PSETID_APPOINTMENT, 0x820E, T.TIME): end,
                (PSETID_APPOINTMENT, 0x8208, T.STRING): rng.choice(("Raum Spree", "会議室 3", "Salle Étoile", "Online")),
                (PSETID_APPOINTMENT, 0x8205, T.INTEGER32): 2,
            },
        )

    def contact(self, stats: Stats) -> NewMessage:
        rng = self.rng
        (name, email) = rng.choice(PEOPLE)
        given, _, surname = name.partition(" ")
        number = rng.randrange(100_000)
        return NewMessage(
            subject=name, message_class="IPM.Contact", creation_time=self.when,
            properties={
                (0x3001 << 16) | T.STRING: name,
                (0x3A06 << 16) | T.STRING: given,
                (0x3A11 << 16) | T.STRING: surname,
                (0x3A08 << 16) | T.STRING: f"+1 555 {number:05d}",
                (PSETID_ADDRESS, 0x8083, T.STRING): email.replace("@", f"+{number}@"),
                (PS_PUBLIC_STRINGS, "Keywords", T.MULTIPLE_STRING): ["Kunden", "VIP"] if number % 7 == 0 else ["Kunden"],
            },
        )


def generate(
    path: str | os.PathLike[str],
    size: int,
    seed: int,
    crypt: str = "permute",
    progress: Callable[[Stats], None] | None = None,
) -> Stats:
    """Write the store; stops adding messages once ``size`` bytes are on disk."""
    started = time.perf_counter()
    stats = Stats()
    gen = Generator(seed)
    rng = gen.rng
    stats.generate_seconds = time.perf_counter() - started
    stats.extra["baseline_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    record_key = rng.randbytes(16)
    with pstlib.create(path, crypt=crypt, display_name=f"make_store seed {seed}", record_key=record_key) as w:
        folders = {}
        for name, container_class, _ in FOLDERS:
            if name == "Deleted Items":
                folders[name] = w.deleted_items
                continue
            parent, _, leaf = name.rpartition("/")
            folders[name] = (folders[parent] if parent else w.root_folder).add_folder(leaf, container_class)
        stats.folders = len(folders)
        names = [name for name, _, _ in FOLDERS]
        weights = [share for _, _, share in FOLDERS]
        makers = {"IPF.Appointment": gen.appointment, "IPF.Contact": gen.contact}
        ndb = w.ndb
        clock = time.perf_counter
        while ndb.bytes_written < size:
            t0 = clock()
            name = rng.choices(names, weights)[0]
            _, container_class, _ = FOLDERS[names.index(name)]
            message = makers.get(container_class, gen.mail)(stats)
            t1 = clock()
            folders[name].add(message)
            stats.generate_seconds += t1 - t0
            stats.messages += 1
            if progress and stats.messages % 1000 == 0:
                progress(stats)
        stats.extra["rss_before_close_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        closing = clock()
    stats.extra["close_seconds"] = time.perf_counter() - closing
    stats.seconds = time.perf_counter() - started
    stats.size = os.path.getsize(path)
    stats.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the PST to write (replaced if it exists)")
    parser.add_argument("--size", default="100M", help="target file size: 100M, 1G, ... (default 100M)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--crypt", choices=("none", "permute", "cyclic"), default="permute")
    parser.add_argument("--json", action="store_true", help="print the statistics as one JSON object")
    args = parser.parse_args(argv)
    size = parse_size(args.size)

    def progress(stats: Stats) -> None:
        if sys.stderr.isatty():
            print(f"\r{stats.messages} messages", end="", file=sys.stderr, flush=True)

    stats = generate(args.out, size, args.seed, args.crypt, progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(asdict(stats)))
        return 0
    per_gb = stats.messages / (stats.size / 1e9)
    print(
        f"{args.out}: {stats.size / MB:.1f} MB, {stats.messages} messages ({per_gb:.0f}/GB), "
        f"{stats.embedded} embedded, {stats.attachments} attachments ({stats.attachment_bytes / MB:.1f} MB, "
        f"{stats.large_attachments} over 8 MB), {stats.recipients} recipients, {stats.folders} folders"
    )
    write_seconds = stats.seconds - stats.generate_seconds
    print(
        f"{stats.seconds:.1f} s ({stats.generate_seconds:.1f} s making content), "
        f"{stats.size / MB / stats.seconds:.1f} MB/s overall, {stats.size / MB / write_seconds:.1f} MB/s writing; "
        f"peak RSS {stats.peak_rss_mib:.0f} MiB "
        f"({stats.extra['baseline_rss_mib']:.0f} MiB with the pools made, {stats.extra['rss_before_close_mib']:.0f} MiB "
        f"before close; close took {stats.extra['close_seconds']:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
