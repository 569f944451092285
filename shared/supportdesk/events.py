"""What happens to a ticket, as events: the one seam between a change and whoever hears of it.

Every change of a ticket goes through one function of supportdesk.tickets, whoever makes it:
the portal, the mail intake, the agent console. That function writes the change and its
event in one transaction: an event item (PK=OUTBOX#<ticket>) exists exactly when its change
was stored. The table's stream hands each new event item to the notifier function
(functions/notifier), which delivers it to the channels (supportdesk.channels) and retries
what fails; no web request and no mail intake waits for a mail or fails with one.

An internal note makes no event: nothing about it can ever reach a channel.

The outbox is for delivery and expires; what the thread shows of a change of status ("Closed
by … on …") is a StatusChange, an item of the ticket's own partition written in the very
same transaction (supportdesk.tickets._commit), kept as long as the ticket.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from supportdesk.store import Item

if TYPE_CHECKING:
    from supportdesk.tickets import Status, Ticket

# Event items are kept for two weeks (the stream itself keeps records for 24 hours).
EVENT_DAYS = 14


class EventKind(str, Enum):
    OPENED = "opened"
    # A guest's address confirmed the ticket it opened on the web: it is in the queue now.
    CONFIRMED = "confirmed"
    REPLIED = "replied"  # the customer added a message (a closed ticket reopens with it)
    ANSWERED = "answered"  # an agent replied to the customer
    CHANGED = "changed"  # an agent changed the status, priority, department or assignee
    CLOSED = "closed"


@dataclass(frozen=True)
class TicketEvent:
    kind: EventKind
    ticket: Ticket  # as it is after the change (its head: no messages)
    # The Message-ID of the mail that caused the change, so that our answer joins its thread.
    in_reply_to: str | None = None
    # The message the change added (a reply), by its sort key in the ticket's partition.
    message_key: str | None = None
    # Who made the change: an agent's name, or None for the customer (or the mail intake).
    agent: str | None = None
    # For CHANGED: (attribute, before, after), attribute one of status, priority, department, assignee.
    changes: tuple[tuple[str, str, str], ...] = ()

    @property
    def by_agent(self) -> bool:
        return self.agent is not None


class StatusMark(str, Enum):
    """What a change of status is, in the thread."""

    CLOSED = "closed"
    REOPENED = "reopened"
    CHANGED = "changed"  # an agent set another status, neither closing nor reopening


@dataclass(frozen=True)
class StatusChange:
    """A change of status as the thread shows it, in time order between its messages."""

    ticket_id: str
    created_at: str
    mark: StatusMark
    status: Status  # the status it changed to
    by: str  # the name of who changed it: an agent's, or the requester's
    by_agent: bool = False

    @property
    def key(self) -> str:
        """Its sort key in the ticket's partition: among the messages, by time; before a
        message of the same moment (a reply that reopens: "Reopened", then the reply)."""
        return f"MESSAGE#{self.created_at}#-{self.mark.value}"


def event_item(event: TicketEvent, now: str, expires_at: int) -> Item:
    """The outbox item of `event`, written in the change's own transaction."""
    from supportdesk.tickets import head_snapshot

    return {
        "PK": f"OUTBOX#{event.ticket.id}",
        "SK": f"{now}#{event.kind.value}#{secrets.token_hex(4)}",
        "type": "Event",
        "kind": event.kind.value,
        "ticket": head_snapshot(event.ticket),
        "in_reply_to": event.in_reply_to,
        "message_key": event.message_key,
        "agent": event.agent,
        "changes": [list(change) for change in event.changes],
        "created_at": now,
        "expires_at": expires_at,
    }


def event_from_item(item: Item) -> TicketEvent:
    from supportdesk.tickets import ticket_from_item

    return TicketEvent(
        kind=EventKind(item["kind"]),
        ticket=ticket_from_item(item["ticket"]),
        in_reply_to=item.get("in_reply_to"),
        message_key=item.get("message_key"),
        agent=item.get("agent"),
        changes=tuple((str(a), str(b), str(c)) for a, b, c in item.get("changes", ())),
    )


def event_key(item: Item) -> tuple[str, str]:
    return str(item["PK"]), str(item["SK"])


def is_event_key(keys: dict[str, Any]) -> bool:
    """Whether a stream record's keys are an event item's (the stream carries keys only)."""
    return str(keys.get("PK", "")).startswith("OUTBOX#") and "SK" in keys
