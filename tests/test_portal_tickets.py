"""The customer portal over HTTP: departments, the form, tickets, guests, and who sees what."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import Person, browser_client, csrf_token, datastore_calls, mails_to
from starlette.testclient import TestClient

from supportdesk_dev.stack import LocalStack

TICKET_ID = re.compile(r"[A-Z]{3}-\d{6}")


def submit(client: TestClient, *, htmx: bool = False, **fields: str) -> Any:
    token = csrf_token(client, "/api/departments")
    data = {"department": "support", "subject": "El correo de ana.es no recibe mensajes",
            "priority": "normal", "message": "Desde ayer a las 10:00 los mensajes a info@ana.es "
            "rebotan con **550 mailbox unavailable**.\n\n```\n550 5.1.1 <info@ana.es>\n```",
            "csrf_token": token, **fields}
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post("/api/tickets", data=data, headers=headers, follow_redirects=False)


def created_id(response: Any) -> str:
    match = re.search(r'id="created-ticket-id">([A-Z]{3}-\d{6})<', response.text)
    if match:
        return match.group(1)
    location = response.headers["location"]
    found = TICKET_ID.search(location)
    assert found, location
    return found.group(0)


def rows(client: TestClient, **params: str) -> list[str]:
    """The ticket IDs listed on "my tickets", in order."""
    page = client.get("/api/tickets", params=params).text
    return re.findall(r'<a href="[^"]+" class="ticket-id">([A-Z]{3}-\d{6})</a>', page)


# --- departments and the form -----------------------------------------------------------

def test_departments_guests_see_support_needs_login(signed_in: Any, customer: Person) -> None:
    htmx = {"HX-Request": "true"}
    guest = signed_in(None).get("/api/departments", headers=htmx)
    assert guest.status_code == 200
    assert 'href="/new.html?department=sales"' in guest.text
    assert 'href="/new.html?department=billing"' in guest.text
    assert 'href="/new.html?department=support"' not in guest.text
    assert "Ingrese primero" in guest.text
    member = signed_in(customer).get("/api/departments", headers=htmx)
    assert 'href="/new.html?department=support"' in member.text
    # without JavaScript the same links lead to the whole pages the API renders
    whole = signed_in(customer).get("/api/departments")
    assert 'href="/api/tickets/new?department=support"' in whole.text


def test_the_support_form_needs_a_login(signed_in: Any) -> None:
    response = signed_in(None).get("/api/tickets/new?department=support", follow_redirects=False)
    # Soporte → login → back to the form (see test_browser_dead_ends.py)
    assert response.status_code == 303
    assert response.headers["location"] == "/api/login?next=%2Fapi%2Ftickets%2Fnew%3Fdepartment%3Dsupport"


def test_an_unknown_department_is_404(signed_in: Any, customer: Person) -> None:
    assert signed_in(customer).get("/api/tickets/new?department=legal").status_code == 404


def test_the_form_is_the_seeds_with_only_this_customers_services(
        signed_in: Any, make_customer: Any) -> None:
    ana = make_customer(services=("Hosting Pro — ana.es", "Dominio ana.es"))
    make_customer(name="Eve Otra", services=("VPS secreto — eve.net",))
    page = signed_in(ana).get("/api/tickets/new?department=support")
    text = page.text
    mark = r'(?:<span class="required" aria-hidden="true">\*</span>)?'  # a required field's
    for label in ("Asunto", "Servicio Relacionado", "Prioridad", "Mensaje"):
        assert re.search(rf"<label for=\"\w+\">{label}{mark}</label>", text), label
    assert re.search(r'<option value="normal" selected>Normal</option>', text)
    assert ">Baja<" in text and ">Alta<" in text
    assert "Previsualizar" in text and ">Enviar</button>" in text
    assert "no use Alta a menos que" in text  # the seed's advice about High
    assert f'value="{ana.email}" readonly' in text and f'value="{ana.account.name}" readonly' in text
    options = re.findall(r'<option value="([^"]*)"', text.split('id="service"')[1].split("</select>")[0])
    assert options == ["", "Hosting Pro — ana.es", "Dominio ana.es"]
    english = signed_in(ana).get("/api/tickets/new?department=support&lang=en").text
    for label in ("Subject", "Related Service", "Priority", "Message"):
        assert re.search(rf">{label}{mark}</label>", english), label


# --- submitting -----------------------------------------------------------------------------

def test_submit_shows_the_id_at_once_and_mails_an_acknowledgement(
        signed_in: Any, customer: Person, stack: LocalStack) -> None:
    client = signed_in(customer)
    response = submit(client, service="Hosting Pro — ana.es", priority="high")
    assert response.status_code == 303
    ticket_id = created_id(response)
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert f'id="created-ticket-id">{ticket_id}<' in page.text
    assert "<strong>550 mailbox unavailable</strong>" in page.text
    assert "<pre><code>550 5.1.1 &lt;info@ana.es&gt;\n</code></pre>" in page.text
    assert "Alta" in page.text and "Hosting Pro — ana.es" in page.text

    assert stack.outbox is not None
    (mail,) = mails_to(stack, customer.email)
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Subject"] == f"[#{ticket_id}] El correo de ana.es no recibe mensajes"
    assert str(mail["Reply-To"]).startswith(f"support+{ticket_id.lower()}.")  # signed: see test_intake
    body = mail.get_content()
    assert ticket_id in body and "Recibimos su ticket" in body
    assert f"/ticket.html?id={ticket_id}" in body


def test_htmx_submit_swaps_in_the_ticket_and_moves_the_address_bar(
        signed_in: Any, customer: Person) -> None:
    response = submit(signed_in(customer), htmx=True)
    assert response.status_code == 200
    ticket_id = created_id(response)
    assert response.headers["HX-Push-Url"] == f"/ticket.html?id={ticket_id}"
    assert "<html" not in response.text


@pytest.mark.parametrize("fields, field, message", [
    ({"subject": ""}, "subject", "Escriba un asunto"),
    ({"subject": "x" * 201}, "subject", "Use menos de 200 caracteres"),
    ({"message": "   "}, "message", "Escriba su mensaje"),
    ({"message": "a" * (64 * 1024 + 1)}, "message", "El mensaje supera los 64 KB"),
    ({"department": "legal"}, "department", "Elija uno de los departamentos"),
    ({"priority": "urgentísima"}, "priority", "Elija una de las prioridades de la lista"),
    ({"service": "VPS de otra persona"}, "service", "Elija uno de los servicios de su cuenta"),
])
def test_a_refused_form_comes_back_as_typed_with_the_reason_by_the_field(
        signed_in: Any, customer: Person, fields: dict[str, str], field: str, message: str) -> None:
    typed = {"subject": 'Mi "web" <b>falla</b> & más', "message": "Texto con <script>x</script> y ñ",
             **fields}
    response = submit(signed_in(customer), **typed)
    assert response.status_code == 400
    assert re.search(rf'id="{field}-error">\s*{re.escape(message)}', response.text)
    if field != "subject":
        assert 'value="Mi &#34;web&#34; &lt;b&gt;falla&lt;/b&gt; &amp; más"' in response.text
    if field != "message":
        assert "Texto con &lt;script&gt;x&lt;/script&gt; y ñ</textarea>" in response.text


def test_preview_is_exactly_the_stored_rendering(signed_in: Any, customer: Person) -> None:
    client = signed_in(customer)
    text = "# Título\n\n**negrita** _itálica_ `code`\n\n```\n  sangría\n\ttab\n```"
    token = csrf_token(client, "/api/tickets/new?department=support")
    preview = client.post("/api/preview", data={"message": text, "csrf_token": token},
                          headers={"HX-Request": "true"})
    rendered = re.search(r'<div class="message-body">(.*?)</div>', preview.text, re.S)
    assert rendered
    page = client.get(submit(client, message=text).headers["location"])
    assert rendered.group(1) in page.text
    assert "<pre><code>  sangría\n\ttab\n</code></pre>" in rendered.group(1)


def test_a_mail_failure_never_loses_the_ticket(signed_in: Any, customer: Person,
                                               monkeypatch: pytest.MonkeyPatch, table: Any) -> None:
    from supportdesk import notifications

    def refuse(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("SES throttled")

    monkeypatch.setattr(notifications, "send", refuse)
    response = submit(signed_in(customer))
    assert response.status_code == 303
    from supportdesk.tickets import get_ticket

    assert get_ticket(table, created_id(response)) is not None


# --- my tickets and the thread ----------------------------------------------------------------

def test_my_tickets_filter_and_search(signed_in: Any, customer: Person, stack: LocalStack) -> None:
    client = signed_in(customer)
    first = created_id(submit(client, subject="Certificado SSL caducado en tienda",
                              message="El navegador avisa de que el certificado de tienda.ana.es caducó ayer."))
    second = created_id(submit(client, subject="Factura duplicada de octubre",
                               message="Me cobraron dos veces el plan Hosting Pro."))
    token = csrf_token(client, "/api/tickets")
    client.post(f"/api/tickets/{second}/close", data={"csrf_token": token, "sure": "yes"})

    def listed(**params: str) -> list[str]:
        return rows(client, **params)

    assert listed()[:2] == [second, first]  # newest activity first
    # each row shows how its ticket began, as text
    assert "El navegador avisa de que el certificado de tienda.ana.es caducó ayer." in client.get("/api/tickets").text
    assert first in listed(status="open") and second not in listed(status="open")
    assert listed(status="closed") == [second]
    assert listed(q=first) == [first]
    assert listed(q=first.lower()) == [first]
    stack.deliver_events()  # the search index is written by the notifier, a moment after
    assert listed(q="certificado ssl") == [first]
    assert listed(q="cobraron DOS veces") == [second]  # message text, any case
    assert listed(q="nada de esto") == []
    fragment = client.get("/api/tickets", params={"q": "factura"},
                          headers={"HX-Request": "true", "HX-Target": "ticket-rows"})
    assert "<table" in fragment.text and "<h1>" not in fragment.text


def test_reply_close_and_reopen(signed_in: Any, customer: Person) -> None:
    client = signed_in(customer)
    ticket_id = created_id(submit(client))
    token = csrf_token(client, f"/api/tickets/{ticket_id}")
    reply = client.post(f"/api/tickets/{ticket_id}/replies",
                        data={"message": "También falla **smtp**", "csrf_token": token})
    assert reply.status_code == 200 and "También falla <strong>smtp</strong>" in reply.text
    closed = client.post(f"/api/tickets/{ticket_id}/close", data={"csrf_token": token, "sure": "yes"})
    assert re.search(r'id="ticket-status">\s*Cerrado', closed.text)
    assert "Responda para reabrir este ticket" in closed.text
    reopened = client.post(f"/api/tickets/{ticket_id}/replies",
                           data={"message": "Vuelve a pasar", "csrf_token": token})
    assert re.search(r'id="ticket-status">\s*Pendiente de nuestro equipo', reopened.text)
    assert reopened.text.count('class="message') >= 3
    empty = client.post(f"/api/tickets/{ticket_id}/replies", data={"message": " ", "csrf_token": token})
    assert empty.status_code == 400 and "Escriba su mensaje" in empty.text


def test_subject_advice_while_typing(signed_in: Any, customer: Person) -> None:
    client = signed_in(customer)
    earlier = created_id(submit(client, subject="Correos rebotados con error 550"))
    generic = client.get("/api/tickets/similar", params={"subject": "Ayuda"}, headers={"HX-Request": "true"})
    assert 'id="subject-generic"' in generic.text
    repeated = client.get("/api/tickets/similar", params={"subject": "correos rebotados con ERROR 550"},
                          headers={"HX-Request": "true"})
    assert 'id="subject-repeated"' in repeated.text and earlier in repeated.text
    similar = client.get("/api/tickets/similar", params={"subject": "error 550 otra vez"},
                         headers={"HX-Request": "true"})
    assert 'id="similar-tickets"' in similar.text and earlier in similar.text


# --- who sees what ------------------------------------------------------------------------------

def test_another_customers_ticket_is_404_on_every_route(signed_in: Any, make_customer: Any) -> None:
    owner, other = make_customer(), make_customer(name="Eve Otra")
    ticket_id = created_id(submit(signed_in(owner), subject="Privado de Ana"))
    intruder = signed_in(other)
    token = csrf_token(intruder, "/api/tickets")
    assert intruder.get(f"/api/tickets/{ticket_id}").status_code == 404
    reply = intruder.post(f"/api/tickets/{ticket_id}/replies", data={"message": "hola", "csrf_token": token})
    assert reply.status_code == 404
    assert intruder.post(f"/api/tickets/{ticket_id}/close", data={"csrf_token": token}).status_code == 404
    assert ticket_id not in rows(intruder)
    assert rows(intruder, q=ticket_id) == []
    advice = intruder.get("/api/tickets/similar", params={"subject": "Privado de Ana"}).text
    advice = re.sub(r'href="[^"]*"', "", advice)  # the language links repeat the intruder's own query
    assert ticket_id not in advice and "Privado" not in advice
    # and nothing changed for the owner
    owners_view = signed_in(owner).get(f"/api/tickets/{ticket_id}")
    assert owners_view.status_code == 200 and "hola" not in owners_view.text
    assert "Pendiente de nuestro equipo" in owners_view.text
    # the same answer as for a ticket that does not exist
    assert intruder.get("/api/tickets/ZZZ-999999").status_code == 404
    assert intruder.get("/api/tickets/not-an-id").status_code == 404


def test_logged_out_visitors_get_nothing(signed_in: Any, customer: Person) -> None:
    ticket_id = created_id(submit(signed_in(customer)))
    anonymous = signed_in(None)
    token = csrf_token(anonymous)
    assert anonymous.get(f"/api/tickets/{ticket_id}").status_code == 404
    assert anonymous.post(f"/api/tickets/{ticket_id}/replies",
                          data={"message": "x", "csrf_token": token}).status_code == 404
    assert anonymous.post(f"/api/tickets/{ticket_id}/close", data={"csrf_token": token}).status_code == 404
    assert anonymous.get("/api/tickets", follow_redirects=False).status_code == 303


# --- guests -------------------------------------------------------------------------------------

def guest_fields(address: str, **more: str) -> dict[str, str]:
    return {"department": "sales", "name": "Bea Invitada", "email": address, "service": "",
            "subject": "Precio del plan VPS anual", "message": "¿Tienen descuento por pago anual del VPS 4 GB?",
            **more}


def queued(stack: LocalStack, department: str) -> list[str]:
    """The IDs in a department's queue (the sparse index agents read)."""
    from supportdesk.store import Table

    table = Table(stack.client("dynamodb"), stack.environment["TABLE_NAME"])
    return [i["id"] for i in table.query("GSI2PK", f"QUEUE#{department}", index="Queue")]


def test_a_guest_confirms_the_address_then_follows_the_ticket_by_its_secret_link(
        signed_in: Any, stack: LocalStack) -> None:
    guest = signed_in(None)
    address = f"bea-{id(guest)}@example.org"
    response = submit(guest, htmx=True, **guest_fields(address))
    assert response.status_code == 200, response.text
    ticket_id = created_id(response)
    assert "key=" not in response.text and "HX-Push-Url" not in response.headers
    assert ticket_id not in queued(stack, "sales")  # nobody answers an address not proven

    assert stack.outbox is not None
    (confirmation,) = mails_to(stack, address)
    text = confirmation.get_content()
    # Our words only: nothing the visitor typed reaches an address not yet proven theirs.
    assert "Bea" not in str(confirmation) and "VPS" not in str(confirmation)
    assert str(confirmation["To"]) == address and confirmation["Auto-Submitted"] == "auto-generated"
    link = re.search(rf"https?://\S+/ticket\.html\?id={ticket_id}&key=([\w-]+)", text)
    assert link, text
    key = link.group(1)
    assert len(key) >= 32

    stranger = signed_in(None)
    assert stranger.get(f"/api/tickets/{ticket_id}").status_code == 404
    assert stranger.get(f"/api/tickets/{ticket_id}", params={"key": key[:-2] + "xx"}).status_code == 404
    waiting = stranger.get(f"/api/tickets/{ticket_id}", params={"key": key})
    assert waiting.status_code == 200 and 'id="confirm-address"' in waiting.text
    token = csrf_token(stranger, "/api/departments")
    early = stranger.post(f"/api/tickets/{ticket_id}/replies",
                          data={"message": "¿Y mensual?", "key": key, "csrf_token": token})
    assert early.status_code == 409 and "¿Y mensual?" in early.text  # refused, the text kept

    confirmed = stranger.post(f"/api/tickets/{ticket_id}/confirm", data={"key": key, "csrf_token": token},
                              headers={"HX-Request": "true"})
    assert confirmed.status_code == 200 and 'id="confirm-address"' not in confirmed.text
    assert ticket_id in queued(stack, "sales")
    acknowledgement = next(m for m in mails_to(stack, address) if f"[#{ticket_id}]" in str(m["Subject"]))
    assert f"/ticket.html?id={ticket_id}&key={key}" in acknowledgement.get_content()

    assert stranger.post(f"/api/tickets/{ticket_id}/replies",
                         data={"message": "¿Y mensual?", "csrf_token": token}).status_code == 404
    reply = stranger.post(f"/api/tickets/{ticket_id}/replies",
                          data={"message": "¿Y mensual?", "key": key, "csrf_token": token})
    assert reply.status_code == 200 and "¿Y mensual?" in reply.text and "Bea Invitada" in reply.text


def test_guests_cannot_use_support_nor_pick_services(signed_in: Any) -> None:
    guest = signed_in(None)
    refused = submit(guest, **guest_fields("bea@example.org", department="support"))
    assert refused.status_code == 400 and "requiere que ingrese" in refused.text


def test_the_honeypot_and_the_rate_limit_stop_robots_and_floods(signed_in: Any) -> None:
    guest = signed_in(None)
    address = f"flood-{id(guest)}@example.org"
    robot = submit(guest, **guest_fields(address, website="http://spam.example"))
    assert robot.status_code == 400
    statuses = [submit(guest, **guest_fields(address, subject=f"Consulta de precios {n}")).status_code
                for n in range(6)]
    assert statuses == [303] * 5 + [429]
    limited = submit(guest, **guest_fields(address, subject="Mi texto se conserva"))
    assert limited.status_code == 429
    assert 'value="Mi texto se conserva"' in limited.text and "Espere un rato" in limited.text


# --- cost of each action --------------------------------------------------------------------------

def test_each_customer_action_costs_at_most_two_datastore_calls(
        signed_in: Any, customer: Person, app: Any) -> None:
    from portal import resources

    resources.departments()  # a warm container has them (kept for a minute)
    client = browser_client(app)
    token = csrf_token(client)
    costs: dict[str, list[str]] = {}
    with datastore_calls() as calls:
        login = client.post("/api/login", data={"email": customer.email, "password": customer.password,
                                                 "csrf_token": token}, headers={"HX-Request": "true"})
    costs["login"] = list(calls)
    # The token is bound to the session: the page the login returns carries the new one.
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
    actions = {
        "departments": lambda: client.get("/api/departments"),
        "form": lambda: client.get("/api/tickets/new?department=support"),
        "advice": lambda: client.get("/api/tickets/similar", params={"subject": "correo"}),
        "preview": lambda: client.post("/api/preview", data={"message": "**x**", "csrf_token": token}),
        "submit": lambda: client.post("/api/tickets", follow_redirects=False, data={
            "department": "support", "subject": "Correo caído", "priority": "normal",
            "message": "Desde las 10:00 no entra correo en info@ana.es", "csrf_token": token}),
        "list": lambda: client.get("/api/tickets", params={"q": "correo"}),
    }
    for name, action in actions.items():
        with datastore_calls() as calls:
            response = action()
        costs[name] = list(calls)
        if name == "submit":
            ticket_id = created_id(response)
    for name, action in {
        "view": lambda: client.get(f"/api/tickets/{ticket_id}"),
        "home": lambda: client.get("/api/home"),
        "reply": lambda: client.post(f"/api/tickets/{ticket_id}/replies", headers={"HX-Request": "true"},
                                     data={"message": "más datos", "csrf_token": token}),
        "close, asked": lambda: client.post(f"/api/tickets/{ticket_id}/close", data={"csrf_token": token},
                                            headers={"HX-Request": "true"}),
        "close": lambda: client.post(f"/api/tickets/{ticket_id}/close", data={"csrf_token": token, "sure": "yes"},
                                     headers={"HX-Request": "true"}),
    }.items():
        with datastore_calls() as calls:
            assert action().status_code == 200
        costs[name] = list(calls)
    client.close()
    assert {name: c for name, c in costs.items() if len(c) > 2} == {}
