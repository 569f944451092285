"""One ticket on the agents' side: the whole thread with notes, the customer, the reply or
note, the changes (status, priority, department, assignee), and who else is on it.

Reading costs two data-store calls (the agent's profile, the ticket's partition); a change
costs two as well (the ticket's head, the transaction, which also checks the session) and
then shows the ticket again (a redirect to the view).
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal import resources, uploads
from portal.pages import LoginRequired, editor_context, form_text, require_agent, session, url, writing_agent
from portal.rendering import render
from supportdesk.agents import agent_of
from supportdesk.attachments import AttachmentRefused
from supportdesk.limits import message_problem
from supportdesk.store import BadCursor
from supportdesk.tickets import (
    AlsoRefused,
    Changes,
    Priority,
    Status,
    Ticket,
    TicketChanged,
    TicketUnconfirmed,
    add_agent_reply,
    add_note,
    change_ticket,
    earlier_thread,
    get_ticket,
    get_ticket_head,
    in_time_order,
    is_ticket_id,
    mark_presence,
    reply_problem,
    requester_tickets,
)


def _ticket(ticket_id: str, *, whole: bool = False) -> Ticket:
    ticket = get_ticket(resources.table(), ticket_id, whole=whole)
    if ticket is None:
        raise HTTPException(404)
    return ticket


# What an agent's change can say it did (templates/_feedback.html), carried by the 303.
DONE = frozenset({"answered", "noted", "changed"})


def ticket_view(request: Request, ticket: Ticket, *, errors: dict[str, str] | None = None, reply: str = "",
                status_code: int = 200, pending: list[dict[str, Any]] | None = None,
                attachment_error: AttachmentRefused | None = None, viewer: Any = None,
                done: str | None = None) -> Response:
    return render(request, "agent_ticket.html", {
        **editor_context(pending, attachment_error),
        **({"viewer": viewer} if viewer is not None else {}),
        "ticket": ticket, "errors": errors or {}, "reply": reply,
        "departments": resources.departments(), "agents": resources.agents(),
        "statuses": list(Status), "priorities_list": list(Priority),
        "done": done if done in DONE else None,
    }, status_code=status_code)


async def view(request: Request) -> Response:
    account, _ = require_agent(request)
    return ticket_view(request, _ticket(request.path_params["id"]), viewer=account,
                       done=request.query_params.get("done"))


def _back_to_view(request: Request, ticket_id: str, done: str) -> Response:
    # Plain forms and htmx alike follow it (htmx's request follows the redirect and shows the
    # view it leads to): the change itself stays at two calls. The view says what was done.
    return RedirectResponse(url(request, "agent_ticket", id=ticket_id, done=done), status_code=303)


def _head(ticket_id: str) -> Ticket:
    head = get_ticket_head(resources.table(), ticket_id)
    if head is None:
        raise HTTPException(404)
    return head


async def write(request: Request) -> Response:
    """An answer to the customer (`kind=reply`) or an agents' note (`kind=note`)."""
    form = await request.form()
    agent = writing_agent(request)
    ticket_id = request.path_params["id"]
    head = _head(ticket_id)
    kind = form_text(form, "kind")
    if kind not in ("reply", "note"):
        raise HTTPException(400)
    message = form_text(form, "message")
    pending = uploads.pending_uploads(form)
    # A note is for agents only: it may go on a ticket not confirmed yet.
    problem = reply_problem(head, message) if kind == "reply" else message_problem(message)
    if problem:
        return ticket_view(request, _ticket(ticket_id), reply=message, errors={"message": problem},
                           status_code=409 if problem == "unconfirmed" else 400, pending=pending)

    def files_refused(refused: AttachmentRefused) -> Response:
        return ticket_view(request, _ticket(ticket_id), reply=message, status_code=400,
                           errors={"attachments": refused.reason}, attachment_error=refused,
                           pending=[p for p in pending if p["filename"] != refused.filename])

    try:
        taken = uploads.claim(request, form, session(request).token_identity())
    except AttachmentRefused as refused:
        return files_refused(refused)
    add = add_agent_reply if kind == "reply" else add_note
    try:
        add(resources.table(), head, agent=agent, body=message, attachments=taken.attachments,
            also=[*taken.actions, session(request).write_check()])
    except AlsoRefused as refused:
        files = taken.refusal(refused.failed)
        if files is not None:
            return files_refused(files)
        session(request).end(revoke=False)
        raise LoginRequired() from None
    except TicketUnconfirmed:
        return ticket_view(request, _ticket(ticket_id), reply=message, errors={"message": "unconfirmed"},
                           status_code=409, pending=pending)
    return _back_to_view(request, ticket_id, "answered" if kind == "reply" else "noted")


def _changes(form: Any, ticket: Ticket) -> Changes:
    status = Status.parse(form_text(form, "status")) if form_text(form, "status") else None
    priority = Priority.parse(form_text(form, "priority")) if form_text(form, "priority") else None
    department = form_text(form, "department") or None
    assignee_id = form_text(form, "assignee")
    if form_text(form, "status") and status is None:
        raise HTTPException(400, "unknown-status")
    if form_text(form, "priority") and priority is None:
        raise HTTPException(400, "unknown-priority")
    departments = resources.departments()
    if department and department not in departments:
        raise HTTPException(400, "unknown-department")
    # A disabled department takes no new tickets, and a ticket moved in would be one.
    if department and department != ticket.department and not departments[department].enabled:
        raise HTTPException(400, "department-disabled")
    agents = resources.agents()
    if assignee_id not in ("", "none") and assignee_id not in agents:
        raise HTTPException(400, "unknown-agent")
    return Changes(status=status, priority=priority, department=department,
                   assignee=agents.get(assignee_id), unassign=assignee_id == "none")


async def change(request: Request) -> Response:
    """Status, priority, department, assignee: refused if the ticket changed since the page
    the agent chose them on (its `version`)."""
    form = await request.form()
    agent = writing_agent(request)
    ticket_id = request.path_params["id"]
    head = _head(ticket_id)
    changes = _changes(form, head)
    seen = form_text(form, "version")
    if not seen.isdigit() or int(seen) != head.version:
        return ticket_view(request, _ticket(ticket_id), errors={"changes": "stale"}, status_code=409)
    try:
        change_ticket(resources.table(), head, changes, agent=agent, also=[session(request).write_check()])
    except AlsoRefused:
        session(request).end(revoke=False)
        raise LoginRequired() from None
    except TicketChanged:
        return ticket_view(request, _ticket(ticket_id), errors={"changes": "stale"}, status_code=409)
    return _back_to_view(request, ticket_id, "changed")


async def presence(request: Request) -> Response:
    """This agent is on the ticket (writing, or reading); who else is: one UpdateItem."""
    form = await request.form()
    account, _ = require_agent(request)
    ticket = mark_presence(resources.table(), request.path_params["id"], agent_of(account),
                           writing=form_text(form, "writing") == "1")
    if ticket is None:
        raise HTTPException(404)
    return render(request, "agent_presence.html", {"viewer": account, "others": ticket.viewers_besides(account.id)})


async def related(request: Request) -> Response:
    """The customer's other tickets (loaded after the view): an account's, or a guest's by address."""
    account, _ = require_agent(request)
    owner = request.query_params.get("account") or None
    email = request.query_params.get("email", "")
    if not owner and "@" not in email:
        raise HTTPException(400)
    tickets = requester_tickets(resources.table(), account_id=owner, email=email, besides=request.path_params["id"])
    return render(request, "agent_related.html", {"viewer": account, "tickets": tickets})


async def download(request: Request) -> Response:
    require_agent(request)
    return uploads.send_download(_ticket(request.path_params["id"], whole=True), request.path_params["attachment_id"])


async def original_mail(request: Request) -> Response:
    require_agent(request)
    return uploads.send_original_mail(_ticket(request.path_params["id"], whole=True), request.path_params["sequence"])


async def earlier(request: Request) -> Response:
    """The page of older messages (notes included) and changes of status of a long thread."""
    account, _ = require_agent(request)
    ticket_id = request.path_params["id"]
    if not is_ticket_id(ticket_id):
        raise HTTPException(404)
    try:
        messages, events, cursor = earlier_thread(resources.table(), ticket_id, request.query_params.get("cursor", ""))
    except BadCursor:
        raise HTTPException(400, "bad-cursor") from None
    return render(request, "thread_earlier.html", {
        "viewer": account, "ticket": {"id": ticket_id, "thread": in_time_order(messages, events), "earlier": cursor},
        "key": None,
        "routes": {"attachment": "agent_attachment", "original": "agent_original_mail", "earlier": "agent_earlier"}})
