"""Opening a ticket from the web form: what a valid request is, and who may make it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from supportdesk.accounts import Account
from supportdesk.attachments import Attachment
from supportdesk.departments import Department
from supportdesk.ratelimit import Limit, first_reached
from supportdesk.search import fold
from supportdesk.store import Table
from supportdesk.tickets import (
    MAX_MESSAGE_BYTES,
    MAX_SUBJECT_CHARS,
    Priority,
    Requester,
    Ticket,
    create_ticket,
)

GUEST_TICKETS_PER_HOUR = 5  # per address
GUEST_TICKETS_PER_CLIENT_PER_HOUR = 10  # per client (its network address), whatever the addresses
EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"'.]+$")
MAX_NAME_CHARS = 100
PRIORITIES = tuple(p.value for p in Priority)


@dataclass(frozen=True)
class TicketRequest:
    """What the form sent, as typed (so a refused form can be shown again unchanged)."""

    department: str
    subject: str
    message: str
    priority: str = Priority.NORMAL.value
    service: str = ""
    name: str = ""
    email: str = ""


class InvalidTicket(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def one_line(text: str) -> str:
    """Whitespace (CR/LF included) collapsed: subjects and names also become mail headers."""
    return " ".join(text.split())



def validate(request: TicketRequest, departments: Mapping[str, Department],
             account: Account | None) -> dict[str, str]:
    """Problems by field name, each as a reason the templates put into words."""
    errors: dict[str, str] = {}
    department = departments.get(request.department)
    if department is None:
        errors["department"] = "unknown-department"
    elif account is None and (department.login_required or not department.guests_allowed):
        errors["department"] = "login-required"

    subject = one_line(request.subject)
    if not subject:
        errors["subject"] = "required"
    elif len(subject) > MAX_SUBJECT_CHARS:
        errors["subject"] = "too-long"

    if not request.message.strip():
        errors["message"] = "required"
    elif len(request.message.encode("utf-8")) > MAX_MESSAGE_BYTES:
        errors["message"] = "too-large"

    if request.priority not in PRIORITIES:
        errors["priority"] = "unknown-priority"

    if request.service and (account is None or request.service not in account.services):
        errors["service"] = "not-your-service"

    if account is None:
        name = one_line(request.name)
        if not name:
            errors["name"] = "required"
        elif len(name) > MAX_NAME_CHARS:
            errors["name"] = "too-long"
        email = request.email.strip()
        if not email:
            errors["email"] = "required"
        elif len(email) > 254 or not EMAIL.match(email):
            errors["email"] = "invalid-email"
    return errors


def guest_refusal(table: Table, request: TicketRequest, honeypot: str, client: str) -> str | None:
    """Why a guest's otherwise valid ticket is not taken, if it is not: robots and floods
    (per address, and per client so that one client cannot write to many addresses)."""
    if honeypot:  # a field people never see, so only robots fill it
        return "rejected"
    if first_reached(table, Limit("guest", fold(request.email), GUEST_TICKETS_PER_HOUR, 3600),
                     Limit("guest-client", client, GUEST_TICKETS_PER_CLIENT_PER_HOUR, 3600)):
        return "rate-limited"
    return None


def open_ticket(
    table: Table,
    request: TicketRequest,
    *,
    departments: Mapping[str, Department],
    account: Account | None,
    language: str,
    guest_key: str | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> Ticket:
    """Validate and store the ticket; a guest's ticket opens only with `guest_key`, and waits
    unconfirmed until its address confirms it (tickets.confirm_ticket)."""
    errors = validate(request, departments, account)
    if errors:
        raise InvalidTicket(errors)
    if account is not None:
        requester = Requester(account.name, account.email, account.id, account.language)
    else:
        requester = Requester(one_line(request.name), request.email.strip().lower(), None, language)
    return create_ticket(
        table,
        department=request.department,
        subject=one_line(request.subject),
        body=request.message,
        requester=requester,
        priority=Priority(request.priority),
        service=request.service or None,
        guest_key=None if account is not None else guest_key,
        attachments=attachments,
        confirmed=account is not None,
    )

