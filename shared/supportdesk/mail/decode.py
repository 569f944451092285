"""Decode: the raw bytes of a mail read into its MIME tree and its header fields."""

from __future__ import annotations

from dataclasses import dataclass

from supportdesk.mail.headers import HeaderIndex, MailHeaders, read_fields
from supportdesk.mail.mime import MimePart, read_mail


@dataclass(frozen=True)
class Decoded:
    root: MimePart
    headers: MailHeaders  # those parse_headers gives for the same mail
    complete: bool  # false: the mail has more parts than were read


def decode(raw: bytes, max_parts: int) -> Decoded:
    """The tree of a mail of which `max_parts` parts will be used, and its header fields."""
    # Parts past max_parts are read too (their headers only), up to a bound: the choice among
    # alternatives that straddle the limit sees them; 100,000 tiny parts must not cost 100,000
    # header blocks.
    reading = read_mail(raw, 10 * max_parts + 100, lenient=True)
    return Decoded(reading.root, read_fields(HeaderIndex(reading.root)), reading.complete)
