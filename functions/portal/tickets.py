"""My tickets: the signed-in account's tickets, a page at a time, by status, or searched.

Each request reads one bounded page whatever the size of the archive: the first 25 (or
those after a cursor) of all, of the open or of the closed ones, each list an index of its
own; a ticket ID is one GetItem (and the access rule); words, the search index.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal import resources
from portal.pages import LoginRequired, require_identity, session
from portal.rendering import render
from supportdesk.access import CUSTOMER, access_to
from supportdesk.search_index import lookup
from supportdesk.store import BadCursor
from supportdesk.tickets import Ticket, get_ticket_head, is_ticket_id, owner_key, tickets_page

STATUS_FILTERS = ("all", "open", "closed")


def _by_words(request: Request, query: str, cursor: str | None) -> tuple[list[Ticket], str | None]:
    """The customer's tickets with these words: the index's page of candidates, then their
    heads and other words with the caller's profile (which checks the session) in one read."""
    identity = session(request).token_identity()
    if identity is None:
        raise LoginRequired()
    found = lookup(resources.table(), owner_key(identity.account_id, ""), query, cursor=cursor)
    account, items = session(request).account_with(found.keys() if found else [])
    if account is None:
        raise LoginRequired()
    return (found.results(items), found.cursor) if found else ([], None)


async def my_tickets(request: Request) -> Response:
    status = request.query_params.get("status", "all")
    status = status if status in STATUS_FILTERS else "all"
    query = request.query_params.get("q", "").strip()[:200]
    cursor = request.query_params.get("cursor") or None
    table = resources.table()
    try:
        if query and not is_ticket_id(query.upper()):
            shown, next_cursor = _by_words(request, query, cursor)
        else:
            identity = require_identity(request)
            if query:
                found = get_ticket_head(table, query.upper())
                mine = found is not None and access_to(found, account_id=identity.account_id) in CUSTOMER
                shown, next_cursor = ([found] if mine and found else []), None
            else:
                shown, next_cursor = tickets_page(table, owner_key(identity.account_id, ""), state=status,
                                                  cursor=cursor)
    except BadCursor:
        raise HTTPException(400, "bad-cursor") from None
    template = "ticket_rows.html" if request.headers.get("hx-target") == "ticket-rows" else "tickets.html"
    return render(request, template, {
        "tickets": shown, "status": status, "query": query, "cursor": cursor, "next_cursor": next_cursor,
        "filtered": bool(query) or status != "all",
    })
