"""CSRF protection for every state-changing request (double-submit token).

Each browser gets a random token in an HttpOnly cookie; pages put the same token in
every form (hidden field) and in htmx's headers (X-CSRF-Token). A POST whose token does
not match the cookie never reaches a handler. With SameSite=Lax cookies this closes
cross-site form posts, including login CSRF.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal import cookies
from portal.rendering import render

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
HEADER = b"x-csrf-token"
FIELD = "csrf_token"
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{40,64}$")
MAX_FORM_BYTES = 256 * 1024  # forms carry text only; files go straight to S3


class CsrfMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = cookies.read_cookies(scope["headers"]).get(cookies.CSRF)
        issued = None
        if not token or not TOKEN_SHAPE.match(token):
            token = issued = secrets.token_urlsafe(32)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["csrf_token"] = token
        extra = [cookies.set_cookie(cookies.CSRF, issued)] if issued else []
        send = cookies.sending_headers(send, lambda: extra)

        if scope["method"] not in SAFE_METHODS:
            given = dict(scope["headers"]).get(HEADER, b"").decode("latin-1")
            if not given and _is_urlencoded(scope):
                body = await _read_body(receive)
                if body is None:
                    await _refuse(scope, send, 413)
                    return
                receive = _replay(body)
                fields = parse_qs(body.decode("utf-8", "replace"))
                given = (fields.get(FIELD) or [""])[0]
            if issued or not given or not secrets.compare_digest(given, token):
                await _refuse(scope, send, 403)
                return
        await self.app(scope, receive, send)


def _is_urlencoded(scope: Scope) -> bool:
    content_type = dict(scope["headers"]).get(b"content-type", b"")
    return content_type.split(b";")[0].strip() == b"application/x-www-form-urlencoded"


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _refuse(scope: Scope, send: Send, status_code: int) -> None:
    request = Request(scope)
    reason = "expired-form" if status_code == 403 else "too-large"
    response = render(request, "error.html", {"reason": reason}, status_code=status_code)
    if request.headers.get("hx-request") == "true":
        # Keep the form and everything typed in it; show the notice above it instead.
        response.headers["HX-Retarget"] = "#notice"
        response.headers["HX-Reswap"] = "innerHTML"
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
