"""Attachments: the file parts of a mail as MailParts, under the names the body step gave
them (``supportdesk.mail.parts.file_name``), and the raw mail as "original.eml" where not
all of it was imported."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from supportdesk.mail.body import FilePart
from supportdesk.mail.parts import content_id, disposition, payload

ORIGINAL_NAME = "original.eml"


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
    """The files, in order."""
    parts = tuple(map(_mail_part, files))
    damaged = any("Base64" in type(defect).__name__ for file in files for defect in file.part.defects)
    return Attachments(parts, not damaged)


def original(raw: bytes) -> MailPart:
    """The raw mail, whole."""
    return MailPart(ORIGINAL_NAME, "message/rfc822", raw, False, None)


def _mail_part(file: FilePart) -> MailPart:
    cid = content_id(file.part) or None
    inline = disposition(file.part) == "inline" or (file.in_related and cid is not None)
    data = payload(file.part) if file.data is None else file.data
    return MailPart(file.name, file.content_type, data, inline, cid)
