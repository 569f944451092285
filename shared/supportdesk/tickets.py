"""Tickets and their messages.

A ticket and its messages share a partition (PK=TICKET#<id>), so the ticket page is one
Query. A new ticket is written in one transaction with its first message, on the
condition that its ID is new: an ID is never overwritten, and a collision draws another.
A reply is one transaction too: the message, and the ticket's new status, activity time
and queue position, on the condition that nobody replied in between.

A message is rendered to HTML once, when it is written, and stored with its Markdown: the
ticket page shows that HTML and parses nothing, however often it is viewed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable, Sequence

from supportdesk.attachments import Attachment
from supportdesk.events import Emit, EventKind, TicketEvent
from supportdesk.i18n import N_
from supportdesk.limits import message_problem
from supportdesk.markup import excerpt_of_html, render_markdown
from supportdesk.search import search_text_of
from supportdesk.store import ConditionFailed, Item, Table

if TYPE_CHECKING:
    from supportdesk.accounts import Account

TICKET_ID = re.compile(r"^[A-Z]{3}-\d{6}$")
MAX_ID_ATTEMPTS = 8
# A message's HTML is stored beside its Markdown only up to this size, so that the item stays
# well within DynamoDB's 400 KB. Markdown comes out at one to two times its size; only a
# contrived message (a table whose header makes every line a row of thousands of empty
# cells) renders larger, and it is rendered again when shown instead.
MAX_STORED_HTML_BYTES = 256 * 1024


class Labelled(str, Enum):
    """A value stored as text, with the name people read (translated where it is shown):
    a member is one line, and the forms, lists and checks all follow the enum."""

    _value_: str
    label: str

    if not TYPE_CHECKING:  # a member is declared as (value, label); its value is the text alone

        def __new__(cls, value: str, label: str) -> Labelled:
            member = str.__new__(cls, value)
            member._value_ = value
            member.label = label
            return member

    @classmethod
    def parse(cls, value: str) -> Any:
        """The member stored as `value`, or None."""
        return cls._value2member_map_.get(value)


class Priority(Labelled):
    LOW = "low", N_("Low")
    NORMAL = "normal", N_("Normal")
    HIGH = "high", N_("High")


DEFAULT_PRIORITY = Priority.NORMAL


class Status(Labelled):
    OPEN = "open", N_("Open")
    ANSWERED = "answered", N_("Answered")
    CUSTOMER_REPLY = "customer-reply", N_("Customer-Reply")
    ON_HOLD = "on-hold", N_("On Hold")
    IN_PROGRESS = "in-progress", N_("In Progress")
    CLOSED = "closed", N_("Closed")


# Tickets in these states wait for an agent, so they are in the department's queue.
AWAITING_AGENT = {Status.OPEN, Status.CUSTOMER_REPLY}


class TicketIdExhausted(Exception):
    """Every drawn ID was taken: something is wrong with the random source."""


class TicketChanged(Exception):
    """The ticket changed between reading and writing it; read it again."""


class TicketUnconfirmed(Exception):
    """A guest's ticket whose address has not confirmed it takes no messages yet."""


class AlsoRefused(Exception):
    """A write that came with the change (`also`) had its condition fail, so nothing was
    written: the record of an inbound mail (this very mail was stored before), or the check
    of the writer's session (it was ended meanwhile)."""


def new_ticket_id() -> str:
    """Three capital letters, a dash and six digits, e.g. KXR-482913 (17.6 billion IDs)."""
    letters = "".join(secrets.choice(string.ascii_uppercase) for _ in range(3))
    return f"{letters}-{secrets.randbelow(1_000_000):06d}"


def is_ticket_id(text: str) -> bool:
    return bool(TICKET_ID.match(text))


def new_guest_key() -> str:
    """The secret of a guest's ticket link: 192 random bits."""
    return secrets.token_urlsafe(24)


def hash_guest_key(key: str) -> str:
    # Only the hash is stored: a leaked table does not open guests' tickets.
    return hashlib.sha256(key.encode()).hexdigest()


def utc_now() -> str:
    """A timestamp that sorts as text: 2026-11-25T20:43:51.123456Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Requester:
    """Who opened the ticket: an account, or a guest known only by name and e-mail."""

    name: str
    email: str
    account_id: str | None = None
    language: str = "es"

    @classmethod
    def of(cls, account: Account) -> Requester:
        """A client account's ticket: named and addressed as the account is."""
        return cls(account.name, account.email, account.id, account.language)


@dataclass(frozen=True)
class Message:
    ticket_id: str
    created_at: str
    author_name: str
    body: str
    from_agent: bool = False
    sequence: int = 1
    attachments: tuple[Attachment, ...] = ()
    # Set for a message that came by mail: the raw mail's key in the inbound bucket.
    raw_mail_key: str | None = None
    # The body rendered (markup.render_markdown, sanitized) when the message was written;
    # "" for one stored before messages kept their HTML, or whose HTML was too large to keep.
    html: str = ""


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
    message_count: int = 1
    search_text: str = ""
    guest_key_hash: str | None = None
    # When the ticket started waiting for an agent (its place in the queue).
    waiting_since: str | None = None
    # The start of the first message as plain text, for lists.
    excerpt: str = ""
    # A guest's web ticket waits, outside the queue, until its address confirms it (a mail
    # of fixed text): nothing a stranger typed is ever mailed to an address not proven.
    confirmed: bool = True

    @property
    def is_closed(self) -> bool:
        return self.status is Status.CLOSED


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
        "requester_language": ticket.requester.language,
        "account_id": ticket.requester.account_id,
        "service": ticket.service,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "message_count": ticket.message_count,
        "search_text": ticket.search_text,
        "guest_key_hash": ticket.guest_key_hash,
        "waiting_since": ticket.waiting_since,
        "excerpt": ticket.excerpt,
        "confirmed": ticket.confirmed,
    }
    if ticket.requester.account_id:
        item["GSI1PK"] = f"OWNER#{ticket.requester.account_id}"
        item["GSI1SK"] = f"{ticket.updated_at}#{ticket.id}"
    if ticket.status in AWAITING_AGENT and ticket.waiting_since and ticket.confirmed:
        item["GSI2PK"] = f"QUEUE#{ticket.department}"
        item["GSI2SK"] = f"{ticket.waiting_since}#{ticket.id}"
    return item


def _message_item(message: Message) -> Item:
    item: Item = {
        "PK": f"TICKET#{message.ticket_id}",
        "SK": f"MESSAGE#{message.created_at}#{message.sequence:04d}",
        "type": "Message",
        "ticket_id": message.ticket_id,
        "created_at": message.created_at,
        "author_name": message.author_name,
        "body": message.body,
        "from_agent": message.from_agent,
        "sequence": message.sequence,
        "attachments": [a.as_item() for a in message.attachments],
        "raw_mail_key": message.raw_mail_key,
    }
    if len(message.html.encode("utf-8")) <= MAX_STORED_HTML_BYTES:
        item["html"] = message.html
    return item


def _message_from_item(item: Item) -> Message:
    return Message(
        ticket_id=item["ticket_id"],
        created_at=item["created_at"],
        author_name=item["author_name"],
        body=item["body"],
        from_agent=bool(item.get("from_agent", False)),
        sequence=int(item.get("sequence", 1)),
        attachments=tuple(Attachment.from_item(a) for a in item.get("attachments", ())),
        raw_mail_key=item.get("raw_mail_key"),
        html=item.get("html", ""),
    )


def find_attachment(ticket: Ticket, attachment_id: str) -> Attachment | None:
    return next((a for m in ticket.messages for a in m.attachments if a.id == attachment_id), None)


def ticket_from_item(head: Item, messages: tuple[Message, ...] = ()) -> Ticket:
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
            language=head.get("requester_language", "es"),
        ),
        created_at=head["created_at"],
        updated_at=head["updated_at"],
        service=head.get("service"),
        messages=messages,
        message_count=int(head.get("message_count", len(messages) or 1)),
        search_text=head.get("search_text", ""),
        guest_key_hash=head.get("guest_key_hash"),
        waiting_since=head.get("waiting_since"),
        excerpt=head.get("excerpt", ""),
        confirmed=bool(head.get("confirmed", True)),
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
    guest_key: str | None = None,
    attachments: tuple[Attachment, ...] = (),
    raw_mail_key: str | None = None,
    in_reply_to: str | None = None,
    also: Sequence[dict[str, Any]] = (),
    confirmed: bool = True,
    draw_id: Callable[[], str] = new_ticket_id,
    emit: Emit,
) -> Ticket:
    """Store a new ticket with its first message under a fresh, never-reused ID; then emit
    `opened` (with `guest_key` and `in_reply_to`, the mail it came in, for the answer).

    `also`: more transaction actions written with the ticket or not at all; a failed
    condition among them raises AlsoRefused. An unconfirmed ticket (a guest's, from the web)
    enters the queue only when `confirm_ticket` is called.
    """
    now = utc_now()
    html = render_markdown(body)
    excerpt = excerpt_of_html(html)
    for _ in range(MAX_ID_ATTEMPTS):
        ticket_id = draw_id()
        message = Message(ticket_id, now, requester.name, body, attachments=attachments,
                          raw_mail_key=raw_mail_key, html=html)
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
            message_count=1,
            search_text=search_text_of(ticket_id, subject, [body]),
            guest_key_hash=hash_guest_key(guest_key) if guest_key else None,
            waiting_since=now if confirmed else None,
            excerpt=excerpt,
            confirmed=confirmed,
        )
        try:
            table.transact([
                table.put_action(_ticket_item(ticket), "attribute_not_exists(PK)"),
                table.put_action(_message_item(message)),
                *also,
            ])
        except ConditionFailed as failure:
            if "ConditionalCheckFailed" in failure.reasons[2:]:
                raise AlsoRefused(ticket_id) from failure
            if failure.reasons and failure.reasons[0] == "ConditionalCheckFailed":
                continue  # the ID is taken: draw another
            raise
        emit(TicketEvent(EventKind.OPENED, ticket, guest_key=guest_key, in_reply_to=in_reply_to))
        return ticket
    raise TicketIdExhausted(f"no free ticket ID after {MAX_ID_ATTEMPTS} draws")


def get_ticket(table: Table, ticket_id: str) -> Ticket | None:
    """The ticket with its whole thread, oldest message first, in one Query."""
    if not is_ticket_id(ticket_id):
        return None
    items = table.query("PK", f"TICKET#{ticket_id}")
    head = next((i for i in items if i["SK"] == "TICKET"), None)
    if head is None:
        return None
    messages = tuple(_message_from_item(i) for i in items if i["SK"].startswith("MESSAGE#"))
    return ticket_from_item(head, messages)


def list_tickets_of(table: Table, account_id: str) -> list[Ticket]:
    """An account's tickets, newest activity first (headers only, no messages)."""
    items = table.query("GSI1PK", f"OWNER#{account_id}", index="GSI1", newest_first=True)
    return [ticket_from_item(i) for i in items if i.get("type") == "Ticket"]


def reply_problem(ticket: Ticket, body: str) -> str | None:
    """Why the customer's message cannot be added as it is, if so (a reason for the page)."""
    return "unconfirmed" if not ticket.confirmed else message_problem(body)


def _status_after_customer_message(status: Status) -> Status:
    # A ticket nobody has answered yet stays Open; any other (closed included: a reply
    # reopens it) now waits for an agent because of the customer.
    return Status.OPEN if status is Status.OPEN else Status.CUSTOMER_REPLY


def add_customer_reply(table: Table, ticket: Ticket, *, author_name: str, body: str,
                       attachments: tuple[Attachment, ...] = (), raw_mail_key: str | None = None,
                       also: Sequence[dict[str, Any]] = (), emit: Emit) -> Ticket:
    """Add the requester's message; the ticket (re)enters its department's queue.

    `ticket` is the version the caller read; if another message arrived since, the
    write is refused (TicketChanged) instead of overwriting that message's effects.
    A ticket that was already waiting keeps its place in the queue: adding information
    never sends a customer to the back of the line.
    """
    if not ticket.confirmed:
        raise TicketUnconfirmed(ticket.id)
    now = utc_now()
    sequence = ticket.message_count + 1
    message = Message(ticket.id, now, author_name, body, sequence=sequence, attachments=attachments,
                      raw_mail_key=raw_mail_key, html=render_markdown(body))
    status = _status_after_customer_message(ticket.status)
    waiting_since = ticket.waiting_since if ticket.status in AWAITING_AGENT else now
    previous = [m.body for m in ticket.messages] or [ticket.search_text]
    search = search_text_of(ticket.id, ticket.subject, [*previous, body])
    _update(table, ticket, now, {
        "status": status.value, "message_count": sequence, "search_text": search, "waiting_since": waiting_since,
        "GSI2PK": f"QUEUE#{ticket.department}", "GSI2SK": f"{waiting_since}#{ticket.id}",
    }, before=[table.put_action(_message_item(message), "attribute_not_exists(PK)")], also=also)
    ticket = replace(
        ticket, status=status, updated_at=now, message_count=sequence, search_text=search,
        waiting_since=waiting_since, messages=(*ticket.messages, message),
    )
    emit(TicketEvent(EventKind.REPLIED, ticket))
    return ticket


def _update(table: Table, ticket: Ticket, now: str, values: dict[str, Any], *, remove: str = "",
            before: Sequence[dict[str, Any]] = (), also: Sequence[dict[str, Any]] = ()) -> None:
    """Set the ticket's attributes (`values`, by name) and drop `remove`, writing `before`
    with it, if no message arrived since `ticket` was read (else TicketChanged). The change
    is the account's latest activity. `also`: conditions that must hold too (AlsoRefused
    when one does not)."""
    values = {**values, "updated_at": now}
    if ticket.requester.account_id:
        values["GSI1SK"] = f"{now}#{ticket.id}"
    expression = "SET " + ", ".join(f"#{name} = :{name}" for name in values) + (f" REMOVE {remove}" if remove else "")
    names = {f"#{name}": name for name in values}
    values = {f":{name}": value for name, value in values.items()}
    values[":expected"] = ticket.message_count
    try:
        table.transact([*before, table.update_action(
            f"TICKET#{ticket.id}", "TICKET", expression, values,
            names=names, condition="message_count = :expected"), *also])
    except ConditionFailed as failure:
        if "ConditionalCheckFailed" in failure.reasons[len(before) + 1:]:
            raise AlsoRefused(ticket.id) from failure
        raise TicketChanged(ticket.id) from failure


def confirm_ticket(table: Table, ticket: Ticket, *, guest_key: str | None, emit: Emit) -> Ticket:
    """The guest's address confirmed the ticket (with the key of its link, `guest_key`): it
    joins the queue now (its place: now).

    TicketChanged if it was confirmed meanwhile: exactly one confirmation takes effect.
    """
    if ticket.confirmed:
        return ticket
    now = utc_now()
    try:
        table.update(
            f"TICKET#{ticket.id}", "TICKET",
            "SET confirmed = :yes, waiting_since = :now, GSI2PK = :queue, GSI2SK = :position",
            {":yes": True, ":no": False, ":now": now, ":queue": f"QUEUE#{ticket.department}",
             ":position": f"{now}#{ticket.id}"},
            condition="confirmed = :no",
        )
    except ConditionFailed as failure:
        raise TicketChanged(ticket.id) from failure
    ticket = replace(ticket, confirmed=True, waiting_since=now)
    emit(TicketEvent(EventKind.CONFIRMED, ticket, guest_key=guest_key))
    return ticket


def close_ticket(table: Table, ticket: Ticket, *, also: Sequence[dict[str, Any]] = (), emit: Emit) -> Ticket:
    """Close the ticket; it leaves the queue and stays in the customer's archive.

    `also`: conditions that must hold too (AlsoRefused when one does not).
    """
    if ticket.is_closed:
        return ticket
    now = utc_now()
    _update(table, ticket, now, {"status": Status.CLOSED.value}, remove="GSI2PK, GSI2SK, waiting_since", also=also)
    ticket = replace(ticket, status=Status.CLOSED, updated_at=now, waiting_since=None)
    emit(TicketEvent(EventKind.CLOSED, ticket))
    return ticket
