"""Long lines never widen a page: every page a customer sees, on a laptop and on a phone,
with a long word, URL, code line, table and subject; and Enter in the subject submits."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import Person

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


def log_in(page: Any, base: str, person: Person) -> None:
    page.goto(base + "/")
    page.get_by_label("E-mail").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.locator("#greeting").wait_for()


def width_overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0 when it fits)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


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
    log_in(page, live_server, make_customer(language="en"))
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

    seen: dict[str, int] = {}
    for size, name in ((LAPTOP, "laptop"), (PHONE, "phone")):
        page.set_viewport_size(size)
        page.goto(live_server + "/home.html")
        page.locator("#greeting").wait_for()
        seen[f"home, {name}"] = width_overflow(page)

        page.goto(live_server + "/departments.html")
        page.locator(".departments").wait_for()
        seen[f"departments, {name}"] = width_overflow(page)

        open_form(page, live_server)
        fill_form(page, SUBJECT, MESSAGE)
        page.get_by_role("button", name="Preview", exact=True).click()
        page.locator("#preview .message-body pre").wait_for()
        seen[f"new ticket with preview, {name}"] = width_overflow(page)
        page.get_by_role("button", name="Full screen").click()
        toolbar = page.locator(".editor.fullscreen .toolbar")
        box = toolbar.bounding_box()
        seen[f"full-screen toolbar, {name}"] = max(0, round(box["x"] + box["width"] - size["width"]))
        page.keyboard.press("Escape")

        page.goto(live_server + "/tickets.html")
        page.locator("#ticket-rows a.ticket-id").first.wait_for()
        seen[f"my tickets, {name}"] = width_overflow(page)
        if size is PHONE:  # a card: the row's cells one under the other, each with its label
            cells = page.locator("#ticket-rows tbody tr").first.locator("td")
            first, last = cells.first.bounding_box(), cells.last.bounding_box()
            assert first["x"] == last["x"] and last["y"] >= first["y"] + first["height"]
            label = cells.last.evaluate("td => getComputedStyle(td, '::before').content")
            assert label == '"Last activity: "'
            assert page.locator("#ticket-rows thead").bounding_box()["height"] <= 1

        page.goto(ticket_url)
        page.locator(".message-body table").wait_for()
        seen[f"ticket, {name}"] = width_overflow(page)

    assert {where: px for where, px in seen.items() if px > 0} == {}


def test_enter_in_the_subject_sends_the_ticket_not_the_preview(
        live_server: str, customer_page: Any) -> None:
    page = customer_page
    open_form(page, live_server)
    fill_form(page, "Enter sends this ticket", "The mail of my domain bounces since this morning.")
    page.get_by_label("Subject").press("Enter")
    page.locator("#created-ticket-id").wait_for()
    assert re.search(r"/ticket\.html\?id=[A-Z]{3}-\d{6}$", page.url)
