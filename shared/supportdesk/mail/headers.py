"""The header fields of a mail: read from its header block alone, before the body is parsed.

``parse_headers`` reads only the header block (at most ``HEADER_BLOCK_LIMIT`` characters), so
the intake can refuse a mail by its sender or by SES's verdicts before a hostile body costs
anything; ``parse_mail`` fills the same fields with the same code, from the same block.

Header text is decoded here from the raw value (by ``charsets``, which reads each label as its
WHATWG superset): RFC 2047 words in any charset, adjacent words of a multi-byte charset joined
first (a UTF-8 character may be split over two), each word on its own otherwise, so that one
word that does not fit its label changes no other; raw 8-bit bytes as UTF-8 where they are
valid UTF-8 and, run by run where they are not, as the charset the body declares (as mail
clients read them) or windows-1252. Each value is read up to ``MAX_HEADER_READ`` characters:
more is no name, subject or address.

The sender must be one mailbox: one From header holding one address outside any group.
Anything else is reported in ``sender_problem`` and leaves ``from_address`` empty, rather than
being resolved to the first address found (two From headers, or "boss@x, me@y", would let a
mail pass as someone it may not be from). The address must also read the same to two
parsers, the stdlib's getaddresses (which gives ``from_address``, as before) and its RFC 5322
parser (which sees groups): where they disagree ("a@x.com b@y.com" is b's to one, a's to the
other) nobody can say who sent it, and the verdict is "unreadable".
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from email.message import Message
from email.policy import default
from email.utils import collapse_rfc2231_value, getaddresses
from functools import partial
from typing import Any

from supportdesk.mail.charsets import decode_raw_header, decode_word, joins_words
from supportdesk.mail.mime import HEADER_BLOCK_LIMIT, MimePart, charset, param, read_head
from supportdesk.mail.safe import attempt

MAX_HEADER_READ = 65_536  # characters of one raw header value
MAX_SUBJECT = 1_000
# Characters of a From value given to the RFC 5322 parser, which takes quadratic time (0.4 s
# for 8 KB of quotes); a real From, even with an encoded display name, is far shorter.
_MAX_FROM = 2_000
_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_ROBOTS = frozenset({
    "mailer-daemon", "postmaster", "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply",
})

_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_SURROGATE = re.compile("[\udc80-\udcff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff]")  # not wanted in header text
_NOT_IN_TYPE = re.compile(r"[^a-z0-9!#$&^_.+/-]")


@dataclass(frozen=True)
class MailHeaders:
    """What the intake needs of a mail's header block; ids without angle brackets, addresses
    lower-case."""

    from_address: str  # "" unless the sender is exactly one mailbox (sender_problem is None)
    from_name: str
    # None: one From header, one mailbox, no group. Otherwise one of "no-from",
    # "several-from-headers", "several-addresses", "group", "unreadable".
    sender_problem: str | None
    reply_to: str | None
    subject: str
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    is_automatic: bool
    automatic_reason: str | None
    language_hint: str | None


def parse_headers(raw: bytes) -> MailHeaders:
    """Read the header fields of a raw mail from its header block alone; never raises."""
    try:
        # As many characters as read_head could look at for the first block, plus one: it
        # then takes the same decisions as when it is given the whole mail.
        text = bytes(raw[:HEADER_BLOCK_LIMIT + 1]).decode("ascii", "surrogateescape")
        return read_fields(HeaderIndex(read_head(text, 0, len(text)).part))
    except Exception:  # the promise: an unreadable mail is refused with a reason, not raised
        return MailHeaders("", "", "unreadable", None, "", None, (), (), False, None, None)


class HeaderIndex:
    """The raw values of a header block by lower-case name, each cut to MAX_HEADER_READ:
    read once, so that no field looks through every header (100,000 of them fit in the
    block)."""

    def __init__(self, msg: MimePart) -> None:
        self.msg = msg
        self.values: dict[str, list[str]] = {}
        no_items: list[tuple[str, Any]] = []
        for name, value in attempt(lambda: list(msg.raw_items()), no_items):
            self.values.setdefault(name.lower(), []).append(str(value)[:MAX_HEADER_READ])

    def all(self, name: str) -> list[str]:
        return self.values.get(name.lower(), [])

    def first(self, name: str) -> str:
        return (self.all(name) or [""])[0]


def read_fields(index: HeaderIndex) -> MailHeaders:
    """The fields of a header block."""
    # Raw 8-bit text that is no UTF-8 is in the charset the body declares, if any.
    body_charset = attempt(lambda: charset(index.msg), None)
    subject = " ".join(decode_header(index.first("Subject"), body_charset).split())
    # Past a cut there may be another From: who sent it cannot be told.
    from_name, from_address, problem = (("", "", "unreadable") if index.msg.head_cut
                                        else _sender(index.all("From"), body_charset))
    # RFC 5322 allows one Reply-To: only the first is read (10,000 of them took 2 s).
    reply_to = _read_addresses(index.first("Reply-To"))
    message_ids = ids(index, "Message-ID") or [unsurrogate(index.first("Message-ID")).strip(" \t<>")]
    language = re.match(r"\s*([A-Za-z]{1,8})", index.first("Content-Language"))
    reason = _automatic_reason(index, from_address)
    return MailHeaders(
        from_address=from_address,
        from_name=from_name,
        sender_problem=problem,
        reply_to=reply_to[0][1] if reply_to else None,
        subject=subject[:MAX_SUBJECT],
        message_id=message_ids[0] or None,
        in_reply_to=tuple(ids(index, "In-Reply-To")),
        references=tuple(ids(index, "References")),
        is_automatic=reason is not None,
        automatic_reason=reason,
        language_hint=language.group(1).lower() if language else None,
    )


# -- Reading values ---------------------------------------------------------------------------

def header(msg: Message, name: str) -> str:
    """The first raw value of `name` in a (small) header block, cut to MAX_HEADER_READ."""
    name = name.lower()
    return attempt(lambda: next((str(v)[:MAX_HEADER_READ] for k, v in msg.raw_items() if k.lower() == name), ""), "")


def unsurrogate(value: str, body_charset: str | None = None) -> str:
    """Raw header text unfolded, its 8-bit bytes (surrogate escapes) read as UTF-8 where they
    are valid UTF-8, else as the body's charset or windows-1252 (see the module docstring)."""
    value = _FOLD.sub("", value)
    if _SURROGATE.search(value):
        value = decode_raw_header(value.encode("utf-8", "surrogateescape"), body_charset)
    return _CONTROL.sub("", value)


def decode_header(value: str, body_charset: str | None = None) -> str:
    """RFC 2047 words decoded, in one pass: adjacent words of one multi-byte charset are
    joined as bytes first (a character may be split over two), collected in lists rather than
    by growing one bytes object per word."""
    value = unsurrogate(value, body_charset)
    pieces: list[tuple[str | None, list[Any]]] = []  # (charset, [bytes...]) or (None, [str])
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        gap, position = value[position:match.start()], match.end()
        if gap and not (gap.isspace() and pieces and pieces[-1][0]):  # RFC 2047 6.2
            pieces.append((None, [gap]))
        word = _encoded_word(match)
        if word is None:  # not decodable: taken as it stands
            pieces.append((None, [match.group(0)]))
        elif pieces and pieces[-1][0] == word[0] and joins_words(word[0]):  # a character split over two
            pieces[-1][1].append(word[1])
        else:
            pieces.append((word[0], [word[1]]))
    pieces.append((None, [value[position:]]))
    return _CONTROL.sub("", "".join(_piece_text(charset, parts) for charset, parts in pieces))


def _encoded_word(match: re.Match[str]) -> tuple[str, bytes] | None:
    """The charset and the bytes of an encoded word; None if they cannot be decoded."""
    charset, kind, payload = match.group(1).lower(), match.group(2).lower(), match.group(3)
    try:
        return charset, (binascii.a2b_qp(payload.encode(), header=True) if kind == "q"
                         else base64.b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None


def _piece_text(charset: str | None, parts: list[Any]) -> str:
    return "".join(parts) if charset is None else decode_word(b"".join(parts), charset)


def _read_addresses(raw: str, body_charset: str | None = None) -> list[tuple[str, str]]:
    """(name, lower-cased address) pairs of one raw value. Names are decoded after parsing: a
    decoded name may hold the commas and brackets that separate addresses."""
    if len(raw) == MAX_HEADER_READ:  # cut short: drop the address the cut went through
        raw = raw.rpartition(",")[0]
    no_pairs: list[tuple[str, str]] = []
    pairs = attempt(partial(getaddresses, [unsurrogate(raw, body_charset)]), no_pairs)
    return [(" ".join(decode_header(n).split()), a.strip().lower()) for n, a in pairs if a.strip()]


def ids(index: HeaderIndex, name: str) -> list[str]:
    found: list[str] = []
    for value in map(unsurrogate, index.all(name)):
        found += _MESSAGE_ID.findall(value) or [t.strip("<>") for t in value.split() if "@" in t]
    return list(dict.fromkeys(found))


def _sender(values: list[str], body_charset: str | None) -> tuple[str, str, str | None]:
    """(name, address, problem) of the From headers; name and address empty on a problem."""
    found = _one_mailbox(values, body_charset)
    return ("", "", found) if isinstance(found, str) else (*found, None)


def _one_mailbox(values: list[str], body_charset: str | None) -> tuple[str, str] | str:
    """(name, address) of the one mailbox the From headers name, or what is wrong with them."""
    if len(values) > 1:
        return "several-from-headers"
    value = unsurrogate(values[0], body_charset) if values else ""
    if not value.strip():
        return "no-from"
    if len(value) > _MAX_FROM:
        return "unreadable"
    mailboxes = attempt(lambda: _rfc5322_mailboxes(value), None)
    if mailboxes is None:
        return "unreadable"
    if isinstance(mailboxes, str):  # "group"
        return mailboxes
    if len(mailboxes) > 1:
        return "several-addresses"
    return _same_to_both_parsers(values[0], mailboxes, body_charset)


def _same_to_both_parsers(raw: str, mailboxes: list[str], body_charset: str | None) -> tuple[str, str] | str:
    """(name, address) as getaddresses reads `raw`, if that is the mailbox the RFC 5322 parser
    found; "unreadable" if not."""
    # getaddresses reads some malformed values as two addresses where the RFC 5322 parser
    # reads one (and, since the fix for CVE-2023-27043, as none): that is no sender either.
    pairs = _read_addresses(raw, body_charset)
    if len(pairs) != 1 or mailboxes != [pairs[0][1]]:
        return "unreadable"
    name, address = pairs[0]
    local, _, domain = address.rpartition("@")
    return (name, address) if local and domain else "unreadable"


def _rfc5322_mailboxes(value: str) -> list[str] | str:
    """The lower-cased addresses the RFC 5322 parser finds, or "group" if it finds a group."""
    parsed = default.header_factory("From", value)
    if any(group.display_name is not None for group in parsed.groups):
        return "group"
    return [address.addr_spec.lower() for address in parsed.addresses]


def _automatic_reason(index: HeaderIndex, sender: str) -> str | None:
    """Why the mail is automatic, by the first sign of it found; None for a person's mail."""
    signs = (_auto_submitted, _precedence, _auto_reply, _mailing_list, _report,
             partial(_robot_sender, sender=sender), _null_return_path)
    return next((reason for sign in signs if (reason := sign(index)) is not None), None)


def _value(index: HeaderIndex, name: str) -> str:
    return " ".join(unsurrogate(index.first(name)).split()).lower()


def _auto_submitted(index: HeaderIndex) -> str | None:
    value = _value(index, "Auto-Submitted").split(";")[0].strip()
    return None if value in ("", "no") else f"auto-submitted: {value}"


def _precedence(index: HeaderIndex) -> str | None:
    value = _value(index, "Precedence")
    return f"precedence: {value}" if value in _PRECEDENCE else None


def _auto_reply(index: HeaderIndex) -> str | None:
    return next((name.lower() for name in ("X-Autoreply", "X-Autorespond")
                 if index.all(name) and _value(index, name) not in ("no", "false", "0")), None)


def _mailing_list(index: HeaderIndex) -> str | None:
    return next((name.lower() for name in ("List-Id", "List-Unsubscribe") if index.all(name)), None)


def _report(index: HeaderIndex) -> str | None:
    if content_type(index.msg) != "multipart/report":
        return None
    kind = param_text(index.msg, "report-type").lower()
    names = {"delivery-status": "delivery status notification",
             "disposition-notification": "disposition notification"}
    return names.get(kind, f"report: {kind or 'unknown'}")


def _robot_sender(index: HeaderIndex, sender: str) -> str | None:
    local = sender.rpartition("@")[0] or sender
    return f"{local} sender" if local in _ROBOTS else None


def _null_return_path(index: HeaderIndex) -> str | None:
    return "null return-path" if any(raw.strip() == "<>" for raw in index.all("Return-Path")) else None


def param_text(part: MimePart, name: str) -> str:
    """A Content-Type parameter as text ("" when absent or unreadable)."""
    return attempt(lambda: unsurrogate(collapse_rfc2231_value(param(part, name) or "")), "")


def content_type(part: Message) -> str:
    # Controls and 8-bit bytes in it would reach the notes and the attachment's metadata.
    ctype = _NOT_IN_TYPE.sub("", attempt(part.get_content_type, ""))
    main, _, sub = ctype.partition("/")
    return ctype if main and sub and "/" not in sub else "application/octet-stream"
