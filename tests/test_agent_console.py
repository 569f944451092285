"""The agents' console over HTTP: who may reach it, the queue, a ticket's view and changes,
notes that never reach the customer, two agents at once, saved replies, search."""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

import pytest
from conftest import Person, browser_client, csrf_token, every_text, mails_to

from supportdesk.departments import Department, _department_item, set_enabled
from supportdesk.store import Table
from supportdesk.tickets import Requester, Status, create_ticket, get_ticket
from supportdesk_dev.stack import LocalStack

TICKET_ID = re.compile(r"[A-Z]{3}-\d{6}")
HTMX = {"HX-Request": "true"}


@pytest.fixture
def agent(make_customer: Any) -> Person:
    person: Person = make_customer(name="Carla Agente", services=(), agent=True)
    from portal import resources

    resources._kept.clear()  # the agents' directory, as a minute later
    return person


def new_department(table: Table) -> str:
    """A department of its own, so a test's queue holds only its own tickets."""
    from portal import resources

    slug = f"d{uuid.uuid4().hex[:8]}"
    table.put(_department_item(Department(slug, f"Dep {slug}", f"Dep {slug}", f"{slug}@example.com",
                                          login_required=False, guests_allowed=True, position=9)))
    resources._kept.clear()
    return slug


def open_ticket(table: Table, department: str, customer: Person | None = None, subject: str = "Consulta",
                body: str = "Tengo un problema con el correo de mi dominio.") -> str:
    requester = (Requester.of(customer.account) if customer
                 else Requester("Gina Invitada", f"gina-{uuid.uuid4().hex[:6]}@example.net"))
    return create_ticket(table, department=department, subject=subject, body=body, requester=requester).id


def queue_ids(client: Any, **params: str) -> list[str]:
    page = client.get("/api/agent/queue", params=params)
    assert page.status_code == 200, page.text
    return re.findall(r'<tr data-ticket="([A-Z]{3}-\d{6})"', page.text)


def every_department(client: Any) -> list[str]:
    """Every page of the all-departments queue, in order."""
    listed: list[str] = []
    cursor: str | None = None
    for _ in range(40):
        page = client.get("/api/agent/queue", params={"cursor": cursor} if cursor else {}).text
        listed += re.findall(r'<tr data-ticket="([A-Z]{3}-\d{6})"', page)
        found = re.search(r'cursor=([\w-]+)" hx-get="[^"]*" hx-target="#page" rel="next"', page)
        if not found:
            return listed
        cursor = found.group(1)
    raise AssertionError("the queue never ends")


def post(client: Any, path: str, *, htmx: bool = False, **data: str) -> Any:
    token = csrf_token(client, "/api/agent/queue")
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=True,
                       headers=HTMX if htmx else {})


def version_of(client: Any, ticket_id: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', client.get(f"/api/agent/tickets/{ticket_id}").text)
    assert found
    return found.group(1)


# --- access --------------------------------------------------------------------------------

def agent_routes(app: Any) -> list[tuple[str, str]]:
    from portal.app import routes

    found = []
    for route in routes:
        if not route.path.startswith("/api/agent/"):
            continue
        path = route.path.replace("{id}", "ABC-123456").replace("{sequence:int}", "1").replace(
            "{attachment_id}", "x").replace("{department}", "support").replace("{reply_id}", "r1")
        found += [(method, path) for method in route.methods if method != "HEAD"]
    return found


def test_every_agent_route_is_404_for_customers_and_guests(app: Any, signed_in: Any, customer: Person,
                                                           agent: Person, table: Table) -> None:
    routes = agent_routes(app)
    assert len(routes) >= 12
    ticket_id = open_ticket(table, "support", customer)
    for who in (signed_in(customer), browser_client(app)):
        token = csrf_token(who, "/api/departments")
        for method, path in routes:
            path = path.replace("ABC-123456", ticket_id)  # a real ticket, even the caller's own
            response = who.request(method, path, data={"csrf_token": token, "message": "x", "kind": "note",
                                                      "status": "closed", "version": "1"},
                                   params={"account": customer.account.id}, follow_redirects=False)
            assert response.status_code == 404, (method, path, response.status_code)
            assert ticket_id not in response.text and customer.email not in response.text
    stored = get_ticket(table, ticket_id)
    assert stored is not None and stored.status is Status.OPEN and len(stored.messages) == 1
    assert signed_in(agent).get(f"/api/agent/tickets/{ticket_id}").status_code == 200


def test_an_agent_logging_in_lands_on_the_queue(app: Any, agent: Person) -> None:
    client = browser_client(app)
    from conftest import log_in

    assert log_in(client, agent.email, agent.password).status_code == 303
    home = client.get("/api/home", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/api/agent/queue"


# --- the queue -----------------------------------------------------------------------------

def test_the_queue_is_oldest_first_per_department_counted_and_paged(
        signed_in: Any, agent: Person, table: Table) -> None:
    department = new_department(table)
    ids = [open_ticket(table, department, subject=f"Consulta {n}") for n in range(27)]
    client = signed_in(agent)
    first_page = client.get("/api/agent/queue", params={"department": department})
    assert re.search(rf'data-department="{department}"[^>]*>Dep {department}\s*<span class="count">27<',
                     first_page.text)
    listed = re.findall(r'<tr data-ticket="([A-Z]{3}-\d{6})"', first_page.text)
    assert listed == ids[:25]
    cursor = re.search(r'cursor=([\w-]+)[^"]*" hx-get="[^"]*" hx-target="#page" rel="next"', first_page.text)
    assert cursor
    assert queue_ids(client, department=department, cursor=cursor.group(1)) == ids[25:]
    assert ids[0] in every_department(client)  # every department's queue, too
    # A cursor of another list, or made up, is refused with a message.
    refused = client.get("/api/agent/queue", params={"department": "support", "cursor": cursor.group(1)})
    assert refused.status_code == 400 and "primera página" in refused.text
    assert client.get("/api/agent/queue", params={"status": "closed"}).status_code == 400


def test_filters_waiting_times_and_targets(signed_in: Any, agent: Person, table: Table) -> None:
    department = new_department(table)
    high = create_ticket(table, department=department, subject="Caído", body="La web no responde desde hace rato.",
                         requester=Requester("Hugo", "hugo@example.net"), priority=__import__(
                             "supportdesk.tickets", fromlist=["Priority"]).Priority.HIGH)
    low = open_ticket(table, department)
    # An old wait: the ticket waits since long before its target.
    table.update(f"TICKET#{low}", "TICKET", "SET waiting_since = :old, GSI2SK = :key, GSI3SK = :key",
                 {":old": "2020-01-01T00:00:00.000000Z", ":key": f"2020-01-01T00:00:00.000000Z#{low}"})
    client = signed_in(agent)
    assert queue_ids(client, department=department) == [low, high.id]
    assert queue_ids(client, department=department, priority="high") == [high.id]
    page = client.get("/api/agent/queue", params={"department": department}).text
    row = page[page.index(f'data-ticket="{low}"'):]
    assert 'class="late"' in page[page.index(f'<tr data-ticket="{low}"') - 5:][:60]
    assert "Fuera de plazo" in row[:2000]
    # The list asks for itself again, with its filters and its page.
    assert f'hx-get="/api/agent/queue?department={department}"' in page and 'hx-trigger="every 30s"' in page
    refresh = client.get("/api/agent/queue", params={"department": department}, headers={**HTMX, "HX-Target": "queue"})
    assert refresh.text.lstrip().startswith("<section id=\"queue\"")


# --- a ticket: reply, note, changes ---------------------------------------------------------

def test_reply_and_note_reach_whom_they_should(signed_in: Any, agent: Person, customer: Person, table: Table,
                                               stack: LocalStack) -> None:
    ticket_id = open_ticket(table, "support", customer, subject="Correo rebota")
    desk = signed_in(agent)
    note = post(desk, f"/api/agent/tickets/{ticket_id}/messages", kind="note",
                message="Nota interna: el cliente debe tres facturas CLAVE-SECRETA")
    assert note.status_code == 200 and "CLAVE-SECRETA" in note.text and "Nota interna" in note.text
    reply = post(desk, f"/api/agent/tickets/{ticket_id}/messages", kind="reply",
                 message="Hola, revise el registro **MX** de su dominio.")
    assert reply.status_code == 200 and "<strong>MX</strong>" in reply.text
    assert re.search(r'id="ticket-status">\s*Respondido', reply.text)

    mine = signed_in(customer)
    page = mine.get(f"/api/tickets/{ticket_id}").text
    assert "<strong>MX</strong>" in page and "Esperando su respuesta" in page
    assert "CLAVE-SECRETA" not in page and "Nota interna" not in page
    listed = mine.get("/api/tickets", params={"q": "CLAVE-SECRETA"}).text
    assert ticket_id not in listed
    assert "CLAVE-SECRETA" not in mine.get("/api/tickets").text
    advice = mine.get("/api/tickets/similar", params={"subject": "tres facturas CLAVE-SECRETA"}, headers=HTMX).text
    assert ticket_id not in advice and "CLAVE-SECRETA" not in advice
    assert "Nota interna" not in mine.get(f"/api/tickets/{ticket_id}", headers=HTMX).text
    mails = mails_to(stack, customer.email)
    for mail in mails:
        assert "CLAVE-SECRETA" not in every_text(mail)
    (answer,) = [m for m in mails if "revise el registro" in every_text(m)]
    assert f"[#{ticket_id}]" in str(answer["Subject"])
    assert re.fullmatch(rf"support\+{ticket_id.lower()}\.[a-z2-7]{{16}}@example\.com", str(answer["Reply-To"]))
    assert answer["Auto-Submitted"] is None  # a person wrote it
    assert f"<{ticket_id}.ack@example.com>" in str(answer["References"])
    text = answer.get_body(("plain",)).get_content()
    html = answer.get_body(("html",)).get_content()
    assert text.startswith("##- Escriba su respuesta encima de esta línea -##")
    assert "<strong>MX</strong>" in html and "Escriba su respuesta encima" in html


def test_a_status_change_from_a_stale_page_is_refused(signed_in: Any, agent: Person, make_customer: Any,
                                                      table: Table) -> None:
    ticket_id = open_ticket(table, "support")
    other = make_customer(name="Otro Agente", services=(), agent=True)
    from portal import resources

    resources._kept.clear()
    first, second = signed_in(agent), signed_in(other)
    seen_by_first = version_of(first, ticket_id)
    assert post(second, f"/api/agent/tickets/{ticket_id}/changes", status="in-progress",
                version=version_of(second, ticket_id)).status_code == 200
    stale = post(first, f"/api/agent/tickets/{ticket_id}/changes", status="closed", version=seen_by_first)
    assert stale.status_code == 409 and "cambió desde que lo abrió" in stale.text
    assert get_ticket(table, ticket_id).status is Status.IN_PROGRESS  # type: ignore[union-attr]
    assert post(first, f"/api/agent/tickets/{ticket_id}/changes", status="on-hold", priority="high",
                assignee=agent.account.id, version=version_of(first, ticket_id)).status_code == 200
    stored = get_ticket(table, ticket_id)
    assert stored is not None and stored.status is Status.ON_HOLD and stored.assignee is not None
    assert post(first, f"/api/agent/tickets/{ticket_id}/changes", status="nonsense",
                version=version_of(first, ticket_id)).status_code == 400


def test_two_agents_answering_at_once_both_land(signed_in: Any, agent: Person, make_customer: Any,
                                                table: Table) -> None:
    ticket_id = open_ticket(table, "support")
    other = make_customer(name="Otro Agente", services=(), agent=True)
    from portal import resources

    resources._kept.clear()
    clients = [signed_in(agent), signed_in(other)]
    tokens = [csrf_token(c, "/api/agent/queue") for c in clients]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def answer(n: int) -> None:
        barrier.wait()
        response = clients[n].post(f"/api/agent/tickets/{ticket_id}/messages", follow_redirects=False,
                                   data={"kind": "reply", "message": f"Respuesta número {n}", "csrf_token": tokens[n]})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=answer, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [303, 303]
    stored = get_ticket(table, ticket_id)
    assert stored is not None
    assert sorted(m.body for m in stored.messages[1:]) == ["Respuesta número 0", "Respuesta número 1"]
    assert stored.status is Status.ANSWERED and stored.message_count == 3


def test_agents_see_each_other_on_a_ticket(signed_in: Any, agent: Person, make_customer: Any, table: Table) -> None:
    ticket_id = open_ticket(table, "support")
    other = make_customer(name="Berta Agente", services=(), agent=True)
    first, second = signed_in(agent), signed_in(other)
    assert post(first, f"/api/agent/tickets/{ticket_id}/presence", htmx=True, writing="0").text.strip() == ""
    post(second, f"/api/agent/tickets/{ticket_id}/presence", htmx=True, writing="1")
    seen = post(first, f"/api/agent/tickets/{ticket_id}/presence", htmx=True, writing="0").text
    assert "Berta Agente está escribiendo una respuesta" in seen
    assert "Carla Agente está viendo este ticket" in post(second, f"/api/agent/tickets/{ticket_id}/presence",
                                                            htmx=True, writing="1").text


# --- saved replies and search ---------------------------------------------------------------

def test_saved_replies_per_department(signed_in: Any, agent: Person, table: Table) -> None:
    department = new_department(table)
    desk = signed_in(agent)
    saved = post(desk, "/api/agent/saved", department=department, title="Registro MX",
                 message="Compruebe el registro **MX** en su zona DNS.")
    assert saved.status_code == 200 and "Registro MX" in saved.text
    picker = desk.get("/api/agent/saved/picker", params={"department": department}).text
    assert 'data-body="Compruebe el registro **MX** en su zona DNS."' in picker
    assert "Registro MX" not in desk.get("/api/agent/saved/picker", params={"department": "sales"}).text
    refused = post(desk, "/api/agent/saved", department=department, title="", message="texto suficiente")
    assert refused.status_code == 400 and "texto suficiente" in refused.text
    reply_id = re.search(rf"/api/agent/saved/{department}/(\w+)/remove", saved.text).group(1)  # type: ignore[union-attr]
    post(desk, f"/api/agent/saved/{department}/{reply_id}/remove")
    assert "Registro MX" not in desk.get("/api/agent/saved/picker", params={"department": department}).text


def test_search_finds_any_ticket_by_id_email_or_words_closed_too(signed_in: Any, agent: Person, customer: Person,
                                                                 table: Table, stack: LocalStack) -> None:
    from supportdesk.tickets import close_ticket, get_ticket_head

    word = f"zorro{uuid.uuid4().hex[:6]}"
    ticket_id = open_ticket(table, "support", customer, subject=f"El {word} no arranca")
    close_ticket(table, get_ticket_head(table, ticket_id))  # type: ignore[arg-type]
    stack.deliver_events()  # the notifier writes the search index
    desk = signed_in(agent)

    def found(q: str) -> list[str]:
        return re.findall(r'<tr data-ticket="([A-Z]{3}-\d{6})"', desk.get("/api/agent/search", params={"q": q}).text)

    assert found(ticket_id) == [ticket_id] and found(ticket_id.lower()) == [ticket_id]
    assert found(customer.email) == [ticket_id]
    assert found(word.upper()) == [ticket_id]
    assert found("AAA-000000") == []


def test_a_ticket_cannot_be_moved_into_a_disabled_department(signed_in: Any, agent: Person, table: Table) -> None:
    from portal import resources

    closed_down = new_department(table)
    staying = open_ticket(table, new_department(table))
    set_enabled(table, closed_down, enabled=False)
    resources._kept.clear()
    desk = signed_in(agent)
    page = desk.get(f"/api/agent/tickets/{staying}").text
    assert f'<option value="{closed_down}"' not in page and '<option value="support"' in page
    refused = post(desk, f"/api/agent/tickets/{staying}/changes", department=closed_down,
                   version=version_of(desk, staying))
    assert refused.status_code == 400 and "no admite tickets nuevos" in refused.text
    assert get_ticket(table, staying).department != closed_down  # type: ignore[union-attr]
    # A ticket already in it carries on: its own department stays offered, and other changes land.
    inside = open_ticket(table, closed_down)
    assert f'<option value="{closed_down}" selected' in desk.get(f"/api/agent/tickets/{inside}").text
    assert post(desk, f"/api/agent/tickets/{inside}/changes", department=closed_down, priority="high",
                version=version_of(desk, inside)).status_code == 200
