"""My tickets: every ticket of the signed-in account, filtered by status and searched."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from portal import resources
from portal.pages import require_identity
from portal.rendering import render
from supportdesk.search import matches
from supportdesk.tickets import list_tickets_of

STATUS_FILTERS = ("all", "open", "closed")


async def my_tickets(request: Request) -> Response:
    identity = require_identity(request)
    status = request.query_params.get("status", "all")
    status = status if status in STATUS_FILTERS else "all"
    query = request.query_params.get("q", "").strip()
    tickets = list_tickets_of(resources.table(), identity.account_id)
    shown = [
        t for t in tickets
        if (status == "all" or (status == "closed") == t.is_closed) and matches(t, query)
    ]
    template = "ticket_rows.html" if request.headers.get("hx-target") == "ticket-rows" else "tickets.html"
    return render(request, template, {
        "tickets": shown, "total": len(tickets), "status": status, "query": query,
    })
