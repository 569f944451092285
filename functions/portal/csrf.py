"""CSRF protection for every state-changing request, and the size cap on request bodies.

Each browser gets a random nonce in a signed __Host- cookie (a client cannot choose one:
an unsigned or foreign value is replaced). Pages carry a token derived, with the server's
key, from that nonce and from the browser's session (its signed start, see portal.session):
a token issued to another browser, or before a login or logout, or made up, does not
match. So even a planted cookie whose token an attacker knows is useless against a signed-in
victim. A POST without the right token never reaches a handler. With SameSite=Lax cookies
this closes cross-site form posts, including login CSRF.

Bodies are read here, up to MAX_BODY_BYTES, before any handler runs: forms carry text
only (files go straight to S3), so a larger body is refused at once, whatever its type.
"""

from __future__ import annotations

import hmac
import secrets
from functools import partial
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from portal import cookies, resources
from portal.middleware import HttpMiddleware
from portal.rendering import render
from supportdesk.signing import sign, signature, unsign

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
HEADER = b"x-csrf-token"
FIELD = "csrf_token"
MAX_BODY_BYTES = 256 * 1024


def form_token(key: bytes, nonce: str, session: str) -> str:
    """The token pages carry for the browser whose cookie holds `nonce`, in `session` (the
    session-start cookie's value; empty when signed out)."""
    return signature(key, f"form:{nonce}:{session}")


class CsrfMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = resources.csrf_key()
        cookie = cookies.read_cookies(scope["headers"]).get(cookies.CSRF)
        nonce = unsign(key, cookie) if cookie else None
        issued = None
        if nonce is None:
            nonce = secrets.token_urlsafe(32)
            issued = sign(key, nonce)
        cookie_values = cookies.read_cookies(scope["headers"])
        token = form_token(key, nonce, cookie_values.get(cookies.SESSION_START, ""))
        state: dict[str, Any] = scope.setdefault("state", {})
        state["csrf_token"] = token
        # A login or logout in this request changes the token its page must carry.
        state["csrf_token_for"] = partial(form_token, key, nonce)
        extra = [cookies.set_cookie(cookies.CSRF, issued)] if issued else []
        send = cookies.sending_headers(send, lambda: extra)

        if scope["method"] not in SAFE_METHODS:
            body = await _read_body(scope, receive)
            if body is None:
                await _refuse(scope, send, 413)
                return
            receive = _replay(body)
            given = dict(scope["headers"]).get(HEADER, b"").decode("latin-1")
            if not given and _is_urlencoded(scope):
                fields = parse_qs(body.decode("utf-8", "replace"))
                given = (fields.get(FIELD) or [""])[0]
            if issued or not given or not hmac.compare_digest(given.encode(), token.encode()):
                await _refuse(scope, send, 403)
                return
        await self.app(scope, receive, send)


def _is_urlencoded(scope: Scope) -> bool:
    content_type = dict(scope["headers"]).get(b"content-type", b"")
    return content_type.split(b";")[0].strip() == b"application/x-www-form-urlencoded"


async def _read_body(scope: Scope, receive: Receive) -> bytes | None:
    """The whole body, or None as soon as it is known to be over MAX_BODY_BYTES."""
    declared = dict(scope["headers"]).get(b"content-length", b"0")
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
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
