"""What happens to a ticket, as events: the one seam between a change and whoever hears of it.

Every change of a ticket goes through one function of supportdesk.tickets (create_ticket,
confirm_ticket, add_customer_reply, close_ticket), whoever makes it: the portal, the mail
intake, and next the agent console. That function hands its event to the `emit` it is
given, once the change is stored. The web function keeps the events and delivers them after
its response; the mail intake delivers them at once (supportdesk.channels).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from supportdesk.tickets import Ticket


class EventKind(str, Enum):
    OPENED = "opened"
    # A guest's address confirmed the ticket it opened on the web: it is in the queue now.
    CONFIRMED = "confirmed"
    REPLIED = "replied"  # the customer added a message (a closed ticket reopens with it)
    CLOSED = "closed"


@dataclass(frozen=True)
class TicketEvent:
    kind: EventKind
    ticket: Ticket  # as it is after the change
    # The key of a guest's private link, for the mail that carries it: held in memory only
    # (the table keeps its hash).
    guest_key: str | None = None
    # The Message-ID of the mail that caused the change, so that our answer joins its thread.
    in_reply_to: str | None = None


Emit = Callable[[TicketEvent], None]
