"""Attachments: the file parts of a mail as MailParts with safe names, and the raw mail as
"original.eml" where not all of it was imported."""

from __future__ import annotations

import mimetypes
import os.path
import re
from collections.abc import Sequence
from dataclasses import dataclass

from supportdesk.mail.body import FilePart
from supportdesk.mail.headers import decode_header
from supportdesk.mail.parts import content_id, disposition, filename, payload
from supportdesk.mail.safe import attempt

ORIGINAL_NAME = "original.eml"
_MAX_FILENAME = 150
# Path and shell metacharacters, controls, and bidi overrides ("gpj.exe" shown as "exe.jpg").
_UNSAFE_IN_NAME = re.compile(
    "[\x00-\x1f\x7f-\x9f<>:\"|?*\u200b-\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)


@dataclass(frozen=True)
class MailPart:
    """An attachment or inline image taken from the mail."""

    filename: str  # sanitized, never empty
    content_type: str  # lower-case
    data: bytes
    inline: bool
    content_id: str | None


@dataclass(frozen=True)
class Attachments:
    parts: tuple[MailPart, ...]
    complete: bool  # false: some base64 was damaged, and decoded only as far as possible


def collect_attachments(files: Sequence[FilePart]) -> Attachments:
    """The files, in order; a file without a name is named by its place among them."""
    parts = tuple(_mail_part(file, number) for number, file in enumerate(files, 1))
    damaged = any("Base64" in type(defect).__name__ for file in files for defect in file.part.defects)
    return Attachments(parts, not damaged)


def original(raw: bytes) -> MailPart:
    """The raw mail, whole."""
    return MailPart(ORIGINAL_NAME, "message/rfc822", raw, False, None)


def _mail_part(file: FilePart, number: int) -> MailPart:
    cid = content_id(file.part) or None
    name = attempt(lambda: decode_header(filename(file.part) or ""), "")
    inline = disposition(file.part) == "inline" or (file.in_related and cid is not None)
    return MailPart(_safe_filename(name, file.content_type, number), file.content_type, payload(file.part),
                    inline, cid)


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
