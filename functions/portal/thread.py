"""One ticket: its thread, the customer's reply, closing, a guest's confirmation, its files.

Who may reach a ticket is the domain's rule (supportdesk.access); this side keeps only the
customer's ways in (its owner, a guest with the key of its link). Each action costs at most
two data-store calls: the ticket it acts on, and the write.

Every action says what it did (templates/_feedback.html). Under htmx the page comes back
with the banner in it; without JavaScript the 303 after the POST carries it as `done` in
the ticket's address, as `created` does for a new ticket: the static page hands its query to
the fragment, so the same address works both ways, and nothing is kept on the server or in
a cookie for it. Closing asks first: the Close button's POST answers with a second form
(`sure=yes`), in the page's language, with or without JavaScript.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal import resources, uploads
from portal.pages import (
    LoginRequired,
    editor_context,
    form_text,
    go_to,
    optional_identity,
    session,
    url,
)
from portal.rendering import is_htmx, render, screen_url
from supportdesk.access import CUSTOMER, Access, access_to
from supportdesk.attachments import AttachmentRefused
from supportdesk.store import BadCursor
from supportdesk.tickets import (
    AlsoRefused,
    Ticket,
    TicketChanged,
    add_customer_reply,
    close_ticket,
    confirm_ticket,
    earlier_thread,
    get_ticket,
    is_ticket_id,
    reply_problem,
    ticket_from_item,
)

# What an action can say it did (templates/_feedback.html); any other `done` says nothing.
DONE = frozenset({"replied", "reopened", "closed", "confirmed"})


def _ticket_for(request: Request, ticket_id: str, key: str | None, *,
                for_write: bool = False, whole: bool = False) -> tuple[Ticket, Access]:
    """The ticket if this caller may see it as its customer (supportdesk.access). Else 404.

    `for_write`: the session is checked by the write itself (Session.write_check), not by a
    profile read, so the action stays at two data-store calls. `whole`: every message, not
    only the latest page (a download looks for its file in all of them).
    """
    identity = session(request).token_identity() if for_write else optional_identity(request)
    ticket = get_ticket(resources.table(), ticket_id, whole=whole)
    access = access_to(ticket, account_id=identity.account_id if identity else None, guest_key=key) if ticket else None
    if ticket is None or access is None or access not in CUSTOMER:
        # Someone else's ticket looks exactly like one that does not exist.
        raise HTTPException(404)
    return ticket.customer_view(), access


def thread_page(request: Request, ticket: Ticket, access: Access, key: str | None,
                *, created: bool = False, reply: str = "", errors: dict[str, str] | None = None,
                status_code: int = 200, pending: list[dict[str, Any]] | None = None,
                attachment_error: AttachmentRefused | None = None, done: str | None = None,
                closing: bool = False) -> Response:
    return render(request, "ticket.html", {
        **editor_context(pending, attachment_error),
        "ticket": ticket,
        # The key stays in the page's links and forms only for whom it is the way in.
        "key": key if access is Access.GUEST else None,
        "created": created,
        "reply": reply,
        "errors": errors or {},
        "done": done if done in DONE else None,
        "closing": closing,
    }, status_code=status_code)


async def ticket_page(request: Request) -> Response:
    key = request.query_params.get("key")
    ticket_id = request.path_params["id"].strip()
    if not is_ticket_id(ticket_id) and is_ticket_id(ticket_id.upper()):
        ticket_id = ticket_id.upper()  # abc-123456, as typed or copied: the same ticket
    if not key and optional_identity(request) is None:
        # The mail's link, opened signed out: nothing of the ticket (it may not exist), but
        # the way to log in and come back to it.
        raise HTTPException(404, "ticket-login")
    ticket, access = _ticket_for(request, ticket_id, key)
    response = thread_page(request, ticket, access, key, created=request.query_params.get("created") == "1",
                           done=request.query_params.get("done"))
    if ticket_id != request.path_params["id"] and is_htmx(request):
        response.headers["HX-Replace-Url"] = screen_url(request.app.router, "ticket", False, id=ticket_id, key=key)
    return response


def _after_change(request: Request, ticket: Ticket, access: Access, key: str | None,
                  done: str | None = None) -> Response:
    if is_htmx(request):
        return thread_page(request, ticket, access, key, done=done)
    return go_to(request, url(request, "ticket", id=ticket.id, key=key, done=done))


def _writer_checks(request: Request, access: Access) -> list[dict[str, Any]]:
    """The owner's session must still be good when the write lands (a guest has no session)."""
    return [session(request).write_check()] if access is Access.OWNER else []


def _session_ended(request: Request) -> Response:
    session(request).end(revoke=False)
    raise LoginRequired()


async def reply_to_ticket(request: Request) -> Response:
    form = await request.form()
    key = form_text(form, "key") or None
    ticket, access = _ticket_for(request, request.path_params["id"], key, for_write=True)
    message = form_text(form, "message")
    error = reply_problem(ticket, message)
    pending = uploads.pending_uploads(form)
    if error:
        return thread_page(request, ticket, access, key, reply=message, errors={"message": error},
                           status_code=409 if error == "unconfirmed" else 400, pending=pending)

    def files_refused(refused: AttachmentRefused) -> Response:
        return thread_page(request, ticket, access, key, reply=message, status_code=400,
                           errors={"attachments": refused.reason}, attachment_error=refused,
                           pending=[p for p in pending if p["filename"] != refused.filename])

    try:
        taken = uploads.claim(request, form, session(request).token_identity())
    except AttachmentRefused as refused:
        return files_refused(refused)
    reopens = ticket.is_closed
    try:
        # The author is the ticket's requester, named as our profile named them. Another
        # message landing first (an agent's answer) is no reason to refuse this one.
        ticket = add_customer_reply(resources.table(), ticket, author_name=ticket.requester.name, body=message,
                                    attachments=taken.attachments,
                                    also=[*taken.actions, *_writer_checks(request, access)])
    except AlsoRefused as refused:
        files = taken.refusal(refused.failed)
        return _session_ended(request) if files is None else files_refused(files)
    return _after_change(request, ticket.customer_view(), access, key, "reopened" if reopens else "replied")


async def close(request: Request) -> Response:
    form = await request.form()
    key = form_text(form, "key") or None
    sure = form_text(form, "sure") == "yes"
    # The first step shows the ticket: the session is checked as for viewing it (the
    # profile); the second is checked by its write.
    ticket, access = _ticket_for(request, request.path_params["id"], key, for_write=sure)
    if not ticket.confirmed:
        return thread_page(request, ticket, access, key, errors={"close": "unconfirmed"}, status_code=409)
    if ticket.is_closed:  # closed meanwhile (another tab, an agent): nothing to ask or write
        return _after_change(request, ticket, access, key, "closed")
    if not sure:
        return thread_page(request, ticket, access, key, closing=True)
    try:
        ticket = close_ticket(resources.table(), ticket, also=_writer_checks(request, access))
    except AlsoRefused:
        return _session_ended(request)
    except TicketChanged:
        fresh, _ = _ticket_for(request, ticket.id, key)
        return thread_page(request, fresh, access, key, errors={"close": "ticket-changed"}, status_code=409)
    return _after_change(request, ticket, access, key, "closed")


async def back_to_ticket(request: Request) -> Response:
    """An action's address opened as a page (a login's return after a form refused without
    JavaScript, "Reload this page"): the ticket it acts on, not a dead end."""
    ticket_id = request.path_params["id"]
    if not is_ticket_id(ticket_id):
        raise HTTPException(404)
    return go_to(request, url(request, "ticket", id=ticket_id, key=request.query_params.get("key")))


async def confirm(request: Request) -> Response:
    """The guest's address confirmed the ticket (a button: mail scanners follow links, not forms)."""
    form = await request.form()
    key = form_text(form, "key") or None
    ticket, access = _ticket_for(request, request.path_params["id"], key)
    if not ticket.confirmed:
        try:
            ticket = confirm_ticket(resources.table(), ticket)
        except TicketChanged:  # confirmed meanwhile (a second click): that one sends the mail
            ticket, access = _ticket_for(request, ticket.id, key)
    return _after_change(request, ticket, access, key, "confirmed")


async def download(request: Request) -> Response:
    ticket, _ = _ticket_for(request, request.path_params["id"], request.query_params.get("key"), whole=True)
    return uploads.send_download(ticket, request.path_params["attachment_id"])


async def original_mail(request: Request) -> Response:
    ticket, _ = _ticket_for(request, request.path_params["id"], request.query_params.get("key"), whole=True)
    return uploads.send_original_mail(ticket, request.path_params["sequence"])


async def earlier(request: Request) -> Response:
    """The page of older messages of a long thread: the caller's profile and the ticket's
    head in one BatchGetItem (the access rule), then one Query of the page."""
    ticket_id, key = request.path_params["id"], request.query_params.get("key")
    if not is_ticket_id(ticket_id):
        raise HTTPException(404)
    account, items = session(request).account_with([(f"TICKET#{ticket_id}", "TICKET")])
    head = next((ticket_from_item(i) for i in items if i.get("SK") == "TICKET"), None)
    access = access_to(head, account_id=account.id if account else None, guest_key=key) if head else None
    if head is None or access not in CUSTOMER:
        raise HTTPException(404)
    try:
        messages, events, cursor = earlier_thread(resources.table(), ticket_id, request.query_params.get("cursor", ""))
    except BadCursor:
        raise HTTPException(400, "bad-cursor") from None
    shown = replace(head, messages=messages, events=events, earlier=cursor).customer_view()
    return render(request, "thread_earlier.html", {
        "ticket": shown, "key": key if access is Access.GUEST else None,
        "routes": {"attachment": "attachment", "original": "original_mail", "earlier": "earlier"}})
