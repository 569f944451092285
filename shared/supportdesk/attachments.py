"""Attachments: uploaded by the browser straight to S3, checked once, claimed by a message.

1. The browser asks for a presigned POST per file. Its policy names one exact key under a
   prefix that belongs to the uploader (uploads/<owner>/<upload id>/<file name>), a size
   range up to the limit, the Content-Type, and a short expiry.
2. Right after the upload, the browser asks the API to check the file (`check_upload`):
   S3 enforces the policy in AWS, the local S3 does not, so the API reads the object's real
   size (HeadObject) against the limit, its extension and its owner's prefix, and records it
   as an upload item (`PK=UPLOAD#<key>`) that expires in a day. A refusal reaches the user
   next to that file, before they send anything.
3. Sending the message costs no S3 call per file: the form names the checked uploads, and
   the transaction that stores the message deletes their upload items on the condition that
   they exist, belong to the sender and say the same size and type. So a file is in one
   message at most, and only a checked one of the sender's own. The file stays where it
   was uploaded; the message holds its key.
4. An upload item that no message claimed expires (DynamoDB's TTL) and the notifier, told
   by the table's stream, deletes its file (`abandoned_upload_key`). If that ever fails, a
   file is kept too long; a linked file is never deleted.
5. Downloads are short presigned GETs with Content-Disposition: attachment, after the
   caller's right to the ticket was checked: the browser never renders an upload inline.
   Files of mails and of messages stored before step 3 live under attachments/.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Iterable
from urllib.parse import quote

if TYPE_CHECKING:
    from supportdesk.store import Table

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


UPLOAD_ITEM_PREFIX = "UPLOAD#"
UPLOAD_ITEM_SECONDS = 24 * 3600  # a checked file waits this long for its message


@dataclass(frozen=True)
class Upload:
    """A file under its owner's prefix that passed `check_upload`; `token` is what the browser
    keeps in the form for it (the key, size and type the message will claim)."""

    key: str
    size: int
    content_type: str

    @property
    def filename(self) -> str:
        return safe_filename(self.key.rsplit("/", 1)[-1])

    @property
    def token(self) -> str:
        return json.dumps({"key": self.key, "size": self.size, "type": self.content_type},
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_token(cls, token: str) -> Upload:
        """The upload a form names; AttachmentRefused("missing") for anything else."""
        try:
            value = json.loads(token)
            upload = cls(key=str(value["key"]), size=int(value["size"]), content_type=str(value["type"]))
        except (ValueError, TypeError, KeyError):
            raise AttachmentRefused("missing", safe_filename(str(token).rsplit("/", 1)[-1][:MAX_FILENAME_CHARS]))
        return upload


def _owned_key(owner: str, key: str) -> str:
    """`key` if it is a key presign_upload could have made for `owner`, else AttachmentRefused.

    In AWS only S3's policy check holds a browser to those keys; locally nothing does.
    """
    prefix = owner_prefix(owner)
    name = key.rsplit("/", 1)[-1]
    upload_id = key[len(prefix):].split("/", 1)[0]
    if not (key.startswith(prefix) and re.fullmatch(r"[0-9a-f]{32}", upload_id)
            and key == f"{prefix}{upload_id}/{name}" and name == safe_filename(name)):
        raise AttachmentRefused("not-yours", safe_filename(name))
    return key


def check_upload(s3: Any, bucket: str, policy: AttachmentPolicy, *, owner: str, key: str) -> Upload:
    """Check an uploaded object as S3 would have (one HeadObject); AttachmentRefused if it breaks a rule."""
    _owned_key(owner, key)
    name = safe_filename(key.rsplit("/", 1)[-1])
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as error:
        raise AttachmentRefused("missing", name) from error
    check_file(policy, name, int(head["ContentLength"]))
    return Upload(key, int(head["ContentLength"]), str(head.get("ContentType") or "application/octet-stream"))


def upload_item(upload: Upload, owner: str, now: float) -> dict[str, Any]:
    """The record of a checked upload, waiting for the message that claims it."""
    return {"PK": UPLOAD_ITEM_PREFIX + upload.key, "SK": "UPLOAD", "type": "Upload", "owner": owner,
            "size": upload.size, "content_type": upload.content_type,
            "expires_at": int(now) + UPLOAD_ITEM_SECONDS}


def uploads_named(policy: AttachmentPolicy, *, owner: str, tokens: Iterable[str]) -> list[Upload]:
    """The checked uploads a form names, refused (AttachmentRefused) if they cannot be the
    sender's or are too many. That each was checked is the claim's condition (`claim`)."""
    uploads = list({u.key: u for u in map(Upload.from_token, (t for t in tokens if t))}.values())
    if len(uploads) > policy.max_files:
        raise AttachmentRefused("too-many")
    for upload in uploads:
        _owned_key(owner, upload.key)
        check_file(policy, upload.filename, upload.size)
    return uploads


def claim(table: Table, upload: Upload, owner: str) -> dict[str, Any]:
    """The transaction action that takes `upload` for the message stored with it: only a
    checked upload of `owner`'s, as checked, and only once."""
    return table.delete_action(
        UPLOAD_ITEM_PREFIX + upload.key, "UPLOAD",
        "#owner = :owner AND #size = :size AND content_type = :type",
        {":owner": owner, ":size": upload.size, ":type": upload.content_type},
        names={"#owner": "owner", "#size": "size"})


def attachment_of(upload: Upload) -> Attachment:
    return Attachment(uuid.uuid4().hex, upload.key, upload.filename, upload.size, upload.content_type)


@dataclass(frozen=True)
class Claims:
    """What a message takes of the uploads its form names: its attachments, and the actions
    (first in its transaction's `also`) that claim them."""

    uploads: tuple[Upload, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    actions: tuple[dict[str, Any], ...] = ()

    def refusal(self, failed: Iterable[int]) -> AttachmentRefused | None:
        """Why the transaction was refused, if a claim (by its position in `also`) was."""
        for position in sorted(failed):
            if position < len(self.uploads):
                return AttachmentRefused("missing", self.uploads[position].filename)
        return None


def claims(table: Table, policy: AttachmentPolicy, *, owner: str, tokens: Iterable[str]) -> Claims:
    """The claims of the uploads a form names (no call: the transaction checks them)."""
    uploads = tuple(uploads_named(policy, owner=owner, tokens=tokens))
    return Claims(uploads, tuple(map(attachment_of, uploads)), tuple(claim(table, u, owner) for u in uploads))


def abandoned_upload_key(record: dict[str, Any]) -> str | None:
    """The S3 key of an upload whose item DynamoDB's TTL removed (no message claimed it), from
    a stream record; None for any other record (a claim removes the item as a user)."""
    identity = record.get("userIdentity") or {}
    if record.get("eventName") != "REMOVE" or identity.get("type") != "Service" or (
            identity.get("principalId") != "dynamodb.amazonaws.com"):
        return None
    pk = record.get("dynamodb", {}).get("Keys", {}).get("PK", {}).get("S", "")
    if not pk.startswith(UPLOAD_ITEM_PREFIX + UPLOAD_PREFIX):
        return None
    return str(pk[len(UPLOAD_ITEM_PREFIX):])


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
