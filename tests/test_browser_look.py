"""The portal looks like the provider's client area, in Debian's Chromium on a laptop and on
a phone, in Spanish and in English: the provider's name and logo (configuration), a favicon,
a footer on every page, a header that stays one line, the Support menu of the help article
(Support > Open Ticket) working from the keyboard, a drawn lock, a home page with the
customer's open tickets and the departments, and a ticket page with its details. Over HTTP:
the home page costs at most two data-store calls and lists only its customer's tickets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timezone
from typing import Any

import pytest
from browser_steps import log_in
from browser_words import TEXTS
from conftest import Person, browser_client, datastore_calls

from supportdesk.store import Table
from supportdesk.tickets import Priority, Requester, close_ticket, create_ticket

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
SIZES = {"laptop": LAPTOP, "phone": PHONE}


# Every screen a customer or a guest meets, by its static page, and what shows it is loaded.
GUEST_PAGES = {"/": "#email", "/departments.html": ".departments", "/password.html": "#email",
               "/new.html?department=sales": "#subject", "/ticket.html?id=ZZZ-000000": ".error"}
CUSTOMER_PAGES = {"/home.html": "#greeting", "/departments.html": ".departments",
                  "/new.html?department=support": "#subject", "/tickets.html": "#ticket-rows"}


def visitor(browser: Any, language: str, size: str) -> Any:
    context = browser.new_context(locale=TEXTS[language]["locale"], viewport=SIZES[size])
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page




def header_rows(page: Any) -> int:
    """How many lines the header's shown items take (their vertical middles, 4 px apart);
    items of a closed menu are not shown."""
    middles = page.evaluate("""() => [...document.querySelectorAll(
        '.bar > .brand, .bar > .menu > summary, .bar nav > a, .bar nav > span, .bar nav > details > summary, .bar nav button')]
        .filter(e => e.checkVisibility({visibilityProperty: true})).map(e => e.getBoundingClientRect())
        .filter(r => r.width > 0 && r.height > 0)
        .map(r => Math.round(r.top + r.height / 2))""")
    rows: list[int] = []
    for middle in sorted(middles):
        if not rows or middle - rows[-1] > 4:
            rows.append(middle)
    return len(rows)


@pytest.fixture
def provider_named(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The stack configured with another provider's name, as a deployment sets ProviderName."""
    from portal import resources

    monkeypatch.setenv("PROVIDER_NAME", "Nubes del Sur Hosting")
    resources.settings.cache_clear()
    yield "Nubes del Sur Hosting"
    monkeypatch.undo()
    resources.settings.cache_clear()


@pytest.mark.browser
@pytest.mark.parametrize("language", ["es", "en"])
def test_the_header_footer_and_titles_show_the_configured_provider(
        live_server: str, browser: Any, make_customer: Any, provider_named: str, language: str) -> None:
    t = TEXTS[language]
    page = visitor(browser, language, "laptop")
    log_in(page, live_server, make_customer(language=language), t)
    assert page.locator(".bar .brand").inner_text().strip() == provider_named
    logo = page.locator(".bar .brand img")
    assert logo.get_attribute("alt") == ""  # the name beside it says it
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", logo.element_handle())
    assert page.title().endswith(" · " + provider_named)
    assert re.fullmatch(rf"© \d{{4}} {provider_named}", page.locator("footer .copyright").inner_text().strip())
    page.goto(live_server + "/api/departments")  # the whole page a browser without JavaScript gets
    assert page.title().endswith(" · " + provider_named)
    page.context.close()


@pytest.mark.browser
def test_every_page_links_a_favicon_that_is_served_as_svg(live_server: str, browser: Any) -> None:
    page = visitor(browser, "es", "laptop")
    for path in (*GUEST_PAGES, "/home.html", "/tickets.html", "/agent/queue.html", "/api/departments"):
        page.goto(live_server + path)
        href = page.locator("link[rel=icon]").get_attribute("href")
        assert href, path
        icon = page.request.get(live_server + href)
        assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml"), path
        assert b"<svg" in icon.body()
    page.context.close()


@pytest.mark.browser
@pytest.mark.parametrize("size", ["laptop", "phone"])
@pytest.mark.parametrize("language", ["es", "en"])
def test_every_page_has_the_footer_and_a_one_line_header(
        live_server: str, browser: Any, make_customer: Any, language: str, size: str) -> None:
    t = TEXTS[language]
    page = visitor(browser, language, size)
    seen: dict[str, Any] = {}

    def look(where: str) -> None:
        footer = page.locator("footer.foot")
        seen[where] = {
            "footer": footer.count() == 1 and footer.is_visible(),
            "footer's languages": footer.get_by_role("link", name="English").count() == 1,
            "header rows": header_rows(page),
        }
        if size == "phone":  # the menu folded, its toggle shown
            seen[where]["menu closed"] = page.locator(".bar .menu").get_attribute("open") is None
            seen[where]["menu toggle"] = page.get_by_text(t["menu"], exact=True).is_visible()
        else:
            seen[where]["menu open"] = page.locator(".bar nav").is_visible()

    for path, ready in GUEST_PAGES.items():
        page.goto(live_server + path)
        page.locator(ready).first.wait_for()
        look(f"guest {path}")
    log_in(page, live_server, make_customer(language=language), t)
    for path, ready in CUSTOMER_PAGES.items():
        page.goto(live_server + path)
        page.locator(ready).first.wait_for()
        look(path)
    expected = {"footer": True, "footer's languages": True, "header rows": 1,
                **({"menu closed": True, "menu toggle": True} if size == "phone" else {"menu open": True})}
    assert {where: found for where, found in seen.items() if found != expected} == {}
    page.context.close()


@pytest.mark.browser
@pytest.mark.parametrize("language", ["es", "en"])
def test_support_open_ticket_opens_from_the_keyboard_and_reaches_the_form(
        live_server: str, browser: Any, make_customer: Any, language: str) -> None:
    t = TEXTS[language]
    page = visitor(browser, language, "laptop")
    log_in(page, live_server, make_customer(language=language), t)
    support = page.locator(".bar .submenu > summary")
    assert support.inner_text().strip() == t["support"]
    open_ticket = page.get_by_role("link", name=t["open ticket"], exact=True)
    assert not open_ticket.is_visible()  # closed until asked for
    support.focus()
    page.keyboard.press("Enter")
    assert open_ticket.is_visible() and page.get_by_role("link", name=t["mine"], exact=True).first.is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == t["open ticket"]
    page.keyboard.press("Escape")  # closes the menu, the focus back on its toggle
    assert not open_ticket.is_visible()
    assert page.evaluate("document.activeElement.textContent.trim()") == t["support"]
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Soporte > Abrir Ticket, as the article says
    page.wait_for_url("**/departments.html")
    page.get_by_role("link", name=re.compile(t["support"])).click()
    page.get_by_label(t["subject"]).wait_for()
    assert page.url.endswith("/new.html?department=support")
    page.context.close()


@pytest.mark.browser
@pytest.mark.parametrize("language", ["es", "en"])
def test_on_a_phone_the_menu_opens_from_the_keyboard_and_reaches_the_form(
        live_server: str, browser: Any, make_customer: Any, language: str) -> None:
    t = TEXTS[language]
    page = visitor(browser, language, "phone")
    log_in(page, live_server, make_customer(language=language), t)
    assert not page.locator(".bar nav").is_visible()
    page.locator(".bar .menu > summary").focus()
    for key in ("Enter", "Tab", "Enter", "Tab"):  # Menu, then Support, then Open Ticket
        page.keyboard.press(key)
    assert page.evaluate("document.activeElement.textContent.trim()") == t["open ticket"]
    page.keyboard.press("Enter")
    page.wait_for_url("**/departments.html")
    page.locator(".departments").wait_for()
    assert header_rows(page) == 1 and page.locator(".bar .menu").get_attribute("open") is None
    page.context.close()


@pytest.mark.browser
@pytest.mark.parametrize("language", ["es", "en"])
def test_the_lock_on_support_is_a_drawing_with_words_not_an_emoji(
        live_server: str, browser: Any, language: str) -> None:
    t = TEXTS[language]
    page = visitor(browser, language, "laptop")
    page.goto(live_server + "/departments.html")
    locked = page.get_by_role("link", name=re.compile(t["support"]))
    locked.wait_for()
    lock = locked.locator("svg.lock")
    assert lock.count() == 1 and lock.get_attribute("aria-hidden") == "true"
    assert lock.bounding_box()["width"] > 0
    assert "🔒" not in locked.inner_text() and "🔒" not in (locked.text_content() or "")
    after = locked.locator("strong").evaluate("e => getComputedStyle(e, '::after').content")
    assert after in ("none", "normal")
    assert t["locked"] in (locked.get_attribute("aria-label") or locked.text_content() or "")
    # The open departments carry no lock.
    assert page.locator(".department:not(.locked) svg.lock").count() == 0
    page.context.close()


@pytest.mark.browser
@pytest.mark.parametrize("language", ["es", "en"])
def test_a_guests_start_is_the_login_and_the_departments(live_server: str, browser: Any, language: str) -> None:
    t = TEXTS[language]
    page = visitor(browser, language, "phone")
    page.goto(live_server + "/")
    page.get_by_label(t["password"]).wait_for()
    cards = page.locator(".guest-start a.department")
    # The three departments a stack starts with (other tests may have added more).
    assert all(cards.filter(has_text=t[name]).count() == 1 for name in ("support", "billing", "sales"))
    assert cards.filter(has_text=t["support"]).locator("svg.lock").count() == 1  # Support needs the login
    cards.filter(has_text=t["sales"]).click()  # one click from the start to a guest's form
    page.get_by_label(t["subject"]).wait_for()
    assert page.url.endswith("/new.html?department=sales")
    page.context.close()


def open_and_closed_tickets(table: Table, person: Person, *, subject: str) -> tuple[str, str]:
    """An open ticket and a closed one of `person` (straight through the domain)."""
    requester = Requester.of(person.account)
    open_one = create_ticket(table, department="billing", subject=f"{subject} abierto", body="Factura duplicada.",
                             requester=requester, service=person.account.services[0])
    closed = create_ticket(table, department="support", subject=f"{subject} cerrado", body="Ya resuelto.",
                           requester=requester)
    close_ticket(table, closed)
    return open_one.id, closed.id


@pytest.mark.browser
@pytest.mark.parametrize("size", ["laptop", "phone"])
@pytest.mark.parametrize("language", ["es", "en"])
def test_home_shows_the_open_tickets_and_the_departments_one_click_from_the_form(
        live_server: str, browser: Any, make_customer: Any, table: Table, language: str, size: str) -> None:
    t = TEXTS[language]
    person, stranger = make_customer(language=language), make_customer(name="Otro Cliente")
    open_id, closed_id = open_and_closed_tickets(table, person, subject="Mío")
    strangers_id, _ = open_and_closed_tickets(table, stranger, subject="Ajeno")
    page = visitor(browser, language, size)
    log_in(page, live_server, person, t)
    for moment in ("after the login", "a visit"):
        if moment == "a visit":
            page.goto(live_server + "/home.html")
            page.locator("#greeting").wait_for()
        rows = page.locator("#open-tickets a.ticket-id")
        rows.first.wait_for()
        assert rows.all_inner_texts() == [open_id], moment
        assert strangers_id not in page.content() and closed_id not in page.content()
        assert page.locator("#open-tickets").get_by_text("Mío abierto").is_visible()
    cards = page.locator("#main .departments a.department")
    assert all(cards.filter(has_text=t[name]).count() == 1 for name in ("support", "billing", "sales"))
    cards.filter(has_text=t["support"]).click()  # one click from home to the form
    page.get_by_label(t["subject"]).wait_for()
    assert page.url.endswith("/new.html?department=support")
    page.context.close()


@pytest.mark.browser
@pytest.mark.parametrize("language", ["es", "en"])
def test_home_without_open_tickets_says_so(
        live_server: str, browser: Any, make_customer: Any, language: str) -> None:
    t = TEXTS[language]
    page = visitor(browser, language, "laptop")
    log_in(page, live_server, make_customer(language=language), t)
    page.locator("#open-tickets", has_text=t["no-open"]).wait_for()
    page.context.close()


@pytest.mark.browser
@pytest.mark.parametrize("size", ["laptop", "phone"])
@pytest.mark.parametrize("language", ["es", "en"])
def test_the_ticket_page_shows_its_details_and_leads_back_to_my_tickets(
        live_server: str, browser: Any, make_customer: Any, table: Table, language: str, size: str) -> None:
    t = TEXTS[language]
    person = make_customer(language=language)
    ticket = create_ticket(table, department="support", subject="El DNS no resuelve", body="Desde ayer.",
                           requester=Requester.of(person.account), priority=Priority.HIGH,
                           service=person.account.services[0])
    page = visitor(browser, language, size)
    log_in(page, live_server, person, t)
    page.goto(f"{live_server}/ticket.html?id={ticket.id}")
    panel = page.locator(".ticket-details")
    panel.wait_for()
    details = dict(zip(panel.locator("dt").all_inner_texts(), panel.locator("dd").all_inner_texts()))
    assert details[t["department"]] == t["support"]
    assert details[t["priority"]] == t["high"]
    assert person.account.services[0] in details.values()
    times = panel.locator("time")
    assert [times.nth(n).get_attribute("datetime") for n in range(2)] == [ticket.created_at, ticket.updated_at]
    assert details[t["opened"]].strip() and details[t["updated"]].strip()
    page.get_by_role("link", name=t["back"], exact=True).click()
    page.wait_for_url("**/tickets.html")
    page.locator("#ticket-rows a.ticket-id", has_text=ticket.id).wait_for()
    page.context.close()


def test_the_ticket_details_dates_are_in_the_pages_language(
        signed_in: Any, make_customer: Any, table: Table) -> None:
    from babel.dates import format_datetime

    from supportdesk.tickets import parse_time

    person = make_customer()
    ticket = create_ticket(table, department="sales", subject="Precio del VPS", body="¿Cuánto cuesta?",
                           requester=Requester.of(person.account))
    client = signed_in(person)
    for language in ("es", "en"):
        page = client.get(f"/api/tickets/{ticket.id}", params={"lang": language}).text
        panel = page[page.index('class="ticket-details"'):page.index("</aside>")]
        shown = format_datetime(parse_time(ticket.created_at), "medium", tzinfo=timezone.utc,
                                locale=language)
        assert f'<time datetime="{ticket.created_at}">{shown} UTC</time>' in panel, language
        assert ("Ventas" if language == "es" else "Sales") in panel


def test_home_costs_at_most_two_datastore_calls_after_the_login_and_on_a_visit(
        app: Any, make_customer: Any, table: Table) -> None:
    from portal import resources

    person = make_customer()
    open_id, _ = open_and_closed_tickets(table, person, subject="Coste")
    resources.departments()  # a warm container has them (kept for a minute)
    with browser_client(app) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/api/login").text)
        assert token
        with datastore_calls() as login:
            after_login = client.post("/api/login", headers={"HX-Request": "true"}, data={
                "email": person.email, "password": person.password, "csrf_token": token.group(1)})
        # The home page right after the login asks for its list in a request of its own.
        lazy = re.search(r'<section id="open-tickets"[^>]*hx-get="([^"]+)"', after_login.text)
        assert lazy and open_id not in after_login.text
        with datastore_calls() as listing:
            listed = client.get(lazy.group(1), headers={"HX-Request": "true"})
        with datastore_calls() as visit:
            visited = client.get("/api/home")
    assert open_id in listed.text and open_id in visited.text
    assert {"login": len(login), "list": len(listing), "visit": len(visit)} == {"login": 2, "list": 2, "visit": 2}


def test_home_lists_only_the_signed_in_customers_tickets(
        signed_in: Any, make_customer: Any, table: Table) -> None:
    mine, other = make_customer(), make_customer(name="Otra Persona")
    my_open, my_closed = open_and_closed_tickets(table, mine, subject="Propio")
    their_open, their_closed = open_and_closed_tickets(table, other, subject="Ajeno")
    for viewer, shown, hidden in ((mine, my_open, {my_closed, their_open, their_closed}),
                                  (other, their_open, {their_closed, my_open, my_closed})):
        page = signed_in(viewer).get("/api/home").text
        assert re.findall(r'class="ticket-id">([A-Z]{3}-\d{6})<', page) == [shown]
        assert not any(ticket_id in page for ticket_id in hidden)
    # Signed out, the home page is the login's way in, with nobody's tickets.
    guest = signed_in(None).get("/api/home", follow_redirects=False)
    assert guest.status_code == 303 and my_open not in guest.text


def test_a_refused_form_without_javascript_still_ends_with_the_footer(client: Any) -> None:
    refused = client.post("/api/preview", data={"message": "**x**"})  # no CSRF token: refused
    assert refused.status_code >= 400
    assert '<footer class="foot">' in refused.text and "Demo Hosting</p>" in refused.text
