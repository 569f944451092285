"""Long lines never widen a page: every page a customer sees, on a laptop and on a phone,
with a long word, URL, code line, table and subject; and Enter in the subject submits."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_steps import log_in
from browser_words import TEXTS

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}

SUBJECT = "Subject" + "x" * 153  # 160 characters, no space to break at
WORD = "y" * 300
URL = "https://example.com/" + "a" * 230  # 250 characters
CODE = "log: " + "z" * 195  # 200 columns
TABLE = "| Name | Value | Note |\n|---|---|---|\n" + "\n".join(
    f"| row{n} | {'v' * 40} | {'n' * 60} |" for n in range(50))
MESSAGE = f"A word: {WORD}\n\nA link: {URL}\n\n```\n{CODE}\n```\n\n{TABLE}\n"




def width_overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0 when it fits)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def overflow(page: Any) -> str:
    """"" when the page fits its window, else by how much and what reaches past it."""
    pixels = width_overflow(page)
    return f"{pixels} px: {', '.join(too_wide(page))}" if pixels > 0 else ""


def too_wide(page: Any) -> list[str]:
    """The outermost elements that reach past the window's right edge, to say what to fix."""
    return list(page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => {
            if (e.getBoundingClientRect().right <= window.innerWidth + 1) return false;
            for (let up = e.parentElement; up && up !== document.body; up = up.parentElement) {
                if (getComputedStyle(up).overflowX !== 'visible') return false;  // clipped or scrolled there
                if (up.getBoundingClientRect().right > window.innerWidth + 1) return false;  // its parent is named
            }
            return true;
        })
        .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                              + (e.className ? '.' + String(e.className).split(' ').join('.') : ''))"""))


def open_form(page: Any, base: str) -> None:
    page.goto(base + "/departments.html")
    page.get_by_role("link", name=re.compile("Support")).click()
    page.get_by_label("Subject").wait_for()


def fill_form(page: Any, subject: str, message: str) -> None:
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Message").fill(message)


@pytest.fixture
def customer_page(live_server: str, browser: Any, make_customer: Any) -> Any:
    context = browser.new_context(locale="en-GB", viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, live_server, make_customer(language="en"), TEXTS["en"])
    yield page
    context.close()


def test_long_content_never_makes_a_customer_page_wider_than_the_window(
        live_server: str, customer_page: Any) -> None:
    page = customer_page
    # The ticket with every long thing in it, sent through the form as a customer does.
    open_form(page, live_server)
    fill_form(page, SUBJECT, MESSAGE)
    page.get_by_role("button", name="Submit", exact=True).click()
    page.locator("#created-ticket-id").wait_for()
    ticket_url = page.url

    seen: dict[str, str] = {}
    for size, name in ((LAPTOP, "laptop"), (PHONE, "phone")):
        page.set_viewport_size(size)
        page.goto(live_server + "/home.html")
        page.locator("#greeting").wait_for()
        seen[f"home, {name}"] = overflow(page)

        page.goto(live_server + "/departments.html")
        page.locator(".departments").wait_for()
        seen[f"departments, {name}"] = overflow(page)

        open_form(page, live_server)
        fill_form(page, SUBJECT, MESSAGE)
        page.get_by_role("button", name="Preview", exact=True).click()
        page.locator("#preview .message-body pre").wait_for()
        seen[f"new ticket with preview, {name}"] = overflow(page)
        page.get_by_role("button", name="Full screen").click()
        toolbar = page.locator(".editor.fullscreen .toolbar")
        box = toolbar.bounding_box()
        seen[f"full-screen toolbar, {name}"] = str(max(0, round(box["x"] + box["width"] - size["width"])) or "")
        page.keyboard.press("Escape")

        page.goto(live_server + "/tickets.html")
        page.locator("#ticket-rows a.ticket-id").first.wait_for()
        seen[f"my tickets, {name}"] = overflow(page)
        if size is PHONE:  # a card: the row's cells one under the other, each with its label
            cells = page.locator("#ticket-rows tbody tr").first.locator("td")
            first, last = cells.first.bounding_box(), cells.last.bounding_box()
            assert first["x"] == last["x"] and last["y"] >= first["y"] + first["height"]
            label = cells.last.evaluate("td => getComputedStyle(td, '::before').content")
            assert label == '"Last activity: "'
            assert page.locator("#ticket-rows thead").bounding_box()["height"] <= 1

        page.goto(ticket_url)
        page.locator(".message-body table").wait_for()
        seen[f"ticket, {name}"] = overflow(page)

    assert {where: wider for where, wider in seen.items() if wider} == {}


def test_enter_in_the_subject_sends_the_ticket_not_the_preview(
        live_server: str, customer_page: Any) -> None:
    page = customer_page
    open_form(page, live_server)
    fill_form(page, "Enter sends this ticket", "The mail of my domain bounces since this morning.")
    page.get_by_label("Subject").press("Enter")
    page.locator("#created-ticket-id").wait_for()
    assert re.search(r"/ticket\.html\?id=[A-Z]{3}-\d{6}$", page.url)


def test_long_content_never_makes_an_agent_or_signed_out_page_wider_than_the_window(
        live_server: str, browser: Any, make_customer: Any, table: Any) -> None:
    import uuid

    from portal import resources
    from supportdesk.departments import Department, _department_item
    from supportdesk.tickets import Requester, create_ticket

    # A department of its own, so its queue shows this ticket on its first page.
    slug = f"w{uuid.uuid4().hex[:8]}"
    table.put(_department_item(Department(slug, f"Mesa {slug}", f"Desk {slug}", f"{slug}@example.com",
                                          login_required=False, guests_allowed=True, position=9)))
    resources._kept.clear()  # the portal's departments, as a minute later
    owner = make_customer(language="en")
    ticket = create_ticket(table, department=slug, subject=SUBJECT, body=MESSAGE,
                           requester=Requester.of(owner.account), service="Hosting Pro — " + "d" * 120 + ".es")
    context = browser.new_context(locale="en-GB", viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(10_000)
    seen: dict[str, str] = {}
    try:
        for size, name in ((LAPTOP, "laptop"), (PHONE, "phone")):
            page.set_viewport_size(size)
            page.context.clear_cookies()
            for where, path, ready in (
                    ("login", "/", "#email"),
                    ("password reset", "/password.html", "main h1"),
                    ("guest form", "/new.html?department=sales", "#subject"),
                    ("not found", "/nonexistent.html", "main h1"),
                    ("ticket signed out", f"/ticket.html?id={ticket.id}", "main h1")):
                page.goto(live_server + path)
                page.locator(ready).first.wait_for()
                seen[f"{where}, {name}"] = overflow(page)

            page.goto(live_server + "/")
            page.get_by_label("E-mail").fill(make_customer(name="Agent " + "w" * 80, language="en",
                                                           agent=True).email)
            page.get_by_label("Password").fill("correct horse 1")
            page.get_by_role("button", name="Log in", exact=True).click()
            page.locator(".queue-page").wait_for()
            page.goto(f"{live_server}/agent/queue.html?department={slug}")
            page.locator(f"#queue tr[data-ticket='{ticket.id}']").wait_for()
            seen[f"agent queue, {name}"] = overflow(page)

            page.goto(f"{live_server}/agent/ticket.html?id={ticket.id}")
            page.locator("main.ticket .message-body table").wait_for()
            seen[f"agent ticket, {name}"] = overflow(page)

            page.goto(f"{live_server}/agent/search.html")
            page.locator("#q").fill(ticket.id)
            page.locator(f"#search-rows a:has-text('{ticket.id}')").first.wait_for()
            seen[f"agent search, {name}"] = overflow(page)

            page.goto(f"{live_server}/agent/saved.html")
            page.locator("main h1").wait_for()
            seen[f"saved replies, {name}"] = overflow(page)
    finally:
        context.close()
    assert {where: wider for where, wider in seen.items() if wider} == {}
