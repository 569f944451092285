"""The signed-in home page: the greeting and the way to the customer's tickets."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from portal.pages import go_to_screen, require_account
from portal.rendering import render


async def home_page(request: Request) -> Response:
    account = require_account(request)
    if account.is_agent:  # an agent's home is the queue
        return go_to_screen(request, "agent_queue")
    return render(request, "home.html", {"account": account, "viewer": account})
