"""Tickets in the table: IDs, the conditional write, the thread in one query."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from conftest import tickets_of

from supportdesk import tickets
from supportdesk.access import Access, access_to
from supportdesk.events import EventKind, event_from_item
from supportdesk.markup import render_markdown
from supportdesk.ratelimit import allow
from supportdesk.store import Table
from supportdesk.tickets import (
    Agent,
    GuestKeys,
    Priority,
    Requester,
    Status,
    Ticket,
    TicketChanged,
    TicketIdExhausted,
    add_customer_reply,
    close_ticket,
    create_ticket,
    get_ticket,
    is_ticket_id,
    new_ticket_id,
)

KEYS = GuestKeys("a test secret")


def test_ticket_ids_have_the_documented_shape_and_vary() -> None:
    ids = {new_ticket_id() for _ in range(2000)}
    assert all(re.fullmatch(r"[A-Z]{3}-\d{6}", i) for i in ids)
    assert len(ids) > 1990  # 17.6 billion possible IDs: repeats in 2000 draws are rare
    assert is_ticket_id("KXR-482913")
    for wrong in ("kxr-482913", "KXR482913", "KX-4829131", "KXR-48291", "KXR-482913 ", ""):
        assert not is_ticket_id(wrong)


def test_a_taken_id_is_never_overwritten_and_another_is_drawn(table: Table) -> None:
    first = create_ticket(table, department="support", subject="El correo no llega",
                          body="Desde ayer no recibo correo.", requester=Requester("Ana", "ana@example.org", "acc-1"))
    drawn = iter([first.id, first.id, "ZZZ-000001"])
    second = create_ticket(table, department="sales", subject="Otra cosa", body="Hola",
                           requester=Requester("Bea", "bea@example.org", "acc-2"),
                           draw_id=lambda: next(drawn))
    assert second.id == "ZZZ-000001"
    kept = get_ticket(table, first.id)
    assert kept is not None
    assert kept.subject == "El correo no llega"
    assert kept.requester.email == "ana@example.org"
    assert [m.body for m in kept.messages] == ["Desde ayer no recibo correo."]


def test_creation_gives_up_when_every_draw_is_taken(table: Table) -> None:
    taken = create_ticket(table, department="support", subject="s", body="b",
                          requester=Requester("Ana", "ana@example.org", "acc-3"))
    with pytest.raises(TicketIdExhausted):
        create_ticket(table, department="support", subject="s2", body="b2",
                      requester=Requester("Ana", "ana@example.org", "acc-3"),
                      draw_id=lambda: taken.id)


def test_ticket_and_thread_come_back_whole(table: Table) -> None:
    ticket = create_ticket(table, department="support", subject="Error 500 en mi web",
                           body="**Desde** las 10:00\n\n```\nPHP Fatal error\n```",
                           requester=Requester("Ana", "ana@example.org", "acc-4"),
                           priority=Priority.HIGH, service="Hosting Pro — ana.es")
    loaded = get_ticket(table, ticket.id)
    assert loaded == ticket
    assert loaded.status is Status.OPEN
    assert loaded.priority is Priority.HIGH


def test_a_message_is_rendered_once_when_written_and_stored_with_its_html(
        table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    rendered: list[str] = []

    def counting(text: str) -> str:
        rendered.append(text)
        return render_markdown(text)

    monkeypatch.setattr(tickets, "render_markdown", counting)
    body = "**Desde** las 10:00 <b>no</b> carga\n\n- web\n- correo"
    ticket = create_ticket(table, department="support", subject="Error 500", body=body,
                           requester=Requester("Ana", "ana@example.org", "acc-4b"))
    assert rendered == [body]  # the excerpt comes from the same rendering
    assert ticket.messages[0].html == render_markdown(body)
    assert ticket.excerpt == "Desde las 10:00 <b>no</b> carga web correo"
    replied = add_customer_reply(table, ticket, author_name="Ana", body="Ya **funciona**")
    assert rendered == [body, "Ya **funciona**"]
    loaded = get_ticket(table, ticket.id)
    assert loaded == replied
    assert [m.html for m in loaded.messages] == [render_markdown(body), "<p>Ya <strong>funciona</strong></p>"]


def test_an_accounts_tickets_list_newest_first_and_only_its_own(table: Table) -> None:
    mine = [create_ticket(table, department="support", subject=f"n{i}", body="b",
                          requester=Requester("Ana", "ana@example.org", "acc-5")) for i in range(3)]
    create_ticket(table, department="support", subject="not mine", body="b",
                  requester=Requester("Eve", "eve@example.org", "acc-6"))
    listed = tickets_of(table, "acc-5")
    assert [t.id for t in listed] == [t.id for t in reversed(mine)]


def test_unknown_or_malformed_ids_find_nothing(table: Table) -> None:
    assert get_ticket(table, "AAA-000000") is None
    assert get_ticket(table, "TICKET#X") is None


def queue(table: Table, department: str) -> list[str]:
    return [i["id"] for i in table.query("GSI2PK", f"QUEUE#{department}", index="Queue")]


def two_waiting(table: Table, owner: str) -> tuple[str, Ticket, Ticket]:
    """A new department's queue with two tickets: `owner`'s first, then another account's."""
    department = f"dept-{new_ticket_id()}"
    first = create_ticket(table, department=department, subject="uno", body="b",
                          requester=Requester("Ana", "ana@example.org", owner))
    second = create_ticket(table, department=department, subject="dos", body="b",
                           requester=Requester("Bea", "bea@example.org", f"{owner}-other"))
    assert queue(table, department) == [first.id, second.id]
    return department, first, second


def test_a_reply_keeps_the_queue_place_of_a_waiting_ticket(table: Table) -> None:
    department, first, second = two_waiting(table, "acc-7")
    updated = add_customer_reply(table, first, author_name="Ana", body="Más información: **logs**")
    assert updated.status is Status.CUSTOMER_REPLY  # as WHMCS: a customer's reply, whatever came before
    assert queue(table, department) == [first.id, second.id]  # not sent to the back
    stored = get_ticket(table, first.id)
    assert stored is not None and [m.body for m in stored.messages] == ["b", "Más información: **logs**"]
    assert stored.message_count == 2
    head = table.get(f"TICKET#{first.id}", "TICKET")  # what a reply rewrites: no thread, no search text
    assert head is not None and "search_text" not in head and "logs" not in str(head)


def test_closing_leaves_the_queue_and_a_reply_reopens_at_the_back(table: Table) -> None:
    department, first, second = two_waiting(table, "acc-9")
    closed = close_ticket(table, first)
    assert closed.status is Status.CLOSED
    assert queue(table, department) == [second.id]
    assert get_ticket(table, first.id).status is Status.CLOSED  # type: ignore[union-attr]
    reopened = add_customer_reply(table, closed, author_name="Ana", body="Vuelve a fallar")
    assert reopened.status is Status.CUSTOMER_REPLY
    assert queue(table, department) == [second.id, first.id]
    assert tickets_of(table, "acc-9")[0].status is Status.CUSTOMER_REPLY


def test_a_reply_written_on_a_stale_ticket_lands_after_the_other(table: Table) -> None:
    ticket = create_ticket(table, department="support", subject="s", body="b",
                           requester=Requester("Ana", "ana@example.org", "acc-11"))
    add_customer_reply(table, ticket, author_name="Ana", body="primera")
    second = add_customer_reply(table, ticket, author_name="Ana", body="segunda, sobre la versión vieja")
    stored = get_ticket(table, ticket.id)
    assert stored is not None and [m.body for m in stored.messages] == ["b", "primera", "segunda, sobre la versión vieja"]
    assert [m.sequence for m in stored.messages] == [1, 2, 3] and stored.version == second.version == 3


def test_guest_tickets_open_only_with_their_key(table: Table) -> None:
    ticket = create_ticket(table, department="sales", subject="Precio VPS", body="b",
                           requester=Requester("Bea", "bea@example.org"), guest_keys=KEYS)
    key = KEYS.of(ticket.id)
    stored = get_ticket(table, ticket.id)
    assert stored is not None
    assert access_to(stored, guest_key=key) is Access.GUEST
    assert access_to(stored, guest_key=GuestKeys("another secret").of(ticket.id)) is None
    assert access_to(stored, guest_key=KEYS.of(new_ticket_id())) is None
    assert access_to(stored, guest_key=None) is None and access_to(stored, guest_key="") is None
    assert key not in str(table.query("PK", f"TICKET#{ticket.id}"))  # only its hash is stored


def test_rate_limit_counts_per_key_and_window(table: Table) -> None:
    key = new_ticket_id()
    results = [allow(table, "test", key, limit=3, window_seconds=3600, now=7200.0) for _ in range(5)]
    assert results == [True, True, True, False, False]
    assert allow(table, "test", "other-" + key, limit=3, window_seconds=3600, now=7200.0)
    assert allow(table, "test", key, limit=3, window_seconds=3600, now=10800.0)  # next window


def test_an_unconfirmed_guest_ticket_waits_outside_the_queue_until_confirmed_once(table: Table) -> None:
    department = f"dept-{new_ticket_id().lower()}"
    ticket = create_ticket(table, department=department, subject="Precio", body="¿Cuánto?",
                           requester=Requester("Bea", "bea@example.org"), guest_keys=KEYS,
                           confirmed=False)
    assert queue(table, department) == []
    with pytest.raises(tickets.TicketUnconfirmed):
        add_customer_reply(table, ticket, author_name="Bea", body="¿Y mensual?")
    confirmed = tickets.confirm_ticket(table, ticket)
    assert confirmed.confirmed and queue(table, department) == [ticket.id]
    stored = get_ticket(table, ticket.id)
    assert stored is not None and stored.confirmed and stored.waiting_since == confirmed.waiting_since
    with pytest.raises(TicketChanged):  # a second confirmation from the same stale view
        tickets.confirm_ticket(table, ticket)
    assert add_customer_reply(table, stored, author_name="Bea", body="¿Y mensual?").message_count == 2


def test_limits_guarding_one_action_count_together_or_not_at_all(table: Table) -> None:
    from supportdesk.ratelimit import Limit, first_reached

    address, client = Limit("t-address", new_ticket_id(), 2, 3600), Limit("t-client", new_ticket_id(), 3, 3600)
    assert [first_reached(table, address, client, now=7200.0) for _ in range(3)] == [None, None, address]
    other = Limit("t-address", new_ticket_id(), 2, 3600)
    # The refused attempt counted nowhere: the client has one attempt left, not none.
    assert first_reached(table, other, client, now=7200.0) is None
    assert first_reached(table, other, client, now=7200.0) == client


def events_of(table: Table, ticket_id: str) -> list[tuple[EventKind, int]]:
    """The events stored for a ticket (kind, the ticket's version after the change), in order."""
    items = table.query("PK", f"OUTBOX#{ticket_id}")
    return [(e.kind, e.ticket.version) for e in map(event_from_item, items)]


def test_each_change_stores_its_event_with_it(table: Table) -> None:
    ticket = create_ticket(table, department="sales", subject="Precio", body="¿Cuánto?",
                           requester=Requester("Bea", "bea@example.org"), guest_keys=KEYS, confirmed=False,
                           in_reply_to="abc@mail.example.org")
    confirmed = tickets.confirm_ticket(table, ticket)
    replied = add_customer_reply(table, confirmed, author_name="Bea", body="¿Y mensual?")
    closed = close_ticket(table, replied)
    assert events_of(table, ticket.id) == [
        (EventKind.OPENED, 1), (EventKind.CONFIRMED, 2), (EventKind.REPLIED, 3), (EventKind.CLOSED, 4)]
    assert closed.version == 4
    (opened, *_) = map(event_from_item, table.query("PK", f"OUTBOX#{ticket.id}"))
    assert opened.in_reply_to == "abc@mail.example.org" and opened.ticket.subject == "Precio"
    assert "search_text" not in table.query("PK", f"OUTBOX#{ticket.id}")[0]["ticket"]
    with pytest.raises(TicketChanged):  # a change that is not stored stores no event
        close_ticket(table, replied)
    assert len(events_of(table, ticket.id)) == 4


def test_a_ticket_opens_to_its_owner_its_guest_and_agents_only(table: Table) -> None:
    owned = create_ticket(table, department="support", subject="s", body="b",
                          requester=Requester("Ana", "ana@example.org", "acc-own"))
    guest = create_ticket(table, department="sales", subject="s", body="b",
                          requester=Requester("Bea", "bea@example.org"), guest_keys=KEYS,
                          confirmed=False)
    assert access_to(owned, account_id="acc-own") is Access.OWNER
    assert access_to(owned, account_id="acc-other") is None
    assert access_to(owned, mail_from="ana@example.org") is None  # an account's ticket: by account only
    assert access_to(owned, account_id="acc-other", agent=True) is Access.AGENT
    assert access_to(guest, mail_from="bea@example.org") is None  # not confirmed yet
    assert access_to(replace(guest, confirmed=True), mail_from="BEA@example.org") is Access.GUEST
    assert access_to(replace(guest, confirmed=True), mail_from="eve@example.org") is None


def test_presence_marks_last_a_while_and_change_no_version(table: Table) -> None:
    ticket = create_ticket(table, department="support", subject="s", body="b",
                           requester=Requester("Ana", "ana@example.org", "acc-presence"))
    # A head stored before presence markers existed has no map to hold them.
    table.update(f"TICKET#{ticket.id}", "TICKET", "REMOVE viewers", {})
    first, second = Agent("a-1", "Ana Agente"), Agent("a-2", "Beto Agente")
    seen = tickets.mark_presence(table, ticket.id, first, writing=True, now=1000.0)
    assert seen is not None and seen.version == ticket.version
    seen = tickets.mark_presence(table, ticket.id, second, writing=False, now=1010.0)
    assert seen is not None
    assert [(v.name, v.writing) for v in seen.viewers_besides("a-2", now=1010.0)] == [("Ana Agente", True)]
    assert seen.viewers_besides("a-2", now=1000.0 + tickets.PRESENCE_SECONDS + 1) == ()
    assert tickets.mark_presence(table, "AAA-000000", first, writing=False) is None
