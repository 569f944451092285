"""Tickets and their messages, and every change made to them.

A ticket and its messages share a partition (PK=TICKET#<id>), so the ticket page is one
Query. Every change is one transaction, whoever makes it (customer, mail, agent):

- the ticket's head, written whole, on the condition that its `version` is still the one
  the change was computed from (a new ticket: that its ID is new, so an ID is never
  overwritten and a collision draws another);
- the message it adds, if any;
- the department's queue count, when the ticket enters or leaves the queue;
- the change's event (supportdesk.events), which the notifier delivers from the stream.

A change that found the ticket changed meanwhile is refused (TicketChanged) or, for a
message, made again on the fresh head: two replies written at once both land, a status
chosen on a stale page does not.

A message is rendered to HTML once, when it is written, and stored with its Markdown: the
ticket page shows that HTML and parses nothing, however often it is viewed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import string
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable, Sequence

from supportdesk.attachments import Attachment
from supportdesk.events import EVENT_DAYS, EventKind, StatusChange, StatusMark, TicketEvent, event_item
from supportdesk.i18n import N_
from supportdesk.limits import message_problem
from supportdesk.markup import excerpt_of_html, render_markdown
from supportdesk.signing import derive_key
from supportdesk.store import ConditionFailed, Item, Page, Table

if TYPE_CHECKING:
    from supportdesk.accounts import Account

TICKET_ID = re.compile(r"^[A-Z]{3}-\d{6}$")
MAX_ID_ATTEMPTS = 8
# How often a message is written again on a fresh head when others keep changing the ticket.
MAX_MESSAGE_ATTEMPTS = 5
# A message's HTML is stored beside its Markdown only up to this size, so that the item stays
# well within DynamoDB's 400 KB. Markdown comes out at one to two times its size; only a
# contrived message (a table whose header makes every line a row of thousands of empty
# cells) renders larger, and it is rendered again when shown instead.
MAX_STORED_HTML_BYTES = 256 * 1024
# With the body (64 KB) and its HTML (256 KB at most), an item stays under DynamoDB's 400 KB.
MAX_TRIMMED_BYTES = 48 * 1024
# An agent shows as on a ticket for this long after their page last said so.
PRESENCE_SECONDS = 45
QUEUE_PAGE = 25


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
    """The agents' names (label), and what the customer reads (customer_label)."""

    customer_label: str

    if not TYPE_CHECKING:

        def __new__(cls, value: str, label: str, customer_label: str) -> Status:
            member = str.__new__(cls, value)
            member._value_ = value
            member.label = label
            member.customer_label = customer_label
            return member

    OPEN = "open", N_("Open"), N_("Waiting for our team")
    ANSWERED = "answered", N_("Answered"), N_("Awaiting your reply")
    CUSTOMER_REPLY = "customer-reply", N_("Customer-Reply"), N_("Waiting for our team")
    ON_HOLD = "on-hold", N_("On Hold"), N_("On hold")
    IN_PROGRESS = "in-progress", N_("In Progress"), N_("We are on it")
    CLOSED = "closed", N_("Closed"), N_("Closed")


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
    written: the record of an inbound mail (this very mail was stored before), the check
    of the writer's session (it was ended meanwhile), or the claim of an upload (not checked,
    not the writer's, or already in a message). `failed`: their positions in `also`."""

    def __init__(self, ticket_id: str, failed: tuple[int, ...] = ()) -> None:
        super().__init__(ticket_id)
        self.failed = failed


def _also_failed(reasons: list[str], actions: int) -> tuple[int, ...]:
    return tuple(n - actions for n, reason in enumerate(reasons)
                 if n >= actions and reason == "ConditionalCheckFailed")


def new_ticket_id() -> str:
    """Three capital letters, a dash and six digits, e.g. KXR-482913 (17.6 billion IDs)."""
    letters = "".join(secrets.choice(string.ascii_uppercase) for _ in range(3))
    return f"{letters}-{secrets.randbelow(1_000_000):06d}"


def is_ticket_id(text: str) -> bool:
    return bool(TICKET_ID.match(text))


@dataclass(frozen=True)
class GuestKeys:
    """The keys of guests' private links: each derived from the ticket's ID with the stack's
    secret, so the mail sent later (by the notifier) can carry it while the table keeps
    only its hash: a leaked table does not open guests' tickets."""

    secret: str

    def of(self, ticket_id: str) -> str:
        digest = hmac.new(derive_key(self.secret, "guest-link"), ticket_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode()


def hash_guest_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def utc_now() -> str:
    """A timestamp that sorts as text: 2026-11-25T20:43:51.123456Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(iso: str) -> datetime:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


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
class Agent:
    """An agent as the ticket records them (assignee, author of a reply or a note)."""

    id: str
    name: str


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
    # An agents' note: never shown, searched or mailed on the customer's side.
    internal: bool = False
    # For a mailed message: what the intake cut from its text as quoted history or signature
    # (plain text, at most MAX_TRIMMED_BYTES), shown folded under it: nothing a heuristic
    # cuts is reachable only in the raw mail.
    trimmed: str = ""

    @property
    def key(self) -> str:
        """Its sort key in the ticket's partition."""
        marker = "N" if self.internal else ""
        return f"MESSAGE#{self.created_at}#{marker}{self.sequence:04d}"


@dataclass(frozen=True)
class Viewer:
    """An agent who has the ticket open (a marker that lasts PRESENCE_SECONDS)."""

    agent_id: str
    name: str
    until: int
    writing: bool = False


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
    # Messages the customer sees (agents' notes are not counted).
    message_count: int = 1
    guest_key_hash: str | None = None
    # When the ticket started waiting for an agent (its place in the queue).
    waiting_since: str | None = None
    # The start of the first message as plain text, for lists.
    excerpt: str = ""
    # A guest's web ticket waits, outside the queue, until its address confirms it (a mail
    # of fixed text): nothing a stranger typed is ever mailed to an address not proven.
    confirmed: bool = True
    # Changes stored so far: a change computed from another version is refused.
    version: int = 0
    assignee: Agent | None = None
    viewers: tuple[Viewer, ...] = ()
    # Where the older messages go on, when `messages` holds only the latest page of them.
    earlier: str | None = None
    # The changes of status among those messages (closed, reopened, an agent's), for the thread.
    events: tuple[StatusChange, ...] = ()

    @property
    def is_closed(self) -> bool:
        return self.status is Status.CLOSED

    @property
    def in_queue(self) -> bool:
        return self.status in AWAITING_AGENT and self.confirmed and self.waiting_since is not None

    @property
    def thread(self) -> tuple[Message | StatusChange, ...]:
        """Its messages and changes of status, in time order."""
        return in_time_order(self.messages, self.events)

    def customer_view(self) -> Ticket:
        """The ticket as its customer may see it: no agents' notes, no agents' presence."""
        return replace(self, messages=tuple(m for m in self.messages if not m.internal), viewers=())

    def viewers_besides(self, agent_id: str, now: float | None = None) -> tuple[Viewer, ...]:
        moment = time.time() if now is None else now
        return tuple(v for v in self.viewers if v.agent_id != agent_id and v.until > moment)


def in_time_order(messages: Sequence[Message],
                  events: Sequence[StatusChange]) -> tuple[Message | StatusChange, ...]:
    """Messages and changes of status as the thread shows them: by their sort keys (time)."""
    items: list[Message | StatusChange] = [*messages, *events]
    return tuple(sorted(items, key=lambda item: item.key))


def owner_key(account_id: str | None, email: str) -> str:
    """Whose tickets these are, as the indexes key them: an account's, or a guest's address's."""
    return f"OWNER#{account_id}" if account_id else f"GUEST#{email.strip().lower()}"


def head_snapshot(ticket: Ticket) -> Item:
    """The ticket's head as an event carries it: no keys, no presence."""
    item = _ticket_item(ticket)
    for name in ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK",
                 "GSI5PK", "GSI5SK",
                 "viewers", "guest_key_hash"):
        item.pop(name, None)
    return {k: v for k, v in item.items() if v is not None}


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
        "guest_key_hash": ticket.guest_key_hash,
        "waiting_since": ticket.waiting_since,
        "excerpt": ticket.excerpt,
        "confirmed": ticket.confirmed,
        "version": ticket.version,
        "assignee_id": ticket.assignee.id if ticket.assignee else None,
        "assignee_name": ticket.assignee.name if ticket.assignee else None,
        # Presence markers are set in place (mark_presence); a change starts them afresh.
        "viewers": {},
    }
    # A customer's tickets by last activity: an account's, or a guest's by address (GSI1);
    # the same, open or closed apart (GSI5), so neither list is filtered after reading.
    owner = owner_key(ticket.requester.account_id, ticket.requester.email)
    item["GSI1PK"] = owner
    item["GSI1SK"] = f"{ticket.updated_at}#{ticket.id}"
    item["GSI5PK"] = f"{owner}#{'closed' if ticket.is_closed else 'open'}"
    item["GSI5SK"] = f"{ticket.updated_at}#{ticket.id}"
    if ticket.in_queue:
        # The queue: the department's (GSI2) and everyone's (GSI3), by time waited.
        item["GSI2PK"] = f"QUEUE#{ticket.department}"
        item["GSI2SK"] = f"{ticket.waiting_since}#{ticket.id}"
        item["GSI3PK"] = "QUEUE"
        item["GSI3SK"] = f"{ticket.waiting_since}#{ticket.id}"
    return item


def kept_trimmed(text: str) -> str:
    """What is kept of a mail's trimmed text: all of it up to MAX_TRIMMED_BYTES (the raw
    mail, linked from the message, holds the rest)."""
    data = text.strip("\n").encode("utf-8")
    if len(data) <= MAX_TRIMMED_BYTES:
        return data.decode("utf-8")
    return data[:MAX_TRIMMED_BYTES].decode("utf-8", "ignore") + "\n[…]"


def _message_item(message: Message) -> Item:
    item: Item = {
        "PK": f"TICKET#{message.ticket_id}",
        "SK": message.key,
        "type": "Message",
        "ticket_id": message.ticket_id,
        "created_at": message.created_at,
        "author_name": message.author_name,
        "body": message.body,
        "from_agent": message.from_agent,
        "sequence": message.sequence,
        "attachments": [a.as_item() for a in message.attachments],
        "raw_mail_key": message.raw_mail_key,
        "internal": message.internal or None,
        "trimmed": message.trimmed or None,
    }
    if len(message.html.encode("utf-8")) <= MAX_STORED_HTML_BYTES:
        item["html"] = message.html
    return item


def message_from_item(item: Item) -> Message:
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
        internal=bool(item.get("internal", False)),
        trimmed=str(item.get("trimmed") or ""),
    )


def _status_change_item(change: StatusChange) -> Item:
    return {
        "PK": f"TICKET#{change.ticket_id}",
        "SK": change.key,
        "type": "StatusChange",
        "ticket_id": change.ticket_id,
        "created_at": change.created_at,
        "mark": change.mark.value,
        "status": change.status.value,
        "by": change.by,
        "by_agent": change.by_agent,
    }


def status_change_from_item(item: Item) -> StatusChange:
    return StatusChange(
        ticket_id=item["ticket_id"],
        created_at=item["created_at"],
        mark=StatusMark(item["mark"]),
        status=Status(item["status"]),
        by=item["by"],
        by_agent=bool(item.get("by_agent", False)),
    )


def _thread_items(items: Sequence[Item]) -> tuple[tuple[Message, ...], tuple[StatusChange, ...]]:
    """The messages and the changes of status among a partition's items, in their order."""
    thread = [i for i in items if str(i["SK"]).startswith("MESSAGE#")]
    return (tuple(message_from_item(i) for i in thread if i.get("type") != "StatusChange"),
            tuple(status_change_from_item(i) for i in thread if i.get("type") == "StatusChange"))


def _status_change(before: Ticket, after: Ticket, event: TicketEvent | None) -> StatusChange | None:
    """What the thread shows of a change: a ticket closed, reopened (by a reply, or by an
    agent), or given another status by an agent; nothing for the status a reply brings."""
    if event is None or before.status is after.status:
        return None
    if after.is_closed:
        mark = StatusMark.CLOSED
    elif before.is_closed:
        mark = StatusMark.REOPENED
    elif event.kind is EventKind.CHANGED:
        mark = StatusMark.CHANGED
    else:
        return None
    return StatusChange(after.id, after.updated_at, mark, after.status, by=event.agent or after.requester.name,
                        by_agent=event.agent is not None)


def find_attachment(ticket: Ticket, attachment_id: str) -> Attachment | None:
    return next((a for m in ticket.messages for a in m.attachments if a.id == attachment_id), None)


def _viewers_from(raw: Any) -> tuple[Viewer, ...]:
    if not isinstance(raw, dict):
        return ()
    return tuple(
        Viewer(agent_id, str(mark.get("name", "")), int(mark.get("until", 0)), bool(mark.get("writing", False)))
        for agent_id, mark in sorted(raw.items()) if isinstance(mark, dict)
    )


def ticket_from_item(head: Item, messages: tuple[Message, ...] = ()) -> Ticket:
    assignee_id = head.get("assignee_id")
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
        guest_key_hash=head.get("guest_key_hash"),
        waiting_since=head.get("waiting_since"),
        excerpt=head.get("excerpt", ""),
        confirmed=bool(head.get("confirmed", True)),
        version=int(head.get("version", 0)),
        assignee=Agent(assignee_id, head.get("assignee_name") or "") if assignee_id else None,
        viewers=_viewers_from(head.get("viewers")),
    )


# --- the one way a change is written ------------------------------------------------------

def _count_action(table: Table, department: str, delta: int) -> dict[str, Any]:
    return table.update_action(f"QUEUE#{department}", "COUNT", "ADD waiting :delta", {":delta": delta})


def _queue_moves(table: Table, before: Ticket | None, after: Ticket) -> list[dict[str, Any]]:
    """The queue counts a change moves: out of one department's, into another's."""
    moves: dict[str, int] = {}
    if before is not None and before.in_queue:
        moves[before.department] = moves.get(before.department, 0) - 1
    if after.in_queue:
        moves[after.department] = moves.get(after.department, 0) + 1
    return [_count_action(table, department, delta) for department, delta in moves.items() if delta]


def _commit(table: Table, before: Ticket, after: Ticket, *, event: TicketEvent | None,
            message: Message | None = None, also: Sequence[dict[str, Any]] = ()) -> Ticket:
    """Write `after` over `before` (the version it was computed from) with its message, queue
    counts, event and change of status for the thread, or nothing: TicketChanged if the ticket
    changed meanwhile, AlsoRefused if a condition of `also` failed."""
    after = replace(after, version=before.version + 1, viewers=())
    if before.version:
        condition, values = "version = :seen", {":seen": before.version}
    else:  # stored before tickets had versions
        condition, values = "attribute_exists(PK) AND attribute_not_exists(version)", None
    actions = [table.put_action(_ticket_item(after), condition, values)]
    if message is not None:
        actions.append(table.put_action(_message_item(message), "attribute_not_exists(PK)"))
    actions += _queue_moves(table, before, after)
    if event is not None:
        actions.append(table.put_action(_event_item(replace(event, ticket=after))))
    status_change = _status_change(before, after, event)
    if status_change is not None:
        actions.append(table.put_action(_status_change_item(status_change)))
    try:
        table.transact([*actions, *also])
    except ConditionFailed as failure:
        if "ConditionalCheckFailed" in failure.reasons[len(actions):]:
            raise AlsoRefused(after.id, _also_failed(failure.reasons, len(actions))) from failure
        if "ConditionalCheckFailed" in failure.reasons[:len(actions)]:
            raise TicketChanged(after.id) from failure
        raise
    return replace(after, events=(*after.events, status_change)) if status_change else after


def _event_item(event: TicketEvent) -> Item:
    now = utc_now()
    return event_item(event, now, int(time.time()) + EVENT_DAYS * 86400)


def _with_message(table: Table, ticket: Ticket,
                  change: Callable[[Ticket, str], tuple[Ticket, Message, TicketEvent | None]],
                  *, also: Sequence[dict[str, Any]] = ()) -> tuple[Ticket, Message]:
    """Add a message made by `change(head, now)`; if the ticket changed meanwhile, make it
    again on the fresh head: a message is never refused because another one landed first."""
    for _ in range(MAX_MESSAGE_ATTEMPTS):
        now = utc_now()
        after, message, event = change(ticket, now)
        try:
            stored = _commit(table, ticket, after, event=event, message=message, also=also)
        except TicketChanged:
            fresh = get_ticket_head(table, ticket.id)
            if fresh is None:
                raise
            ticket = replace(fresh, messages=ticket.messages, events=ticket.events)
            continue
        return replace(stored, messages=(*ticket.messages, message)), message
    raise TicketChanged(ticket.id)


# --- customers' and the mail intake's changes ---------------------------------------------

def create_ticket(
    table: Table,
    *,
    department: str,
    subject: str,
    body: str,
    requester: Requester,
    priority: Priority = Priority.NORMAL,
    service: str | None = None,
    guest_keys: GuestKeys | None = None,
    attachments: tuple[Attachment, ...] = (),
    raw_mail_key: str | None = None,
    trimmed: str = "",
    in_reply_to: str | None = None,
    also: Sequence[dict[str, Any]] = (),
    confirmed: bool = True,
    draw_id: Callable[[], str] = new_ticket_id,
) -> Ticket:
    """Store a new ticket with its first message and its `opened` event, under a fresh,
    never-reused ID. A guest's ticket (`guest_keys`) opens with its link's key.

    `in_reply_to`: the mail it came in, for the answer. `also`: more transaction actions
    written with the ticket or not at all; a failed condition among them raises AlsoRefused.
    An unconfirmed ticket (a guest's, from the web) enters the queue only when
    `confirm_ticket` is called.
    """
    now = utc_now()
    html = render_markdown(body)
    excerpt = excerpt_of_html(html)
    for _ in range(MAX_ID_ATTEMPTS):
        ticket_id = draw_id()
        message = Message(ticket_id, now, requester.name, body, attachments=attachments,
                          raw_mail_key=raw_mail_key, html=html, trimmed=kept_trimmed(trimmed))
        ticket = Ticket(
            id=ticket_id, department=department, subject=subject, priority=priority,
            status=Status.OPEN, requester=requester, created_at=now, updated_at=now,
            service=service, messages=(message,), message_count=1,
            guest_key_hash=hash_guest_key(guest_keys.of(ticket_id)) if guest_keys else None,
            waiting_since=now if confirmed else None, excerpt=excerpt, confirmed=confirmed, version=1,
        )
        event = TicketEvent(EventKind.OPENED, ticket, in_reply_to=in_reply_to, message_key=message.key)
        actions = [
            table.put_action(_ticket_item(ticket), "attribute_not_exists(PK)"),
            table.put_action(_message_item(message)),
            *_queue_moves(table, None, ticket),
            table.put_action(_event_item(event)),
        ]
        try:
            table.transact([*actions, *also])
        except ConditionFailed as failure:
            if "ConditionalCheckFailed" in failure.reasons[len(actions):]:
                raise AlsoRefused(ticket_id, _also_failed(failure.reasons, len(actions))) from failure
            if failure.reasons and failure.reasons[0] == "ConditionalCheckFailed":
                continue  # the ID is taken: draw another
            raise
        return ticket
    raise TicketIdExhausted(f"no free ticket ID after {MAX_ID_ATTEMPTS} draws")


# A ticket page shows this many of the latest messages; older ones come a page at a time.
THREAD_PAGE = 30


def get_ticket(table: Table, ticket_id: str, *, whole: bool = False) -> Ticket | None:
    """The ticket with its latest THREAD_PAGE messages, oldest first, in one Query (its head
    sorts after its messages: read backwards, it comes first). `earlier` is where the older
    messages go on. `whole`: every message (a download looks for its message in all)."""
    if not is_ticket_id(ticket_id):
        return None
    if whole:
        items = table.query("PK", f"TICKET#{ticket_id}")
        cursor = None
    else:
        page = table.page("PK", f"TICKET#{ticket_id}", index=None, sort_key="SK", size=THREAD_PAGE + 1,
                          newest_first=True)
        items, cursor = list(reversed(page.items)), page.cursor
    head = next((i for i in items if i["SK"] == "TICKET"), None)
    if head is None:
        return None
    messages, events = _thread_items(items)
    return replace(ticket_from_item(head, messages), earlier=cursor, events=events)


def earlier_thread(table: Table, ticket_id: str,
                   cursor: str) -> tuple[tuple[Message, ...], tuple[StatusChange, ...], str | None]:
    """The page of the thread before `cursor`: its messages and changes of status (oldest
    first), and where the ones before go on (BadCursor for a cursor of another list)."""
    page = table.page("PK", f"TICKET#{ticket_id}", index=None, sort_key="SK", cursor=cursor, size=THREAD_PAGE,
                      newest_first=True)
    messages, events = _thread_items(list(reversed(page.items)))
    return messages, events, page.cursor



def get_ticket_head(table: Table, ticket_id: str) -> Ticket | None:
    """The ticket without its messages, in one GetItem (what a change needs)."""
    if not is_ticket_id(ticket_id):
        return None
    head = table.get(f"TICKET#{ticket_id}", "TICKET", consistent=True)
    return ticket_from_item(head) if head else None


def get_message(table: Table, ticket_id: str, key: str) -> Message | None:
    item = table.get(f"TICKET#{ticket_id}", key)
    return message_from_item(item) if item else None


LIST_PAGE = 25
# Subject advice compares a new subject with this many of the customer's latest tickets.
ADVICE_RECENT = 50


def tickets_page(table: Table, owner: str, *, state: str = "all", cursor: str | None = None,
                 size: int = LIST_PAGE) -> tuple[list[Ticket], str | None]:
    """One page of a customer's tickets (`owner`: owner_key), newest activity first: all of
    them (index Owner), or the open or closed ones (OwnerState). BadCursor for a cursor of
    another list."""
    if state in ("open", "closed"):
        page = table.page("GSI5PK", f"{owner}#{state}", index="OwnerState", sort_key="GSI5SK", cursor=cursor,
                          size=size, newest_first=True)
    else:
        page = table.page("GSI1PK", owner, index="Owner", sort_key="GSI1SK", cursor=cursor, size=size,
                          newest_first=True)
    return [ticket_from_item(i) for i in page.items if i.get("type") == "Ticket"], page.cursor


def recent_tickets_of(table: Table, account_id: str) -> list[Ticket]:
    """An account's latest tickets (headers only), for advice while a subject is typed."""
    return tickets_page(table, owner_key(account_id, ""), size=ADVICE_RECENT)[0]


def reply_problem(ticket: Ticket, body: str) -> str | None:
    """Why the message cannot be added as it is, if so (a reason for the page)."""
    return "unconfirmed" if not ticket.confirmed else message_problem(body)


def add_customer_reply(table: Table, ticket: Ticket, *, author_name: str, body: str,
                       attachments: tuple[Attachment, ...] = (), raw_mail_key: str | None = None,
                       trimmed: str = "", also: Sequence[dict[str, Any]] = ()) -> Ticket:
    """Add the requester's message: the ticket is Customer-Reply and waits in its queue.

    A ticket that was already waiting keeps its place: adding information never sends a
    customer to the back of the line. One that was not (answered, on hold, closed) joins
    the queue at the back.
    """
    if not ticket.confirmed:
        raise TicketUnconfirmed(ticket.id)

    def change(head: Ticket, now: str) -> tuple[Ticket, Message, TicketEvent]:
        sequence = head.message_count + 1
        message = Message(head.id, now, author_name, body, sequence=sequence, attachments=attachments,
                          raw_mail_key=raw_mail_key, html=render_markdown(body), trimmed=kept_trimmed(trimmed))
        after = replace(head, status=Status.CUSTOMER_REPLY, updated_at=now, message_count=sequence,
                        waiting_since=head.waiting_since if head.in_queue else now)
        return after, message, TicketEvent(EventKind.REPLIED, after, message_key=message.key)

    return _with_message(table, ticket, change, also=also)[0]


def confirm_ticket(table: Table, ticket: Ticket) -> Ticket:
    """The guest's address confirmed the ticket: it joins the queue now (its place: now).

    TicketChanged if it was confirmed meanwhile: exactly one confirmation takes effect.
    """
    if ticket.confirmed:
        return ticket
    now = utc_now()
    after = replace(ticket, confirmed=True, waiting_since=now, updated_at=now)
    return replace(_commit(table, ticket, after, event=TicketEvent(EventKind.CONFIRMED, after)),
                   messages=ticket.messages)


def close_ticket(table: Table, ticket: Ticket, *, also: Sequence[dict[str, Any]] = ()) -> Ticket:
    """The customer closes the ticket; it leaves the queue and stays in their archive.

    `also`: conditions that must hold too (AlsoRefused when one does not).
    """
    if ticket.is_closed:
        return ticket
    now = utc_now()
    after = replace(ticket, status=Status.CLOSED, updated_at=now, waiting_since=None)
    return replace(_commit(table, ticket, after, event=TicketEvent(EventKind.CLOSED, after), also=also),
                   messages=ticket.messages)


# --- agents' changes ---------------------------------------------------------------------

def add_agent_reply(table: Table, ticket: Ticket, *, agent: Agent, body: str,
                    attachments: tuple[Attachment, ...] = (), also: Sequence[dict[str, Any]] = ()) -> Ticket:
    """An agent answers the customer: the ticket is Answered and leaves the queue.

    Written on the freshest head: two agents answering at once both land.
    """
    if not ticket.confirmed:
        raise TicketUnconfirmed(ticket.id)

    def change(head: Ticket, now: str) -> tuple[Ticket, Message, TicketEvent]:
        sequence = head.message_count + 1
        message = Message(head.id, now, agent.name, body, from_agent=True, sequence=sequence,
                          attachments=attachments, html=render_markdown(body))
        after = replace(head, status=Status.ANSWERED, updated_at=now, message_count=sequence,
                        waiting_since=None)
        event = TicketEvent(EventKind.ANSWERED, after, message_key=message.key, agent=agent.name)
        return after, message, event

    return _with_message(table, ticket, change, also=also)[0]


def add_note(table: Table, ticket: Ticket, *, agent: Agent, body: str,
             attachments: tuple[Attachment, ...] = (), also: Sequence[dict[str, Any]] = ()) -> Ticket:
    """An agents' note: in the thread for agents only. It changes no status, is counted in
    no customer's list, is in no search text, and makes no event (so no mail)."""

    def change(head: Ticket, now: str) -> tuple[Ticket, Message, TicketEvent | None]:
        message = Message(head.id, now, agent.name, body, from_agent=True, sequence=head.message_count,
                          attachments=attachments, html=render_markdown(body), internal=True)
        return head, message, None

    return _with_message(table, ticket, change, also=also)[0]


@dataclass(frozen=True)
class Changes:
    """What an agent sets on a ticket; None leaves a field as it is."""

    status: Status | None = None
    priority: Priority | None = None
    department: str | None = None
    assignee: Agent | None = None
    unassign: bool = False


def change_ticket(table: Table, ticket: Ticket, changes: Changes, *, agent: Agent,
                  also: Sequence[dict[str, Any]] = ()) -> Ticket:
    """Set status, priority, department or assignee, as an agent, on the version `ticket`
    is (the one the agent's page showed): TicketChanged if the ticket changed since.

    A ticket put back into Open or Customer-Reply joins the queue at the back; one that
    stays waiting keeps its place (in its new department's queue, if it moves).
    """
    now = utc_now()
    status = changes.status or ticket.status
    assignee = None if changes.unassign else (changes.assignee or ticket.assignee)
    after = replace(
        ticket, status=status, priority=changes.priority or ticket.priority,
        department=changes.department or ticket.department, assignee=assignee, updated_at=now,
        waiting_since=(ticket.waiting_since if ticket.in_queue else now) if status in AWAITING_AGENT else None,
    )
    described = tuple(
        (name, str(old), str(new)) for name, old, new in (
            ("status", ticket.status.value, after.status.value),
            ("priority", ticket.priority.value, after.priority.value),
            ("department", ticket.department, after.department),
            ("assignee", ticket.assignee.name if ticket.assignee else "", assignee.name if assignee else ""),
        ) if old != new
    )
    if not described:
        return ticket
    kind = EventKind.CLOSED if status is Status.CLOSED and not ticket.is_closed else EventKind.CHANGED
    event = TicketEvent(kind, after, agent=agent.name, changes=described)
    return replace(_commit(table, ticket, after, event=event, also=also), messages=ticket.messages)


def mark_presence(table: Table, ticket_id: str, agent: Agent, *, writing: bool,
                  now: float | None = None) -> Ticket | None:
    """Say that `agent` has the ticket open (and is writing), for PRESENCE_SECONDS; returns
    the ticket's head with everyone's markers, in one UpdateItem. Changes no version."""
    if not is_ticket_id(ticket_id):
        return None
    moment = time.time() if now is None else now
    mark = {"name": agent.name, "until": int(moment) + PRESENCE_SECONDS, "writing": writing}
    try:
        head = table.update(f"TICKET#{ticket_id}", "TICKET", "SET viewers.#agent = :mark",
                            {":mark": mark}, names={"#agent": agent.id}, condition="attribute_exists(PK)")
    except ConditionFailed:
        return None
    except table.client.exceptions.ClientError as error:  # a head stored before markers existed
        if error.response.get("Error", {}).get("Code") != "ValidationException":
            raise
        head = table.update(f"TICKET#{ticket_id}", "TICKET", "SET viewers = :viewers",
                            {":viewers": {agent.id: mark}}, condition="attribute_exists(PK)")
    return ticket_from_item(head)


# --- the queue ---------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueFilter:
    department: str | None = None  # None: every department
    status: Status | None = None
    priority: Priority | None = None
    assignee_id: str | None = None


def queue_page(table: Table, wanted: QueueFilter, *, cursor: str | None = None,
               size: int = QUEUE_PAGE) -> tuple[list[Ticket], str | None]:
    """Tickets awaiting an agent, the longest waiting first, one page per Query (BadCursor
    for a cursor of another list)."""
    given: tuple[tuple[str, Any], ...] = (
        ("status", wanted.status.value if wanted.status else None),
        ("priority", wanted.priority.value if wanted.priority else None),
        ("assignee_id", wanted.assignee_id),
    )
    filters = {name: value for name, value in given if value}
    if wanted.department:
        page: Page = table.page("GSI2PK", f"QUEUE#{wanted.department}", index="Queue", sort_key="GSI2SK",
                                cursor=cursor, size=size, filters=filters, evaluate=200)
    else:
        page = table.page("GSI3PK", "QUEUE", index="QueueAll", sort_key="GSI3SK",
                          cursor=cursor, size=size, filters=filters, evaluate=200)
    return [ticket_from_item(i) for i in page.items], page.cursor


def queue_count_keys(departments: Sequence[str]) -> list[tuple[str, str]]:
    return [(f"QUEUE#{slug}", "COUNT") for slug in departments]


def queue_counts(items: Sequence[Item]) -> dict[str, int]:
    """Tickets waiting per department, from the count items (queue_count_keys)."""
    return {str(i["PK"]).removeprefix("QUEUE#"): max(0, int(i.get("waiting", 0)))
            for i in items if str(i.get("PK", "")).startswith("QUEUE#") and i.get("SK") == "COUNT"}


def waited_minutes(ticket: Ticket, now: datetime | None = None) -> int:
    if not ticket.waiting_since:
        return 0
    moment = now or datetime.now(timezone.utc)
    return max(0, int((moment - parse_time(ticket.waiting_since)).total_seconds() // 60))


def requester_tickets(table: Table, *, account_id: str | None, email: str, besides: str = "",
                      size: int = 10) -> list[Ticket]:
    """A customer's latest tickets (an account's, or a guest's by address), `besides` aside."""
    tickets, _ = tickets_page(table, owner_key(account_id, email), size=size + 1)
    return [t for t in tickets if t.id != besides][:size]
