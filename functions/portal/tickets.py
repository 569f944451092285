"""My tickets: the signed-in account's tickets, a page at a time, by status, or searched.

Each request reads one bounded page whatever the size of the archive: the first 25 (or
those after a cursor) of all, of the open or of the closed ones, each list an index of its
own; a ticket ID is one GetItem (and the access rule); words filter one bounded read.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal import resources
from portal.pages import require_identity
from portal.rendering import render
from supportdesk.access import CUSTOMER, access_to
from supportdesk.search import words
from supportdesk.store import BadCursor
from supportdesk.tickets import get_ticket_head, is_ticket_id, owner_key, tickets_page

STATUS_FILTERS = ("all", "open", "closed")


async def my_tickets(request: Request) -> Response:
    identity = require_identity(request)
    status = request.query_params.get("status", "all")
    status = status if status in STATUS_FILTERS else "all"
    query = request.query_params.get("q", "").strip()[:200]
    cursor = request.query_params.get("cursor") or None
    table = resources.table()
    if is_ticket_id(query.upper()):
        found = get_ticket_head(table, query.upper())
        mine = found is not None and access_to(found, account_id=identity.account_id) in CUSTOMER
        shown, next_cursor = ([found] if mine and found else []), None
    else:
        try:
            shown, next_cursor = tickets_page(table, owner_key(identity.account_id, ""), state=status,
                                              cursor=cursor, words=words(query))
        except BadCursor:
            raise HTTPException(400, "bad-cursor") from None
    template = "ticket_rows.html" if request.headers.get("hx-target") == "ticket-rows" else "tickets.html"
    return render(request, template, {
        "tickets": shown, "status": status, "query": query, "cursor": cursor, "next_cursor": next_cursor,
        "filtered": bool(query) or status != "all",
    })
