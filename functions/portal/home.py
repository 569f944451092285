"""The signed-in home page: the greeting, the customer's open tickets and the departments,
so the form is one click away.

A visit costs two data-store calls: the profile, and one page of the open tickets (index
OwnerState). Right after a login, whose page this is too, the login's rate window and the
profile have spent those two: the list then follows in a request of its own.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from portal import resources
from portal.pages import go_to_screen, require_account
from portal.rendering import render
from supportdesk.tickets import owner_key, tickets_page

# The open tickets a home page shows: the rest are a "More tickets" away.
HOME_OPEN_TICKETS = 10


async def home_page(request: Request) -> Response:
    account = require_account(request)
    if account.is_agent:  # an agent's home is the queue
        return go_to_screen(request, "agent_queue")
    just_logged_in = request.method == "POST"  # login.log_in answers with this page
    open_tickets, next_cursor = (None, None) if just_logged_in else tickets_page(
        resources.table(), owner_key(account.id, ""), state="open", size=HOME_OPEN_TICKETS)
    return render(request, "home.html", {
        "account": account, "viewer": account, "open_tickets": open_tickets, "next_cursor": next_cursor,
        "departments": list(resources.departments().values()),
    })
