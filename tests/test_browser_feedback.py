"""Feedback after every action on a ticket: a banner said to screen readers that takes the
focus, with or without JavaScript; closing asks first; the thread shows who closed and
reopened it, and when; focus never falls to <body> after a swap; a refused form says so by
its own button."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from browser_steps import log_in
from browser_words import TEXTS
from conftest import Person, csrf_token
from playwright.sync_api import expect

from supportdesk.accounts import end_sessions
from supportdesk.tickets import Agent, Changes, Status, change_ticket, get_ticket

ID = re.compile(r"[A-Z]{3}-\d{6}")

WIDE, NARROW = {"width": 1366, "height": 768}, {"width": 390, "height": 844}


# --- without JavaScript: the 303 carries what was done ------------------------------------------

def open_ticket(client: Any, subject: str = "La web de ana.es no carga") -> str:
    token = csrf_token(client, "/api/departments")
    answer = client.post("/api/tickets", follow_redirects=False, data={
        "department": "support", "subject": subject, "priority": "normal",
        "message": "Desde esta mañana la web da error 500 en todas las páginas.", "csrf_token": token})
    found = ID.search(answer.headers.get("location", ""))
    assert answer.status_code == 303 and found
    return found.group(0)


def banner(html: str) -> str:
    """The page's feedback banner, as markup (one at most)."""
    found = re.findall(r'<div class="banner[^"]*"[^>]*id="feedback".*?</div>', html, re.S)
    assert len(found) <= 1
    return found[0] if found else ""


def test_without_javascript_each_action_lands_on_a_page_that_says_what_it_did(
        signed_in: Any, customer: Person, table: Any) -> None:
    client = signed_in(customer)
    ticket_id = open_ticket(client)
    page = client.get(f"/api/tickets/{ticket_id}")
    assert banner(page.text) == ""  # nothing was done by merely looking
    token = csrf_token(client, f"/api/tickets/{ticket_id}")

    replied = client.post(f"/api/tickets/{ticket_id}/replies", follow_redirects=False,
                          data={"message": "También falla el panel de control.", "csrf_token": token})
    assert replied.status_code == 303 and replied.headers["location"].endswith("done=replied")
    shown = banner(client.get(replied.headers["location"]).text)
    assert 'role="status"' in shown and 'tabindex="-1"' in shown and "autofocus" in shown
    assert "Su respuesta fue enviada. Le responderemos aquí y por correo electrónico." in shown

    # Closing asks first, and asking writes nothing.
    asked = client.post(f"/api/tickets/{ticket_id}/close", follow_redirects=False, data={"csrf_token": token})
    assert asked.status_code == 200 and "¿Cerrar este ticket?" in asked.text
    assert 'name="sure" value="yes"' in asked.text and "No, mantenerlo abierto" in asked.text
    assert not get_ticket(table, ticket_id).is_closed  # type: ignore[union-attr]
    assert banner(asked.text) == ""

    closed = client.post(f"/api/tickets/{ticket_id}/close", follow_redirects=False,
                         data={"csrf_token": token, "sure": "yes"})
    assert closed.status_code == 303 and closed.headers["location"].endswith("done=closed")
    page = client.get(closed.headers["location"]).text
    assert "El ticket está cerrado." in banner(page) and 'role="status"' in banner(page)
    assert get_ticket(table, ticket_id).is_closed  # type: ignore[union-attr]

    reopened = client.post(f"/api/tickets/{ticket_id}/replies", follow_redirects=False,
                           data={"message": "Vuelve a fallar desde las 18:00.", "csrf_token": token})
    assert reopened.headers["location"].endswith("done=reopened")
    page = client.get(reopened.headers["location"]).text
    assert "Su respuesta fue enviada y el ticket está abierto de nuevo." in banner(page)
    # The thread, in time order: two messages, closed, reopened, the message that reopened it.
    items = re.findall(r'<li class="(message|status-change)[^"]*"(?: data-mark="(\w+)")?', page)
    assert items == [("message", ""), ("message", ""), ("status-change", "closed"),
                     ("status-change", "reopened"), ("message", "")]
    assert "Cerrado por Ana Pérez el" in page and "Reabierto por Ana Pérez el" in page


def test_an_unknown_done_says_nothing(signed_in: Any, customer: Person) -> None:
    client = signed_in(customer)
    ticket_id = open_ticket(client)
    page = client.get(f"/api/tickets/{ticket_id}", params={"done": "<script>alert(1)</script>"})
    assert page.status_code == 200 and banner(page.text) == "" and "<script>alert" not in page.text


def test_another_customers_ticket_is_404_on_close_its_confirmation_and_confirm(
        signed_in: Any, make_customer: Any, table: Any) -> None:
    owner, other = make_customer(), make_customer(name="Eve Otra")
    ticket_id = open_ticket(signed_in(owner), subject="Privado de Ana")
    intruder = signed_in(other)
    token = csrf_token(intruder, "/api/tickets")
    for path, data in ((f"/api/tickets/{ticket_id}/close", {}),
                       (f"/api/tickets/{ticket_id}/close", {"sure": "yes"}),
                       (f"/api/tickets/{ticket_id}/confirm", {}),
                       (f"/api/tickets/{ticket_id}/replies", {"message": "Hola, soy otra persona."})):
        answer = intruder.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
        assert answer.status_code == 404, path
        assert "Privado de Ana" not in answer.text
    stored = get_ticket(table, ticket_id)
    assert stored is not None and not stored.is_closed and stored.message_count == 1 and stored.events == ()


def test_the_confirmation_shows_nothing_to_a_session_ended_elsewhere(
        signed_in: Any, customer: Person, stack: Any, table: Any, cognito: Any) -> None:
    """The first step of closing shows the ticket: it checks the session as a page view does."""
    client = signed_in(customer)
    ticket_id = open_ticket(client, subject="Privado tras el cambio de clave")
    token = csrf_token(client, f"/api/tickets/{ticket_id}")
    end_sessions(cognito, table, stack.environment["USER_POOL_ID"], customer.email,
                 now_ms=int(time.time() * 1000) + 1000)
    asked = client.post(f"/api/tickets/{ticket_id}/close", data={"csrf_token": token}, follow_redirects=False)
    assert asked.status_code == 404 and "Privado tras el cambio de clave" not in asked.text


def test_an_agents_status_changes_show_in_the_thread_on_both_sides(
        signed_in: Any, customer: Person, make_customer: Any, table: Any) -> None:
    client = signed_in(customer)
    ticket_id = open_ticket(client)
    agent = make_customer(name="Beto Agente", agent=True)
    stored = get_ticket(table, ticket_id)
    assert stored is not None
    held = change_ticket(table, stored, Changes(status=Status.ON_HOLD), agent=Agent(agent.account.id, "Beto Agente"))
    change_ticket(table, held, Changes(status=Status.CLOSED), agent=Agent(agent.account.id, "Beto Agente"))
    marks = [e.mark.value for e in get_ticket(table, ticket_id).events]  # type: ignore[union-attr]
    assert marks == ["changed", "closed"]
    page = client.get(f"/api/tickets/{ticket_id}").text
    assert "Beto Agente cambió el estado a «En espera» el" in page  # the customer's name of it
    assert "Cerrado por Beto Agente el" in page
    desk = signed_in(agent).get(f"/api/agent/tickets/{ticket_id}").text
    assert re.search(r"Beto Agente cambió el estado a «[^»]+» el", desk) and "Cerrado por Beto Agente el" in desk


# --- in Chromium -------------------------------------------------------------------------------



def focused(page: Any) -> dict[str, str]:
    return page.evaluate("""() => { const e = document.activeElement;
        return {tag: e.tagName, id: e.id, feedback: e.getAttribute('data-feedback') || '',
                role: e.getAttribute('role') || '', text: e.innerText.trim()}; }""")


def expect_banner(page: Any, done: str, text: str, role: str = "status") -> None:
    shown = page.locator(f"#feedback[data-feedback={done}]")
    expect(shown).to_be_visible()
    expect(shown).to_have_attribute("role", role)
    expect(shown).to_contain_text(text)
    # The focus is on it: what a screen reader reads next, and where the eyes are.
    expect(shown).to_be_focused()
    assert shown.is_visible() and shown.bounding_box() is not None


@pytest.mark.browser
@pytest.mark.parametrize("language,viewport", [("es", NARROW), ("en", WIDE)])
def test_each_action_is_announced_where_the_focus_goes(
        live_server: str, page_in: Any, make_customer: Any, language: str, viewport: dict[str, int]) -> None:
    t = TEXTS[language]
    page = page_in(t["locale"])
    page.set_viewport_size(viewport)
    log_in(page, live_server, make_customer(language=language), t)

    page.goto(live_server + "/new.html?department=support")
    page.get_by_label(t["subject"]).fill("El correo de ana.es rebota")
    page.get_by_label(t["message"]).fill("Desde las 10:00 todo el correo a info@ana.es rebota con 550.")
    page.get_by_role("button", name=t["submit"], exact=True).click()
    expect_banner(page, "opened", t["opened banner"])

    page.get_by_label(t["message"]).fill("También rebota el correo a ventas@ana.es.")
    page.get_by_role("button", name=t["reply"]).click()
    expect_banner(page, "replied", t["replied"])

    # Close asks first; "keep it open" keeps it open, with the focus on the page, not <body>.
    page.get_by_role("button", name=t["close"]).click()
    asked = page.get_by_role("heading", name=t["ask"])
    expect(asked).to_be_focused()
    page.get_by_role("link", name=t["keep"]).click()
    expect(page.get_by_role("button", name=t["close"])).to_be_visible()
    expect(page.locator("#ticket-status")).to_have_text(t["status"])
    expect(page.locator("#page h1")).to_be_focused()
    assert focused(page)["tag"] != "BODY"

    page.get_by_role("button", name=t["close"]).click()
    page.get_by_role("button", name=t["sure"]).click()
    expect_banner(page, "closed", t["closed banner"])
    expect(page.locator("#ticket-status")).to_have_text(t["closed status"])

    page.get_by_label(t["message"]).fill("Vuelve a rebotar desde las 18:00.")
    page.get_by_role("button", name=t["reopen"]).click()
    expect_banner(page, "reopened", t["reopened banner"])
    expect(page.locator("#ticket-status")).to_have_text(t["status"])
    # The thread tells the story in time order, each change between the messages around it.
    kinds = page.locator(".thread > li").evaluate_all(
        "items => items.map(i => i.classList.contains('status-change') ? i.dataset.mark : 'message')")
    assert kinds == ["message", "message", "closed", "reopened", "message"]
    expect(page.locator(".thread [data-mark=closed]")).to_contain_text(t["closed by"])
    expect(page.locator(".thread [data-mark=reopened]")).to_contain_text(t["reopened by"])


@pytest.mark.browser
def test_a_refused_reply_puts_the_focus_on_the_field_and_its_reason(
        live_server: str, page_in: Any, make_customer: Any) -> None:
    t = TEXTS["en"]
    page = page_in(t["locale"])
    log_in(page, live_server, make_customer(language="en"), t)
    page.goto(live_server + "/new.html?department=support")
    page.get_by_label(t["subject"]).fill("Mail bounces")
    page.get_by_label(t["message"]).fill("Since 10:00 every mail to info@ana.es bounces with 550.")
    page.get_by_role("button", name=t["submit"], exact=True).click()
    page.locator("#feedback[data-feedback=opened]").wait_for()
    # A browser that checks nothing sends the empty reply: the server's reason, by its field.
    page.locator("section.reply form").evaluate("form => { form.noValidate = true; }")
    page.get_by_role("button", name=t["reply"]).click()
    field = page.get_by_label(t["message"])
    expect(field).to_be_focused()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", "message-error")
    expect(page.locator("#message-error")).to_contain_text("Write your message")


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [NARROW, WIDE])
def test_a_session_gone_while_replying_says_so_by_the_button_and_keeps_the_draft(
        live_server: str, page_in: Any, make_customer: Any, viewport: dict[str, int]) -> None:
    t = TEXTS["es"]
    person = make_customer()
    page = page_in(t["locale"])
    page.set_viewport_size(viewport)
    log_in(page, live_server, person, t)
    page.goto(live_server + "/new.html?department=support")
    page.get_by_label(t["subject"]).fill("El FTP rechaza la contraseña")
    page.get_by_label(t["message"]).fill("Desde ayer el FTP dice 530 Login incorrect.")
    page.get_by_role("button", name=t["submit"], exact=True).click()
    page.locator("#feedback[data-feedback=opened]").wait_for()
    address = page.url

    draft = "Probé también desde otro equipo y pasa lo mismo."
    page.get_by_label(t["message"]).fill(draft)
    page.context.clear_cookies(name="__Host-sd_since")  # only the session's cookie goes
    page.get_by_role("button", name=t["reply"]).click()
    said = page.locator("section.reply form [data-form-notice]")
    said.locator("[data-reason=expired-form]").wait_for()
    expect(said).to_be_focused()
    expect(page.locator("#notice")).to_be_empty()  # not at the top, far from the reader
    # Next to the button they pressed: on screen, just above it.
    box, button = said.bounding_box(), page.get_by_role("button", name=t["reply"]).bounding_box()
    assert box and button and 0 <= button["y"] - (box["y"] + box["height"]) < 80
    assert 0 <= box["y"] < viewport["height"]
    expect(page.get_by_label(t["message"])).to_have_value(draft)

    said.locator("[data-way=login]").click()
    page.get_by_label(t["email"]).fill(person.email)
    page.get_by_label(t["password"]).fill(person.password)
    page.get_by_role("button", name=t["login"], exact=True).click()
    page.wait_for_url(address)
    expect(page.get_by_label(t["message"])).to_have_value(draft)


@pytest.mark.browser
def test_the_support_form_with_only_the_session_cookie_gone_leads_to_login_not_to_the_guest_form(
        live_server: str, page_in: Any, make_customer: Any) -> None:
    t = TEXTS["en"]
    person = make_customer(language="en")
    page = page_in(t["locale"])
    log_in(page, live_server, person, t)
    page.goto(live_server + "/new.html?department=support")
    page.get_by_label(t["subject"]).fill("FTP refuses the password")
    page.get_by_label(t["message"]).fill("Since yesterday the FTP says 530 Login incorrect.")
    page.context.clear_cookies(name="__Host-sd_since")  # the other cookies stay
    page.reload()
    # Not the guest's form (name and address to type): the way to log in, and back.
    page.get_by_label(t["password"]).wait_for()
    expect(page.locator("input#name")).to_have_count(0)
    assert "next=" in page.url and "department%3Dsupport" in page.url
    page.get_by_label(t["email"]).fill(person.email)
    page.get_by_label(t["password"]).fill(person.password)
    page.get_by_role("button", name=t["login"], exact=True).click()
    page.wait_for_url("**/new.html?department=support")
    expect(page.get_by_label(t["subject"])).to_have_value("FTP refuses the password")
    expect(page.get_by_label(t["message"])).to_have_value("Since yesterday the FTP says 530 Login incorrect.")
    expect(page.locator("input#name[readonly]")).to_have_count(1)  # the account's own, not a guest's


def test_an_earlier_page_of_the_thread_keeps_its_changes_of_status_on_both_sides(
        signed_in: Any, customer: Person, make_customer: Any, table: Any) -> None:
    from supportdesk.tickets import THREAD_PAGE, add_customer_reply, close_ticket

    client = signed_in(customer)
    ticket_id = open_ticket(client)
    ticket = get_ticket(table, ticket_id)
    assert ticket is not None
    ticket = close_ticket(table, ticket)
    for number in range(THREAD_PAGE + 1):  # the first reply reopens it; the close goes to an earlier page
        ticket = add_customer_reply(table, ticket, author_name="Ana Pérez", body=f"Dato número {number}.")
    page = client.get(f"/api/tickets/{ticket_id}").text
    assert "Cerrado por" not in page
    cursor = re.search(r'/api/tickets/[^"]+/earlier\?cursor=([^"&]+)', page)
    assert cursor
    earlier = client.get(f"/api/tickets/{ticket_id}/earlier", params={"cursor": cursor.group(1)}).text
    assert "Cerrado por Ana Pérez el" in earlier and "Reabierto por Ana Pérez el" in earlier
    assert earlier.index("Desde esta mañana") < earlier.index("Cerrado por") < earlier.index("Reabierto por") \
        < earlier.index("Dato número 0.")

    agent = signed_in(make_customer(name="Beto Agente", agent=True))
    desk = agent.get(f"/api/agent/tickets/{ticket_id}").text
    agent_cursor = re.search(r'/api/agent/tickets/[^"]+/earlier\?cursor=([^"&]+)', desk)
    assert agent_cursor
    older = agent.get(f"/api/agent/tickets/{ticket_id}/earlier", params={"cursor": agent_cursor.group(1)}).text
    assert "Cerrado por Ana Pérez el" in older and "Reabierto por Ana Pérez el" in older


def test_without_javascript_an_expired_form_leads_back_to_its_ticket_not_to_a_dead_end(
        signed_in: Any, customer: Person) -> None:
    client = signed_in(customer)
    ticket_id = open_ticket(client)
    token = csrf_token(client, f"/api/tickets/{ticket_id}")
    client.cookies.delete("__Host-sd_since")  # the session ended while the reply was written
    refused = client.post(f"/api/tickets/{ticket_id}/replies", follow_redirects=False,
                          data={"message": "Otro dato más.", "csrf_token": token})
    assert refused.status_code == 403 and 'data-reason="expired-form"' in refused.text
    ways = re.findall(r'<a href="([^"]+)"[^>]*data-way="login"', refused.text)
    assert ways and "next=%2Fapi%2Ftickets%2F" in ways[0]
    again = signed_in(customer)  # logged in again: where the login's return leads
    for action in ("replies", "close"):
        back = again.get(f"/api/tickets/{ticket_id}/{action}", follow_redirects=False)
        assert back.status_code == 303 and back.headers["location"] == f"/api/tickets/{ticket_id}"
    assert again.get(f"/api/tickets/{ticket_id}/close").status_code == 200
    assert again.get("/api/tickets/not-an-id/replies", follow_redirects=False).status_code == 404


@pytest.mark.browser
def test_without_javascript_the_banner_and_the_confirmation_take_the_focus(
        live_server: str, browser: Any, make_customer: Any, table: Any) -> None:
    t = TEXTS["en"]
    person = make_customer(language="en")
    context = browser.new_context(locale=t["locale"], java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(live_server + "/api/login")
        page.get_by_label(t["email"]).fill(person.email)
        page.get_by_label(t["password"]).fill(person.password)
        page.get_by_role("button", name=t["login"], exact=True).click()
        page.wait_for_url("**/api/home")
        page.goto(live_server + "/api/tickets/new?department=support")
        page.get_by_label(t["subject"]).fill("Mail bounces")
        page.get_by_label(t["message"]).fill("Since 10:00 every mail to info@ana.es bounces with 550.")
        page.get_by_role("button", name=t["submit"], exact=True).click()
        expect_banner(page, "opened", t["opened banner"])

        page.get_by_label(t["message"]).fill("It bounces for sales@ana.es too.")
        page.get_by_role("button", name=t["reply"]).click()
        page.wait_for_url("**done=replied")
        expect_banner(page, "replied", t["replied"])

        page.get_by_role("button", name=t["close"]).click()
        expect(page.get_by_role("heading", name=t["ask"])).to_be_focused()
        page.get_by_role("link", name=t["keep"]).click()
        expect(page.locator("#ticket-status")).to_have_text(t["status"])
        page.get_by_role("button", name=t["close"]).click()
        page.get_by_role("button", name=t["sure"]).click()
        page.wait_for_url("**done=closed")
        expect_banner(page, "closed", t["closed banner"])
        expect(page.locator(".thread [data-mark=closed]")).to_contain_text("Closed by Ana Pérez on")
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("language", ["es", "en"])
def test_an_agents_reply_note_and_change_each_say_so_on_the_console(
        live_server: str, page_in: Any, signed_in: Any, customer: Person, make_customer: Any,
        language: str) -> None:
    from portal import resources

    words = {"es": ("Enviar respuesta al cliente", "Añadir nota interna", "Guardar cambios", "Estado",
                    "Su respuesta fue enviada al cliente.", "La nota fue añadida; solo la ven los agentes.",
                    "Los cambios fueron guardados.", "Carla Agente cambió el estado a «En espera» el"),
             "en": ("Send reply to the customer", "Add internal note", "Save changes", "Status",
                    "Your reply was sent to the customer.", "The note was added; only agents see it.",
                    "The changes were saved.", "Carla Agente changed the status to “On Hold” on")}[language]
    reply, note, save, status, answered, noted, changed, changed_by = words
    t = TEXTS[language]
    ticket_id = open_ticket(signed_in(customer))
    agent = make_customer(name="Carla Agente", services=(), language=language, agent=True)
    resources._kept.clear()  # the agents' directory, as a minute later
    page = page_in(t["locale"])
    page.goto(live_server + "/")
    page.get_by_label(t["email"]).fill(agent.email)
    page.get_by_label(t["password"]).fill(agent.password)
    page.get_by_role("button", name=t["login"], exact=True).click()
    page.locator(".queue-page").wait_for()
    page.goto(f"{live_server}/agent/ticket.html?id={ticket_id}")
    page.locator("main.ticket").wait_for()

    page.locator("#message").fill("Revisamos el servidor web de ana.es.")
    page.get_by_role("button", name=note).click()
    expect_banner(page, "noted", noted)
    page.locator("#message").fill("Ya está resuelto: el disco estaba lleno.")
    page.get_by_role("button", name=reply).click()
    expect_banner(page, "answered", answered)
    page.get_by_label(status, exact=True).select_option("on-hold")
    page.get_by_role("button", name=save).click()
    expect_banner(page, "changed", changed)
    expect(page.locator(".thread [data-mark=changed]")).to_contain_text(changed_by)


@pytest.mark.browser
def test_a_changed_password_is_announced_with_the_focus_on_it(
        live_server: str, page_in: Any, make_customer: Any, stack: Any) -> None:
    from test_login import latest_code

    t = TEXTS["en"]
    person = make_customer(language="en")
    page = page_in(t["locale"])
    page.goto(live_server + "/password.html")
    page.get_by_label(t["email"]).fill(person.email)
    page.get_by_label(t["email"]).press("Enter")
    page.locator("#code").wait_for()
    page.locator("#code").fill(latest_code(stack.outbox, person.email))
    page.get_by_label("New password").fill("a brand new one")
    page.get_by_role("button", name="Change password").click()
    expect_banner(page, "password-changed", "Your password was changed. Log in with the new one.")


def test_without_javascript_a_guest_confirming_the_address_is_told_so_and_keeps_the_key(
        signed_in: Any, stack: Any) -> None:
    from conftest import mails_to
    from test_portal_tickets import created_id, guest_fields, submit

    guest = signed_in(None)
    address = f"bea-{id(guest)}@example.org"
    ticket_id = created_id(submit(guest, htmx=True, **guest_fields(address)))
    (confirmation,) = mails_to(stack, address)
    key = re.search(rf"ticket\.html\?id={ticket_id}&key=([\w-]+)", confirmation.get_content())
    assert key
    token = csrf_token(guest, "/api/departments")
    confirmed = guest.post(f"/api/tickets/{ticket_id}/confirm", follow_redirects=False,
                           data={"key": key.group(1), "csrf_token": token})
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == f"/api/tickets/{ticket_id}?key={key.group(1)}&done=confirmed"
    page = guest.get(confirmed.headers["location"]).text
    assert "Su dirección está confirmada: el ticket ya está con nuestro equipo." in banner(page)
