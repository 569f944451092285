"""The frame every middleware of the portal shares: pure ASGI, HTTP requests only.

Each middleware gets one `Exchange` per request, which has read what they all start
from (the request's state, headers and cookies) and carries what they change (the
`receive` and `send` the app is then called with).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from portal import cookies


class Exchange:
    """One HTTP request on its way through a middleware, and its response on the way back."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send
        # What the handlers read as request.state.
        self.state: dict[str, Any] = scope.setdefault("state", {})

    @cached_property
    def headers(self) -> dict[bytes, bytes]:
        """The request's headers by (lower-case) name; of a repeated one, the last."""
        return dict(self.scope["headers"])

    @cached_property
    def cookies(self) -> dict[str, str]:
        return cookies.read_cookies(self.scope["headers"])

    def add_response_headers(self, headers: Callable[[], list[tuple[bytes, bytes]]]) -> None:
        """Start the response with the headers `headers()` gives at that moment (it may
        change while the request is handled: a login sets cookies)."""
        self.send = cookies.sending_headers(self.send, headers)

    def request(self) -> Request:
        return Request(self.scope, self.receive)


class HttpMiddleware:
    """Runs `handle` for HTTP requests; anything else (lifespan) passes straight through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(Exchange(scope, receive, send))

    async def handle(self, exchange: Exchange) -> None:
        """Answer the request itself, or `forward` it."""
        raise NotImplementedError

    async def forward(self, exchange: Exchange) -> None:
        """Hand the request on to the app, with the `receive` and `send` it has now."""
        await self.app(exchange.scope, exchange.receive, exchange.send)
