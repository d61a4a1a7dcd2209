"""Messages as Internet mail (.eml) through the standard library's ``email`` package.

Headers: a message that came over the Internet keeps the transport headers it
arrived with (PidTagTransportMessageHeaders) verbatim and in order, less the
Content-* and MIME-Version lines that described the original body, which is
rebuilt here.  Other messages (drafts, sent items, calendar items) get
From/To/Cc/Bcc/Date/Subject/Message-ID built from their properties and
``X-Pstlib-Headers: built`` to say so.

Body: plain text and HTML as multipart/alternative, the HTML bytes as stored
and labelled with PidTagInternetCodepage's charset; RTF, as attachment
``body.rtf``, only when it is the only body.  Attachments with content ids sit
in multipart/related beside the HTML, the others follow with RFC 2231 file
names; embedded messages are message/rfc822 parts.  The output is 7-bit
(quoted-printable, base64, RFC 2047 words), fit for any transport or mbox.
By-reference attachments have no data in the store: each is named in an
``X-Pstlib-Omitted-Attachment`` header instead.
"""

from __future__ import annotations

import email.policy
import mimetypes
import os
import re
from email.message import EmailMessage
from email.parser import Parser
from email.utils import format_datetime, formataddr

from pstlib.errors import LimitExceeded, MessagingError
from pstlib.export.text import encodable, one_line
from pstlib.messaging import values
from pstlib.messaging.attachment import (
    ATTACH_BY_REFERENCE,
    ATTACH_BY_REFERENCE_ONLY,
    ATTACH_BY_WEB_REFERENCE,
    Attachment,
)
from pstlib.messaging.message import Message
from pstlib.tags import PropertyId

POLICY = email.policy.SMTP.clone(cte_type="7bit", refold_source="none")
"""CRLF lines, 7-bit bodies, and source headers written as they were folded."""
MAX_EMBEDDED_DEPTH = 16
"""Messages inside attachments of messages, and so on, that are converted."""
DEFAULT_TYPE = "application/octet-stream"

REFERENCE_METHODS = (ATTACH_BY_REFERENCE, ATTACH_BY_REFERENCE_ONLY, ATTACH_BY_WEB_REFERENCE)
_FIRST_HEADER = re.compile(r"^[!-9;-~]+:", re.MULTILINE)
"""Exchange may put "Microsoft Mail Internet Headers Version 2.0" before the first header."""
_FOLDED_ASCII = re.compile(r"[\t -~]*(?:\r?\n[\t ][\t -~]*)*")
"""A header value that can be written back exactly as stored."""
_MIME_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
_CHARSETS = {
    65001: "utf-8",
    20127: "us-ascii",
    874: "windows-874",
    932: "shift_jis",
    936: "gb2312",
    949: "ks_c_5601-1987",
    950: "big5",
    20866: "koi8-r",
    21866: "koi8-u",
    50220: "iso-2022-jp",
    50221: "iso-2022-jp",
    50222: "iso-2022-jp",
    51932: "euc-jp",
    51949: "euc-kr",
    54936: "gb18030",
    **{codepage: f"windows-{codepage}" for codepage in range(1250, 1259)},
    **{28590 + n: f"iso-8859-{n}" for n in range(1, 16)},
}
"""Windows code pages (PidTagInternetCodepage) to MIME charset names."""


def _describes_body(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("content-") or lowered == "mime-version"


def _copy_transport_headers(out: EmailMessage, headers: str) -> bool:
    """Copy the stored transport headers into ``out``; False when there are none to copy."""
    start = _FIRST_HEADER.search(headers)
    if start is None:
        return False
    parsed = Parser(policy=POLICY).parsestr(headers[start.start() :], headersonly=True)
    copied = False
    # raw_items/set_raw keep each header as stored (folding, duplicates, order); the
    # mapping interface would refold every value and refuse a second Subject or Date.
    for name, value in parsed.raw_items():
        if _describes_body(name):
            continue
        if not _FOLDED_ASCII.fullmatch(value):
            value = POLICY.header_factory(name, one_line(value))  # RFC 2047 words on output
        out.set_raw(name, value)
        copied = True
    return copied


def _address(name: str | None, address: str | None) -> str | None:
    name, address = one_line(name or ""), one_line(address or "")
    if "@" in address and not re.search(r'[\s<>"]', address):
        return formataddr((name, address))
    return formataddr((name or address, "")) or None


def _build_headers(out: EmailMessage, message: Message) -> None:
    """From/To/Cc/Bcc/Date/Subject/Message-ID from the message's properties."""
    sender = _address(message.sender_name, message.sender_email)
    if sender:
        out["From"] = sender
    for kind in ("to", "cc", "bcc"):
        addresses = [_address(r.name, r.email) for r in message.recipients if r.kind == kind]
        if any(addresses):
            out[kind.capitalize()] = ", ".join(a for a in addresses if a)
    when = message.submit_time or message.delivery_time or message.creation_time
    if when is not None:
        out["Date"] = format_datetime(when)
    if message.subject:
        out["Subject"] = one_line(message.subject)
    for header, prop_id in (
        ("Message-ID", PropertyId.PidTagInternetMessageId),
        ("In-Reply-To", PropertyId.PidTagInReplyToId),
        ("References", PropertyId.PidTagInternetReferences),
    ):
        value = one_line(values.text(message.properties, prop_id) or "")
        if value:
            out[header] = value
    out["X-Pstlib-Headers"] = "built"


def _html_charset(message: Message) -> str | None:
    """``html_body``'s charset: UTF-8 for a string PidTagHtml, else PidTagInternetCodepage's."""
    if isinstance(message.properties.get(PropertyId.PidTagHtml), str):
        return "utf-8"
    codepage = values.integer(message.properties, PropertyId.PidTagInternetCodepage)
    return _CHARSETS.get(codepage or 0)


def _add_bodies(out: EmailMessage, message: Message) -> None:
    text, html = message.body, message.html_body
    if text is not None:
        out.set_content(encodable(text))
    if html is not None:
        charset = _html_charset(message)
        params = {"charset": charset} if charset else {}
        add = out.add_alternative if text is not None else out.set_content
        add(html, "text", "html", params=params)
    if text is None and html is None:
        rtf = message.rtf_body
        if rtf is not None:
            out.add_attachment(rtf, "application", "rtf", filename="body.rtf")


def _content_type(stated: str | None, filename: str | None) -> tuple[str, str]:
    """The attachment's MIME type, else one guessed from its extension; never multipart or
    message/*, whose parts the stdlib would (mis)parse as structure."""
    candidate = (stated or "").split(";")[0].strip().lower()
    if not _MIME_TYPE.fullmatch(candidate):
        candidate = mimetypes.guess_type(filename or "")[0] or DEFAULT_TYPE
    maintype, subtype = candidate.split("/")
    if maintype in ("multipart", "message"):
        maintype, subtype = DEFAULT_TYPE.split("/")
    return maintype, subtype


def _attach(out: EmailMessage, attachment: Attachment, number: int, depth: int) -> None:
    filename = one_line(attachment.filename or "") or f"attachment-{number}"
    if attachment.is_embedded:
        inner = attachment.message
        if inner is None:
            raise MessagingError("embedded message attachment has no message", nid=attachment.nid)
        out.add_attachment(to_email(inner, depth=depth + 1), filename=filename, cte="7bit")
        return
    if attachment.method in REFERENCE_METHODS:
        out["X-Pstlib-Omitted-Attachment"] = f"{filename} (by reference; the store holds no data)"
        return
    data = attachment.read()
    maintype, subtype = _content_type(attachment.mime_type, filename)
    content_id = one_line(attachment.content_id or "").strip("<>")
    related_to = out.get_body(("related", "html")) if content_id else None
    if related_to is not None and related_to.get_content_type() in (
        "multipart/related",
        "text/html",
    ):
        related_to.add_related(
            data, maintype, subtype, cid=f"<{content_id}>", filename=filename, disposition="inline"
        )
    else:
        out.add_attachment(
            data,
            maintype,
            subtype,
            filename=filename,
            cid=f"<{content_id}>" if content_id else None,
        )


def to_email(message: Message, *, depth: int = 0) -> EmailMessage:
    """``message`` as an ``EmailMessage``; ``PSTError`` when any part of it cannot be read."""
    if depth > MAX_EMBEDDED_DEPTH:
        raise LimitExceeded(f"messages embedded deeper than {MAX_EMBEDDED_DEPTH}", nid=message.nid)
    out = EmailMessage(policy=POLICY)
    headers = message.internet_headers
    if not (headers and _copy_transport_headers(out, headers)):
        _build_headers(out, message)
    _add_bodies(out, message)
    for number, attachment in enumerate(message.attachments, 1):
        _attach(out, attachment, number, depth)
    if out.get_payload() is None:
        out.set_content("")
    return out


def write_eml(message: Message, path: str | os.PathLike[str]) -> None:
    """Write ``message`` as an .eml file at ``path``, which must not exist yet."""
    data = to_email(message).as_bytes(policy=POLICY)
    with open(path, "xb") as handle:
        handle.write(data)
