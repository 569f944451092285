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
from supportdesk import notifications
from supportdesk.accounts import Account
from supportdesk.advice import MIN_MESSAGE_CHARS, MIN_MESSAGE_WORDS, is_generic_subject, same_subject
from supportdesk.attachments import AttachmentRefused
from supportdesk.auth import Identity
from supportdesk.departments import Department
from supportdesk.opening import InvalidTicket, TicketRequest, guest_refusal, open_ticket, validate
from supportdesk.ratelimit import Limit, first_reached
from supportdesk.reply_address import reply_address
from supportdesk.search import matches, similar_tickets
from supportdesk.tickets import (
    MAX_MESSAGE_BYTES,
    AlsoRefused,
    Ticket,
    TicketChanged,
    add_customer_reply,
    close_ticket,
    confirm_ticket,
    get_ticket,
    is_ticket_id,
    list_tickets_of,
    new_guest_key,
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
        "max_message_kb": MAX_MESSAGE_BYTES // 1024,
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
    identity = optional_identity(request)
    if department.login_required and identity is None:
        raise LoginRequired()
    account = session(request).account()
    values = TicketRequest(department=department.slug, subject="", message="")
    return _form_page(request, values=values, account=account)


def _request_from(form: FormData) -> TicketRequest:
    return TicketRequest(
        department=_form_text(form, "department"), subject=_form_text(form, "subject"),
        message=_form_text(form, "message"), priority=_form_text(form, "priority") or "normal",
        service=_form_text(form, "service"), name=_form_text(form, "name"),
        email=_form_text(form, "email"),
    )


async def submit_ticket(request: Request) -> Response:
    form = await request.form()
    values = _request_from(form)
    identity = optional_identity(request)
    table = resources.table()
    account = session(request).account()
    if form.get("preview"):  # the Preview button of a browser without JavaScript
        return _form_page(request, values=values, account=account,
                          preview=values.message)
    departments = resources.departments()
    errors = validate(values, departments, account)
    pending = uploads.pending_uploads(form)
    if not errors and account is None:
        refusal = guest_refusal(table, values, _form_text(form, "website"), client_key(request))
        if refusal:
            return _form_page(request, values=values, account=None,
                              errors={"form": refusal}, pending=pending,
                              status_code=429 if refusal == "rate-limited" else 400)
    if errors:
        return _form_page(request, values=values, account=account,
                          errors=errors, status_code=400, pending=pending)
    try:
        attachments = uploads.link(request, form, identity)
    except AttachmentRefused as refused:
        return _form_page(request, values=values, account=account,
                          errors={"attachments": refused.reason}, status_code=400,
                          pending=[p for p in pending if p["filename"] != refused.filename],
                          attachment_error=refused)
    guest_key = None if account else new_guest_key()
    try:
        ticket = open_ticket(table, values, departments=departments, account=account,
                             language=request.state.language, guest_key=guest_key,
                             attachments=attachments)
    except InvalidTicket as invalid:  # validated above; kept for safety
        return _form_page(request, values=values, account=account,
                          errors=invalid.errors, status_code=400, pending=pending)
    department = departments[ticket.department]
    if guest_key:
        # A guest's address proves itself first: the page says where to look, the mail (our
        # words only) carries the link, and the ticket waits outside the queue until then.
        task = BackgroundTask(_ask_confirmation, ticket, department, _ticket_address(ticket, guest_key))
        response = _guest_waiting(request, ticket.id)
    else:
        task = BackgroundTask(_acknowledge, ticket, department, _ticket_address(ticket, None), None)
        if is_htmx(request):
            response = _ticket_page(request, ticket, identity, None, created=True)
            response.headers["HX-Push-Url"] = _static_ticket_path(ticket, None)
        else:
            response = go_to(request, _api_ticket_path(ticket, None, created="1"))
    response.background = task
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


def _send(kind: str, ticket: Ticket, message: Any) -> None:
    # After the response: a ticket that was stored is never lost because mail failed.
    try:
        notifications.send(resources.ses(), message())
    except Exception:
        logger.exception(f"{kind} not sent", extra={"ticket": ticket.id})


def _acknowledge(ticket: Ticket, department: Department, link: str, guest_key: str | None) -> None:
    _send("acknowledgement", ticket, lambda: notifications.acknowledgement(
        ticket, department, link=link, guest=bool(guest_key),
        reply_to=reply_address(department.email, ticket.id, resources.signing_secret())))


def _ask_confirmation(ticket: Ticket, department: Department, link: str) -> None:
    _send("address confirmation", ticket,
          lambda: notifications.address_confirmation(ticket, department, link=link))


async def confirm(request: Request) -> Response:
    """The guest's address confirmed the ticket (a button: mail scanners follow links, not forms)."""
    form = await request.form()
    key = _form_text(form, "key") or None
    ticket, identity = _ticket_for(request, request.path_params["ticket_id"], key)
    if ticket.confirmed:
        return _after_change(request, ticket, identity, key)
    try:
        ticket = confirm_ticket(resources.table(), ticket)
    except TicketChanged:  # confirmed meanwhile (a second click): that one sends the mail
        return _after_change(request, _ticket_for(request, ticket.id, key)[0], identity, key)
    response = _after_change(request, ticket, identity, key)
    response.background = BackgroundTask(_acknowledge, ticket, resources.departments()[ticket.department],
                                          _ticket_address(ticket, key), key)
    return response


async def preview(request: Request) -> Response:
    form = await request.form()
    message = _form_text(form, "message")
    if len(message.encode("utf-8")) > MAX_MESSAGE_BYTES:
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
                for_write: bool = False) -> tuple[Ticket, Identity | None]:
    """The ticket if this caller may see it: its owner, or a guest with its key. Else 404.

    `for_write`: the session is checked by the write itself (Session.write_check), not by a
    profile read, so the action stays at two data-store calls.
    """
    identity = session(request).token_identity() if for_write else optional_identity(request)
    ticket = get_ticket(resources.table(), ticket_id)
    if ticket is None:
        raise HTTPException(404)
    if identity and ticket.belongs_to(identity.account_id):
        return ticket, identity
    if ticket.opens_with(key):
        return ticket, identity
    # Someone else's ticket looks exactly like one that does not exist.
    raise HTTPException(404)


def _api_ticket_path(ticket: Ticket, key: str | None, **extra: str) -> str:
    query = urlencode({**({"key": key} if key else {}), **extra})
    return f"/api/tickets/{ticket.id}" + (f"?{query}" if query else "")


def _static_ticket_path(ticket: Ticket, key: str | None) -> str:
    return f"/ticket.html?{urlencode({'id': ticket.id, **({'key': key} if key else {})})}"


def _ticket_address(ticket: Ticket, key: str | None) -> str:
    return resources.public_url() + _static_ticket_path(ticket, key)


def _ticket_page(request: Request, ticket: Ticket, identity: Identity | None, key: str | None,
                 *, created: bool = False, reply: str = "", errors: dict[str, str] | None = None,
                 status_code: int = 200, pending: list[dict[str, Any]] | None = None,
                 attachment_error: AttachmentRefused | None = None) -> Response:
    return render(request, "ticket.html", {
        **_editor_context(pending, attachment_error),
        "ticket": ticket,
        "key": key if not ticket.belongs_to(identity.account_id if identity else None) else None,
        "created": created,
        "reply": reply,
        "errors": errors or {},
    }, status_code=status_code)


async def ticket_page(request: Request) -> Response:
    key = request.query_params.get("key")
    ticket, identity = _ticket_for(request, request.path_params["ticket_id"], key)
    return _ticket_page(request, ticket, identity, key,
                        created=request.query_params.get("created") == "1")


def _form_text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _after_change(request: Request, ticket: Ticket, identity: Identity | None, key: str | None) -> Response:
    if is_htmx(request):
        return _ticket_page(request, ticket, identity, key)
    return go_to(request, _api_ticket_path(ticket, key))


def _writer_checks(request: Request, ticket: Ticket, identity: Identity | None) -> list[dict[str, Any]]:
    """The owner's session must still be good when the write lands (a guest has no session)."""
    return [session(request).write_check()] if identity and ticket.belongs_to(identity.account_id) else []


def _session_ended(request: Request) -> Response:
    session(request).end(revoke=False)
    raise LoginRequired()


async def reply_to_ticket(request: Request) -> Response:
    form = await request.form()
    key = _form_text(form, "key") or None
    ticket, identity = _ticket_for(request, request.path_params["ticket_id"], key, for_write=True)
    message = _form_text(form, "message")
    error = None
    if not ticket.confirmed:
        error = "unconfirmed"
    elif not message.strip():
        error = "required"
    elif len(message.encode("utf-8")) > MAX_MESSAGE_BYTES:
        error = "too-large"
    pending = uploads.pending_uploads(form)
    if error:
        return _ticket_page(request, ticket, identity, key, reply=message, errors={"message": error},
                            status_code=409 if error == "unconfirmed" else 400, pending=pending)
    try:
        attachments = uploads.link(request, form, identity)
    except AttachmentRefused as refused:
        return _ticket_page(request, ticket, identity, key, reply=message, status_code=400,
                            errors={"attachments": refused.reason}, attachment_error=refused,
                            pending=[p for p in pending if p["filename"] != refused.filename])
    try:
        # The author is the ticket's requester, named as our profile named them.
        ticket = add_customer_reply(resources.table(), ticket, author_name=ticket.requester.name,
                                    body=message, attachments=attachments,
                                    also=_writer_checks(request, ticket, identity))
    except AlsoRefused:
        return _session_ended(request)
    except TicketChanged:
        fresh, _ = _ticket_for(request, ticket.id, key)
        return _ticket_page(request, fresh, identity, key, reply=message, pending=pending,
                            errors={"message": "ticket-changed"}, status_code=409)
    return _after_change(request, ticket, identity, key)


async def download(request: Request) -> Response:
    ticket, _ = _ticket_for(request, request.path_params["ticket_id"], request.query_params.get("key"))
    return uploads.send_download(ticket, request.path_params["attachment_id"])


async def original_mail(request: Request) -> Response:
    ticket, _ = _ticket_for(request, request.path_params["ticket_id"], request.query_params.get("key"))
    return uploads.send_original_mail(ticket, request.path_params["sequence"])


async def close(request: Request) -> Response:
    form = await request.form()
    key = _form_text(form, "key") or None
    ticket, identity = _ticket_for(request, request.path_params["ticket_id"], key, for_write=True)
    if not ticket.confirmed:
        return _ticket_page(request, ticket, identity, key, errors={"close": "unconfirmed"}, status_code=409)
    try:
        ticket = close_ticket(resources.table(), ticket, also=_writer_checks(request, ticket, identity))
    except AlsoRefused:
        return _session_ended(request)
    except TicketChanged:
        fresh, _ = _ticket_for(request, ticket.id, key)
        return _ticket_page(request, fresh, identity, key, errors={"close": "ticket-changed"},
                            status_code=409)
    return _after_change(request, ticket, identity, key)

