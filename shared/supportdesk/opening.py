"""Opening a ticket from the web form: what a valid request is, and who may make it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping

from supportdesk.accounts import Account
from supportdesk.attachments import Claims
from supportdesk.departments import Department
from supportdesk.limits import EMAIL_CHARS, NAME_CHARS, SUBJECT_CHARS, message_problem
from supportdesk.ratelimit import Limit, first_reached
from supportdesk.search import fold
from supportdesk.store import Table
from supportdesk.tickets import DEFAULT_PRIORITY, AlsoRefused, GuestKeys, Priority, Requester, Ticket, create_ticket

GUEST_TICKETS_PER_HOUR = 5  # per address
GUEST_TICKETS_PER_CLIENT_PER_HOUR = 10  # per client (its network address), whatever the addresses
EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"'.]+$")
# The form's fields, by the names the page gives them.
FIELDS = ("department", "subject", "message", "priority", "service", "name", "email", "website")


@dataclass(frozen=True)
class TicketRequest:
    """What the form sent, as typed (so a refused form can be shown again unchanged)."""

    department: str
    subject: str
    message: str
    priority: str = DEFAULT_PRIORITY
    service: str = ""
    name: str = ""
    email: str = ""
    # A field people never see (the page hides it), so only robots fill it.
    website: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> TicketRequest:
        values = {name: form.get(name, "") for name in FIELDS}
        return cls(**{**values, "priority": values["priority"] or DEFAULT_PRIORITY})

    @property
    def chosen_priority(self) -> Priority:
        """The priority to show as chosen: the one sent, or the default."""
        return Priority.parse(self.priority) or DEFAULT_PRIORITY


class InvalidTicket(Exception):
    """Problems by field name ("form" for the request as a whole), each a reason the
    templates put into words."""

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
    if department is None or not department.enabled:
        errors["department"] = "unknown-department"
    elif not department.admits(account):
        errors["department"] = "login-required"

    subject = one_line(request.subject)
    if not subject:
        errors["subject"] = "required"
    elif len(subject) > SUBJECT_CHARS:
        errors["subject"] = "too-long"

    problem = message_problem(request.message)
    if problem:
        errors["message"] = problem

    if Priority.parse(request.priority) is None:
        errors["priority"] = "unknown-priority"

    if request.service and (account is None or request.service not in account.services):
        errors["service"] = "not-your-service"

    if account is None:
        errors.update(_guest_problems(request))
    return errors


def _guest_problems(request: TicketRequest) -> dict[str, str]:
    errors: dict[str, str] = {}
    name = one_line(request.name)
    if not name:
        errors["name"] = "required"
    elif len(name) > NAME_CHARS:
        errors["name"] = "too-long"
    email = request.email.strip()
    if not email:
        errors["email"] = "required"
    elif len(email) > EMAIL_CHARS or not EMAIL.match(email):
        errors["email"] = "invalid-email"
    return errors


def _guest_refusal(table: Table, request: TicketRequest, client: str) -> str | None:
    """Why a guest's otherwise valid ticket is not taken, if it is not: robots and floods
    (per address, and per client so that one client cannot write to many addresses)."""
    if request.website:
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
    client: str,
    guest_keys: GuestKeys,
    attach: Callable[[], Claims] = Claims,
) -> Ticket:
    """Check the form (InvalidTicket says why not), then take its files (`attach`, called
    only for a request that is taken) and store the ticket: AttachmentRefused if a file's
    claim fails (not checked, or in a message already).

    A guest's ticket opens with a private key (`guest_keys`; the mail that asks the guest's
    address to confirm it carries it), and waits outside the queue until then
    (tickets.confirm_ticket). `client` is whom the per-client limit counts.
    """
    errors = validate(request, departments, account)
    refusal = None if errors or account is not None else _guest_refusal(table, request, client)
    if errors or refusal:
        raise InvalidTicket(errors or {"form": str(refusal)})
    taken = attach()
    if account is not None:
        requester = Requester.of(account)
    else:
        requester = Requester(one_line(request.name), request.email.strip().lower(), None, language)
    try:
        return create_ticket(
            table,
            department=request.department,
            subject=one_line(request.subject),
            body=request.message,
            requester=requester,
            priority=Priority(request.priority),
            service=request.service or None,
            guest_keys=None if account is not None else guest_keys,
            attachments=taken.attachments,
            confirmed=account is not None,
            also=taken.actions,
        )
    except AlsoRefused as refused:
        raise taken.refusal(refused.failed) or refused
