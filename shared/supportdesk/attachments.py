"""Attachments: uploaded by the browser straight to S3, checked, then linked to a message.

1. The browser asks for a presigned POST per file. Its policy names one exact key under a
   prefix that belongs to the uploader (uploads/<owner>/<upload id>/<file name>), a size
   range up to the limit, the Content-Type, and a short expiry.
2. S3 enforces that policy in AWS; the local S3 does not, so the API checks again before
   linking: the object must be under the uploader's own prefix, its real size (HeadObject)
   within the limit, its extension allowed, and no more files than the limit.
3. Linking copies the object (only if it is still the one checked: CopySourceIfMatch) to
   attachments/<attachment id>/<file name>, and the message that lists it is written in one
   transaction with the ticket. Whatever stays under uploads/ was never linked, and the
   bucket's lifecycle rule removes it after a day.
4. Downloads are short presigned GETs with Content-Disposition: attachment, after the
   caller's right to the ticket was checked: the browser never renders an upload inline.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Iterable
from urllib.parse import quote

UPLOAD_PREFIX = "uploads/"
ATTACHMENT_PREFIX = "attachments/"
UPLOAD_SECONDS = 5 * 60  # the browser starts the upload right after asking
DOWNLOAD_SECONDS = 60
MAX_FILENAME_CHARS = 150

DEFAULT_EXTENSIONS = frozenset({
    # images (screenshots above all)
    "png", "jpg", "jpeg", "gif", "webp", "bmp", "heic",
    # documents and text
    "pdf", "txt", "log", "csv", "json", "xml", "eml",
    # archives
    "zip", "gz", "tgz", "7z",
    # office formats
    "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf",
})
# Types a browser would render or run if it ever opened them inline.
ACTIVE_TYPES = ("text/html", "image/svg", "application/xhtml", "text/xml", "application/xml",
                "text/javascript", "application/javascript")


class AttachmentRefused(Exception):
    """A file cannot be attached; `reason` names the rule, `filename` the file."""

    def __init__(self, reason: str, filename: str = "") -> None:
        super().__init__(f"{reason}: {filename}")
        self.reason = reason
        self.filename = filename


@dataclass(frozen=True)
class AttachmentPolicy:
    max_bytes: int = 10 * 1024 * 1024
    max_files: int = 10
    extensions: frozenset[str] = field(default_factory=lambda: DEFAULT_EXTENSIONS)

    @property
    def max_megabytes(self) -> int:
        return self.max_bytes // (1024 * 1024)


@dataclass(frozen=True)
class Attachment:
    id: str
    key: str
    filename: str
    size: int
    content_type: str

    def as_item(self) -> dict[str, Any]:
        return {"id": self.id, "key": self.key, "filename": self.filename, "size": self.size,
                "content_type": self.content_type}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Attachment:
        return cls(id=str(item["id"]), key=str(item["key"]), filename=str(item["filename"]),
                   size=int(item["size"]), content_type=str(item["content_type"]))


def safe_filename(name: str, fallback: str = "file") -> str:
    """A name to store and show: no directories, no control characters, not too long."""
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(c for c in unicodedata.normalize("NFC", base)
                   if unicodedata.category(c)[0] != "C")
    base = base.strip().lstrip(".").strip()
    if not base:
        return fallback
    if len(base) > MAX_FILENAME_CHARS:
        suffix = PurePosixPath(base).suffix[:16]
        base = base[: MAX_FILENAME_CHARS - len(suffix)] + suffix
    return base


def extension(filename: str) -> str:
    return PurePosixPath(filename).suffix.lower().lstrip(".")


def check_file(policy: AttachmentPolicy, filename: str, size: int) -> None:
    """Refuse, before any upload, what will not be accepted after it."""
    if extension(filename) not in policy.extensions:
        raise AttachmentRefused("type-not-allowed", filename)
    if size <= 0:
        raise AttachmentRefused("empty", filename)
    if size > policy.max_bytes:
        raise AttachmentRefused("too-large", filename)


def owner_prefix(owner: str) -> str:
    return f"{UPLOAD_PREFIX}{owner}/"


def presign_upload(s3: Any, bucket: str, policy: AttachmentPolicy, *, owner: str,
                   filename: str, size: int, content_type: str) -> dict[str, Any]:
    """A presigned POST for one file, under the owner's prefix, with the policy's limits."""
    name = safe_filename(filename)
    check_file(policy, name, size)
    content_type = content_type if re.fullmatch(r"[\w.+-]+/[\w.+-]+", content_type or "") else (
        "application/octet-stream")
    key = f"{owner_prefix(owner)}{uuid.uuid4().hex}/{name}"
    post = s3.generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[
            {"bucket": bucket},
            ["eq", "$key", key],
            ["content-length-range", 1, policy.max_bytes],
            ["eq", "$Content-Type", content_type],
        ],
        ExpiresIn=UPLOAD_SECONDS,
    )
    return {"url": post["url"], "fields": post["fields"], "key": key, "filename": name}


def link_uploads(s3: Any, bucket: str, policy: AttachmentPolicy, *, owner: str,
                 keys: Iterable[str]) -> list[Attachment]:
    """Check each uploaded object as S3 would have, and copy it where attachments live.

    Raises AttachmentRefused for the first file that breaks a rule; nothing is linked then.
    """
    wanted = list(dict.fromkeys(k for k in keys if k))
    if len(wanted) > policy.max_files:
        raise AttachmentRefused("too-many")
    prefix = owner_prefix(owner)
    checked = []
    for key in wanted:
        # Cleaned again: only presign_upload's keys carry clean names, and in AWS only S3's
        # policy check holds a browser to those keys.
        name = safe_filename(key.rsplit("/", 1)[-1])
        if not key.startswith(prefix) or ".." in key.split("/") or key.count("/") != prefix.count("/") + 1:
            raise AttachmentRefused("not-yours", name)
        try:
            head = s3.head_object(Bucket=bucket, Key=key)
        except s3.exceptions.ClientError as error:
            raise AttachmentRefused("missing", name) from error
        check_file(policy, name, int(head["ContentLength"]))
        checked.append((key, name, head))
    linked = []
    for key, name, head in checked:
        attachment_id = uuid.uuid4().hex
        target = f"{ATTACHMENT_PREFIX}{attachment_id}/{name}"
        content_type = str(head.get("ContentType") or "application/octet-stream")
        s3.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": key},
                       CopySourceIfMatch=head["ETag"], MetadataDirective="COPY")
        linked.append(Attachment(attachment_id, target, name, int(head["ContentLength"]), content_type))
    return linked


def download_url(s3: Any, bucket: str, attachment: Attachment) -> str:
    """A short-lived link that downloads the file, never displays it in the page."""
    ascii_name = attachment.filename.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(attachment.filename)}"
    content_type = attachment.content_type
    if content_type.startswith(ACTIVE_TYPES) or "html" in content_type or "svg" in content_type:
        content_type = "application/octet-stream"
    return str(s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": attachment.key, "ResponseContentDisposition": disposition,
                "ResponseContentType": content_type},
        ExpiresIn=DOWNLOAD_SECONDS,
    ))
