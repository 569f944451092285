"""Which language a request is answered in: ?lang=, then the cookie it sets, then Accept-Language."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

from portal import cookies
from portal.middleware import HttpMiddleware
from supportdesk.i18n import negotiate_language, supported


class LanguageMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        chosen = supported((query.get("lang") or [None])[0])
        saved = supported(cookies.read_cookies(scope["headers"]).get(cookies.LANGUAGE))
        accept = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept-language"), None)
        language = chosen or saved or negotiate_language(accept)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["language"] = language
        extra = []
        if chosen and chosen != saved:
            # The switcher's choice outlives this page.
            extra.append(cookies.set_cookie(cookies.LANGUAGE, chosen, max_age=cookies.LANGUAGE_MAX_AGE))
        await self.app(scope, receive, cookies.sending_headers(send, lambda: extra))
