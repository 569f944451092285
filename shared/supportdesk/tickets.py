"""Tickets and their messages.

A ticket and its messages share a partition (PK=TICKET#<id>), so the ticket page is one
Query. A new ticket is written in one transaction with its first message, on the
condition that its ID is new: an ID is never overwritten, and a collision draws another.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Callable

from supportdesk.store import ConditionFailed, Item, Table

TICKET_ID = re.compile(r"^[A-Z]{3}-\d{6}$")
MAX_ID_ATTEMPTS = 8


class Priority(str, Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class Status(str, Enum):
    OPEN = "open"
    ANSWERED = "answered"
    CUSTOMER_REPLY = "customer-reply"
    ON_HOLD = "on-hold"
    IN_PROGRESS = "in-progress"
    CLOSED = "closed"


# Tickets in these states wait for an agent, so they are in the department's queue.
AWAITING_AGENT = {Status.OPEN, Status.CUSTOMER_REPLY}


class TicketIdExhausted(Exception):
    """Every drawn ID was taken: something is wrong with the random source."""


def new_ticket_id() -> str:
    """Three capital letters, a dash and six digits, e.g. KXR-482913 (17.6 billion IDs)."""
    letters = "".join(secrets.choice(string.ascii_uppercase) for _ in range(3))
    return f"{letters}-{secrets.randbelow(1_000_000):06d}"


def is_ticket_id(text: str) -> bool:
    return bool(TICKET_ID.match(text))


def utc_now() -> str:
    """A timestamp that sorts as text: 2026-11-25T20:43:51.123456Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Requester:
    """Who opened the ticket: an account, or a guest known only by name and e-mail."""

    name: str
    email: str
    account_id: str | None = None


@dataclass(frozen=True)
class Message:
    ticket_id: str
    created_at: str
    author_name: str
    body: str
    from_agent: bool = False


@dataclass(frozen=True)
class Ticket:
    id: str
    department: str
    subject: str
    priority: Priority
    status: Status
    requester: Requester
    created_at: str
    updated_at: str
    service: str | None = None
    messages: tuple[Message, ...] = field(default_factory=tuple)


def _ticket_item(ticket: Ticket) -> Item:
    item: Item = {
        "PK": f"TICKET#{ticket.id}",
        "SK": "TICKET",
        "type": "Ticket",
        "id": ticket.id,
        "department": ticket.department,
        "subject": ticket.subject,
        "priority": ticket.priority.value,
        "status": ticket.status.value,
        "requester_name": ticket.requester.name,
        "requester_email": ticket.requester.email,
        "account_id": ticket.requester.account_id,
        "service": ticket.service,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }
    if ticket.requester.account_id:
        item["GSI1PK"] = f"OWNER#{ticket.requester.account_id}"
        item["GSI1SK"] = f"{ticket.updated_at}#{ticket.id}"
    if ticket.status in AWAITING_AGENT:
        item["GSI2PK"] = f"QUEUE#{ticket.department}"
        item["GSI2SK"] = f"{ticket.created_at}#{ticket.id}"
    return item


def _message_item(message: Message, sequence: int) -> Item:
    return {
        "PK": f"TICKET#{message.ticket_id}",
        "SK": f"MESSAGE#{message.created_at}#{sequence:04d}",
        "type": "Message",
        "ticket_id": message.ticket_id,
        "created_at": message.created_at,
        "author_name": message.author_name,
        "body": message.body,
        "from_agent": message.from_agent,
    }


def _ticket_from_items(items: list[Item]) -> Ticket | None:
    head = next((i for i in items if i["SK"] == "TICKET"), None)
    if head is None:
        return None
    messages = tuple(
        Message(
            ticket_id=i["ticket_id"],
            created_at=i["created_at"],
            author_name=i["author_name"],
            body=i["body"],
            from_agent=bool(i.get("from_agent", False)),
        )
        for i in items
        if i["SK"].startswith("MESSAGE#")
    )
    return Ticket(
        id=head["id"],
        department=head["department"],
        subject=head["subject"],
        priority=Priority(head["priority"]),
        status=Status(head["status"]),
        requester=Requester(
            name=head["requester_name"],
            email=head["requester_email"],
            account_id=head.get("account_id"),
        ),
        created_at=head["created_at"],
        updated_at=head["updated_at"],
        service=head.get("service"),
        messages=messages,
    )


def create_ticket(
    table: Table,
    *,
    department: str,
    subject: str,
    body: str,
    requester: Requester,
    priority: Priority = Priority.NORMAL,
    service: str | None = None,
    draw_id: Callable[[], str] = new_ticket_id,
) -> Ticket:
    """Store a new ticket with its first message under a fresh, never-reused ID."""
    now = utc_now()
    for _ in range(MAX_ID_ATTEMPTS):
        ticket_id = draw_id()
        message = Message(ticket_id, now, requester.name, body)
        ticket = Ticket(
            id=ticket_id,
            department=department,
            subject=subject,
            priority=priority,
            status=Status.OPEN,
            requester=requester,
            created_at=now,
            updated_at=now,
            service=service,
            messages=(message,),
        )
        try:
            table.put_all([
                (_ticket_item(ticket), "attribute_not_exists(PK)"),
                (_message_item(message, 1), None),
            ])
        except ConditionFailed as failure:
            if failure.reasons and failure.reasons[0] == "ConditionalCheckFailed":
                continue  # the ID is taken: draw another
            raise
        return ticket
    raise TicketIdExhausted(f"no free ticket ID after {MAX_ID_ATTEMPTS} draws")


def get_ticket(table: Table, ticket_id: str) -> Ticket | None:
    """The ticket with its whole thread, oldest message first, in one Query."""
    if not is_ticket_id(ticket_id):
        return None
    return _ticket_from_items(table.query("PK", f"TICKET#{ticket_id}"))


def list_tickets_of(table: Table, account_id: str) -> list[Ticket]:
    """An account's tickets, newest activity first (headers only, no messages)."""
    items = table.query("GSI1PK", f"OWNER#{account_id}", index="GSI1", newest_first=True)
    return [t for t in (_ticket_from_items([i]) for i in items) if t is not None]
