"""Which language a request is answered in: ?lang=, then the cookie it sets, then Accept-Language."""

from __future__ import annotations

from urllib.parse import parse_qs

from portal import cookies
from portal.middleware import Exchange, HttpMiddleware
from supportdesk.i18n import negotiate_language, supported


class LanguageMiddleware(HttpMiddleware):
    async def handle(self, exchange: Exchange) -> None:
        scope = exchange.scope
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        chosen = supported((query.get("lang") or [None])[0])
        saved = supported(exchange.cookies.get(cookies.LANGUAGE))
        accept = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept-language"), None)
        language = chosen or saved or negotiate_language(accept)
        exchange.state["language"] = language
        extra = []
        if chosen and chosen != saved:
            # The switcher's choice outlives this page.
            extra.append(cookies.set_cookie(cookies.LANGUAGE, chosen, max_age=cookies.LANGUAGE_MAX_AGE))
        exchange.add_response_headers(lambda: extra)
        await self.forward(exchange)
