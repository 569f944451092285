"""Who is calling: the ID token in the session cookie, verified on first use.

The middleware gives each request a lazy `Session`: a handler that asks for the identity
pays for verification (and, when the ID token has expired, one refresh at Cognito whose
new token is set as a cookie on the way out); a handler that does not ask pays nothing.
"""

from __future__ import annotations

from typing import Any, Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from portal import cookies, resources
from supportdesk.auth import (
    ExpiredToken,
    Identity,
    InvalidToken,
    Tokens,
    TokenVerifier,
    refresh_session,
    revoke_session,
)

API_PATH = "/api"


class Session:
    def __init__(
        self,
        values: dict[str, str],
        verifier: Callable[[], TokenVerifier],
        cognito: Callable[[], Any],
        client_id: Callable[[], str],
    ) -> None:
        self._values = values
        self._verifier = verifier
        self._cognito = cognito
        self._client_id = client_id
        self._identity: Identity | None = None
        self._checked = False
        self.headers: list[tuple[bytes, bytes]] = []

    def identity(self) -> Identity | None:
        if not self._checked:
            self._checked = True
            self._identity = self._verify()
        return self._identity

    def _verify(self) -> Identity | None:
        id_token = self._values.get(cookies.ID_TOKEN)
        refresh_token = self._values.get(cookies.REFRESH_TOKEN)
        if not id_token:
            return None
        try:
            return self._verifier().verify(id_token)
        except ExpiredToken:
            if not refresh_token:
                return None
        except InvalidToken:
            self.end(revoke=False)
            return None
        try:
            tokens = refresh_session(self._cognito(), self._client_id(), refresh_token)
            identity = self._verifier().verify(tokens.id_token)
        except InvalidToken:
            self.end(revoke=False)
            return None
        self.start(tokens)
        return identity

    def start(self, tokens: Tokens) -> None:
        self._checked = False
        self.headers = [
            cookies.set_cookie(cookies.ID_TOKEN, tokens.id_token,
                               max_age=cookies.SESSION_MAX_AGE, path=API_PATH),
        ]
        if tokens.refresh_token:
            self.headers.append(cookies.set_cookie(
                cookies.REFRESH_TOKEN, tokens.refresh_token,
                max_age=cookies.SESSION_MAX_AGE, path=API_PATH,
            ))
        self._values[cookies.ID_TOKEN] = tokens.id_token

    def end(self, *, revoke: bool = True) -> None:
        refresh_token = self._values.pop(cookies.REFRESH_TOKEN, None)
        self._values.pop(cookies.ID_TOKEN, None)
        if revoke and refresh_token:
            revoke_session(self._cognito(), self._client_id(), refresh_token)
        self._identity, self._checked = None, True
        self.headers = [
            cookies.clear_cookie(cookies.ID_TOKEN, path=API_PATH),
            cookies.clear_cookie(cookies.REFRESH_TOKEN, path=API_PATH),
        ]


class SessionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = Session(
            cookies.read_cookies(scope["headers"]),
            resources.token_verifier,
            resources.cognito,
            lambda: resources.settings().user_pool_client_id,
        )
        scope.setdefault("state", {})["session"] = session
        await self.app(scope, receive, cookies.sending_headers(send, lambda: session.headers))
