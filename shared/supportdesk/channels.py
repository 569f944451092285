"""Who hears of ticket events: each channel is a function `(event, outlet)`, listed once here.

A new channel (a chat room, a webhook) is one module with such a function and one line in
CHANNELS. Events reach the channels from the table's stream (functions/notifier), never
from a web request or the mail intake: a change is stored with its event, and a channel
that fails is tried again later without keeping the others from hearing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from supportdesk import notifications, search_index
from supportdesk.departments import Department
from supportdesk.events import TicketEvent, event_from_item, event_key
from supportdesk.store import Item, Table
from supportdesk.tickets import GuestKeys


@dataclass(frozen=True)
class Outlet:
    """What the channels send with: injected by the notifier (or the local stack)."""

    ses: Any
    table: Table
    # Where customers reach the portal, for links in mails: configured, never from a request.
    public_url: str
    reply_secret: str
    departments: Mapping[str, Department]
    # Whether the assigned agent hears of a customer's answer by mail (template: NotifyAssignee).
    notify_assignee: bool = False
    # Whose help desk this is (ProviderName): beside the department in From: and signatures.
    provider_name: str = ""
    # A fresh outlet (the departments read again), for an event of a department not known yet.
    refresh: Callable[[], Outlet] | None = None

    @property
    def guest_keys(self) -> GuestKeys:
        return GuestKeys(self.reply_secret)


Channel = Callable[[TicketEvent, Outlet], None]

CHANNELS: tuple[Channel, ...] = (
    notifications.on_ticket_event,
    search_index.on_ticket_event,
)

logger = logging.getLogger(__name__)


def channel_name(channel: Channel) -> str:
    return f"{channel.__module__}.{channel.__name__}"


# Failures that pass: SES (or the network) is slow or down for a while. Anything else (an
# address SES refuses, a bug) would fail the same way on every try and hold back every
# event after it on the stream's shard: it is logged as an error and not tried again.
PASSING_CODES = frozenset({
    "Throttling", "ThrottlingException", "TooManyRequestsException", "ServiceUnavailable",
    "ServiceUnavailableException", "InternalFailure", "InternalError", "RequestTimeout",
    "RequestTimeoutException", "LimitExceededException", "ProvisionedThroughputExceededException",
})
PASSING_ERRORS = frozenset({"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError",
                            "ConnectionClosedError", "ConnectionError", "TimeoutError"})


def worth_retrying(error: Exception) -> bool:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return response.get("Error", {}).get("Code") in PASSING_CODES or status >= 500
    return type(error).__name__ in PASSING_ERRORS


def deliver_stored_event(keys: Item, outlet: Outlet, channels: tuple[Channel, ...] = CHANNELS) -> bool:
    """Hand a stored event (found by the keys of its outbox item, as the stream carries them)
    to every channel that has not had it yet; False when one failed in a way worth another
    try. Each channel that is done with it is marked on the item, so a retry does not send
    its mail twice."""
    pk, sk = event_key(keys)
    current = outlet.table.get(pk, sk, consistent=True)
    if current is None:  # expired (two weeks) before it could be delivered
        logger.error("event %s %s is gone; nothing to deliver", pk, sk)
        return True
    done = set(current.get("delivered", ()))
    event = event_from_item(current)
    if event.ticket.department not in outlet.departments and outlet.refresh is not None:
        outlet = outlet.refresh()  # a department added since the outlet was made
    complete = True
    for channel in channels:
        name = channel_name(channel)
        if name in done:
            continue
        try:
            channel(event, outlet)
        except Exception as error:
            if worth_retrying(error):
                logger.warning("%s: %s of %s not delivered; it will be tried again", name, event.kind.value,
                               event.ticket.id, exc_info=True)
                complete = False
                continue
            logger.exception("%s: %s of %s cannot be delivered", name, event.kind.value, event.ticket.id)
        outlet.table.update(pk, sk, "ADD delivered :name", {":name": {name}})
    return complete
