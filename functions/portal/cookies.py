"""The portal's cookies: one place for their names and their (strict) attributes."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Callable

from starlette.types import Message, Send

ID_TOKEN = "sd_id"
REFRESH_TOKEN = "sd_refresh"
CSRF = "sd_csrf"
LANGUAGE = "sd_lang"

SESSION_MAX_AGE = 30 * 24 * 60 * 60  # 30 days, in seconds: the refresh token's life
LANGUAGE_MAX_AGE = 365 * 24 * 60 * 60  # a year, in seconds


def set_cookie(name: str, value: str, *, max_age: int | None = None, path: str = "/") -> tuple[bytes, bytes]:
    """A Set-Cookie header: always Secure, HttpOnly and SameSite=Lax."""
    jar: SimpleCookie = SimpleCookie()
    jar[name] = value
    morsel = jar[name]
    morsel["path"] = path
    morsel["secure"] = True
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    if max_age is not None:
        morsel["max-age"] = max_age
    return b"set-cookie", morsel.OutputString().encode("latin-1")


def clear_cookie(name: str, *, path: str = "/") -> tuple[bytes, bytes]:
    return set_cookie(name, "", max_age=0, path=path)


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
