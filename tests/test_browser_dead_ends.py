"""No dead end: every error a page can reach shows the header and a way on, and a login
started from a page comes back to it (the `next` address, same-site paths only)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import Person, csrf_token
from playwright.sync_api import expect

ID = re.compile(r"[A-Z]{3}-\d{6}")


# --- `next` over HTTP -----------------------------------------------------------------------

def post_login(client: Any, person: Person, next_page: str, **headers: str) -> Any:
    token = csrf_token(client, "/api/login")
    return client.post("/api/login", data={"email": person.email, "password": person.password,
                                           "csrf_token": token, "next": next_page},
                       headers=headers, follow_redirects=False)


def test_next_is_kept_through_the_login(signed_in: Any, customer: Person) -> None:
    client = signed_in(None)
    form = client.get("/api/login?next=/ticket.html%3Fid%3DABC-123456")
    assert 'name="next" value="/ticket.html?id=ABC-123456"' in form.text
    answer = post_login(client, customer, "/ticket.html?id=ABC-123456")
    assert answer.status_code == 303 and answer.headers["location"] == "/ticket.html?id=ABC-123456"
    # Under htmx the browser is sent there whole (so a form's draft comes back with it).
    other = signed_in(None)
    assert post_login(other, customer, "/new.html?department=support",
                      **{"HX-Request": "true"}).headers["HX-Redirect"] == "/new.html?department=support"
    # Already signed in: the login page sends straight on.
    again = client.get("/api/login?next=/tickets.html", follow_redirects=False)
    assert again.headers["location"] == "/tickets.html"


def test_a_page_that_needs_a_login_sends_there_with_its_own_address(signed_in: Any) -> None:
    client = signed_in(None)
    plain = client.get("/api/tickets?status=open", follow_redirects=False)
    assert plain.headers["location"] == "/api/login?next=%2Fapi%2Ftickets%3Fstatus%3Dopen"
    htmx = client.get("/api/tickets/new?department=support", follow_redirects=False, headers={
        "HX-Request": "true", "HX-Current-URL": "https://testserver/new.html?department=support"})
    assert htmx.headers["HX-Redirect"] == "/?next=%2Fnew.html%3Fdepartment%3Dsupport"


OPEN_REDIRECTS = ["https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example",
                  "/\\/evil.example", "javascript:alert(1)", "http:/evil.example", " //evil.example",
                  "/\t/evil.example", "evil.example", "https:evil.example"]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_next_refuses_anything_but_a_path_of_this_site(signed_in: Any, customer: Person, target: str) -> None:
    client = signed_in(None)
    from urllib.parse import quote

    form = client.get(f"/api/login?next={quote(target, safe='')}")
    assert 'name="next"' not in form.text
    answer = post_login(client, customer, target)
    assert answer.status_code == 303 and answer.headers["location"] == "/api/home"


# --- the dead ends, in Chromium ---------------------------------------------------------------

def ticket_of(signed_in: Any, person: Person) -> str:
    client = signed_in(person)
    token = csrf_token(client, "/api/departments")
    answer = client.post("/api/tickets", follow_redirects=False, data={
        "department": "support", "subject": "La web de ana.es no carga", "priority": "normal",
        "message": "Desde esta mañana la web da error 500 en todas las páginas.", "csrf_token": token})
    found = ID.search(answer.headers.get("location", "") + answer.text)
    assert found
    return found.group(0)


def fill_login(page: Any, person: Person) -> None:
    page.get_by_label("Correo electrónico").fill(person.email)
    page.get_by_label("Contraseña").fill(person.password)
    page.get_by_role("button", name="Ingresar", exact=True).click()


def has_header(page: Any) -> None:
    expect(page.locator("#page header.bar")).to_be_visible()


@pytest.mark.browser
def test_the_mails_ticket_link_signed_out_leads_to_login_and_back(
        live_server: str, page_in: Any, signed_in: Any, customer: Person) -> None:
    ticket_id = ticket_of(signed_in, customer)
    page = page_in("es-ES")
    page.goto(f"{live_server}/ticket.html?id={ticket_id.lower()}")  # typed in lower case, too
    page.locator("[data-reason=ticket-login]").wait_for()
    has_header(page)
    page.locator("#page .ways [data-way=login]").click()
    fill_login(page, customer)
    page.wait_for_url(f"**/ticket.html?id={ticket_id.lower()}")
    expect(page.locator("h1")).to_contain_text("La web de ana.es no carga")
    expect(page.locator("#page")).to_contain_text(ticket_id)


@pytest.mark.browser
def test_an_unknown_ticket_says_so_with_the_header_and_my_tickets(
        live_server: str, page_in: Any, customer: Person) -> None:
    page = page_in("en-GB")
    page.goto(live_server + "/")
    fill_in = page.get_by_label("E-mail")
    fill_in.fill(customer.email)
    page.get_by_label("Password").fill(customer.password)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.locator("#greeting").wait_for()
    page.goto(live_server + "/ticket.html?id=ZZZ-000000&lang=en")
    page.locator("[data-reason=not-found]").wait_for()
    has_header(page)
    expect(page.locator("h1")).to_have_text("We could not find that page.")
    page.locator("#page .ways").get_by_role("link", name="My tickets").click()
    page.wait_for_url("**/tickets.html*")
    page.locator("h1", has_text="My tickets").wait_for()


@pytest.mark.browser
@pytest.mark.parametrize("address", ["/nonexistent.html", "/agent/nope.html", "/static/none.css/x"])
def test_an_address_the_site_does_not_have_is_a_404_page_with_the_header_and_a_way_on(
        live_server: str, page_in: Any, address: str) -> None:
    page = page_in("es-ES")
    answer = page.goto(live_server + address)
    assert answer is not None and answer.status == 404
    page.locator("[data-reason=not-found]").wait_for()
    has_header(page)
    expect(page.locator("h1")).to_have_text("No encontramos esa página.")
    page.locator("#page .ways [data-way=login]").click()
    page.get_by_label("Correo electrónico").wait_for()


def test_the_404_page_without_javascript_is_the_whole_error_page(client: Any) -> None:
    answer = client.get("/api/not-found", headers={"Accept-Language": "en"})
    assert answer.status_code == 404
    assert "We could not find that page." in answer.text and 'class="bar"' in answer.text


@pytest.mark.browser
def test_new_without_a_department_shows_the_departments(live_server: str, page_in: Any) -> None:
    page = page_in("es-ES")
    page.goto(live_server + "/new.html")
    page.wait_for_url("**/departments.html")
    has_header(page)
    page.get_by_role("link", name=re.compile("Ventas")).click()
    page.wait_for_url("**/new.html?department=*")
    page.get_by_label("Asunto").wait_for()


@pytest.mark.browser
def test_support_leads_to_login_and_back_to_the_form(
        live_server: str, page_in: Any, customer: Person) -> None:
    page = page_in("es-ES")
    page.goto(live_server + "/departments.html")
    page.get_by_role("link", name=re.compile("Soporte")).click()
    fill_login(page, customer)
    page.wait_for_url("**/new.html?department=support")
    page.get_by_label("Asunto").wait_for()


@pytest.mark.browser
def test_back_after_logout_leads_to_login_and_back(
        live_server: str, page_in: Any, customer: Person) -> None:
    page = page_in("es-ES")
    page.goto(live_server + "/")
    fill_login(page, customer)
    page.locator("#greeting").wait_for()
    page.goto(live_server + "/tickets.html")
    page.locator("h1", has_text="Mis tickets").wait_for()
    page.get_by_role("button", name="Salir").click()
    page.get_by_label("Contraseña").wait_for()
    page.go_back()
    page.wait_for_url("**/?next=*tickets.html*")
    has_header(page)
    fill_login(page, customer)
    page.wait_for_url("**/tickets.html")
    page.locator("h1", has_text="Mis tickets").wait_for()


@pytest.mark.browser
def test_a_session_gone_while_writing_offers_login_and_keeps_the_draft(
        live_server: str, page_in: Any, customer: Person) -> None:
    page = page_in("es-ES")
    page.goto(live_server + "/")
    fill_login(page, customer)
    page.locator("#greeting").wait_for()
    page.goto(live_server + "/new.html?department=support")
    page.get_by_label("Asunto").fill("El FTP de ana.es rechaza la contraseña")
    draft = "Desde ayer el FTP dice 530 Login incorrect con la contraseña de siempre."
    page.get_by_label("Mensaje").fill(draft)
    # Only the session's cookie goes (it expired, or another tab logged out).
    page.context.clear_cookies(name="__Host-sd_since")
    page.get_by_role("button", name="Enviar", exact=True).click()
    # Said by the form's own button, where the reader is, not at the top of the page.
    notice = page.locator("form.ticket-form [data-form-notice]")
    notice.locator("[data-reason=expired-form]").wait_for()
    expect(notice).to_be_focused()
    expect(page.get_by_label("Mensaje")).to_have_value(draft)  # nothing typed is lost
    notice.locator("[data-way=login]").click()
    fill_login(page, customer)
    page.wait_for_url("**/new.html?department=support")
    expect(page.get_by_label("Mensaje")).to_have_value(draft)
    expect(page.get_by_label("Asunto")).to_have_value("El FTP de ana.es rechaza la contraseña")
