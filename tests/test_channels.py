"""Ticket events reach every channel, and one that fails keeps none of the others from hearing."""

from __future__ import annotations

import logging

import pytest

from supportdesk import channels, notifications
from supportdesk.channels import Held, Outlet, deliver
from supportdesk.events import EventKind, TicketEvent
from supportdesk.tickets import Priority, Requester, Status, Ticket

TICKET = Ticket(id="ABC-123456", department="sales", subject="Precio", priority=Priority.NORMAL,
                status=Status.OPEN, requester=Requester("Bea", "bea@example.org"),
                created_at="2026-11-30T10:00:00.000000Z", updated_at="2026-11-30T10:00:00.000000Z")
OUTLET = Outlet(ses=None, public_url="https://support.example.com", reply_secret="s", departments={})


def test_the_mail_channel_is_listed() -> None:
    assert notifications.on_ticket_event in channels.CHANNELS


def test_every_channel_hears_every_event_even_after_one_fails(caplog: pytest.LogCaptureFixture) -> None:
    heard: list[tuple[str, EventKind]] = []

    def failing(event: TicketEvent, outlet: Outlet) -> None:
        raise RuntimeError("chat service down")

    def listening(event: TicketEvent, outlet: Outlet) -> None:
        heard.append((event.ticket.id, event.kind))

    events = Held()
    events(TicketEvent(EventKind.OPENED, TICKET))
    events(TicketEvent(EventKind.CLOSED, TICKET))
    with caplog.at_level(logging.ERROR, logger="supportdesk.channels"):
        deliver(events.events, OUTLET, (failing, listening))
    assert heard == [("ABC-123456", EventKind.OPENED), ("ABC-123456", EventKind.CLOSED)]
    assert [r.getMessage() for r in caplog.records] == [
        f"{__name__}: opened not delivered for ABC-123456", f"{__name__}: closed not delivered for ABC-123456"]


def test_the_mail_channel_mails_nothing_for_a_department_it_does_not_know() -> None:
    # ses=None: any attempt to send would raise.
    notifications.on_ticket_event(TicketEvent(EventKind.OPENED, TICKET), OUTLET)
