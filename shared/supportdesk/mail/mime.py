"""The MIME structure of a raw mail, read in time linear in the size of the mail.

The stdlib's parser reads a mail line by line in Python and checks every line against the
boundary of every enclosing multipart: 10 MB of short lines take seconds, and 500 nested
multiparts make each line cost 500 checks (10 s per MB). Here each header block is handed to
the stdlib's parser (so headers read exactly as it reads them), boundaries are found by
regular expressions that run in C, and a body is one slice of the mail.

The tree is the one the stdlib's feed parser builds (compat32 Message objects with the same
payloads, preambles and epilogues), except where that drops or reshapes what came:

* a multipart whose first delimiter is the closing one keeps its text after it too;
* message/* parts other than rfc822 and global stay as they came (the stdlib splits
  message/delivery-status into header blocks and reads the others as a mail);
* a message/rfc822 or message/global part keeps the text of the mail it holds, as it came
  (``MimePart.source``: an attached mail is stored as it was sent);
* a part nested deeper than ``MAX_DEPTH`` is not read (``MimePart.unread`` says why), and
  reading stops after ``max_parts`` parts (``Reading.complete`` is then false);
* a header block over ``HEADER_BLOCK_LIMIT`` characters or ``HEADER_LINES`` lines is read up
  to a line end there, and the rest of it, up to the next empty line, is skipped
  (``MimePart.head_cut``).

``read_mail(..., lenient=True)``, which the intake uses, also reads what the stdlib gives up on
(``MimePart.repaired`` says what was done); the faithful tree is there to compare with:

* a multipart whose declared boundary never occurs (or that declares none) is read with the
  boundary its body does use, if one can be told: a line "--X" followed by a header line,
  with a closing "--X--" after it or a second such "--X" line (Outlook Express, some mobile
  clients and broken gateways send these). Only the first few such lines are looked at, each
  candidate costs one search through the body: the work stays linear;
* a message/rfc822 or message/global part sent in base64 or quoted-printable (RFC 2046 allows
  neither; Exchange Online sends them) is decoded before its mail is read.

MIME parameters are read here too: compat32's ``get_param`` splits the header in quadratic
time on every call (20 ms for 8 KB of quoted semicolons, called a dozen times per part).
"""

from __future__ import annotations

import heapq
import itertools
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import Parser
from email.policy import compat32
from email.utils import collapse_rfc2231_value, decode_params, unquote
from functools import lru_cache
from typing import Any, cast

# Limits of one header block, far above any real one. Characters are cheap to read (four 1 MB
# header lines take 0.05 s); lines are not, the stdlib's parser pays for each in Python.
HEADER_BLOCK_LIMIT = 4_000_000
HEADER_LINES = 10_000
# Levels of nesting read: each level of multipart looks through the mail once more for its
# delimiters (at C speed). Real mail has fewer than ten.
MAX_DEPTH = 25
_PARAMETERS_READ = 8_192  # of a Content-Type or Content-Disposition value

_BLANK_LINE = re.compile(r"(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r|\n)")  # a line end, then an empty line
_LONE_CR = re.compile(r"\r(?!\n)")
_EOL_AT_START = re.compile(r"\r\n|\r|\n")
_PARAMETER_MARK = re.compile(r'\\"|[";]')


class MimePart(Message):
    """A compat32 Message that reads its MIME parameters once, in linear time."""

    unread: str | None = None  # why the part's body was not read (it was nested too deep)
    head_cut = False  # its header block was longer than the limits: the rest of it was skipped
    repaired: str | None = None  # what a lenient reading did that the stdlib does not
    # Of a message/rfc822 or message/global part: (string, start, end) of the mail it holds.
    source_span: tuple[str, int, int] | None = None

    @property
    def source(self) -> bytes | None:
        """The mail a message/rfc822 or message/global part holds, as it came (decoded, if it
        was sent in base64 or quoted-printable)."""
        if self.source_span is None:
            return None
        text, start, end = self.source_span
        return text[start:end].encode("ascii", "surrogateescape")

    def parameters(self, header: str) -> list[tuple[str, Any]]:
        """compat32's _get_params_preserve, without its quadratic split; cached."""
        cache: dict[str, list[tuple[str, Any]]] = self.__dict__.setdefault("_parameters_read", {})
        if header not in cache:
            value = next((v for k, v in self.raw_items() if k.lower() == header), None)
            cache[header] = [] if value is None else _parameters(str(value)[:_PARAMETERS_READ])
        return cache[header]


def _split_parameters(value: str) -> list[str]:
    """email.message._parseparam in one pass: a ";" inside double quotes does not split
    (quotes counted as it counts them, \\" not at all)."""
    found, start, quoted = [], 0, False
    for mark in _PARAMETER_MARK.finditer(value):
        if mark.group() == '"':
            quoted = not quoted
        elif mark.group() == ";" and not quoted:
            found.append(value[start:mark.start()])
            start, quoted = mark.end(), False
    found.append(value[start:])
    return [_normal_parameter(piece) for piece in found]


def _normal_parameter(piece: str) -> str:
    if "=" in piece:
        name, _, value = piece.partition("=")
        piece = name.strip().lower() + "=" + value.strip()
    return piece.strip()


def _parameters(value: str) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for piece in _split_parameters(value):
        name, equals, found = piece.partition("=")
        pairs.append((name.strip(), found.strip()) if equals else (piece.strip(), ""))
    try:
        return cast(list[tuple[str, Any]], decode_params(pairs))
    except Exception:  # RFC 2231 continuations numbered beyond reason, or mixed with unnumbered
        return pairs[:1]


def param(part: MimePart, name: str, header: str = "content-type") -> Any:
    """compat32's get_param (unquoted): a str, an RFC 2231 (charset, language, value) tuple,
    or None."""
    for key, value in part.parameters(header)[1:]:
        if key.lower() == name:
            return (value[0], value[1], unquote(value[2])) if isinstance(value, tuple) else unquote(value)
    return None


def boundary(part: MimePart) -> str | None:
    """compat32's get_boundary."""
    value = param(part, "boundary")
    return None if value is None else collapse_rfc2231_value(value).rstrip()


def filename(part: MimePart) -> str | None:
    """compat32's get_filename."""
    value = param(part, "filename", "content-disposition")
    if value is None:
        value = param(part, "name")
    return None if value is None else collapse_rfc2231_value(value).strip()


def charset(part: MimePart) -> str | None:
    """compat32's get_content_charset."""
    value = param(part, "charset")
    if value is None:
        return None
    if isinstance(value, tuple):  # RFC 2231: decode it, and it had better be ASCII
        try:
            value = str(value[2].encode("raw-unicode-escape"), value[0] or "us-ascii")
        except (LookupError, UnicodeError):
            value = value[2]
    return value.lower() if value.isascii() else None


# -- Header blocks ------------------------------------------------------------------------

@dataclass(frozen=True)
class Head:
    """One header block read, and where the body after it is."""

    part: MimePart
    text: str  # the string the body is in: the mail's, or a new one (see read_head)
    body_start: int
    body_end: int


def read_head(text: str, start: int, end: int) -> Head:
    """Parse the header block of the entity text[start:end] as the stdlib's parser does: it
    ends at the first empty line or at the first line that is no header (which then begins
    the body). Only HEADER_BLOCK_LIMIT characters and HEADER_LINES lines of it are read: past
    those, up to the next empty line, the header block is skipped (``part.head_cut``)."""
    prefix_end, at_empty_line = _prefix_end(text, start, end)
    prefix = text[start:prefix_end]
    part = cast(MimePart, Parser(MimePart, policy=compat32).parsestr(prefix, headersonly=True))
    # The part of the prefix after the header block (a line that is no header and those after
    # it). get_payload() would decode 8-bit text; the raw string is what is wanted here.
    rest: str = getattr(part, "_payload", None) or ""
    part.set_payload([])  # parts are attached to it, or a body is set
    if not rest:
        if prefix_end < end and not at_empty_line:
            part.head_cut = True
            prefix_end = _past_skipped_head(text, start, prefix_end, end)
        return Head(part, text, prefix_end, end)
    if prefix.endswith(rest):
        return Head(part, text, prefix_end - len(rest), end)
    # The stdlib put a "From " line from the end of the header block back in front of the
    # body, after the empty line it had already passed: the body is then a new string.
    body = rest + text[prefix_end:end]
    return Head(part, body, 0, len(body))


def _prefix_end(text: str, start: int, end: int) -> tuple[int, bool]:
    """Where the text handed to the stdlib's parser for a header block ends, and whether it
    ends after an empty line (rather than at the end of the entity or at the limits)."""
    if (first_line_empty := _EOL_AT_START.match(text, start, end)) is not None:
        return first_line_empty.end(), True
    window = min(end, start + HEADER_BLOCK_LIMIT)
    blank = _BLANK_LINE.search(text, start, window)
    # Lines are what the stdlib's parser pays for, one by one in Python.
    window = _line_limit(text, start, blank.start() if blank else window) or window
    if blank is not None and blank.start() < window:
        return blank.end(), True
    if window == end:
        return end, False
    return _last_line_end(text, start, window), False


def _last_line_end(text: str, start: int, window: int) -> int:
    """No empty line within the limits: cut at the last line end before them."""
    cut = max(text.rfind("\n", start, window), text.rfind("\r", start, window)) + 1
    if cut <= start:  # a single line longer than the limit
        return window
    if text.startswith("\r\n", cut - 1):  # not between the two halves of a line end
        return cut + 1
    return cut


def _past_skipped_head(text: str, start: int, prefix_end: int, end: int) -> int:
    """Where the body begins after a header block cut at `prefix_end`: after the next empty
    line, or at the end of the entity."""
    after = _BLANK_LINE.search(text, prefix_end - 1, end) if prefix_end > start else None
    return after.end() if after else end


def _line_limit(text: str, start: int, end: int) -> int | None:
    """Where HEADER_LINES lines of text[start:end] end, if it has more."""
    # "\r\n" counts twice here, so fewer marks than the limit are fewer lines.
    if text.count("\n", start, end) + text.count("\r", start, end) <= HEADER_LINES:
        return None
    for number, line_end in enumerate(_EOL_AT_START.finditer(text, start, end), 1):
        if number == HEADER_LINES:
            return line_end.end()
    return None


# -- The tree -----------------------------------------------------------------------------

@dataclass
class Reading:
    """The tree of one mail, and how much of it was read."""

    root: MimePart
    parts: int  # how many parts were read
    complete: bool  # false: reading stopped after max_parts parts


class _Stop(Exception):
    """The part budget is spent."""


@dataclass(frozen=True)
class _Delimiter:
    start: int  # where its line starts
    end: int  # after its line end
    close: bool


@dataclass
class _Reader:
    max_parts: int
    lone_cr: bool  # some line ends in a lone CR: delimiters are looked for after those too
    lenient: bool = False  # read what the stdlib gives up on (see the module docstring)
    root: MimePart | None = None
    parts: int = 0

    def entity(self, text: str, start: int, end: int, depth: int, *,
               parent: MimePart | None, digest: bool = False) -> MimePart:
        """Read the part in text[start:end] into `parent` (attached before its own parts are
        read, so that a stop leaves every part read so far in the tree). Returns the part
        whose body ends last in it: the stdlib takes the line end before a delimiter off that
        one."""
        if self.parts >= self.max_parts:
            raise _Stop
        self.parts += 1
        if depth > MAX_DEPTH:
            part = MimePart(compat32)
            part.unread = f"nested deeper than {MAX_DEPTH} levels"
            part.set_payload(text[start:end])
        else:
            head = read_head(text, start, end)
            part, text, start, end = head.part, head.text, head.body_start, head.body_end
        if parent is None:
            self.root = part
        else:
            parent.attach(part)
        if part.unread:
            return part
        if digest:
            part.set_default_type("message/rfc822")
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global"):
            part.source_span = (text, start, end)
            if self.lenient and (decoded := _transfer_decoded(part, text[start:end])) is not None:
                part.source_span, part.repaired = (decoded, 0, len(decoded)), "mail transfer-decoded"
                return self.entity(decoded, 0, len(decoded), depth + 1, parent=part)
            return self.entity(text, start, end, depth + 1, parent=part)
        separator = boundary(part) if part.get_content_maintype() == "multipart" else None
        if separator is None and self.lenient and part.get_content_maintype() == "multipart":
            separator = self.used_boundary(part, text, start, end)
        if separator is None:
            part.set_payload(text[start:end])
        else:
            self.multipart(part, separator, text, start, end, depth, ctype == "multipart/digest")
        return part

    def used_boundary(self, part: MimePart, text: str, start: int, end: int) -> str | None:
        """The boundary the body of a multipart uses, when it is not the one declared."""
        found = _used_boundary(text, start, end, self.lone_cr)
        if found is not None:
            part.repaired = f"boundary {found!r} found in the body"
        return found

    def multipart(self, part: MimePart, separator: str, text: str, start: int, end: int,
                  depth: int, digest: bool) -> None:
        delimiters = _Delimiters(separator, text, end, self.lone_cr)
        first = delimiters.next(start)
        if first is None and self.lenient and not part.repaired:
            if (used := self.used_boundary(part, text, start, end)) is not None:
                self.multipart(part, used, text, start, end, depth, digest)
                return
        if first is None or first.close:
            # No part at all: the stdlib keeps the lines before the first delimiter as the
            # payload and drops those after a closing one; here both are kept.
            after = first.end if first else end
            part.set_payload(text[start:first.start if first else end] + text[after:end])
            part.epilogue = ""
            return
        if first.start > start:  # RFC 2046: the line end before a delimiter belongs to it
            part.preamble = _without_final_eol(text[start:first.start])
        delimiter = first
        while not delimiter.close:
            body_start = delimiters.after_run(delimiter)  # delimiters in a row make no parts
            following = delimiters.next(body_start)
            body_end = following.start if following else end
            last = self.entity(text, body_start, body_end, depth + 1, parent=part, digest=digest)
            _drop_final_eol(last)
            _drop_final_eol_of_sources(part, text, body_end)
            if following is None:  # no closing delimiter: the stdlib notes a defect, no epilogue
                return
            delimiter = following
        part.epilogue = text[delimiter.end:end]


class _Delimiters:
    """The delimiter lines of one multipart, found by regular expressions that start with a
    literal line end (so the engine skips ahead at C speed) and check the rest of the line
    too: a line that only begins like a delimiter costs no Python at all."""

    def __init__(self, separator: str, text: str, end: int, lone_cr: bool) -> None:
        self.text, self.end = text, end
        self.line, after_lf, after_cr, self.run = _delimiter_patterns(separator, lone_cr)
        self.after_lf = _Search(after_lf, text, end)
        self.after_cr = _Search(after_cr, text, end) if after_cr else None
        # The stdlib matches one line at a time: a boundary with a line end in it never matches.
        self.none = "\r" in separator or "\n" in separator

    def next(self, position: int) -> _Delimiter | None:
        """The first delimiter line starting at `position` (a line start) or after it."""
        if self.none:
            return None
        if (here := self.line.match(self.text, position, self.end)) is not None:
            return _Delimiter(position, here.end(), bool(here.group("close")))
        found = [m for m in (self.after_lf.search(position), self.after_cr.search(position) if self.after_cr else None)
                 if m is not None]
        if not found:
            return None
        first = min(found, key=lambda m: m.start())
        return _Delimiter(first.start() + 1, first.end(), bool(first.group("close")))

    def after_run(self, delimiter: _Delimiter) -> int:
        run = self.run.match(self.text, delimiter.end, self.end)
        return run.end() if run else delimiter.end


class _Search:
    """Searches for one pattern from positions that only grow, each stretch of the text
    searched once: a match found (or that there is none) answers every later search from
    before it. Without this, a mail with lone CRs searched the rest of the mail for a LF
    delimiter once per part."""

    def __init__(self, pattern: re.Pattern[str], text: str, end: int) -> None:
        self.pattern, self.text, self.end = pattern, text, end
        self.since: int | None = None  # where the last search started
        self.found: re.Match[str] | None = None

    def search(self, position: int) -> re.Match[str] | None:
        if not (self.since is not None and self.since <= position
                and (self.found is None or self.found.start() >= position)):
            self.since, self.found = position, self.pattern.search(self.text, position, self.end)
        return self.found


@lru_cache(maxsize=64)
def _delimiter_patterns(separator: str, lone_cr: bool) -> tuple[re.Pattern[str], re.Pattern[str],
                                                                 re.Pattern[str] | None, re.Pattern[str]]:
    line = "--" + re.escape(separator) + r"(?P<close>--)?[ \t]*(?:\r\n|\r|\n|\Z)"
    return (re.compile(line), re.compile("\n" + line), re.compile("\r" + line) if lone_cr else None,
            # Possessive: a run of a million delimiters is matched five times faster.
            re.compile("(?:" + line.replace("(?P<close>--)", "(?:--)") + ")++"))


def _without_final_eol(value: str) -> str:
    # endswith, not a regular expression: searching for "(\r\n|\r|\n)\Z" tries every position.
    return value[:-2] if value.endswith("\r\n") else value[:-1] if value.endswith(("\r", "\n")) else value


def _drop_final_eol(last: MimePart) -> None:
    """What the stdlib does to the part that ends before a delimiter."""
    if last.get_content_maintype() == "multipart" and not last.unread:
        if last.epilogue == "":
            last.epilogue = None
        elif last.epilogue is not None:
            last.epilogue = _without_final_eol(last.epilogue)
    elif isinstance(payload := getattr(last, "_payload", None), str):
        last.set_payload(_without_final_eol(payload))


def _drop_final_eol_of_sources(parent: MimePart, text: str, end: int) -> None:
    """The line end before a delimiter is no part of the mails that end there (the last part
    of `parent`, if it is an attached mail, and an attached mail it is made of, ...)."""
    children = parent.get_payload()
    child = children[-1] if isinstance(children, list) and children else None
    while (isinstance(child, MimePart) and child.source_span is not None and child.source_span[0] is text
           and child.source_span[2] == end):
        start = child.source_span[1]
        if end - start >= 2 and text.startswith("\r\n", end - 2):
            child.source_span = (text, start, end - 2)
        elif end > start and text[end - 1] in "\r\n":
            child.source_span = (text, start, end - 1)
        inner = child.get_payload()
        child = inner[0] if isinstance(inner, list) and inner else None


# -- Lenient reading ----------------------------------------------------------------------

# RFC 2046's bchars, and what real boundaries hold besides; no space at either end.
_BCHARS = r"[!-~](?:[ -~]{0,68}[!-~])?"
_EOL = r"(?:\r\n|\r|\n)"
# A delimiter-like line, and the header line that follows it: after a LF, after a lone CR
# (looked for only in mails that have any: "[\r\n]" first is ten times slower to search),
# at the start.
_CANDIDATE_LINE = r"--(?P<boundary>" + _BCHARS + r")[ \t]*" + _EOL + r"[!-9;-~]+[ \t]*:"
_CANDIDATE_AFTER_LF = re.compile("\n" + _CANDIDATE_LINE)
_CANDIDATE_AFTER_CR = re.compile("\r" + _CANDIDATE_LINE)
_CANDIDATE_AT_START = re.compile(_CANDIDATE_LINE)
_CONTENT_HEADER = re.compile(r"(?:^|(?<=[\r\n]))content-[a-z-]+[ \t]*:", re.IGNORECASE)
_CANDIDATES_LOOKED_AT = 16  # each distinct one costs a search through the body
_HEAD_LOOKED_AT = 4_096  # characters after a candidate in which a Content- header must be


def _used_boundary(text: str, start: int, end: int, lone_cr: bool) -> str | None:
    """The boundary of the first delimiter-like line followed by a header block with a
    Content- header in it, if the body has another delimiter line of it after that."""
    tried: set[str] = set()
    at_start = _CANDIDATE_AT_START.match(text, start, end)
    after_eol = _CANDIDATE_AFTER_LF.finditer(text, start, end)
    if lone_cr:
        after_eol = heapq.merge(after_eol, _CANDIDATE_AFTER_CR.finditer(text, start, end), key=lambda m: m.start())
    candidates = itertools.chain([at_start] if at_start else [], after_eol)
    for looked_at, candidate in enumerate(candidates):
        if looked_at >= _CANDIDATES_LOOKED_AT:
            return None
        separator = candidate.group("boundary")
        if separator in tried or separator.endswith("--"):  # "--X--" closes X: not a boundary itself
            continue
        tried.add(separator)
        head_start = candidate.end("boundary")
        head_end = min(end, head_start + _HEAD_LOOKED_AT)
        blank = _BLANK_LINE.search(text, head_start, head_end)
        if not _CONTENT_HEADER.search(text, head_start, blank.start() + 1 if blank else head_end):
            continue
        delimiters = _Delimiters(separator, text, end, lone_cr)
        line_end = _EOL_AT_START.search(text, head_start, end)
        if line_end is not None and delimiters.next(line_end.end()) is not None:
            return separator
    return None


_HEADER_LINE_FIRST = re.compile(r"\s*[!-9;-~]+[ \t]*:")


def _transfer_decoded(part: MimePart, body: str) -> str | None:
    """The body of a message/* part decoded from base64 or quoted-printable, if it was sent so
    (a body that begins with a header line is a mail as it stands, whatever it says: base64
    has no colons)."""
    cte = str(part.get("content-transfer-encoding", "")).strip().lower()
    if cte not in ("base64", "quoted-printable") or (cte == "base64" and _HEADER_LINE_FIRST.match(body)):
        return None
    encoded = Message()
    encoded["Content-Transfer-Encoding"] = cte
    encoded.set_payload(body)
    data = encoded.get_payload(decode=True)
    return data.decode("ascii", "surrogateescape") if isinstance(data, bytes) else None


def read_mail(raw: bytes, max_parts: int, *, lenient: bool = False) -> Reading:
    """The MIME tree of a raw mail, at most `max_parts` parts of it; `lenient`: also what the
    stdlib gives up on (see the module docstring)."""
    text = raw.decode("ascii", "surrogateescape")  # as the stdlib's BytesParser reads bytes
    reader = _Reader(max(max_parts, 1), _LONE_CR.search(text) is not None, lenient)
    complete = True
    try:
        reader.entity(text, 0, len(text), 0, parent=None)
    except _Stop:
        complete = False
    assert reader.root is not None  # the budget is at least one part
    return Reading(reader.root, reader.parts, complete)
