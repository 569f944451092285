"""A customer with a long history costs what a new one costs: every list and search reads
one bounded page (not timed: calls and items read are counted)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from conftest import Person, on_web_clients

from supportdesk.search_index import term_items
from supportdesk.store import Table, to_dynamodb
from supportdesk.tickets import Message, Priority, Requester, Status, Ticket, _message_item, _ticket_item

ARCHIVE = 320
PAGE = 25


@pytest.fixture(scope="module")
def veteran(stack: Any, table: Table) -> Iterator[tuple[Person, list[str]]]:
    """A customer with 320 tickets (written straight into the table), two in three closed."""
    from supportdesk.accounts import register_account

    account = register_account(stack.client("cognito-idp"), table, stack.environment["USER_POOL_ID"],
                               email="veterano@example.org", name="Vera Veterana", password="correct horse 1")
    requester = Requester.of(account)
    ids, pending = [], []
    for n in range(ARCHIVE):
        ticket_id = f"VET-{n:06d}"
        moment = f"2024-{1 + n // 28 % 12:02d}-{1 + n % 28:02d}T10:00:{n % 60:02d}.{n:06d}Z"
        body = f"Consulta número {n}: " + ("el certificado caducó" if n % 40 == 0 else "la web va lenta")
        message = Message(ticket_id, moment, account.name, body, html=f"<p>{body}</p>")
        subject = f"Consulta {n}"
        ticket = Ticket(id=ticket_id, department="support", subject=subject, priority=Priority.NORMAL,
                        status=Status.CLOSED if n % 3 else Status.ANSWERED, requester=requester,
                        created_at=moment, updated_at=moment, messages=(message,),
                        excerpt=body, version=1)
        pending += [_ticket_item(ticket), _message_item(message), *term_items(ticket, f"{subject}\n{body}")]
        ids.append(ticket_id)
    for start in range(0, len(pending), 25):
        table.client.batch_write_item(RequestItems={table.name: [
            {"PutRequest": {"Item": to_dynamodb(item)}} for item in pending[start:start + 25]]})
    yield type("Veteran", (), {"account": account, "email": account.email})(), ids  # type: ignore[misc]


@contextmanager
def reads() -> Iterator[list[tuple[str, int]]]:
    """(operation, items read) of every DynamoDB and S3 call of the web function's clients."""
    seen: list[tuple[str, int]] = []

    def after(event_name: str, parsed: dict[str, Any], **_: Any) -> None:
        seen.append((event_name.rsplit(".", 1)[-1], int(parsed.get("ScannedCount", len(parsed.get("Items", []))))))

    with on_web_clients("after-call.*", after):
        yield seen


def test_every_list_and_search_reads_one_page_of_a_long_archive(
        signed_in: Any, veteran: tuple[Person, list[str]]) -> None:
    from portal import resources

    person, ids = veteran
    client = signed_in(type("P", (), {"email": person.email, "password": "correct horse 1"})())
    resources.departments()
    actions = {
        "list": ("/api/tickets", {}),
        "open": ("/api/tickets", {"status": "open"}),
        "closed": ("/api/tickets", {"status": "closed"}),
        "words": ("/api/tickets", {"q": "certificado"}),
        "id": ("/api/tickets", {"q": ids[100]}),
        "advice": ("/api/tickets/similar", {"subject": "el certificado caducó"}),
        "home": ("/api/home", {}),
    }
    pages: dict[str, str] = {}
    for name, (path, params) in actions.items():
        with reads() as seen:
            response = client.get(path, params=params, headers={"HX-Request": "true"})
        assert response.status_code == 200, name
        assert len(seen) <= 2, (name, seen)
        assert all(items <= 300 for _, items in seen), (name, seen)  # one bounded read, never the archive
        assert len(response.content) < 50 * 1024, (name, len(response.content))
        pages[name] = response.text
    def listed(name: str) -> list[str]:
        return re.findall(r'class="ticket-id">([A-Z]{3}-\d{6})<', pages[name])

    newest_first = list(reversed(ids))
    assert listed("list") == newest_first[:PAGE]
    assert listed("open") == [i for i in newest_first if int(i[4:]) % 3 == 0][:PAGE]
    assert listed("closed") == [i for i in newest_first if int(i[4:]) % 3][:PAGE]
    assert listed("id") == [ids[100]]
    assert listed("home") == listed("open")[:10]  # the home's first open tickets, the same index
    assert listed("words") and all(int(i[4:]) % 40 == 0 for i in listed("words"))
    # The next page goes on where the first stopped.
    cursor = re.search(r'cursor=([\w-]+)', pages["list"])
    assert cursor
    with reads() as seen:
        second = client.get("/api/tickets", params={"cursor": cursor.group(1)}, headers={"HX-Request": "true"})
    assert len(seen) <= 2
    assert re.findall(r'class="ticket-id">([A-Z]{3}-\d{6})<', second.text) == list(reversed(ids))[PAGE:2 * PAGE]
    # A cursor made up, or of another customer's list, is refused.
    assert client.get("/api/tickets", params={"cursor": "bm9wZQ"}).status_code == 400


def test_a_long_thread_shows_its_latest_page_and_the_earlier_ones_on_demand(
        signed_in: Any, customer: Person, make_customer: Any, table: Table) -> None:
    from portal import resources
    from supportdesk.tickets import create_ticket

    ticket = create_ticket(table, department="support", subject="Hilo largo", body="Mensaje 0",
                           requester=Requester.of(customer.account))
    items = []
    for n in range(1, 45):
        moment = f"{ticket.created_at[:10]}T23:59:59.{n:06d}Z"  # after the first message, in order
        internal = n % 11 == 0
        body = f"{'NOTA' if internal else 'Mensaje'} {n}"
        items.append(_message_item(Message(ticket.id, moment, "Ana", body, sequence=n + 1, html=f"<p>{body}</p>",
                                           internal=internal, from_agent=internal)))
    for item in items:
        table.put(item)
    mine = signed_in(customer)
    page = mine.get(f"/api/tickets/{ticket.id}").text
    shown = re.findall(r"<p>Mensaje (\d+)</p>", page)
    assert shown == [str(n) for n in range(15, 45) if n % 11], shown  # the latest 30, notes not shown
    link = re.search(r'hx-get="(/api/tickets/[^"]+/earlier\?cursor=[\w-]+)"', page)
    assert link
    with reads() as seen:
        older = mine.get(link.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert older.status_code == 200 and len(seen) <= 2
    assert re.findall(r"<p>Mensaje (\d+)</p>", older.text) == [str(n) for n in range(0, 15) if n == 0 or n % 11]
    assert "NOTA" not in older.text and "earlier" not in older.text  # the first page: no link further
    stranger = signed_in(make_customer(name="Eve Otra"))
    assert stranger.get(link.group(1).replace("&amp;", "&")).status_code == 404
    agent = make_customer(name="Ada Agente", services=(), agent=True)
    resources._kept.clear()
    desk = signed_in(agent)
    agent_page = desk.get(f"/api/agent/tickets/{ticket.id}").text
    agent_link = re.search(r'hx-get="(/api/agent/tickets/[^"]+/earlier\?cursor=[\w-]+)"', agent_page)
    assert agent_link and "NOTA 33" in agent_page
    assert "NOTA 11" in desk.get(agent_link.group(1), headers={"HX-Request": "true"}).text


def test_tickets_stored_before_the_index_are_found_once_reindexed(stack: Any, table: Table, make_customer: Any) -> None:
    """`supportdesk search reindex` writes what the notifier would have: the ID, the subject
    and every message a customer sees, never a note."""
    import argparse

    from supportdesk.agents import Agent
    from supportdesk.search_index import EVERYONE, lookup
    from supportdesk.tickets import add_customer_reply, add_note, create_ticket, get_ticket, owner_key
    from supportdesk_dev.cli import Target, reindex

    customer = make_customer()
    ticket = create_ticket(table, department="support", subject="Certificado caducado", body="El SSL de tienda.es",
                           requester=Requester.of(customer.account))
    ticket = add_customer_reply(table, ticket, author_name="Ana", body="También falla webmail")
    add_note(table, ticket, agent=Agent("agent-1", "Agente"), body="secretonota en la nota")
    stack.deliver_events()  # what the notifier wrote: taken away, as if stored before the index
    terms = [(i["PK"], i["SK"]) for i in table.client.scan(TableName=table.name)["Items"]
             if i["PK"]["S"].startswith("TERMS#") and i["SK"]["S"].endswith(ticket.id)]
    assert terms
    for pk, sk in terms:
        table.client.delete_item(TableName=table.name, Key={"PK": pk, "SK": sk})
    mine = owner_key(customer.account.id, customer.email)

    def found(scope: str, words: str) -> bool:
        search = lookup(table, scope, words)
        if search is None or not search.candidates:
            return False
        return ticket.id in [t.id for t in search.results(table.batch_get(search.keys()))]

    assert not found(mine, "webmail")
    reindex(Target(stack.client, table.name, stack.environment["USER_POOL_ID"]), argparse.Namespace())
    assert get_ticket(table, ticket.id) is not None
    for words in ("certificado", "tienda.es", "webmail", ticket.id.lower()):
        assert found(mine, words) and found(EVERYONE, words), words
    assert not found(EVERYONE, "secretonota")
