"""One raw e-mail (MIME bytes, as SES stores them) read into a ParsedMail, in four steps:

1. decode (``supportdesk.mail.decode``): the MIME tree and the header fields, the same
   fields ``parse_headers`` reads from the header block alone;
2. select the body (``supportdesk.mail.body``): the text the customer wrote, from text/plain
   or HTML, as Markdown (``full_text``);
3. strip history (``supportdesk.mail.history``): ``text`` is ``full_text`` without quoted
   replies and signature, which are ``trimmed`` (together they hold every word of it);
4. attachments (``supportdesk.mail.attachments``): the file parts, with safe names.

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

X-Auto-Response-Suppress alone does not make a mail automatic: Exchange and Outlook set it on
ordinary mail written by people.
"""

from __future__ import annotations

from dataclasses import dataclass

from supportdesk.mail.attachments import ORIGINAL_NAME, MailPart, collect_attachments, original
from supportdesk.mail.body import select_body
from supportdesk.mail.decode import decode
from supportdesk.mail.headers import MailHeaders, parse_headers
from supportdesk.mail.history import split_history
from supportdesk.mail.safe import attempt
from supportdesk.mail.text import MAX_HTML, MAX_HTML_TAGS

__all__ = ["ORIGINAL_NAME", "MAX_HTML", "MAX_HTML_TAGS", "MailHeaders", "MailPart", "ParsedMail", "parse_headers",
           "parse_mail"]


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
    # What the history step cut from `full_text` (quoted history, signature): `text` and
    # `trimmed` together hold every line of it.
    trimmed: str = ""


def parse_mail(raw: bytes, *, max_parts: int = 100, max_text_bytes: int = 1_000_000) -> ParsedMail:
    """Read one raw mail; never raises (see the module docstring for what is guaranteed)."""
    try:
        return _parse(bytes(raw), max(max_parts, 1), max(max_text_bytes, 0))
    except Exception:  # the promise: a mail that cannot be read is kept, not lost
        data = attempt(lambda: bytes(raw), b"")
        # The header fields are still the ones parse_headers gives (it never raises).
        return _parsed(parse_headers(data), text="", full_text="", attachments=(original(data),))


def _parse(raw: bytes, max_parts: int, max_text_bytes: int) -> ParsedMail:
    mail = decode(raw, max_parts)
    body = select_body(mail.root, max_parts=max_parts, max_text_bytes=max_text_bytes)
    # History is the mail's own: an attached mail's text is shown whole, under its line.
    own, trimmed = split_history(body.own_text, subject=mail.headers.subject, part_starts=body.own_starts)
    blocks = [f"{line}\n\n{attached}" if attached.strip() else line for line, attached in body.attached]
    text = "\n\n".join(filter(None, [own, *blocks]))
    files = collect_attachments(body.files)
    # What was not imported in full is in the raw mail, kept whole.
    whole = mail.complete and body.complete and files.complete
    attachments = files.parts if whole else (*files.parts, original(raw))
    return _parsed(mail.headers, text=text, full_text=body.text, attachments=attachments, trimmed=trimmed)


def _parsed(headers: MailHeaders, *, text: str, full_text: str, attachments: tuple[MailPart, ...],
            trimmed: str = "") -> ParsedMail:
    return ParsedMail(
        message_id=headers.message_id,
        in_reply_to=headers.in_reply_to,
        references=headers.references,
        from_address=headers.from_address,
        from_name=headers.from_name,
        subject=headers.subject,
        text=text,
        full_text=full_text,
        attachments=attachments,
        is_automatic=headers.is_automatic,
        automatic_reason=headers.automatic_reason,
        language_hint=headers.language_hint,
        sender_problem=headers.sender_problem,
        trimmed=trimmed,
    )
