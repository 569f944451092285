"""Ticket events reach every channel; one that fails is tried again without the others
hearing twice."""

from __future__ import annotations

import logging

import pytest

from supportdesk import channels, notifications
from supportdesk.channels import Outlet, deliver_stored_event
from supportdesk.events import EventKind, TicketEvent
from supportdesk.store import Table
from supportdesk.tickets import Requester, close_ticket, create_ticket


def test_the_mail_channel_is_listed() -> None:
    assert notifications.on_ticket_event in channels.CHANNELS


def test_a_failed_channel_is_tried_again_and_the_others_hear_once(
        table: Table, caplog: pytest.LogCaptureFixture) -> None:
    ticket = create_ticket(table, department="nowhere", subject="s", body="b",
                           requester=Requester("Ana", "ana@example.org", "acc-channels"))
    close_ticket(table, ticket)
    heard: list[tuple[str, EventKind]] = []
    down = [True]

    def flaky(event: TicketEvent, outlet: Outlet) -> None:
        if down[0]:
            raise TimeoutError("chat service down")
        heard.append(("flaky", event.kind))

    def listening(event: TicketEvent, outlet: Outlet) -> None:
        heard.append(("listening", event.kind))

    outlet = Outlet(ses=None, table=table, public_url="https://support.example.com", reply_secret="s",
                    departments={})
    items = table.query("PK", f"OUTBOX#{ticket.id}")
    with caplog.at_level(logging.WARNING, logger="supportdesk.channels"):
        assert [deliver_stored_event(i, outlet, (flaky, listening)) for i in items] == [False, False]
    assert heard == [("listening", EventKind.OPENED), ("listening", EventKind.CLOSED)]
    assert len(caplog.records) == 2 and "will be tried again" in caplog.records[0].getMessage()
    down[0] = False
    assert [deliver_stored_event(i, outlet, (flaky, listening)) for i in items] == [True, True]
    assert heard[2:] == [("flaky", EventKind.OPENED), ("flaky", EventKind.CLOSED)]  # the others not twice


def test_the_mail_channel_mails_nothing_for_a_department_it_does_not_know(table: Table) -> None:
    ticket = create_ticket(table, department="nowhere", subject="s", body="b",
                           requester=Requester("Ana", "ana@example.org", "acc-channels-2"))
    # ses=None: any attempt to send would raise.
    notifications.on_ticket_event(TicketEvent(EventKind.OPENED, ticket), Outlet(
        ses=None, table=table, public_url="https://support.example.com", reply_secret="s", departments={}))


def test_a_failure_that_would_fail_every_time_is_logged_not_retried(
        table: Table, caplog: pytest.LogCaptureFixture) -> None:
    ticket = create_ticket(table, department="nowhere", subject="s", body="b",
                           requester=Requester("Ana", "ana@example.org", "acc-channels-3"))

    def broken(event: TicketEvent, outlet: Outlet) -> None:
        raise KeyError("a bug")

    outlet = Outlet(ses=None, table=table, public_url="https://support.example.com", reply_secret="s",
                    departments={})
    (item,) = table.query("PK", f"OUTBOX#{ticket.id}")
    with caplog.at_level(logging.ERROR, logger="supportdesk.channels"):
        assert deliver_stored_event(item, outlet, (broken,))  # it would hold back every event after it
    assert "cannot be delivered" in caplog.records[0].getMessage()
