"""Attachments in the portal: presigned uploads for the browser, their check, claims, downloads."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from portal import resources
from portal.pages import client_key, optional_identity, session
from portal.rendering import environment
from supportdesk.attachments import (
    Attachment,
    AttachmentRefused,
    Claims,
    Upload,
    check_upload,
    claims,
    download_url,
    presign_upload,
    upload_item,
)
from supportdesk.auth import Identity
from supportdesk.ratelimit import Limit, first_reached
from supportdesk.tickets import Ticket, find_attachment


def upload_owner(request: Request, identity: Identity | None) -> str:
    """Whose upload prefix this is: the account's, or (for a guest) this browser's.

    A guest has no account yet; their uploads belong to the CSRF cookie of their browser,
    which another browser cannot read nor guess.
    """
    if identity is not None:
        return f"acct-{identity.account_id}"
    token = request.state.csrf_token
    return "guest-" + hashlib.sha256(f"uploads:{token}".encode()).hexdigest()[:32]


def refusal_text(request: Request, error: AttachmentRefused) -> str:
    """The reason in the user's words, naming the limit (rendered from the catalogs)."""
    template = environment(request.state.language).get_template("_messages.html")
    policy = resources.attachment_policy()
    return str(template.module.attachment_error(  # type: ignore[attr-defined]
        error.reason, error.filename, policy.max_megabytes, policy.max_files,
        ", ".join(sorted(policy.extensions)))).strip()


def refusal(request: Request, error: AttachmentRefused) -> Response:
    """400 with the reason in the user's words, and its code, for which the page may have a
    shorter text to show in the file's row (its rules were already listed once)."""
    return JSONResponse({"error": refusal_text(request, error), "reason": error.reason}, status_code=400)


# Each slot lets a browser put up to the size limit into S3: a bounded number per hour, per
# account, or per client (its address) for guests.
UPLOAD_SLOTS_PER_ACCOUNT = 200
UPLOAD_SLOTS_PER_GUEST_CLIENT = 30


def _slot_limit(request: Request, identity: Identity | None) -> Limit:
    if identity is not None:
        return Limit("upload-account", identity.account_id, UPLOAD_SLOTS_PER_ACCOUNT, 3600)
    return Limit("upload-client", client_key(request), UPLOAD_SLOTS_PER_GUEST_CLIENT, 3600)


def _error_words(request: Request, reason: str) -> str:
    template = environment(request.state.language).get_template("_messages.html")
    return str(template.module.error_text(reason)).strip()  # type: ignore[attr-defined]


async def new_upload(request: Request) -> Response:
    """POST {filename, size, content_type} -> a presigned POST for that one file (JSON)."""
    form = await request.form()
    filename = str(form.get("filename", ""))
    try:
        size = int(str(form.get("size", "0")))
    except ValueError:
        size = 0
    identity = optional_identity(request)
    if first_reached(resources.table(), _slot_limit(request, identity)):
        return JSONResponse({"error": _error_words(request, "rate-limited")}, status_code=429)
    try:
        upload = presign_upload(
            resources.s3(), resources.settings().attachments_bucket, resources.attachment_policy(),
            owner=upload_owner(request, identity), filename=filename, size=size,
            content_type=str(form.get("content_type", "")),
        )
    except AttachmentRefused as error:
        return refusal(request, error)
    return JSONResponse(upload, headers={"Cache-Control": "no-store"})


async def uploaded(request: Request) -> Response:
    """POST {key} after the browser's upload -> the checked file's token for the form (JSON),
    or 400 with the reason in the user's words, shown next to that file."""
    form = await request.form()
    # The tokens' identity (no profile read): a session ended elsewhere can record no more
    # than its own file, and the message that claims it carries the session's check.
    owner = upload_owner(request, session(request).token_identity())
    try:
        upload = check_upload(resources.s3(), resources.settings().attachments_bucket,
                              resources.attachment_policy(), owner=owner, key=str(form.get("key", "")))
    except AttachmentRefused as error:
        return refusal(request, error)
    resources.table().put(upload_item(upload, owner, time.time()))
    return JSONResponse({"token": upload.token, "filename": upload.filename},
                        headers={"Cache-Control": "no-store"})


def upload_tokens(form: FormData) -> list[str]:
    return [str(k) for k in form.getlist("attachment") if isinstance(k, str) and k]


def claim(request: Request, form: FormData, identity: Identity | None) -> Claims:
    """What the message takes of the files its form lists (no call: its transaction checks
    the claims); AttachmentRefused if one cannot be the sender's."""
    tokens = upload_tokens(form)
    if not tokens:
        return Claims()
    return claims(resources.table(), resources.attachment_policy(), owner=upload_owner(request, identity),
                  tokens=tokens)


def pending_uploads(form: FormData) -> list[dict[str, Any]]:
    """The uploads a refused form listed, to show them again (nothing the user did is lost)."""
    pending = []
    for token in upload_tokens(form):
        try:
            upload = Upload.from_token(token)
            pending.append({"token": token, "filename": upload.filename, "size": upload.size})
        except AttachmentRefused:
            continue
    return pending


def send_download(ticket: Ticket, attachment_id: str) -> Response:
    attachment = find_attachment(ticket, attachment_id)
    if attachment is None:
        raise HTTPException(404)
    url = download_url(resources.s3(), resources.settings().attachments_bucket, attachment)
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def send_original_mail(ticket: Ticket, sequence: int) -> Response:
    """The raw mail a message came from, as it arrived (kept in the inbound bucket)."""
    message = next((m for m in ticket.messages if m.sequence == sequence and m.raw_mail_key), None)
    if message is None or message.raw_mail_key is None:
        raise HTTPException(404)
    original = Attachment("original", message.raw_mail_key, f"{ticket.id}-{sequence}.eml", 0,
                          "message/rfc822")
    url = download_url(resources.s3(), resources.settings().inbound_bucket, original)
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
