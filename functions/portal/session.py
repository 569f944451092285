"""Who is calling: the ID token in the session cookie, verified on first use.

The middleware gives each request a lazy `Session`: a handler that asks for the identity
pays for verification (and, when the ID token has expired, one refresh at Cognito whose
new token is set as a cookie on the way out); a handler that does not ask pays nothing.

A session also carries its start, in a cookie signed with the server's key: after a
password reset the profile says from when sessions count again (Account.sessions_after),
and every earlier browser is out at once, although its ID token is still genuine. The
check costs no extra call: it is the profile read the page needs anyway, or, for a write
that needs no profile, a condition in the write's own transaction (`write_check`).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Callable

from portal import cookies, resources
from portal.middleware import Exchange, HttpMiddleware
from supportdesk.accounts import Account, account_from_item, get_account, profile_key, session_check
from supportdesk.auth import (
    ExpiredToken,
    Identity,
    InvalidToken,
    Tokens,
    TokenVerifier,
    refresh_session,
    revoke_session,
)
from supportdesk.signing import sign, unsign
from supportdesk.store import Item, Table


class Session:
    def __init__(
        self,
        values: dict[str, str],
        verifier: Callable[[], TokenVerifier],
        cognito: Callable[[], Any],
        client_id: Callable[[], str],
        key: Callable[[], bytes],
        table: Callable[[], Table],
        rebind: Callable[[str], None] = lambda started: None,
    ) -> None:
        self._values = values
        self._verifier = verifier
        self._cognito = cognito
        self._client_id = client_id
        self._key = key
        self._table = table
        self._rebind = rebind
        self._identity: Identity | None = None
        self._checked = False
        self._account: Account | None = None
        self._account_read = False
        self.headers: list[tuple[bytes, bytes]] = []

    def token_identity(self) -> Identity | None:
        """The caller as its tokens say, not yet checked against the profile (no data-store call).

        Only for a write that carries `write_check` in its transaction.
        """
        if not self._checked:
            self._checked = True
            self._identity = self._verify()
        return self._identity

    def identity(self) -> Identity | None:
        """The caller, checked against the profile (one GetItem, shared with `account`)."""
        self.account()
        return self._identity

    def account(self) -> Account | None:
        """The caller's profile, if the session is still good (None too for a login without one)."""
        if not self._account_read:
            identity = self.token_identity()
            self._accept(get_account(self._table(), identity.account_id) if identity else None)
        return self._account

    def account_with(self, keys: list[tuple[str, str]]) -> tuple[Account | None, list[Item]]:
        """The caller's profile (as `account`) and the items of `keys`, in one BatchGetItem."""
        identity = self.token_identity()
        if identity is None or self._account_read:
            return self.account(), self._table().batch_get(keys) if keys else []
        profile = profile_key(identity.account_id)
        items = self._table().batch_get([profile, *keys])
        mine = next((i for i in items if (i["PK"], i["SK"]) == profile), None)
        self._accept(account_from_item(mine) if mine else None)
        return self._account, [i for i in items if i is not mine]

    def _accept(self, account: Account | None) -> None:
        self._account_read = True
        identity = self._identity
        self._account = account
        if identity and account and not account.accepts_session(identity.session_started):
            self.end(revoke=False)
            self._account = None

    def viewer(self) -> Account | Identity | None:
        """Who the page header shows, from what this request already read (no call): the
        profile when it was read, else the token's identity, else nobody."""
        if self._account_read and self._account is not None:
            return self._account
        return self._identity if self._checked else None

    def write_check(self) -> dict[str, Any]:
        """The transaction action that makes a write fail if this session was ended meanwhile."""
        identity = self.token_identity()
        if identity is None:
            raise RuntimeError("write_check needs a signed-in caller")
        return session_check(self._table(), identity.account_id, identity.session_started)

    def _started(self) -> tuple[str, int] | None:
        signed = self._values.get(cookies.SESSION_START)
        value = unsign(self._key(), signed) if signed else None
        account_id, colon, started = (value or "").rpartition(":")
        return (account_id, int(started)) if colon and started.isdigit() else None

    def _verify(self) -> Identity | None:
        id_token = self._values.get(cookies.ID_TOKEN)
        refresh_token = self._values.get(cookies.REFRESH_TOKEN)
        started = self._started()
        if not id_token:
            return None
        if started is None:  # not a session this server began
            self.end(revoke=False)
            return None
        identity: Identity | None
        try:
            identity = self._verifier().verify(id_token)
        except ExpiredToken:
            identity = self._refreshed(refresh_token)
        except InvalidToken:
            identity = None
        if identity is None or identity.account_id != started[0]:
            self.end(revoke=False)
            return None
        return replace(identity, session_started=started[1])

    def _refreshed(self, refresh_token: str | None) -> Identity | None:
        if not refresh_token:
            return None
        try:
            tokens = refresh_session(self._cognito(), self._client_id(), refresh_token)
            identity = self._verifier().verify(tokens.id_token)
        except InvalidToken:
            return None
        self._set_tokens(tokens)
        return identity

    def start(self, tokens: Tokens) -> None:
        """A new session for these tokens (just issued by a login)."""
        identity = self._verifier().verify(tokens.id_token)
        started = time.time_ns() // 1_000_000
        self._values[cookies.SESSION_START] = sign(self._key(), f"{identity.account_id}:{started}")
        self._set_tokens(tokens)
        self.headers.append(cookies.set_cookie(cookies.SESSION_START, self._values[cookies.SESSION_START],
                                               max_age=cookies.SESSION_MAX_AGE))
        self._checked = self._account_read = False
        self._rebind(self._values[cookies.SESSION_START])

    def _set_tokens(self, tokens: Tokens) -> None:
        self.headers = [cookies.set_cookie(cookies.ID_TOKEN, tokens.id_token, max_age=cookies.SESSION_MAX_AGE)]
        if tokens.refresh_token:
            self.headers.append(cookies.set_cookie(
                cookies.REFRESH_TOKEN, tokens.refresh_token, max_age=cookies.SESSION_MAX_AGE))
        self._values[cookies.ID_TOKEN] = tokens.id_token

    def end(self, *, revoke: bool = True) -> None:
        refresh_token = self._values.pop(cookies.REFRESH_TOKEN, None)
        self._values.pop(cookies.ID_TOKEN, None)
        self._values.pop(cookies.SESSION_START, None)
        if revoke and refresh_token:
            revoke_session(self._cognito(), self._client_id(), refresh_token)
        self._identity, self._checked = None, True
        self._account, self._account_read = None, True
        self.headers = [cookies.clear_cookie(name)
                        for name in (cookies.ID_TOKEN, cookies.REFRESH_TOKEN, cookies.SESSION_START)]
        self._rebind("")


class SessionMiddleware(HttpMiddleware):
    async def handle(self, exchange: Exchange) -> None:
        state = exchange.state

        def rebind(started: str) -> None:
            # The page this request renders carries the token of the session it ends with.
            if "csrf_token_for" in state:
                state["csrf_token"] = state["csrf_token_for"](started)

        session = Session(
            exchange.cookies,
            resources.token_verifier,
            resources.cognito,
            lambda: resources.settings().user_pool_client_id,
            resources.session_key,
            resources.table,
            rebind,
        )
        state["session"] = session
        exchange.add_response_headers(lambda: session.headers)
        await self.forward(exchange)
