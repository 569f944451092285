"""One raw e-mail (MIME bytes, as SES stores them) read into a ParsedMail.

Real mail is messy, and some of it is hostile, so for any input bytes this module guarantees:

* ``parse_mail`` never raises. A mail it cannot read at all comes back with its raw bytes as
  the attachment "original.eml".
* Nothing is dropped: every MIME part ends up in ``full_text`` or in ``attachments``, but for
  the alternatives not chosen; whatever was not imported in full (parts over ``max_parts``,
  text over ``max_text_bytes``, HTML over ``MAX_HTML`` characters or ``MAX_HTML_TAGS`` tags,
  damaged base64, parts nested too deep, a header block over its limits) also keeps the raw
  mail as "original.eml".
* Every string is proper Unicode (no surrogates or NULs).
* The work is linear in the size of the mail, and capped where the use is: text past what
  will be kept is neither transfer-decoded nor charset-decoded, HTML past those limits is not
  converted. bench/mail.py measures the worst inputs found; a 10 MB mail of any of them takes
  well under a second.

Decisions:

* The header fields come from ``supportdesk.mail.headers`` (``parse_headers`` reads them from
  the header block alone, with the same code), the MIME tree from ``supportdesk.mail.mime``.
* text/plain is taken as typed (format=flowed unwrapped). text/html becomes Markdown (see
  ``supportdesk.mail.markdown``). multipart/alternative: the plain part if it has text, else the
  richest; images kept.
* A forwarded mail (message/rfc822) is quoted into ``full_text``: a "> " block of its From,
  To, Cc, Date, Subject and text. Its attachments are taken (within the part limit); it is
  not kept as an .eml as well, which would store them all twice. Other message/* parts
  (delivery reports) are kept as attachments, as they came.
* ``text`` is ``full_text`` without quoted history and signature (``history.strip_history``).
* X-Auto-Response-Suppress alone does not make a mail automatic: Exchange and Outlook set
  it on ordinary mail written by people.
"""

from __future__ import annotations

import copy
import mimetypes
import os.path
import re
from dataclasses import dataclass, field
from email.message import Message
from email.policy import compat32
from functools import partial
from html import unescape
from typing import Any

from supportdesk.mail import mime
from supportdesk.mail.charsets import decode_bytes, looks_binary
from supportdesk.mail.flowed import unflow
from supportdesk.mail.headers import (
    HeaderIndex,
    MailHeaders,
    content_type,
    decode_header,
    header,
    param_text,
    parse_headers,
    read_fields,
    unsurrogate,
)
from supportdesk.mail.history import strip_history
from supportdesk.mail.markdown import html_to_markdown
from supportdesk.mail.mime import MimePart, read_mail
from supportdesk.mail.safe import attempt

__all__ = ["ORIGINAL_NAME", "MAX_HTML", "MAX_HTML_TAGS", "MailHeaders", "MailPart", "ParsedMail", "parse_headers", "parse_mail"]


@dataclass(frozen=True)
class MailPart:
    """An attachment or inline image taken from the mail."""

    filename: str  # sanitized, never empty
    content_type: str  # lower-case
    data: bytes
    inline: bool
    content_id: str | None


@dataclass(frozen=True)
class ParsedMail:
    """What the intake needs of one mail; ids without angle brackets, addresses lower-case.
    The header fields are those ``parse_headers`` gives for the same mail."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_address: str  # "" unless sender_problem is None
    from_name: str
    subject: str
    text: str  # the new text, as Markdown
    full_text: str  # all of the body text, as Markdown
    attachments: tuple[MailPart, ...]
    is_automatic: bool
    automatic_reason: str | None
    language_hint: str | None
    sender_problem: str | None  # see MailHeaders


ORIGINAL_NAME = "original.eml"
# HTML converted per mail: html.parser and markdownify take about 25 µs a tag (2.5 s for a
# megabyte of dense markup). Real mail has a tag per 30 characters or more.
MAX_HTML = 150_000  # characters
MAX_HTML_TAGS = 10_000
_MAX_FILENAME = 150
_MIN_BLANK_CHECK = 65_536  # bytes of a plain alternative read to see whether it has text
# Path and shell metacharacters, controls, and bidi overrides ("gpj.exe" shown as "exe.jpg").
_UNSAFE_IN_NAME = re.compile(
    "[\x00-\x1f\x7f-\x9f<>:\"|?*\u200b-\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
_ENCODED_BY_LINES = ("base64", "x-uuencode", "uuencode", "uue", "x-uue")


def parse_mail(raw: bytes, *, max_parts: int = 100, max_text_bytes: int = 1_000_000) -> ParsedMail:
    """Read one raw mail; never raises (see the module docstring for what is guaranteed)."""
    try:
        return _parse(bytes(raw), max(max_parts, 1), max(max_text_bytes, 0))
    except Exception:  # the promise: a mail that cannot be read is kept, not lost
        data = attempt(lambda: bytes(raw), b"")
        original = MailPart(ORIGINAL_NAME, "message/rfc822", data, False, None)
        # The header fields are still the ones parse_headers gives (it never raises).
        headers = parse_headers(data)
        return ParsedMail(
            message_id=headers.message_id, in_reply_to=headers.in_reply_to, references=headers.references,
            from_address=headers.from_address, from_name=headers.from_name, subject=headers.subject,
            text="", full_text="", attachments=(original,),
            is_automatic=headers.is_automatic, automatic_reason=headers.automatic_reason,
            language_hint=headers.language_hint, sender_problem=headers.sender_problem,
        )


def _parse(raw: bytes, max_parts: int, max_text_bytes: int) -> ParsedMail:
    # Parts past max_parts are read (their headers only) to tell how many there are, up to a
    # bound: 100,000 tiny parts must not cost 100,000 header blocks.
    reading = read_mail(raw, 10 * max_parts + 100)
    msg = reading.root
    walk = _Walk(max_parts, max_text_bytes)
    walk.visit(msg)
    if walk.overflow or not reading.complete:
        walk.keep_original = True
    full_text = "\n\n".join(t.strip("\n").rstrip() for t in walk.texts).strip("\n")
    if len(encoded := full_text.encode("utf-8")) > max_text_bytes:
        full_text = encoded[:max_text_bytes].decode("utf-8", "ignore")
        walk.keep_original = True
    headers = read_fields(HeaderIndex(msg))
    if walk.keep_original:
        walk.attachments.append(MailPart(ORIGINAL_NAME, "message/rfc822", raw, False, None))
    return ParsedMail(
        message_id=headers.message_id,
        in_reply_to=headers.in_reply_to,
        references=headers.references,
        from_address=headers.from_address,
        from_name=headers.from_name,
        subject=headers.subject,
        text=strip_history(full_text),
        full_text=full_text,
        attachments=tuple(walk.attachments),
        is_automatic=headers.is_automatic,
        automatic_reason=headers.automatic_reason,
        language_hint=headers.language_hint,
        sender_problem=headers.sender_problem,
    )


@dataclass
class _Walk:
    """Walks the MIME tree once, collecting text and attachments."""

    max_parts: int
    max_text_bytes: int
    texts: list[str] = field(default_factory=list)
    attachments: list[MailPart] = field(default_factory=list)
    seen: int = 0
    text_bytes: int = 0
    html_read: int = 0
    html_tags: int = 0
    overflow: bool = False
    keep_original: bool = False

    def visit(self, part: Message, *, as_text: bool = True, in_related: bool = False) -> None:
        if self.seen >= self.max_parts:
            self.overflow = True
            return
        self.seen += 1
        ctype = content_type(part)
        if isinstance(part, MimePart) and part.head_cut:  # read up to the header block's limits
            self.keep_original = True
        if isinstance(part, MimePart) and part.unread:  # nested too deep
            self.keep_original = True
        elif part.is_multipart():  # get_payload() of a leaf may raise; of a container it cannot
            children = [child for child in part.get_payload() if isinstance(child, Message)]
            if ctype in ("message/rfc822", "message/global") and children:
                self._forwarded(children[0], as_text)
            elif ctype.startswith("message/"):
                self._attach(part, ctype, in_related)
            elif ctype == "multipart/alternative":
                best = _best_alternative(children) if as_text else None
                for child in children:
                    self.visit(child, as_text=child is best)
            elif ctype == "multipart/related":
                root = _related_root(part, children)
                for child in children:
                    self.visit(child, as_text=as_text, in_related=child is not root)
            else:
                for child in children:
                    self.visit(child, as_text=as_text)
            if not children:  # its preamble taken as text
                self._add_text(f"{part.preamble or ''}\n{part.epilogue or ''}")
        elif ctype.startswith("message/") and ctype not in ("message/rfc822", "message/global"):
            self._attach(part, ctype, in_related)  # delivery-status and the like: for machines
        elif ctype.startswith(("multipart/", "message/")):  # boundary missing: its body taken as text
            self._text(part, "text/plain")
        elif ctype in ("text/plain", "text/html") and _disposition(part) != "attachment":
            if as_text:  # else another alternative was used
                self._text(part, ctype)
        else:
            self._attach(part, ctype, in_related)

    def _forwarded(self, inner: Message, as_text: bool) -> None:
        start = len(self.texts)
        self.visit(inner, as_text=as_text)
        body = "\n\n".join(t.strip("\n") for t in self.texts[start:])
        del self.texts[start:]
        head = [f"{name}: {value}" for name in ("From", "To", "Cc", "Date", "Subject")
                if (value := " ".join(decode_header(header(inner, name)).split()))]
        block = "\n".join(head) + ("\n\n" + body if body else "")
        self.texts.append("\n".join("> " + line if line.strip() else ">" for line in block.split("\n")))

    def _text(self, part: Message, ctype: str) -> None:
        room = self.max_text_bytes - self.text_bytes
        if room <= 0:  # over max_text_bytes of text: not read
            self.keep_original = True
            return
        html_room = max(MAX_HTML - self.html_read, 0) if ctype == "text/html" else room
        wanted = min(room, html_room)  # characters of it that can be used
        # Text past what will be kept is not worth decoding: no charset takes more than four
        # bytes per character, and every character is at least one byte of UTF-8.
        data, cut = _payload_prefix(part, 4 * wanted)
        charset = attempt(lambda: mime.charset(part), None) if isinstance(part, MimePart) else None
        text, replaced = decode_bytes(data, charset, complete=not cut)
        if looks_binary(text):  # not readable text: kept as attachment instead
            self._attach(part, ctype, False)
            return
        if replaced:  # undecodable bytes were replaced: the part is also kept as attachment
            self._attach(part, ctype, False)
        text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
        if ctype == "text/html":
            wanted = min(wanted, _tags_end(text, MAX_HTML_TAGS - self.html_tags))
        if cut or len(text) > wanted:
            text = text[:wanted]
            self.keep_original = True
        if ctype == "text/html":
            self.html_read += len(text)
            self.html_tags += text.count("<")
            text = self._markdown(part, text)
        elif _param(part, "format").lower() == "flowed":
            text = unflow(text, _param(part, "delsp").lower() == "yes")
        self._add_text(text)

    def _add_text(self, text: str) -> None:
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
        self.text_bytes += len(text.encode("utf-8"))
        if text.strip():
            self.texts.append(text)

    def _markdown(self, part: Message, html: str) -> str:
        try:
            return html_to_markdown(html)
        except Exception:  # e.g. RecursionError on absurdly nested tags: the HTML kept as attachment
            self._attach(part, "text/html", False)
            return unescape(re.sub(r"<[^<>]*>", " ", html))

    def _attach(self, part: Message, ctype: str, in_related: bool) -> None:
        data = _payload(part)
        if any("Base64" in type(defect).__name__ for defect in part.defects):  # decoded as far as possible
            self.keep_original = True
        content_id = _content_id(part) or None
        name = attempt(lambda: decode_header(_filename(part) or ""), "")
        name = _safe_filename(name, ctype, len(self.attachments) + 1)
        inline = _disposition(part) == "inline" or (in_related and content_id is not None)
        self.attachments.append(MailPart(name, ctype, data, inline, content_id))


def _tags_end(html: str, tags: int) -> int:
    """Where the first `tags` tags of html end (its length if it has no more)."""
    position = -1
    for _ in range(max(tags, 0) + 1):
        position = html.find("<", position + 1)
        if position < 0:
            return len(html)
    return position


def _best_alternative(children: list[Message]) -> Message | None:
    for child in children:
        if (content_type(child) == "text/plain" and _disposition(child) != "attachment"
                and _has_text(child)):
            return child
    richer = [c for c in children if content_type(c) == "text/html" or c.is_multipart()]
    candidates = richer or children
    return candidates[-1] if candidates else None


def _has_text(part: Message) -> bool:
    data, cut = _payload_prefix(part, _MIN_BLANK_CHECK)
    # Whitespace all through the first 64 KB: only the whole part can tell.
    return bool(data.strip()) or (cut and bool(_payload(part).strip()))


def _related_root(part: Message, children: list[Message]) -> Message | None:
    start = _param(part, "start").strip().strip("<>")
    named = [child for child in children if start and _content_id(child) == start]
    candidates = named or children
    return candidates[0] if candidates else None


# -- MIME access that cannot raise: the stdlib's accessors do, on broken mail -----------

def _disposition(part: Message) -> str | None:
    return attempt(part.get_content_disposition, None)


def _param(part: Message, name: str) -> str:
    return param_text(part, name) if isinstance(part, MimePart) else ""


def _filename(part: Message) -> str | None:
    return attempt(lambda: mime.filename(part), None) if isinstance(part, MimePart) else None


def _content_id(part: Message) -> str:
    return unsurrogate(header(part, "Content-ID")).strip().strip("<>").strip()


def _payload(part: Message) -> bytes:
    data = attempt(lambda: part.get_payload(decode=True), None)
    if isinstance(data, bytes):
        return data
    nothing: Any = ""
    payload: Any = attempt(lambda: part.get_payload(), nothing)
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    # compat32 writes the headers back as they came, without refolding.
    return b"\n".join(attempt(partial(child.as_bytes, policy=compat32), b"")
                      for child in (payload if isinstance(payload, list) else []))


def _payload_prefix(part: Message, limit: int) -> tuple[bytes, bool]:
    """About the first `limit` bytes of the decoded payload (never fewer when there are
    more), and whether that is not all of it; only the encoded text needed is decoded."""
    encoded = getattr(part, "_payload", None)  # get_payload() would decode 8-bit text
    if not isinstance(encoded, str):
        return _payload(part), False
    cte = str(attempt(lambda: part.get("content-transfer-encoding", ""), "")).strip().lower()
    # Encoded characters per decoded byte at most: "=XX" in quoted-printable, 4/3 and the
    # line ends in base64 and uuencode.
    per_byte = 3 if cte == "quoted-printable" else 2 if cte in _ENCODED_BY_LINES else 1
    if len(encoded) <= per_byte * limit:
        return _payload(part), False
    end = per_byte * limit
    if per_byte > 1:  # whole lines, each of which decodes on its own
        end = max(encoded.rfind("\n", 0, end), encoded.rfind("\r", 0, end)) + 1 or end
    head = copy.copy(part)
    head.defects = []  # a damaged tail past the cut is not this prefix's to report
    head.set_payload(encoded[:end])
    return _payload(head)[:limit], True


def _safe_filename(name: str, content_type: str, number: int) -> str:
    name = _UNSAFE_IN_NAME.sub("", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = " ".join(name.split()).strip(". ")
    if not name:
        fallback = ".txt" if content_type.startswith(("text/", "message/")) else ".bin"
        return f"attachment-{number}{mimetypes.guess_extension(content_type) or fallback}"
    stem, extension = os.path.splitext(name)
    if len(extension) > 16:
        stem, extension = name, ""
    return name if len(name) <= _MAX_FILENAME else stem[: _MAX_FILENAME - len(extension)] + extension
