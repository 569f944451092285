"""Select the body: which parts of the MIME tree hold the text the customer wrote, read as one
Markdown text; the other parts are handed on as files, each with the name it is kept under
(``supportdesk.mail.parts.file_name``).

* text/plain is taken as typed, text/html as Markdown (``supportdesk.mail.text``); files
  uuencoded into a text/plain part (``supportdesk.mail.uuencode``) are cut out of its text and
  kept as files.
* multipart/alternative: the plain part if it has text, else the richest; the others are the
  same text and are dropped, but for images inside them.
* multipart/related: its root is read as the rest of the mail is; the other parts are files,
  inline where they have a Content-ID.
* An attached mail (message/rfc822, message/global: a forward as attachment, an .eml) is kept
  as a file, as it came, named ``<its filename or Subject>.eml``; its text is in the body
  too, as a block whose first line names it (``**Attached mail: <name>** — From: ...,
  Date: ..., Subject: ...``) and holds its header fields on that one line (one field a line
  would read as a reply's quote header), then its text, not "> "-quoted. The files inside
  it are kept as well, after all the others: they are in its .eml already, but an agent
  should not need a mail program to open an invoice that came forwarded; put last, they
  are the ones the intake's limit on files leaves out, not the mail's own.
* Other message/* parts (delivery reports) are files, as they came.
* A multipart none of whose parts can be read (its boundary is nowhere, see
  ``supportdesk.mail.mime``) is text if it reads as text; if it holds MIME headers or base64,
  it is kept as a file (and the mail is not complete, so the raw mail is kept too) and only
  the text before those is taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message

from supportdesk.mail import uuencode
from supportdesk.mail.charsets import decode_bytes
from supportdesk.mail.headers import content_type, decode_header, header
from supportdesk.mail.mime import MimePart
from supportdesk.mail.parts import (
    MAIL_TYPES,
    charset,
    content_id,
    disposition,
    file_name,
    param,
    payload,
    payload_prefix,
    safe_name,
    transfer_encoding,
    type_of_name,
    with_payload,
)
from supportdesk.mail.text import TextReader

FORWARDED = MAIL_TYPES
_MIN_BLANK_CHECK = 65_536  # bytes of a plain alternative read to see whether it has text
# Where a body none of whose parts could be read stops being text: a line that is a MIME
# header, or two lines of base64 (and the delimiter-like line before them). Patterns that
# start with a literal line end are searched at C speed, one that starts with "[\r\n]" is
# ten times slower: lone CRs are looked for only where there are any.
_MIME_LINES = (rb"content-(?:type|transfer-encoding|disposition)[ \t]*:"
               rb"|[A-Za-z0-9+/]{40,}={0,2}\r?\n[A-Za-z0-9+/]{40,}={0,2}(?:\r?\n|\Z)")
_MIME_AFTER_LF = re.compile(rb"\n(?i:" + _MIME_LINES + rb")")
_MIME_AFTER_CR = re.compile(rb"\r(?i:" + _MIME_LINES + rb")")
_MIME_AT_START = re.compile(rb"(?i:" + _MIME_LINES + rb")")
_LONE_CR = re.compile(rb"\r(?!\n)")
_DELIMITER_BEFORE = re.compile(rb"(?:\A|[\r\n])--[^\r\n]*(?:\r\n|\r|\n)?\Z")
_ATTACHED_MAIL_FIELDS = ("From", "Date", "Subject")


@dataclass(frozen=True)
class FilePart:
    """A part to keep as a file, under `content_type` and `name` (safe, never empty)."""

    part: Message
    content_type: str
    in_related: bool  # a part of a multipart/related other than its root
    name: str
    data: bytes | None = None  # its bytes when they are not the part's payload


@dataclass(frozen=True)
class Body:
    text: str  # all of the body text, as Markdown
    files: tuple[FilePart, ...]  # in the order of the mail, those inside attached mails last
    complete: bool  # false: not all of the mail was read (see supportdesk.mail.parsing)
    # `text` in two: the mail's own text, and the block of each mail attached to it (its
    # first line, then its text), for history to be stripped from each on its own: a
    # signature in the mail's own text must not take the attached mails with it.
    own_text: str = ""
    attached: tuple[tuple[str, str], ...] = ()
    # Where each text part of the mail's own begins in `own_text` (a signature ends with its part).
    own_starts: tuple[int, ...] = ()


def select_body(root: Message, *, max_parts: int, max_text_bytes: int) -> Body:
    """The body of the mail whose tree is `root`, from its first `max_parts` parts and at most
    `max_text_bytes` of text."""
    walk = _Walk(max_parts, TextReader(max_text_bytes))
    walk.visit(root)
    text = _joined(walk.texts)
    if len(encoded := text.encode("utf-8")) > max_text_bytes:
        text = encoded[:max_text_bytes].decode("utf-8", "ignore")
        walk.complete = False
    own = [t for n, t in enumerate(walk.texts) if n not in walk.attached]
    own_text = _joined(own) if walk.attached else text
    return Body(text, (*walk.files, *walk.copies), walk.complete, own_text, tuple(walk.attached.values()),
                _starts(own, len(own_text)))


def _starts(texts: list[str], length: int) -> tuple[int, ...]:
    """Where each of `texts` begins in their _joined text (of `length`, if it was cut)."""
    starts, position = [], 0
    for text in texts:
        if position >= length:
            break
        starts.append(position)
        position += len(text.strip("\n").rstrip()) + 2
    return tuple(starts)


def _joined(texts: list[str]) -> str:
    return "\n\n".join(t.strip("\n").rstrip() for t in texts).strip("\n")


@dataclass
class _Walk:
    """Walks the MIME tree once, in the order of the mail."""

    max_parts: int
    reader: TextReader
    texts: list[str] = field(default_factory=list)
    files: list[FilePart] = field(default_factory=list)
    copies: list[FilePart] = field(default_factory=list)  # files inside attached mails
    in_mail: int = 0  # how many attached mails the part visited is inside
    # The attached mails' blocks among `texts`, by their place: (first line, text).
    attached: dict[int, tuple[str, str]] = field(default_factory=dict)
    seen: int = 0
    complete: bool = True

    def visit(self, part: Message, *, as_text: bool = True, in_related: bool = False) -> None:
        """Take `part`; `as_text` false: it is an alternative not chosen."""
        if self.seen >= self.max_parts:
            self.complete = False
            return
        self.seen += 1
        if isinstance(part, MimePart) and (part.head_cut or part.unread):
            self.complete = False  # its header block read up to its limits, or nested too deep
            if part.unread:
                return
        if part.is_multipart():  # get_payload() of a leaf may raise; of a container it cannot
            self._container(part, content_type(part), as_text, in_related)
        else:
            self._leaf(part, content_type(part), as_text, in_related)

    def _container(self, part: Message, ctype: str, as_text: bool, in_related: bool) -> None:
        children = [child for child in part.get_payload() if isinstance(child, Message)]
        if ctype in FORWARDED and children:
            self._attached_mail(part, children[0], ctype, as_text, in_related)
        elif ctype.startswith("message/"):
            self._file(part, ctype, in_related)
        else:
            for child, child_as_text, child_in_related in _roles(part, ctype, children, as_text):
                self.visit(child, as_text=child_as_text, in_related=child_in_related)
        if not children:  # its preamble and epilogue are all the text it has
            self._add_text(f"{part.preamble or ''}\n{part.epilogue or ''}")

    def _leaf(self, part: Message, ctype: str, as_text: bool, in_related: bool) -> None:
        if ctype.startswith("message/") and ctype not in FORWARDED:
            self._file(part, ctype, in_related)  # delivery-status and the like: for machines
        elif ctype.startswith(("multipart/", "message/")):  # no readable parts (boundary missing)
            self._unreadable(part)
        elif ctype in ("text/plain", "text/html") and disposition(part) != "attachment":
            if as_text:
                self._text(part, ctype)
        else:
            self._file(part, ctype, in_related)

    def _attached_mail(self, part: Message, inner: Message, ctype: str, as_text: bool, in_related: bool) -> None:
        source = part.source if isinstance(part, MimePart) else None
        name = self._file(part, ctype, in_related, data=source)
        start = len(self.texts)
        self.in_mail += 1
        try:
            self.visit(inner, as_text=as_text)
        finally:
            self.in_mail -= 1
        if as_text:
            body = "\n\n".join(t.strip("\n") for t in self.texts[start:])
            line = self.reader.take(_attached_mail_line(name, inner))
            self.texts[start:] = [line + ("\n\n" + body if body else "")]
            if not self.in_mail:
                self.attached[start] = (line, body)

    def _text(self, part: Message, ctype: str) -> None:
        if ctype == "text/plain":
            part = self._uuencoded_files(part)
        read = self.reader.read(part, ctype)
        for kept_as in read.files:
            self._file(part, kept_as, False)
        self.complete = self.complete and read.whole
        self._add_text(read.text)

    def _uuencoded_files(self, part: Message) -> Message:
        """`part` without the files uuencoded into it, which are kept as files."""
        encoded = getattr(part, "_payload", None)
        if not isinstance(encoded, str):
            return part
        # Base64 hides the "begin" lines (the other transfer encodings leave them as they are):
        # they are looked for in as much text as can be kept. One past that is in text that
        # is not imported: the raw mail is kept then.
        base64 = transfer_encoding(part) == "base64"
        if not uuencode.has_blocks(payload_prefix(part, self.reader.max_bytes)[0] if base64 else encoded):
            return part
        found = uuencode.split(payload(part), max(self.max_parts - self.seen, 0))
        self.complete = self.complete and found.complete
        if not found.files:
            return part
        for file in found.files:
            self.seen += 1
            name = decode_bytes(file.name, charset(part), guess=False)[0]
            # A part of its own: the text part's Content-ID and disposition are not the file's.
            self._file(MimePart(), type_of_name(name), False, data=file.data, name=name)
        return with_payload(part, found.text)

    def _unreadable(self, part: Message) -> None:
        """A multipart none of whose parts could be read."""
        data = payload(part)
        found = _mime_start(data)
        if found is None:
            self._text(part, "text/plain")
            return
        self.complete = False  # the raw mail is kept: it may be read where this could not
        self._file(part, "text/plain", False, data=data)
        text = data[:found]
        if (delimiter := _DELIMITER_BEFORE.search(text, max(len(text) - 200, 0))) is not None:
            text = text[:delimiter.start()]
        self._text(with_payload(part, text), "text/plain")

    def _add_text(self, text: str) -> None:
        text = self.reader.take(text)
        if text.strip():
            self.texts.append(text)

    def _file(self, part: Message, ctype: str, in_related: bool, *, data: bytes | None = None,
              name: str | None = None) -> str:
        """Keep `part` (or `data`, named `name`) as a file; returns the name it is kept under."""
        number = len(self.files) + len(self.copies) + 1
        kept_as = file_name(part, ctype, number) if name is None else safe_name(name, ctype, number)
        (self.copies if self.in_mail else self.files).append(FilePart(part, ctype, in_related, kept_as, data))
        return kept_as


def _roles(part: Message, ctype: str, children: list[Message], as_text: bool) -> list[tuple[Message, bool, bool]]:
    """Each child of a multipart, whether it may be read as text, and whether it is a part of
    a multipart/related other than its root."""
    if ctype == "multipart/alternative":
        best = _best_alternative(children) if as_text else None
        return [(child, child is best, False) for child in children]
    if ctype == "multipart/related":
        root = _related_root(part, children)
        return [(child, as_text, child is not root) for child in children]
    return [(child, as_text, False) for child in children]


def _best_alternative(children: list[Message]) -> Message | None:
    for child in children:
        if (content_type(child) == "text/plain" and disposition(child) != "attachment"
                and _has_text(child)):
            return child
    richer = [c for c in children if content_type(c) == "text/html" or c.is_multipart()]
    candidates = richer or children
    return candidates[-1] if candidates else None


def _has_text(part: Message) -> bool:
    data, cut = payload_prefix(part, _MIN_BLANK_CHECK)
    # Whitespace all through the first 64 KB: only the whole part can tell.
    return bool(data.strip()) or (cut and bool(payload(part).strip()))


def _related_root(part: Message, children: list[Message]) -> Message | None:
    start = param(part, "start").strip().strip("<>")
    named = [child for child in children if start and content_id(child) == start]
    candidates = named or children
    return candidates[0] if candidates else None


def _mime_start(data: bytes) -> int | None:
    """Where the first line that is a MIME header or base64 starts (its line end before it)."""
    if _MIME_AT_START.match(data):
        return 0
    searches = (_MIME_AFTER_LF, _MIME_AFTER_CR) if _LONE_CR.search(data) else (_MIME_AFTER_LF,)
    found = [m.start() for m in (search.search(data) for search in searches) if m is not None]
    return min(found) if found else None


def _attached_mail_line(name: str, inner: Message) -> str:
    """The first line of an attached mail's block: its name and header fields, on one line."""
    fields = [f"{label}: {value}" for label in _ATTACHED_MAIL_FIELDS
              if (value := " ".join(decode_header(header(inner, label), charset(inner)).split()))]
    return f"**Attached mail: {name}**" + (" — " + ", ".join(fields) if fields else "")
