"""Who hears of ticket events: each channel is a function `(event, outlet)`, listed once here.

A new channel (a chat room, a webhook) is one module with such a function and one line in
CHANNELS. Delivery never undoes a change: the change is stored before its event exists, and
a channel that fails is logged without keeping the others from hearing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from supportdesk import notifications
from supportdesk.departments import Department
from supportdesk.events import TicketEvent


@dataclass(frozen=True)
class Outlet:
    """What the channels send with: injected by the web function or the mail intake."""

    ses: Any
    # Where customers reach the portal, for links in mails: configured, never from a request.
    public_url: str
    reply_secret: str
    departments: Mapping[str, Department]


Channel = Callable[[TicketEvent, Outlet], None]

CHANNELS: tuple[Channel, ...] = (
    notifications.on_ticket_event,
)

logger = logging.getLogger(__name__)


def deliver(events: list[TicketEvent], outlet: Outlet, channels: tuple[Channel, ...] = CHANNELS) -> None:
    for event in events:
        for channel in channels:
            try:
                channel(event, outlet)
            except Exception:
                logger.exception("%s: %s not delivered for %s", channel.__module__, event.kind.value,
                                 event.ticket.id)


@dataclass
class Held:
    """Events kept while a request is answered (`emit=held`), delivered after the response."""

    events: list[TicketEvent] = field(default_factory=list)

    def __call__(self, event: TicketEvent) -> None:
        self.events.append(event)


def delivering(outlet: Outlet) -> Callable[[TicketEvent], None]:
    """An `emit` that delivers each event at once."""
    return lambda event: deliver([event], outlet)
