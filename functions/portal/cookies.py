"""The portal's cookies: one place for their names and their (strict) attributes."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Callable

from starlette.types import Message, Send

# __Host-: the browser takes them only from this very host over HTTPS, for the whole
# site (Path=/), so no sibling subdomain nor plain-HTTP answer can plant or replace them.
ID_TOKEN = "__Host-sd_id"
REFRESH_TOKEN = "__Host-sd_refresh"
SESSION_START = "__Host-sd_since"
CSRF = "__Host-sd_csrf"
LANGUAGE = "__Host-sd_lang"

SESSION_MAX_AGE = 30 * 24 * 60 * 60  # 30 days, in seconds: the refresh token's life
LANGUAGE_MAX_AGE = 365 * 24 * 60 * 60  # a year, in seconds


def set_cookie(name: str, value: str, *, max_age: int | None = None) -> tuple[bytes, bytes]:
    """A Set-Cookie header: always Secure, HttpOnly, SameSite=Lax and Path=/ (__Host-)."""
    jar: SimpleCookie = SimpleCookie()
    jar[name] = value
    morsel = jar[name]
    morsel["path"] = "/"
    morsel["secure"] = True
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    if max_age is not None:
        morsel["max-age"] = max_age
    return b"set-cookie", morsel.OutputString().encode("latin-1")


def clear_cookie(name: str) -> tuple[bytes, bytes]:
    return set_cookie(name, "", max_age=0)


def read_cookies(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for key, value in headers:
        if key == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:  # a malformed cookie header from the browser is ignored
                continue
    return {name: morsel.value for name, morsel in jar.items()}


def sending_headers(send: Send, headers: Callable[[], list[tuple[bytes, bytes]]]) -> Send:
    """Wrap `send` so the response starts with the headers `headers()` gives at that moment."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            extra = headers()
            if extra:
                message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped
