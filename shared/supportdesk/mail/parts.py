"""One MIME part read without raising, and without decoding more of it than is wanted; and
the name it is kept under as a file.

A file's name is what its sender called it, made safe, with the extension of its content
type added when the name has none (a screenshot sent as "captura de pantalla", image/png,
is kept as "captura de pantalla.png"); a name with a known extension keeps it, even one that
contradicts the type. An attached mail is named by its filename, else by its Subject, and
always ends in ".eml". RFC 2231 names win over plain ones: clients that send both put an
ASCII stand-in in the plain one.
"""

from __future__ import annotations

import copy
import mimetypes
import os.path
import re
from email.message import Message
from email.policy import compat32
from email.utils import collapse_rfc2231_value, unquote
from functools import cache, partial
from typing import Any

from supportdesk.mail import mime
from supportdesk.mail.headers import decode_header, header, param_text, unsurrogate
from supportdesk.mail.mime import MimePart
from supportdesk.mail.safe import attempt

_ENCODED_BY_LINES = ("base64", "x-uuencode", "uuencode", "uue", "x-uue")
MAIL_TYPES = ("message/rfc822", "message/global")
MAX_FILENAME = 150
# Path and shell metacharacters, controls, and bidi overrides ("gpj.exe" shown as "exe.jpg").
_UNSAFE_IN_NAME = re.compile(
    "[\x00-\x1f\x7f-\x9f<>:\"|?*\u200b-\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
# Types mail clients send that the stdlib's table lacks, or names oddly (".xsl" for XML).
_EXTENSIONS = {
    "image/jpg": ".jpg", "image/pjpeg": ".jpg", "image/x-png": ".png", "image/webp": ".webp",
    "image/heif": ".heif", "application/xml": ".xml", "text/rtf": ".rtf", "application/rtf": ".rtf",
    "application/x-zip-compressed": ".zip", "application/x-zip": ".zip", "application/gzip": ".gz",
    "application/x-gzip": ".gz", "application/x-7z-compressed": ".7z", "text/x-log": ".log",
    "text/calendar": ".ics", "message/global": ".eml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/vnd.oasis.opendocument.presentation": ".odp",
}
_MORE_EXTENSIONS = (".log", ".heic", ".msg", ".dat", ".md", ".jfif", ".rar", ".tgz", ".bz2", ".xz")
_MAX_EXTENSION = 16  # a longer "extension" is part of the name


def disposition(part: Message) -> str | None:
    return attempt(part.get_content_disposition, None)


def param(part: Message, name: str) -> str:
    """A Content-Type parameter as text ("" when absent or unreadable)."""
    return param_text(part, name) if isinstance(part, MimePart) else ""


def filename(part: Message) -> str | None:
    """The name its sender gave the part, raw (encoded words not yet decoded)."""
    return attempt(lambda: _filename(part), None) if isinstance(part, MimePart) else None


def _filename(part: MimePart) -> str | None:
    for name, header_name in (("filename", "content-disposition"), ("name", "content-type")):
        values = [value for key, value in part.parameters(header_name)[1:] if key.lower() == name]
        # An RFC 2231 value is a (charset, language, value) tuple; clients that send one send
        # an ASCII stand-in too, sometimes first.
        chosen = next((v for v in values if isinstance(v, tuple)), values[0] if values else None)
        if chosen is not None:
            value = (chosen[0], chosen[1], unquote(chosen[2])) if isinstance(chosen, tuple) else unquote(chosen)
            return collapse_rfc2231_value(value).strip()
    return None


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


def transfer_encoding(part: Message) -> str:
    return str(attempt(lambda: part.get("content-transfer-encoding", ""), "")).strip().lower()


def payload_prefix(part: Message, limit: int) -> tuple[bytes, bool]:
    """About the first `limit` bytes of the decoded payload (never fewer when there are
    more), and whether that is not all of it; only the encoded text needed is decoded."""
    encoded = getattr(part, "_payload", None)  # get_payload() would decode 8-bit text
    if not isinstance(encoded, str):
        return payload(part), False
    cte = transfer_encoding(part)
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


def with_payload(part: Message, data: bytes) -> Message:
    """A copy of `part` whose body is `data`, already transfer-decoded."""
    clone = copy.copy(part)
    clone.defects = []
    # compat32 keeps the headers in a list of pairs; the copy must not share it.
    clone._headers = [(k, v) for k, v in part._headers  # type: ignore[attr-defined]
                      if k.lower() != "content-transfer-encoding"]
    clone.set_payload(data.decode("ascii", "surrogateescape"))
    return clone


# -- Names --------------------------------------------------------------------------------

def file_name(part: Message, content_type: str, number: int) -> str:
    """The name `part` is kept under as a file of `content_type`, the `number`th file."""
    name = attempt(lambda: decode_header(filename(part) or "", charset(part)), "")
    if content_type in MAIL_TYPES and not safe_name(name):
        found: Any = attempt(lambda: part.get_payload(), None)
        inner = found[0] if isinstance(found, list) and found else None
        if isinstance(inner, Message):
            name = attempt(lambda: " ".join(decode_header(header(inner, "Subject")).split()), "")
    return safe_name(name, content_type, number)


def safe_name(name: str, content_type: str = "", number: int = 0) -> str:
    """`name` with no path, controls or bidi overrides, at most MAX_FILENAME characters, with
    the extension of `content_type` if it has none (an attached mail's is always ".eml");
    "attachment-<number>" and that extension if nothing is left of it. Without a content
    type: only made safe ("" if nothing is left)."""
    name = _UNSAFE_IN_NAME.sub("", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = " ".join(name.split()).strip(". ")
    if not content_type:
        return name
    wanted = _extension(content_type)
    if not name:
        fallback = ".txt" if content_type.startswith(("text/", "message/")) else ".bin"
        return f"attachment-{number}{wanted or fallback}"
    stem, extension = os.path.splitext(name)
    if len(extension) > _MAX_EXTENSION:
        stem, extension = name, ""
    if content_type in MAIL_TYPES:
        if extension.lower() != ".eml":
            stem, extension = name, ".eml"
    elif wanted and content_type != "application/octet-stream" and extension.lower() not in _known_extensions():
        stem, extension = name, wanted  # "captura de pantalla" or "Screenshot at 10.15.32"
    return stem + extension if len(stem + extension) <= MAX_FILENAME else stem[: MAX_FILENAME - len(extension)] + extension


def type_of_name(name: str) -> str:
    """The content type a file's name says it has."""
    return _types().guess_type(name, strict=False)[0] or "application/octet-stream"


def _extension(content_type: str) -> str:
    return _EXTENSIONS.get(content_type) or _types().guess_extension(content_type, strict=False) or ""


@cache
def _types() -> mimetypes.MimeTypes:
    """The stdlib's own table only: the global one reads the system's files, which differ
    from one machine to another. Made when first needed, not at a cold start."""
    return mimetypes.MimeTypes()


@cache
def _known_extensions() -> frozenset[str]:
    types = _types()
    return frozenset({*types.types_map[0], *types.types_map[1], *_EXTENSIONS.values(), *_MORE_EXTENSIONS})
