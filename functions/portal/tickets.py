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
from portal.pages import LoginRequired, go_to, optional_identity, public_url, require_identity
from portal.rendering import is_htmx, render
from supportdesk import notifications
from supportdesk.accounts import Account, get_account
from supportdesk.advice import MIN_MESSAGE_CHARS, MIN_MESSAGE_WORDS, is_generic_subject, same_subject
from supportdesk.attachments import AttachmentRefused
from supportdesk.auth import Identity
from supportdesk.departments import Department
from supportdesk.opening import InvalidTicket, TicketRequest, guest_refusal, open_ticket, validate
from supportdesk.reply_address import reply_address
from supportdesk.search import matches, similar_tickets
from supportdesk.tickets import (
    MAX_MESSAGE_BYTES,
    Ticket,
    TicketChanged,
    add_customer_reply,
    close_ticket,
    get_ticket,
    list_tickets_of,
    new_guest_key,
)

logger = Logger()

STATUS_FILTERS = ("all", "open", "closed")


# --- departments and the form ---------------------------------------------------------

async def departments_page(request: Request) -> Response:
    return render(request, "departments.html", {
        "departments": list(resources.departments().values()),
        "viewer": optional_identity(request),
    })


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
               identity: Identity | None, errors: dict[str, str] | None = None,
               preview: str | None = None, status_code: int = 200,
               pending: list[dict[str, Any]] | None = None,
               attachment_error: AttachmentRefused | None = None) -> Response:
    departments = resources.departments()
    return render(request, "ticket_form.html", {
        **_editor_context(pending, attachment_error),
        "values": values,
        "department": departments.get(values.department),
        "account": account,
        "viewer": identity,
        "errors": errors or {},
        "preview": preview,
    }, status_code=status_code)


async def new_ticket_form(request: Request) -> Response:
    department = _department_or_404(request.query_params.get("department", ""))
    identity = optional_identity(request)
    if department.login_required and identity is None:
        raise LoginRequired()
    account = get_account(resources.table(), identity.account_id) if identity else None
    values = TicketRequest(department=department.slug, subject="", message="")
    return _form_page(request, values=values, account=account, identity=identity)


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
    account = get_account(table, identity.account_id) if identity else None
    if form.get("preview"):  # the Preview button of a browser without JavaScript
        return _form_page(request, values=values, account=account, identity=identity,
                          preview=values.message)
    departments = resources.departments()
    errors = validate(values, departments, account)
    pending = uploads.pending_uploads(form)
    if not errors and account is None:
        refusal = guest_refusal(table, values, _form_text(form, "website"))
        if refusal:
            return _form_page(request, values=values, account=None, identity=None,
                              errors={"form": refusal}, pending=pending,
                              status_code=429 if refusal == "rate-limited" else 400)
    if errors:
        return _form_page(request, values=values, account=account, identity=identity,
                          errors=errors, status_code=400, pending=pending)
    try:
        attachments = uploads.link(request, form, identity)
    except AttachmentRefused as refused:
        return _form_page(request, values=values, account=account, identity=identity,
                          errors={"attachments": refused.reason}, status_code=400,
                          pending=[p for p in pending if p["filename"] != refused.filename],
                          attachment_error=refused)
    guest_key = None if account else new_guest_key()
    try:
        ticket = open_ticket(table, values, departments=departments, account=account,
                             language=request.state.language, guest_key=guest_key,
                             attachments=attachments)
    except InvalidTicket as invalid:  # validated above; kept for safety
        return _form_page(request, values=values, account=account, identity=identity,
                          errors=invalid.errors, status_code=400, pending=pending)
    link = _ticket_address(request, ticket, guest_key)
    task = BackgroundTask(_acknowledge, ticket, departments[ticket.department], link, guest_key)
    if is_htmx(request):
        response = _ticket_page(request, ticket, identity, guest_key, created=True)
        response.headers["HX-Push-Url"] = _static_ticket_path(ticket, guest_key)
    else:
        response = go_to(request, _api_ticket_path(ticket, guest_key, created="1"))
    response.background = task
    return response


def _acknowledge(ticket: Ticket, department: Department, link: str, guest_key: str | None) -> None:
    # After the response: a ticket that was stored is never lost because mail failed.
    try:
        reply_to = reply_address(department.email, ticket.id, resources.settings().reply_secret)
        message = notifications.acknowledgement(ticket, department, link=link, guest=bool(guest_key),
                                                reply_to=reply_to)
        notifications.send(resources.ses(), message)
    except Exception:
        logger.exception("acknowledgement not sent", extra={"ticket": ticket.id})


async def preview(request: Request) -> Response:
    form = await request.form()
    message = form.get("message", "")
    return render(request, "preview.html", {"preview": message if isinstance(message, str) else ""})


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
        "viewer": identity,
    })


def _ticket_for(request: Request, ticket_id: str, key: str | None) -> tuple[Ticket, Identity | None]:
    """The ticket if this caller may see it: its owner, or a guest with its key. Else 404."""
    identity = optional_identity(request)
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


def _ticket_address(request: Request, ticket: Ticket, key: str | None) -> str:
    return public_url(request) + _static_ticket_path(ticket, key)


def _ticket_page(request: Request, ticket: Ticket, identity: Identity | None, key: str | None,
                 *, created: bool = False, reply: str = "", errors: dict[str, str] | None = None,
                 status_code: int = 200, pending: list[dict[str, Any]] | None = None,
                 attachment_error: AttachmentRefused | None = None) -> Response:
    return render(request, "ticket.html", {
        **_editor_context(pending, attachment_error),
        "ticket": ticket,
        "key": key if not ticket.belongs_to(identity.account_id if identity else None) else None,
        "viewer": identity,
        "created": created,
        "link": _ticket_address(request, ticket, key) if created and key else None,
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


async def reply_to_ticket(request: Request) -> Response:
    form = await request.form()
    key = _form_text(form, "key") or None
    ticket, identity = _ticket_for(request, request.path_params["ticket_id"], key)
    message = _form_text(form, "message")
    error = None
    if not message.strip():
        error = "required"
    elif len(message.encode("utf-8")) > MAX_MESSAGE_BYTES:
        error = "too-large"
    pending = uploads.pending_uploads(form)
    if error:
        return _ticket_page(request, ticket, identity, key, reply=message,
                            errors={"message": error}, status_code=400, pending=pending)
    try:
        attachments = uploads.link(request, form, identity)
    except AttachmentRefused as refused:
        return _ticket_page(request, ticket, identity, key, reply=message, status_code=400,
                            errors={"attachments": refused.reason}, attachment_error=refused,
                            pending=[p for p in pending if p["filename"] != refused.filename])
    author = identity.name if identity and ticket.belongs_to(identity.account_id) else ticket.requester.name
    try:
        ticket = add_customer_reply(resources.table(), ticket, author_name=author or ticket.requester.name,
                                    body=message, attachments=attachments)
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
    ticket, identity = _ticket_for(request, request.path_params["ticket_id"], key)
    try:
        ticket = close_ticket(resources.table(), ticket)
    except TicketChanged:
        fresh, _ = _ticket_for(request, ticket.id, key)
        return _ticket_page(request, fresh, identity, key, errors={"close": "ticket-changed"},
                            status_code=409)
    return _after_change(request, ticket, identity, key)

