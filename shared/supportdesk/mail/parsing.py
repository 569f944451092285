"""One raw e-mail (MIME bytes, as SES stores them) read into a ParsedMail.

Real mail is messy, so for any input bytes this module guarantees:

* ``parse_mail`` never raises. A mail it cannot read at all comes back with the reason in
  ``skipped`` and its raw bytes as the attachment "original.eml".
* Nothing is dropped silently: every MIME part ends up in ``full_text``, in ``attachments``
  or in a ``skipped`` note; whatever was not imported in full (parts over ``max_parts``,
  text over ``max_text_bytes``, damaged base64) also keeps the raw mail as "original.eml".
* Every string is proper Unicode (no surrogates or NULs). The work is bounded: a 10 MB mail
  takes well under a second, a megabyte of HTML to convert about two.

Decisions:

* policy.default parses the structure, but a header over 8 KB, or one its parser raises
  on, is read as compat32 would (that parser takes ~20 s for a 1 MB Subject). Header text
  is decoded here from the raw value: RFC 2047 words in any charset, adjacent words joined
  first (a UTF-8 character may be split over two), raw 8-bit bytes as UTF-8 or cp1252.
* text/plain is taken as typed (format=flowed unwrapped). text/html becomes Markdown
  (markdownify: ATX headings, links kept, images reduced to their alt text so tracking
  pixels vanish) once <head>, <script> and <style> are gone. multipart/alternative: the
  plain part if it has text, else the richest; the unused ones are noted, images kept.
* A forwarded mail (message/rfc822) is quoted into ``full_text``: a "> " block of its From,
  To, Cc, Date, Subject and text. Its attachments are taken (within the part limit); it is
  not kept as an .eml as well, which would store them all twice.
* ``text`` drops "> " lines, then cuts at the first quote header (patterns here for what
  mail-parser-reply misses: Spanish "El ... escribió:", "On ... wrote:" wrapped over two
  lines, "-----Mensaje original-----", Outlook's "De: / Enviado el:"), then at what the
  library finds (headers, signatures). If nothing is left, ``text`` is ``full_text``.
* X-Auto-Response-Suppress alone does not make a mail automatic: Exchange and Outlook set
  it on ordinary mail written by people.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email
import mimetypes
import os.path
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from email.policy import EmailPolicy, compat32
from email.utils import collapse_rfc2231_value, getaddresses
from functools import cache, partial
from html import unescape
from typing import Any, TypeVar

_T = TypeVar("_T")


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
    """What the intake needs of one mail; ids without angle brackets, addresses lower-case."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_address: str
    from_name: str
    reply_to: str | None
    to: tuple[str, ...]
    subject: str
    date: str | None
    text: str  # the new text, as Markdown
    full_text: str  # all of the body text, as Markdown
    attachments: tuple[MailPart, ...]
    skipped: tuple[str, ...]
    is_automatic: bool
    automatic_reason: str | None
    language_hint: str | None


ORIGINAL_NAME = "original.eml"
_MAX_PARSED_HEADER = 8_192  # longer MIME headers are cut (and parsed as compat32 would)
_MAX_HEADER_READ = 65_536  # of one raw header value: more is no name, subject or address
_MAX_SUBJECT = 1_000
_MAX_FILENAME = 150
_MAX_REPLY_SCAN = 100_000  # characters searched for quoted history
# mail-parser-reply's patterns take cubic time in the length of a line ("Am Am ... schrieb"):
# it sees lines cut to this length, long enough for any signature or header it finds.
_LIBRARY_LINE = 120
_REPLY_LANGUAGES = ("en", "es", "de", "fr")
_WESTERN = frozenset({"ascii", "iso8859-1", "cp1252"})
_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_ROBOTS = frozenset({
    "mailer-daemon", "postmaster", "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply",
})

_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_NOT_IN_TYPE = re.compile(r"[^a-z0-9!#$&^_.+/-]")
_SURROGATE = re.compile("[\udc80-\udcff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not wanted in header text
# In decoded text these mean binary data or a wrong charset.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")
# Path and shell metacharacters, controls, and bidi overrides ("gpj.exe" shown as "exe.jpg").
_UNSAFE_IN_NAME = re.compile(
    "[\x00-\x1f\x7f-\x9f<>:\"|?*\u200b-\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
_QUOTED_LINE = re.compile(r"^[ \t]*>.*(?:\n|\Z)", re.MULTILINE)
_HISTORY = re.compile(
    r"^[ \t]*(?:"
    r"(?:On|El|Le|Am)\s[^\n]*(?:\n[^\n]*)?"
    r"\b(?:wrote|escribi[óo]|a écrit|schrieb)\b[^\n]{0,80}:[ \t]*$"
    r"|(?i:-{2,}[ \t]*"
    r"(?:original message|mensaje original|message d'origine|ursprüngliche nachricht)[ \t]*-{2,})"
    r"|\**(?:From|De|Von)\**[ \t]?:[^\n]*\n(?:[^\n]*\n){0,2}?[ \t]*"
    r"\**(?:Sent|Date|Enviado(?: el)?|Fecha|Gesendet|Datum|Envoyé(?: le)?)\**[ \t]?:)",
    re.MULTILINE,
)
_RULE = re.compile(r"[ \t]*[-_=*]{3,}[ \t]*")


class _TolerantPolicy(EmailPolicy):
    """policy.default, except that a header it cannot parse (fast) comes back as compat32's
    string, cut short: even compat32 takes quadratic time over a long parameter list."""

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if isinstance(value, str) and len(value) > _MAX_PARSED_HEADER:
            return compat32.header_fetch_parse(name, value[:_MAX_PARSED_HEADER])
        try:
            return super().header_fetch_parse(name, value)
        except Exception:
            return compat32.header_fetch_parse(name, value)


_POLICY = _TolerantPolicy()


def parse_mail(raw: bytes, *, max_parts: int = 100, max_text_bytes: int = 1_000_000) -> ParsedMail:
    """Read one raw mail; never raises (see the module docstring for what is guaranteed)."""
    try:
        return _parse(bytes(raw), max(max_parts, 1), max(max_text_bytes, 0))
    except Exception as exc:  # the promise: a mail that cannot be read is kept, not lost
        data = _try(lambda: bytes(raw), b"")
        original = MailPart(ORIGINAL_NAME, "message/rfc822", data, False, None)
        note = f"mail could not be read ({type(exc).__name__}); kept whole as {ORIGINAL_NAME}"
        return ParsedMail(
            None, (), (), "", "", None, (), "", None, "", "", (original,), (note,), False, None, None
        )


def _parse(raw: bytes, max_parts: int, max_text_bytes: int) -> ParsedMail:
    # The stdlib parses every part before the walk starts (100,000 tiny parts: 6 s), so a mail
    # with far more delimiter-like lines than parts to read is parsed only up to that many.
    end = len(raw)
    if raw.count(b"\n--") > (delimiters := 20 * max_parts + 1_000):
        end = -1
        for _ in range(delimiters):
            end = raw.find(b"\n--", end + 1)
    msg = email.message_from_bytes(raw[:end], policy=_POLICY)
    walk = _Walk(max_parts, max_text_bytes)
    walk.visit(msg)
    if walk.overflow or end < len(raw):
        total = "end" if end < len(raw) else _try(lambda: str(sum(1 for _ in msg.walk())), "end")
        walk.note(f"parts {max_parts + 1}-{total}: not read, more than {max_parts} parts", keep=True)
    full_text = "\n\n".join(t.strip("\n").rstrip() for t in walk.texts).strip("\n")
    if len(encoded := full_text.encode("utf-8")) > max_text_bytes:
        full_text = encoded[:max_text_bytes].decode("utf-8", "ignore")
        walk.note(f"text truncated after {max_text_bytes} bytes", keep=True)
    subject = " ".join(_decode_header(_header(msg, "Subject")).split())
    if len(subject) > _MAX_SUBJECT:
        walk.note(f"subject truncated after {_MAX_SUBJECT} characters")
        subject = subject[:_MAX_SUBJECT]
    from_name, from_address = (_addresses(msg, "From") or [("", "")])[0]
    reply_to = _addresses(msg, "Reply-To")
    recipients = _addresses(msg, "To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
    message_ids = _ids(msg, "Message-ID") or [_unsurrogate(_header(msg, "Message-ID")).strip(" \t<>")]
    language = re.match(r"\s*([A-Za-z]{1,8})", _header(msg, "Content-Language"))
    reason = _automatic_reason(msg, from_address)
    if walk.keep_original:
        walk.attachments.append(MailPart(ORIGINAL_NAME, "message/rfc822", raw, False, None))
    return ParsedMail(
        message_id=message_ids[0] or None,
        in_reply_to=tuple(_ids(msg, "In-Reply-To")),
        references=tuple(_ids(msg, "References")),
        from_address=from_address,
        from_name=from_name,
        reply_to=reply_to[0][1] if reply_to else None,
        to=tuple(dict.fromkeys(address for _, address in recipients)),
        subject=subject,
        date=" ".join(_unsurrogate(_header(msg, "Date")).split()) or None,
        text=_new_text(full_text),
        full_text=full_text,
        attachments=tuple(walk.attachments),
        skipped=tuple(walk.skipped),
        is_automatic=reason is not None,
        automatic_reason=reason,
        language_hint=language.group(1).lower() if language else None,
    )


@dataclass
class _Walk:
    """Walks the MIME tree once, collecting text, attachments and notes."""

    max_parts: int
    max_text_bytes: int
    texts: list[str] = field(default_factory=list)
    attachments: list[MailPart] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seen: int = 0
    text_bytes: int = 0
    html_read: int = 0
    overflow: bool = False
    keep_original: bool = False

    def note(self, message: str, *, keep: bool = False) -> None:
        if keep:
            self.keep_original = True
            message += f"; the whole mail is kept as {ORIGINAL_NAME}"
        self.skipped.append(_CONTROL.sub("", message))

    def visit(self, part: Message, *, as_text: bool = True, in_related: bool = False) -> None:
        if self.seen >= self.max_parts:
            self.overflow = True
            return
        self.seen += 1
        number, ctype = self.seen, _content_type(part)
        if part.is_multipart():  # get_payload() of a leaf may raise; of a container it cannot
            children = [child for child in part.get_payload() if isinstance(child, Message)]
            if ctype in ("message/rfc822", "message/global") and children:
                self._forwarded(children[0], as_text)
            elif ctype.startswith("message/"):  # delivery-status and the like: for machines
                self._attach(part, number, ctype, in_related)
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
            if not children:
                self.note(f"part {number}: {ctype} without parts, its preamble taken as text")
                self._add_text(f"{part.preamble or ''}\n{part.epilogue or ''}")
        elif ctype.startswith(("multipart/", "message/")):
            self.note(f"part {number}: {ctype} without readable parts (boundary missing), "
                      "its body taken as text")
            self._text(part, number, "text/plain")
        elif ctype in ("text/plain", "text/html") and _disposition(part) != "attachment":
            if as_text:
                self._text(part, number, ctype)
            else:
                self.note(f"part {number}: {ctype} alternative not used (another alternative was)")
        else:
            self._attach(part, number, ctype, in_related)

    def _forwarded(self, inner: Message, as_text: bool) -> None:
        start = len(self.texts)
        self.visit(inner, as_text=as_text)
        body = "\n\n".join(t.strip("\n") for t in self.texts[start:])
        del self.texts[start:]
        head = [f"{name}: {value}" for name in ("From", "To", "Cc", "Date", "Subject")
                if (value := " ".join(_decode_header(_header(inner, name)).split()))]
        block = "\n".join(head) + ("\n\n" + body if body else "")
        self.texts.append("\n".join("> " + line if line.strip() else ">" for line in block.split("\n")))

    def _text(self, part: Message, number: int, ctype: str) -> None:
        if self.text_bytes >= self.max_text_bytes:
            self.note(f"part {number}: {ctype} not read, over {self.max_text_bytes} bytes of text",
                      keep=True)
            return
        data, charset = self._data(part, number), _try(part.get_content_charset, None)
        text, replaced = _decode_bytes(data, charset)
        if _looks_binary(text):
            self.note(f"part {number}: {ctype} is not readable text (charset {charset or 'none'}), "
                      "kept as attachment")
            self._attach(part, number, ctype, False, data)
            return
        if replaced:
            self.note(f"part {number}: {ctype} had undecodable bytes, replaced; the part is also "
                      "kept as attachment")
            self._attach(part, number, ctype, False, data)
        text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
        if ctype == "text/html":
            text = self._markdown(part, number, text)
        elif _param(part, "format").lower() == "flowed":
            text = _unflow(text, _param(part, "delsp").lower() == "yes")
        self._add_text(text)

    def _add_text(self, text: str) -> None:
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
        self.text_bytes += len(text.encode("utf-8"))
        if text.strip():
            self.texts.append(text)

    def _markdown(self, part: Message, number: int, html: str) -> str:
        room = max(self.max_text_bytes - self.html_read, 0)  # markdownify takes ~2 s per MB
        if len(html) > room:
            html = html[:room]
            self.note(f"part {number}: text/html cut to {room} characters before conversion",
                      keep=True)
        self.html_read += len(html)
        try:
            return _html_to_markdown(html)
        except Exception as exc:  # e.g. RecursionError on absurdly nested tags
            self.note(f"part {number}: text/html not converted ({type(exc).__name__}), its text "
                      "taken without markup and the HTML kept as attachment")
            self._attach(part, number, "text/html", False)
            return unescape(re.sub(r"<[^<>]*>", " ", html))

    def _data(self, part: Message, number: int) -> bytes:
        data = _payload(part)
        if any("Base64" in type(defect).__name__ for defect in part.defects):
            self.note(f"part {number}: damaged base64, decoded as far as possible", keep=True)
        return data

    def _attach(
        self, part: Message, number: int, ctype: str, in_related: bool, data: bytes | None = None
    ) -> None:
        data = self._data(part, number) if data is None else data
        content_id = _content_id(part) or None
        name = _try(lambda: _decode_header(part.get_filename() or ""), "")
        name = _safe_filename(name, ctype, len(self.attachments) + 1)
        inline = _disposition(part) == "inline" or (in_related and content_id is not None)
        self.attachments.append(MailPart(name, ctype, data, inline, content_id))
        if ctype == "application/ms-tnef" or name.lower() == "winmail.dat":
            self.note(f"part {number}: {name} (Outlook TNEF) kept as attachment, not unpacked")


def _best_alternative(children: list[Message]) -> Message | None:
    for child in children:
        if (_content_type(child) == "text/plain" and _disposition(child) != "attachment"
                and _payload(child).strip()):
            return child
    richer = [c for c in children if _content_type(c) == "text/html" or c.is_multipart()]
    candidates = richer or children
    return candidates[-1] if candidates else None


def _related_root(part: Message, children: list[Message]) -> Message | None:
    start = _param(part, "start").strip().strip("<>")
    named = [child for child in children if start and _content_id(child) == start]
    candidates = named or children
    return candidates[0] if candidates else None


# -- MIME access that cannot raise: the stdlib's accessors do, on broken mail -----------

def _try(call: Callable[[], _T], default: _T) -> _T:
    try:
        return call()
    except Exception:
        return default


def _content_type(part: Message) -> str:
    # Controls and 8-bit bytes in it would reach the notes and the attachment's metadata.
    ctype = _NOT_IN_TYPE.sub("", _try(part.get_content_type, ""))
    main, _, sub = ctype.partition("/")
    return ctype if main and sub and "/" not in sub else "application/octet-stream"


def _disposition(part: Message) -> str | None:
    return _try(part.get_content_disposition, None)


def _param(part: Message, name: str) -> str:
    return _try(lambda: _unsurrogate(collapse_rfc2231_value(part.get_param(name) or "")), "")


def _content_id(part: Message) -> str:
    return _unsurrogate(_header(part, "Content-ID")).strip().strip("<>").strip()


def _payload(part: Message) -> bytes:
    data = _try(lambda: part.get_payload(decode=True), None)
    if isinstance(data, bytes):
        return data
    nothing: Any = ""
    payload: Any = _try(lambda: part.get_payload(), nothing)
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    # compat32 writes the headers back as they came, without refolding.
    return b"\n".join(_try(partial(child.as_bytes, policy=compat32), b"")
                      for child in (payload if isinstance(payload, list) else []))


# -- Headers ------------------------------------------------------------------------------

def _headers(msg: Message, name: str) -> list[str]:
    """The raw values of `name` (raw_items() parses nothing), each cut to a sane length."""
    name = name.lower()
    return _try(lambda: [str(v)[:_MAX_HEADER_READ] for k, v in msg.raw_items()
                         if k.lower() == name], [])


def _header(msg: Message, name: str) -> str:
    return (_headers(msg, name) or [""])[0]


def _unsurrogate(value: str) -> str:
    """Raw header text unfolded, its 8-bit bytes (surrogate escapes) read as UTF-8 or cp1252."""
    value = re.sub(r"\r?\n(?=[ \t])", "", value)
    if _SURROGATE.search(value):
        value, _ = _decode_bytes(value.encode("utf-8", "surrogateescape"), "cp1252", guess=False)
    return _CONTROL.sub("", value)


def _decode_header(value: str) -> str:
    value = _unsurrogate(value)
    pieces: list[tuple[str | None, Any]] = []  # (charset, bytes) of encoded words, (None, str)
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        gap, position = value[position:match.start()], match.end()
        if gap and not (gap.isspace() and pieces and pieces[-1][0]):  # RFC 2047 6.2
            pieces.append((None, gap))
        charset, kind, payload = match.group(1).lower(), match.group(2).lower(), match.group(3)
        try:
            data = (binascii.a2b_qp(payload.encode(), header=True) if kind == "q"
                    else base64.b64decode(payload + "=" * (-len(payload) % 4)))
        except (binascii.Error, ValueError):
            pieces.append((None, match.group(0)))
            continue
        if pieces and pieces[-1][0] == charset:  # a character may be split over two words
            pieces[-1] = (charset, pieces[-1][1] + data)
        else:
            pieces.append((charset, data))
    pieces.append((None, value[position:]))
    text = "".join(piece if charset is None else _decode_bytes(piece, charset, guess=False)[0]
                   for charset, piece in pieces)
    return _CONTROL.sub("", text)


def _addresses(msg: Message, *names: str) -> list[tuple[str, str]]:
    """(name, lower-cased address) pairs. Names are decoded after parsing: a decoded name may
    hold the commas and brackets that separate addresses."""
    found: list[tuple[str, str]] = []
    for raw in (raw for name in names for raw in _headers(msg, name)):
        if len(raw) == _MAX_HEADER_READ:  # cut short: drop the address the cut went through
            raw = raw.rpartition(",")[0]
        no_pairs: list[tuple[str, str]] = []
        pairs = _try(partial(getaddresses, [_unsurrogate(raw)]), no_pairs)
        found += [(" ".join(_decode_header(n).split()), a.strip().lower())
                  for n, a in pairs if a.strip()]
    return found


def _ids(msg: Message, name: str) -> list[str]:
    ids: list[str] = []
    for value in map(_unsurrogate, _headers(msg, name)):
        ids += _MESSAGE_ID.findall(value) or [t.strip("<>") for t in value.split() if "@" in t]
    return list(dict.fromkeys(ids))


def _automatic_reason(msg: Message, sender: str) -> str | None:
    def value(name: str) -> str:
        return " ".join(_unsurrogate(_header(msg, name)).split()).lower()

    if (auto_submitted := value("Auto-Submitted").split(";")[0].strip()) not in ("", "no"):
        return f"auto-submitted: {auto_submitted}"
    if value("Precedence") in _PRECEDENCE:
        return f"precedence: {value('Precedence')}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if _headers(msg, name) and value(name) not in ("no", "false", "0"):
            return name.lower()
    for name in ("List-Id", "List-Unsubscribe"):
        if _headers(msg, name):
            return name.lower()
    if _content_type(msg) == "multipart/report":
        kind = _param(msg, "report-type").lower()
        names = {"delivery-status": "delivery status notification",
                 "disposition-notification": "disposition notification"}
        return names.get(kind, f"report: {kind or 'unknown'}")
    if (local := sender.rpartition("@")[0] or sender) in _ROBOTS:
        return f"{local} sender"
    if any(raw.strip() == "<>" for raw in _headers(msg, "Return-Path")):
        return "null return-path"
    return None


# -- Text ---------------------------------------------------------------------------------

def _decode_bytes(data: bytes, charset: str | None, *, guess: bool = True) -> tuple[str, bool]:
    """The text, and whether undecodable bytes had to be replaced."""
    name = _try(lambda: codecs.lookup(charset).name if charset else None, None)
    if name in _WESTERN:
        # Labels lie: "us-ascii" and "iso-8859-1" are often UTF-8 (and valid UTF-8 is rarely
        # anything else), "iso-8859-1" is often windows-1252 (smart quotes in 0x80-0x9f),
        # and the five bytes windows-1252 leaves undefined ISO-8859-1 still reads.
        candidates = ["utf-8", "cp1252", "latin-1"]
    else:
        candidates = [name, "utf-8"] if name else ["utf-8"]
    for codec in candidates:
        try:
            text = data.decode(codec)
        except (LookupError, UnicodeError):  # LookupError: "base64" and such are no text codecs
            continue
        if not _looks_binary(text):
            return text, False
    guessed = _guess(data) if guess else None
    if guessed is not None and not _looks_binary(guessed):
        return guessed, False
    try:  # unlabelled 8-bit text here is mostly Western European
        return data.decode("cp1252"), False
    except UnicodeError:
        return data.decode("utf-8", "replace"), True


def _guess(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = _try(lambda: from_bytes(data).best(), None)
    # It calls short Latin-1 snippets UTF-16, which real UTF-16 text (full of NULs) is not.
    if best is None or (best.encoding.startswith(("utf_16", "utf_32")) and b"\0" not in data):
        return None
    return _try(lambda: str(best), None)


def _looks_binary(text: str) -> bool:
    sample = text[:65_536]
    return len(_NOT_TEXT.findall(sample)) > len(sample) * 0.05


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676: join the soft-broken lines of format=flowed text."""
    lines: list[tuple[int, str]] = []
    joinable = False
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth + 1:] if line[depth:].startswith(" ") else line[depth:]  # space-stuffing
        if joinable and lines[-1][0] == depth:
            lines[-1] = (depth, lines[-1][1] + body)
        else:
            lines.append((depth, body))
        joinable = body.endswith(" ") and body != "-- "
        if joinable and delsp:
            lines[-1] = (depth, lines[-1][1][:-1])
    return "\n".join(">" * depth + (" " if depth and body else "") + body for depth, body in lines)


def _html_to_markdown(html: str) -> str:
    from bs4 import BeautifulSoup

    # Python's HTMLParser rescans the rest of the input for each "<" left open at its end
    # (30 s for 60 KB of "<a <a ..."); past the last ">" there can only be text.
    last = html.rfind(">") + 1
    html = html[:last] + html[last:].replace("<", "&lt;")
    with warnings.catch_warnings():  # "looks like a URL", "looks like XML": mail is what it is
        warnings.simplefilter("ignore")
        soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(["head", "script", "style"]):
        if not tag.decomposed:
            tag.decompose()
    return str(_converter().convert_soup(soup)).strip("\n")


@cache
def _converter() -> Any:
    from markdownify import ATX, MarkdownConverter

    class Converter(MarkdownConverter):
        def convert_img(self, el: Any, text: str, parent_tags: Any) -> str:
            return str(el.attrs.get("alt") or "")

    return Converter(heading_style=ATX, bullets="-")


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


# -- New text -----------------------------------------------------------------------------

def _new_text(full_text: str) -> str:
    """`full_text` without quoted history and signature; `full_text` itself if that is empty."""
    head = full_text[:_MAX_REPLY_SCAN]
    try:
        unquoted = _QUOTED_LINE.sub("", head)
        history = _HISTORY.search(unquoted)
        new, cut = _library_reply(unquoted[: history.start()] if history else unquoted)
        lines = new.rstrip().split("\n")
        while lines and _RULE.fullmatch(lines[-1]):  # Outlook's "_____" above its header
            lines.pop()
        new = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n").rstrip()
    except Exception:  # a bug in a pattern or the library must not cost the mail
        return full_text
    # Past the scanned head, only a cut-off history proves the rest is not new.
    if not new.strip() or (len(full_text) > len(head) and not (cut or history)):
        return full_text
    return new


def _library_reply(text: str) -> tuple[str, bool]:
    """The reply before the first quote header or signature mail-parser-reply finds, and
    whether it found one. EmailMessage rather than EmailReplyParser.parse_reply: that
    keeps the signature, and takes "- item" lists for one."""
    from mailparser_reply import EmailMessage

    short = "\n".join(line[:_LIBRARY_LINE] for line in text.split("\n"))
    message = EmailMessage(text=short, languages=list(_REPLY_LANGUAGES), keep_hyphen_lists=True)
    replies = message.read().replies
    if not replies or replies[0].headers:  # a quote header at the very start: nothing new
        return "", True
    first, content = replies[0], replies[0].content
    if first.signatures and (at := content.find(first.signatures)) >= 0:
        content = content[:at]
    # The library strips every line; the original lines keep code and lists indented.
    lines, end = text.split("\n"), 0
    for wanted in filter(None, (line.strip() for line in content.split("\n"))):
        while end < len(lines) and lines[end][:_LIBRARY_LINE].strip() != wanted:
            end += 1
        if end == len(lines):  # lost track: better all of the text than part of it
            return text, False
        end += 1
    return "\n".join(lines[:end]), len(replies) > 1 or bool(first.signatures)


@dataclass(frozen=True)
class MailHeaders:
    """TEMPORARY stand-in: what the intake decides on before reading the body."""

    from_address: str
    from_name: str
    sender_problem: str | None
    subject: str
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    is_automatic: bool
    automatic_reason: str | None
    language_hint: str | None


def parse_headers(raw: bytes) -> MailHeaders:
    mail = parse_mail(raw)
    msg = email.message_from_bytes(raw, policy=_POLICY)
    froms = _headers(msg, "From")
    addresses = _addresses(msg, "From")
    problem = ("no-from" if not addresses else "several-from-headers" if len(froms) > 1
               else "several-addresses" if len(addresses) > 1 else "group" if ":" in froms[0].split("<")[0]
               else None)
    return MailHeaders(mail.from_address if problem is None else "", mail.from_name, problem, mail.subject,
                       mail.message_id, mail.in_reply_to, mail.references, mail.is_automatic,
                       mail.automatic_reason, mail.language_hint)
