"""Tickets in the portal: departments, the form, my tickets, the thread, replies.

Handlers adapt HTTP to the domain (supportdesk.opening, .tickets, .search, .advice) and
choose the page; they hold no business rules. Each customer action costs at most two
data-store calls: the account or the ticket it acts on, and the write.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools import Logger
from starlette.background import BackgroundTask
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal import resources, uploads
from portal.pages import LoginRequired, client_key, go_to, optional_identity, require_identity, session
from portal.rendering import is_htmx, render
from supportdesk.access import CUSTOMER, Access, access_to
from supportdesk.accounts import Account
from supportdesk.advice import MIN_MESSAGE_CHARS, MIN_MESSAGE_WORDS, is_generic_subject, same_subject
from supportdesk.attachments import AttachmentRefused
from supportdesk.channels import Held, deliver
from supportdesk.departments import Department
from supportdesk.limits import is_too_large, message_problem
from supportdesk.opening import InvalidTicket, TicketRequest, open_ticket
from supportdesk.ratelimit import Limit, first_reached
from supportdesk.search import matches, similar_tickets
from supportdesk.tickets import (
    AlsoRefused,
    Ticket,
    TicketChanged,
    add_customer_reply,
    close_ticket,
    confirm_ticket,
    get_ticket,
    is_ticket_id,
    list_tickets_of,
)

logger = Logger()

STATUS_FILTERS = ("all", "open", "closed")
# Rendering is linear and capped at MAX_MESSAGE_BYTES, but anyone may ask: per client.
PREVIEWS_PER_CLIENT = 120
PREVIEW_WINDOW_SECONDS = 10 * 60


# --- departments and the form ---------------------------------------------------------

async def departments_page(request: Request) -> Response:
    optional_identity(request)  # the header shows who is signed in
    return render(request, "departments.html", {"departments": list(resources.departments().values())})


def _department_or_404(slug: str) -> Department:
    department = resources.departments().get(slug)
    if department is None:
        raise HTTPException(404)
    return department


def _editor_context(pending: list[dict[str, Any]] | None,
                    attachment_error: AttachmentRefused | None) -> dict[str, Any]:
    """What the message editor and the Attachments field need, on any page that has them."""
    return {
        "policy": resources.attachment_policy(),
        "uploads": pending or [],
        "attachment_error": attachment_error,
        "coach": {"chars": MIN_MESSAGE_CHARS, "words": MIN_MESSAGE_WORDS},
    }


def _form_page(request: Request, *, values: TicketRequest, account: Account | None,
               errors: dict[str, str] | None = None,
               preview: str | None = None, status_code: int = 200,
               pending: list[dict[str, Any]] | None = None,
               attachment_error: AttachmentRefused | None = None) -> Response:
    departments = resources.departments()
    return render(request, "ticket_form.html", {
        **_editor_context(pending, attachment_error),
        "values": values,
        "department": departments.get(values.department),
        "account": account,
        "errors": errors or {},
        "preview": preview,
    }, status_code=status_code)


async def new_ticket_form(request: Request) -> Response:
    department = _department_or_404(request.query_params.get("department", ""))
    account = session(request).account()
    if not department.admits(account):
        raise LoginRequired()
    values = TicketRequest(department=department.slug, subject="", message="")
    return _form_page(request, values=values, account=account)


async def submit_ticket(request: Request) -> Response:
    form = await request.form()
    values = TicketRequest.from_form({name: _form_text(form, name) for name in form})
    account = session(request).account()
    if form.get("preview"):  # the Preview button of a browser without JavaScript
        return _form_page(request, values=values, account=account, preview=values.message)
    pending = uploads.pending_uploads(form)
    events = Held()
    try:
        ticket = open_ticket(resources.table(), values, departments=resources.departments(), account=account,
                             language=request.state.language, client=client_key(request), emit=events,
                             attach=lambda: uploads.link(request, form, optional_identity(request)))
    except InvalidTicket as invalid:
        status = 429 if invalid.errors.get("form") == "rate-limited" else 400
        return _form_page(request, values=values, account=account, errors=invalid.errors,
                          status_code=status, pending=pending)
    except AttachmentRefused as refused:
        return _form_page(request, values=values, account=account,
                          errors={"attachments": refused.reason}, status_code=400,
                          pending=[p for p in pending if p["filename"] != refused.filename],
                          attachment_error=refused)
    if not ticket.confirmed:
        # A guest's address proves itself first: the page says where to look, the mail (our
        # words only) carries the link, and the ticket waits outside the queue until then.
        response = _guest_waiting(request, ticket.id)
    elif is_htmx(request):
        response = _ticket_page(request, ticket, Access.OWNER, None, created=True)
        response.headers["HX-Push-Url"] = _static_ticket_path(ticket, None)
    else:
        response = go_to(request, _api_ticket_path(ticket, None, created="1"))
    return _then_deliver(response, events)


def _then_deliver(response: Response, events: Held) -> Response:
    """The events' channels (the mails) run after the response: a slow mail never slows a
    page, and a stored ticket is never lost because a mail failed."""
    if events.events:
        response.background = BackgroundTask(lambda: deliver(events.events, resources.outlet()))
    return response


def _guest_waiting(request: Request, ticket_id: str) -> Response:
    if is_htmx(request):
        return render(request, "guest_waiting.html", {"ticket_id": ticket_id})
    return go_to(request, f"/api/tickets/{ticket_id}/waiting")


async def guest_waiting(request: Request) -> Response:
    """"Look in your mail": says nothing of the ticket beyond the ID in the address itself."""
    ticket_id = request.path_params["ticket_id"]
    if not is_ticket_id(ticket_id):
        raise HTTPException(404)
    return render(request, "guest_waiting.html", {"ticket_id": ticket_id})


async def confirm(request: Request) -> Response:
    """The guest's address confirmed the ticket (a button: mail scanners follow links, not forms)."""
    form = await request.form()
    key = _form_text(form, "key") or None
    ticket, access = _ticket_for(request, request.path_params["ticket_id"], key)
    events = Held()
    if not ticket.confirmed:
        try:
            ticket = confirm_ticket(resources.table(), ticket, guest_key=key, emit=events)
        except TicketChanged:  # confirmed meanwhile (a second click): that one sends the mail
            ticket, access = _ticket_for(request, ticket.id, key)
    return _then_deliver(_after_change(request, ticket, access, key), events)


async def preview(request: Request) -> Response:
    form = await request.form()
    message = _form_text(form, "message")
    if is_too_large(message):
        return render(request, "error.html", {"reason": "message-too-large"}, status_code=413)
    if first_reached(resources.table(), Limit("preview-client", client_key(request), PREVIEWS_PER_CLIENT,
                                              PREVIEW_WINDOW_SECONDS)):
        return render(request, "error.html", {"reason": "rate-limited"}, status_code=429)
    return render(request, "preview.html", {"preview": message})


async def subject_advice(request: Request) -> Response:
    """While the subject is typed: is it generic, a repeat, like earlier tickets?"""
    subject = request.query_params.get("subject", "")
    identity = optional_identity(request)
    tickets = list_tickets_of(resources.table(), identity.account_id) if identity and subject.strip() else []
    repeated = same_subject(tickets, subject)
    similar = [t for t in similar_tickets(tickets, subject) if t is not repeated]
    return render(request, "subject_advice.html", {
        "generic": is_generic_subject(subject), "repeated": repeated, "similar": similar,
    })


# --- my tickets and the thread ----------------------------------------------------------

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


def _ticket_for(request: Request, ticket_id: str, key: str | None, *,
                for_write: bool = False) -> tuple[Ticket, Access]:
    """The ticket if this caller may see it as its customer (supportdesk.access). Else 404.

    `for_write`: the session is checked by the write itself (Session.write_check), not by a
    profile read, so the action stays at two data-store calls.
    """
    identity = session(request).token_identity() if for_write else optional_identity(request)
    ticket = get_ticket(resources.table(), ticket_id)
    access = access_to(ticket, account_id=identity.account_id if identity else None, guest_key=key) if ticket else None
    if ticket is None or access is None or access not in CUSTOMER:
        # Someone else's ticket looks exactly like one that does not exist.
        raise HTTPException(404)
    return ticket, access


def _api_ticket_path(ticket: Ticket, key: str | None, **extra: str) -> str:
    query = urlencode({**({"key": key} if key else {}), **extra})
    return f"/api/tickets/{ticket.id}" + (f"?{query}" if query else "")


def _static_ticket_path(ticket: Ticket, key: str | None) -> str:
    return f"/ticket.html?{urlencode({'id': ticket.id, **({'key': key} if key else {})})}"


def _ticket_page(request: Request, ticket: Ticket, access: Access, key: str | None,
                 *, created: bool = False, reply: str = "", errors: dict[str, str] | None = None,
                 status_code: int = 200, pending: list[dict[str, Any]] | None = None,
                 attachment_error: AttachmentRefused | None = None) -> Response:
    return render(request, "ticket.html", {
        **_editor_context(pending, attachment_error),
        "ticket": ticket,
        # The key stays in the page's links and forms only for whom it is the way in.
        "key": key if access is Access.GUEST else None,
        "created": created,
        "reply": reply,
        "errors": errors or {},
    }, status_code=status_code)


async def ticket_page(request: Request) -> Response:
    key = request.query_params.get("key")
    ticket, access = _ticket_for(request, request.path_params["ticket_id"], key)
    return _ticket_page(request, ticket, access, key, created=request.query_params.get("created") == "1")


def _form_text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _after_change(request: Request, ticket: Ticket, access: Access, key: str | None) -> Response:
    if is_htmx(request):
        return _ticket_page(request, ticket, access, key)
    return go_to(request, _api_ticket_path(ticket, key))


def _writer_checks(request: Request, access: Access) -> list[dict[str, Any]]:
    """The owner's session must still be good when the write lands (a guest has no session)."""
    return [session(request).write_check()] if access is Access.OWNER else []


def _session_ended(request: Request) -> Response:
    session(request).end(revoke=False)
    raise LoginRequired()


async def reply_to_ticket(request: Request) -> Response:
    form = await request.form()
    key = _form_text(form, "key") or None
    ticket, access = _ticket_for(request, request.path_params["ticket_id"], key, for_write=True)
    message = _form_text(form, "message")
    error = "unconfirmed" if not ticket.confirmed else message_problem(message)
    pending = uploads.pending_uploads(form)
    if error:
        return _ticket_page(request, ticket, access, key, reply=message, errors={"message": error},
                            status_code=409 if error == "unconfirmed" else 400, pending=pending)
    try:
        attachments = uploads.link(request, form, session(request).token_identity())
    except AttachmentRefused as refused:
        return _ticket_page(request, ticket, access, key, reply=message, status_code=400,
                            errors={"attachments": refused.reason}, attachment_error=refused,
                            pending=[p for p in pending if p["filename"] != refused.filename])
    events = Held()
    try:
        # The author is the ticket's requester, named as our profile named them.
        ticket = add_customer_reply(resources.table(), ticket, author_name=ticket.requester.name,
                                    body=message, attachments=attachments,
                                    also=_writer_checks(request, access), emit=events)
    except AlsoRefused:
        return _session_ended(request)
    except TicketChanged:
        fresh, _ = _ticket_for(request, ticket.id, key)
        return _ticket_page(request, fresh, access, key, reply=message, pending=pending,
                            errors={"message": "ticket-changed"}, status_code=409)
    return _then_deliver(_after_change(request, ticket, access, key), events)


async def download(request: Request) -> Response:
    ticket, _ = _ticket_for(request, request.path_params["ticket_id"], request.query_params.get("key"))
    return uploads.send_download(ticket, request.path_params["attachment_id"])


async def original_mail(request: Request) -> Response:
    ticket, _ = _ticket_for(request, request.path_params["ticket_id"], request.query_params.get("key"))
    return uploads.send_original_mail(ticket, request.path_params["sequence"])


async def close(request: Request) -> Response:
    form = await request.form()
    key = _form_text(form, "key") or None
    ticket, access = _ticket_for(request, request.path_params["ticket_id"], key, for_write=True)
    if not ticket.confirmed:
        return _ticket_page(request, ticket, access, key, errors={"close": "unconfirmed"}, status_code=409)
    events = Held()
    try:
        ticket = close_ticket(resources.table(), ticket, also=_writer_checks(request, access), emit=events)
    except AlsoRefused:
        return _session_ended(request)
    except TicketChanged:
        fresh, _ = _ticket_for(request, ticket.id, key)
        return _ticket_page(request, fresh, access, key, errors={"close": "ticket-changed"}, status_code=409)
    return _then_deliver(_after_change(request, ticket, access, key), events)
