"""Opening a ticket: the departments, the form, its advice and preview, the guest's wait.

Handlers adapt HTTP to the domain (supportdesk.opening, .advice) and choose the page; the
rules are the domain's. Opening costs two data-store calls: the account, and the write.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal import resources, uploads
from portal.pages import (
    LoginRequired,
    client_key,
    editor_context,
    form_text,
    go_to,
    go_to_screen,
    optional_identity,
    screen_url,
    session,
    url,
)
from portal.rendering import is_htmx, render
from portal.thread import thread_page
from supportdesk.access import Access
from supportdesk.accounts import Account
from supportdesk.advice import is_generic_subject, same_subject
from supportdesk.attachments import AttachmentRefused
from supportdesk.departments import Department
from supportdesk.limits import is_too_large
from supportdesk.opening import InvalidTicket, TicketRequest, open_ticket
from supportdesk.ratelimit import Limit, first_reached
from supportdesk.search import similar_tickets
from supportdesk.tickets import is_ticket_id, recent_tickets_of

# Rendering is linear and capped at limits.MESSAGE_BYTES, but anyone may ask: per client.
PREVIEWS_PER_CLIENT = 120
PREVIEW_WINDOW_SECONDS = 10 * 60


async def departments_page(request: Request) -> Response:
    optional_identity(request)  # the header shows who is signed in
    # A disabled department takes no new tickets: it is not offered (its tickets carry on).
    offered = [d for d in resources.departments().values() if d.enabled]
    return render(request, "departments.html", {"departments": offered})


def _department_or_404(slug: str) -> Department:
    department = resources.departments().get(slug)
    if department is None or not department.enabled:
        raise HTTPException(404)
    return department


def _form_page(request: Request, *, values: TicketRequest, account: Account | None,
               errors: dict[str, str] | None = None,
               preview: str | None = None, status_code: int = 200,
               pending: list[dict[str, Any]] | None = None,
               attachment_error: AttachmentRefused | None = None) -> Response:
    departments = resources.departments()
    return render(request, "ticket_form.html", {
        **editor_context(pending, attachment_error),
        "values": values,
        "department": departments.get(values.department),
        "account": account,
        "errors": errors or {},
        "preview": preview,
    }, status_code=status_code)


async def new_ticket_form(request: Request) -> Response:
    if not request.query_params.get("department"):
        # new.html without a department: choose it among those there are.
        return go_to_screen(request, "departments")
    department = _department_or_404(request.query_params.get("department", ""))
    account = session(request).account()
    if not department.admits(account):
        raise LoginRequired()
    values = TicketRequest(department=department.slug, subject="", message="")
    return _form_page(request, values=values, account=account)


async def submit_ticket(request: Request) -> Response:
    form = await request.form()
    values = TicketRequest.from_form({name: form_text(form, name) for name in form})
    account = session(request).account()
    if form.get("preview"):  # the Preview button of a browser without JavaScript
        return _form_page(request, values=values, account=account, preview=values.message)
    pending = uploads.pending_uploads(form)
    try:
        ticket = open_ticket(resources.table(), values, departments=resources.departments(), account=account,
                             language=request.state.language, client=client_key(request),
                             guest_keys=resources.guest_keys(),
                             attach=lambda: uploads.claim(request, form, optional_identity(request)))
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
        response = thread_page(request, ticket, Access.OWNER, None, created=True)
        response.headers["HX-Push-Url"] = screen_url(request.app.router, "ticket", False, id=ticket.id)
    else:
        response = go_to(request, url(request, "ticket", id=ticket.id, created="1"))
    return response


def _guest_waiting(request: Request, ticket_id: str) -> Response:
    if is_htmx(request):
        return render(request, "guest_waiting.html", {"ticket_id": ticket_id})
    return go_to(request, url(request, "guest_waiting", id=ticket_id))


async def guest_waiting(request: Request) -> Response:
    """"Look in your mail": says nothing of the ticket beyond the ID in the address itself."""
    ticket_id = request.path_params["id"]
    if not is_ticket_id(ticket_id):
        raise HTTPException(404)
    return render(request, "guest_waiting.html", {"ticket_id": ticket_id})


async def preview(request: Request) -> Response:
    form = await request.form()
    message = form_text(form, "message")
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
    # The customer's latest tickets, not the whole archive: advice is about what is recent.
    tickets = recent_tickets_of(resources.table(), identity.account_id) if identity and subject.strip() else []
    repeated = same_subject(tickets, subject)
    similar = [t for t in similar_tickets(tickets, subject) if t is not repeated]
    return render(request, "subject_advice.html", {
        "generic": is_generic_subject(subject), "repeated": repeated, "similar": similar,
    })
