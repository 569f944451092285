"""One MIME part read without raising, and without decoding more of it than is wanted."""

from __future__ import annotations

import copy
from email.message import Message
from email.policy import compat32
from functools import partial
from typing import Any

from supportdesk.mail import mime
from supportdesk.mail.headers import header, param_text, unsurrogate
from supportdesk.mail.mime import MimePart
from supportdesk.mail.safe import attempt

_ENCODED_BY_LINES = ("base64", "x-uuencode", "uuencode", "uue", "x-uue")


def disposition(part: Message) -> str | None:
    return attempt(part.get_content_disposition, None)


def param(part: Message, name: str) -> str:
    """A Content-Type parameter as text ("" when absent or unreadable)."""
    return param_text(part, name) if isinstance(part, MimePart) else ""


def filename(part: Message) -> str | None:
    return attempt(lambda: mime.filename(part), None) if isinstance(part, MimePart) else None


def charset(part: Message) -> str | None:
    return attempt(lambda: mime.charset(part), None) if isinstance(part, MimePart) else None


def content_id(part: Message) -> str:
    return unsurrogate(header(part, "Content-ID")).strip().strip("<>").strip()


def payload(part: Message) -> bytes:
    """The decoded payload; of a container, its parts as they came."""
    data = attempt(lambda: part.get_payload(decode=True), None)
    if isinstance(data, bytes):
        return data
    nothing: Any = ""
    found: Any = attempt(lambda: part.get_payload(), nothing)
    if isinstance(found, str):
        return found.encode("utf-8", "surrogateescape")
    # compat32 writes the headers back as they came, without refolding.
    return b"\n".join(attempt(partial(child.as_bytes, policy=compat32), b"")
                      for child in (found if isinstance(found, list) else []))


def payload_prefix(part: Message, limit: int) -> tuple[bytes, bool]:
    """About the first `limit` bytes of the decoded payload (never fewer when there are
    more), and whether that is not all of it; only the encoded text needed is decoded."""
    encoded = getattr(part, "_payload", None)  # get_payload() would decode 8-bit text
    if not isinstance(encoded, str):
        return payload(part), False
    cte = str(attempt(lambda: part.get("content-transfer-encoding", ""), "")).strip().lower()
    # Encoded characters per decoded byte at most: "=XX" in quoted-printable, 4/3 and the
    # line ends in base64 and uuencode.
    per_byte = 3 if cte == "quoted-printable" else 2 if cte in _ENCODED_BY_LINES else 1
    if len(encoded) <= per_byte * limit:
        return payload(part), False
    end = per_byte * limit
    if per_byte > 1:  # whole lines, each of which decodes on its own
        end = max(encoded.rfind("\n", 0, end), encoded.rfind("\r", 0, end)) + 1 or end
    head = copy.copy(part)
    head.defects = []  # a damaged tail past the cut is not this prefix's to report
    head.set_payload(encoded[:end])
    return payload(head)[:limit], True
