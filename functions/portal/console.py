"""The agents' console: the queue, search, and saved replies (pages under /agent/).

Everything here answers 404 to customers and guests (pages.require_agent). The queue is one
page of the sparse queue index per request, the longest waiting first, with the counts per
department read together with the agent's profile: two data-store calls a page.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal import resources
from portal.pages import editor_context, form_text, go_to, require_agent, session, url
from portal.rendering import render
from supportdesk.agents import (
    InvalidSavedReply,
    SearchResult,
    agent_of,
    remove_saved_reply,
    save_reply,
    saved_replies,
    search_tickets,
)
from supportdesk.search_index import Lookup
from supportdesk.store import BadCursor, ConditionFailed
from supportdesk.tickets import (
    AWAITING_AGENT,
    Priority,
    QueueFilter,
    Status,
    Ticket,
    queue_count_keys,
    queue_counts,
    queue_page,
    waited_minutes,
)


def _choice(request: Request, name: str, allowed: set[str] | dict[str, Any]) -> str | None:
    """A filter's value from the query: empty is "any"; one not offered is refused (400)."""
    value = request.query_params.get(name, "")
    if value and value not in allowed:
        raise HTTPException(400, "unknown-filter")
    return value or None


def queue_rows(tickets: list[Ticket], now: datetime) -> list[dict[str, Any]]:
    """Each waiting ticket with how long it has waited and whether that is past its target."""
    settings = resources.settings()
    rows = []
    for ticket in tickets:
        waited = waited_minutes(ticket, now)
        target = settings.target_minutes(ticket.priority._value_)
        rows.append({"ticket": ticket, "waited": waited, "target": target, "late": waited > target})
    return rows


async def queue(request: Request) -> Response:
    departments = resources.departments()
    account, items = require_agent(request, queue_count_keys(list(departments)))
    agents = resources.agents()
    department = _choice(request, "department", departments)
    status = _choice(request, "status", {s._value_ for s in AWAITING_AGENT})
    priority = _choice(request, "priority", {p._value_ for p in Priority})
    assignee = _choice(request, "assignee", {"me", *agents})
    wanted = QueueFilter(department=department, status=Status.parse(status or ""),
                         priority=Priority.parse(priority or ""),
                         assignee_id=account.id if assignee == "me" else assignee)
    cursor = request.query_params.get("cursor") or None
    try:
        tickets, next_cursor = queue_page(resources.table(), wanted, cursor=cursor)
    except BadCursor:
        raise HTTPException(400, "bad-cursor") from None
    filters = {"department": department, "status": status, "priority": priority, "assignee": assignee}
    context = {
        "agent": account, "viewer": account, "departments": departments, "agents": agents,
        "counts": queue_counts(items), "rows": queue_rows(tickets, datetime.now(timezone.utc)),
        "filters": filters, "cursor": cursor, "next_cursor": next_cursor,
        "awaiting": [s for s in Status if s in AWAITING_AGENT], "priorities_list": list(Priority),
    }
    # The list refreshing itself (htmx polling) asks for the list alone.
    template = "agent_queue_rows.html" if request.headers.get("hx-target") == "queue" else "agent_queue.html"
    return render(request, template, context)


async def search(request: Request) -> Response:
    identity = session(request).token_identity()
    if identity is None or not identity.is_agent:
        raise HTTPException(404)
    query = request.query_params.get("q", "")[:200]
    cursor = request.query_params.get("cursor") or None
    try:
        found = search_tickets(resources.table(), query, cursor=cursor) if query.strip() else None
    except BadCursor:
        raise HTTPException(400, "bad-cursor") from None
    # Words: the candidates' heads and other words are read with the agent's profile.
    account, items = require_agent(request, found.keys() if isinstance(found, Lookup) else [])
    result = SearchResult(found.results(items), found.cursor, "words") if isinstance(found, Lookup) else found
    template = "agent_search_rows.html" if request.headers.get("hx-target") == "search-rows" else "agent_search.html"
    return render(request, template, {"viewer": account, "query": query, "result": result, "cursor": cursor,
                                      "departments": resources.departments()})


async def saved_page(request: Request, *, department: str | None = None, errors: dict[str, str] | None = None,
                     values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    account, _ = require_agent(request)
    departments = resources.departments()
    chosen = department or request.query_params.get("department") or next(iter(departments), "")
    if chosen not in departments:
        raise HTTPException(404)
    return render(request, "agent_saved.html", {
        **editor_context(),
        "viewer": account, "departments": departments, "department": chosen,
        "replies": saved_replies(resources.table(), chosen), "errors": errors or {},
        "values": values or {"title": "", "body": ""},
    }, status_code=status_code)


async def saved_list(request: Request) -> Response:
    return await saved_page(request)


async def saved_picker(request: Request) -> Response:
    """The saved replies of a ticket's department, to insert in the reply being written."""
    account, _ = require_agent(request)
    department = request.query_params.get("department", "")
    if department not in resources.departments():
        raise HTTPException(404)
    return render(request, "agent_saved_picker.html", {
        "viewer": account, "replies": saved_replies(resources.table(), department), "department": department})


async def save(request: Request) -> Response:
    form = await request.form()
    account, _ = require_agent(request)
    department = form_text(form, "department")
    if department not in resources.departments():
        raise HTTPException(404)
    values = {"title": form_text(form, "title"), "body": form_text(form, "message")}
    try:
        save_reply(resources.table(), department=department, title=values["title"], body=values["body"],
                   author=agent_of(account))
    except InvalidSavedReply as invalid:
        return await saved_page(request, department=department, errors={invalid.field: invalid.reason},
                                values=values, status_code=400)
    return go_to(request, url(request, "agent_saved", department=department))


async def unsave(request: Request) -> Response:
    await request.form()
    require_agent(request)
    department = request.path_params["department"]
    if department not in resources.departments():
        raise HTTPException(404)
    try:
        remove_saved_reply(resources.table(), department, request.path_params["reply_id"])
    except ConditionFailed:
        raise HTTPException(404) from None
    return go_to(request, url(request, "agent_saved", department=department))
