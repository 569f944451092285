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
from urllib.parse import parse_qs

from starlette.types import Message, Receive

from portal import cookies, resources
from portal.middleware import Exchange, HttpMiddleware
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
    async def handle(self, exchange: Exchange) -> None:
        key = resources.csrf_key()
        cookie = exchange.cookies.get(cookies.CSRF)
        nonce = unsign(key, cookie) if cookie else None
        issued = None
        if nonce is None:
            nonce = secrets.token_urlsafe(32)
            issued = sign(key, nonce)
        token = form_token(key, nonce, exchange.cookies.get(cookies.SESSION_START, ""))
        exchange.state["csrf_token"] = token
        # A login or logout in this request changes the token its page must carry.
        exchange.state["csrf_token_for"] = partial(form_token, key, nonce)
        extra = [cookies.set_cookie(cookies.CSRF, issued)] if issued else []
        exchange.add_response_headers(lambda: extra)

        if exchange.scope["method"] not in SAFE_METHODS:
            body = await _read_body(exchange)
            if body is None:
                await _refuse(exchange, 413)
                return
            exchange.receive = _replay(body)
            given = exchange.headers.get(HEADER, b"").decode("latin-1")
            if not given and _is_urlencoded(exchange):
                fields = parse_qs(body.decode("utf-8", "replace"))
                given = (fields.get(FIELD) or [""])[0]
            if issued or not given or not hmac.compare_digest(given.encode(), token.encode()):
                await _refuse(exchange, 403)
                return
        await self.forward(exchange)


def _is_urlencoded(exchange: Exchange) -> bool:
    content_type = exchange.headers.get(b"content-type", b"")
    return content_type.split(b";")[0].strip() == b"application/x-www-form-urlencoded"


async def _read_body(exchange: Exchange) -> bytes | None:
    """The whole body, or None as soon as it is known to be over MAX_BODY_BYTES."""
    declared = exchange.headers.get(b"content-length", b"0")
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await exchange.receive()
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


async def _refuse(exchange: Exchange, status_code: int) -> None:
    request = exchange.request()
    reason = "expired-form" if status_code == 403 else "too-large"
    response = render(request, "error.html", {"reason": reason}, status_code=status_code)
    if request.headers.get("hx-request") == "true":
        # Keep the form and everything typed in it; show the notice above it instead.
        response.headers["HX-Retarget"] = "#notice"
        response.headers["HX-Reswap"] = "innerHTML"
    await response(exchange.scope, _no_receive, exchange.send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
