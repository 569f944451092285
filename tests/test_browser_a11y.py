"""Accessibility in Debian's Chromium: axe-core finds no violation, of any impact, on any
page state a customer or an agent meets, in Spanish and in English; the skip link comes
first and takes focus to the main content; a form error is tied to its field."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_steps import log_in
from browser_words import TEXTS
from playwright.sync_api import expect
from test_browser_attachments import drop_files

from supportdesk.limits import LIMITS

pytestmark = pytest.mark.browser


def violations(page: Any) -> list[str]:
    """What axe-core finds wrong on the page as it is now: one line per rule and element."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page).response
    return [f"{v['id']} ({v['impact']}): {node['target']}" for v in results["violations"] for node in v["nodes"]]




def open_form(page: Any, base: str, t: dict[str, str]) -> None:
    page.goto(base + "/departments.html")
    page.get_by_role("link", name=re.compile(t["support"])).click()
    page.get_by_label(t["subject"]).wait_for()


def send_with_errors(page: Any, t: dict[str, str]) -> None:
    """Submit the empty form: the server's errors, in the page's language (the form asks
    the browser to check nothing: its bubbles speak the browser's language, not the page's)."""
    page.get_by_role("button", name=t["submit"], exact=True).click()
    page.locator("#form-error").wait_for()


@pytest.mark.parametrize(("language", "browser_locale"), [("es", "en-GB"), ("en", "es-ES")])
def test_the_first_submit_of_an_empty_form_gets_the_pages_own_words(
        live_server: str, page_in: Any, make_customer: Any, language: str, browser_locale: str) -> None:
    t = TEXTS[language]
    page = page_in(browser_locale)  # a browser set to the other language
    page.goto(f"{live_server}/?lang={language}")
    page.get_by_role("button", name=t["login"], exact=True).click()
    expect(page.locator("#login-error")).to_have_text(t["missing login"])
    page.get_by_label(t["email"]).fill(make_customer(language=language).email)
    # The first submit's error is still on the page: mark it, and wait for the second one's,
    # or that form, swapped in later, would take away the password typed below.
    page.locator("#login-error").evaluate("e => e.dataset.seen = 'yes'")
    page.get_by_role("button", name=t["login"], exact=True).click()
    expect(page.locator("#login-error:not([data-seen])")).to_have_text(t["missing login"])
    assert page.get_by_label(t["email"]).evaluate("e => e.validationMessage") == ""
    page.get_by_label(t["password"]).fill("correct horse 1")
    page.get_by_role("button", name=t["login"], exact=True).click()
    page.locator("#greeting").wait_for()
    open_form(page, live_server, t)
    send_with_errors(page, t)
    subject = page.get_by_label(t["subject"])
    assert subject.get_attribute("aria-invalid") == "true"
    expect(page.locator("#subject-error")).to_have_text(t["missing subject"])


@pytest.mark.parametrize("language", ["es", "en"])
def test_no_page_state_has_an_accessibility_violation(
        live_server: str, page_in: Any, make_customer: Any, language: str) -> None:
    t = TEXTS[language]
    base = live_server
    found: dict[str, list[str]] = {}
    page = page_in(t["locale"])

    page.goto(base + "/")
    page.get_by_label(t["password"]).wait_for()
    found["login"] = violations(page)

    page.goto(base + "/password.html")
    page.get_by_label(t["email"]).fill(make_customer(language=language).email)
    found["forgot password"] = violations(page)
    page.get_by_label(t["email"]).press("Enter")
    page.locator("#code").wait_for()
    found["password reset"] = violations(page)

    page.goto(base + "/ticket.html?id=ZZZ-000000")
    page.locator(".error").first.wait_for()
    found["not found (logged out)"] = violations(page)

    page.goto(base + "/api/tickets/ZZZ-000000")  # the whole page a browser without JavaScript gets
    page.locator(".error").first.wait_for()
    found["not found, whole page"] = violations(page)

    customer = make_customer(language=language)
    log_in(page, base, customer, t, lands_on="#greeting, .queue-page")
    found["home"] = violations(page)

    page.goto(base + "/tickets.html")
    page.locator("main h1").wait_for()
    found["my tickets, empty"] = violations(page)

    page.goto(base + "/departments.html")
    page.locator(".departments").wait_for()
    found["departments"] = violations(page)

    open_form(page, base, t)
    found["new ticket"] = violations(page)
    send_with_errors(page, t)
    found["new ticket with errors"] = violations(page)

    page.get_by_label(t["subject"]).fill("El correo de ana.es rebota desde esta mañana")
    page.get_by_label(t["message"]).fill("**Desde las 10:00** el correo rebota.\n\n```\n550 5.1.1 unknown\n```")
    page.get_by_role("button", name=t["preview"], exact=True).click()
    page.locator("#preview .message-body").wait_for()
    found["new ticket with preview"] = violations(page)

    drop_files(page, "[data-dropzone]", [("registro.log", "text/plain", b"10:00 550 5.1.1 unknown\n"),
                                          ("programa.exe", "application/octet-stream", b"MZ" * 10)])
    page.locator(".upload.done").wait_for()
    page.locator(".upload.failed").wait_for()
    found["new ticket with a ready and a refused file"] = violations(page)

    message = page.get_by_label(t["message"])
    written = message.input_value()
    message.fill("a" * (LIMITS.message_bytes - 10))
    page.locator("#message-counter").wait_for()
    found["new ticket with the counter"] = violations(page)
    message.fill("a" * (LIMITS.message_bytes + 10))
    page.locator("#message-counter.over").wait_for()
    found["new ticket over the limit"] = violations(page)
    message.fill(written)

    page.get_by_role("button", name=t["submit"], exact=True).click()
    page.locator("#created-ticket-id").wait_for()
    ticket_id = page.locator("#created-ticket-id").inner_text().strip()
    found["ticket"] = violations(page)

    page.get_by_label(t["message"]).fill("El rebote también llega a ventas@ana.es.")
    page.get_by_role("button", name=t["reply"], exact=True).click()
    page.locator("#feedback[data-feedback=replied]").wait_for()
    found["ticket, reply sent (banner)"] = violations(page)
    ticket_url = page.url
    page.goto(base + "/home.html")  # while the ticket is open: it is listed there
    page.locator("#open-tickets a.ticket-id").first.wait_for()
    found["home with tickets"] = violations(page)
    page.goto(ticket_url)

    page.get_by_role("button", name=t["close"], exact=True).click()
    page.locator("#close-confirm").wait_for()
    found["ticket, close confirmation"] = violations(page)
    page.get_by_role("button", name=t["sure"], exact=True).click()
    page.locator("#feedback[data-feedback=closed]").wait_for()
    found["ticket closed (banner, status in the thread)"] = violations(page)

    page.goto(base + "/tickets.html")
    page.locator("#ticket-rows a.ticket-id").first.wait_for()
    found["my tickets"] = violations(page)

    page.goto(base + "/home.html")
    page.locator("#greeting").wait_for()
    page.locator(".bar .submenu > summary").click()
    page.locator(".bar .submenu ul a").first.wait_for()
    found["support menu open"] = violations(page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.locator("#greeting").wait_for()
    page.locator(".bar .menu > summary").click()
    page.locator(".bar .submenu > summary").click()
    page.locator(".bar .submenu ul a").first.wait_for()
    found["phone menu open"] = violations(page)
    page.set_viewport_size({"width": 1280, "height": 720})

    page.goto(base + "/ticket.html?id=ZZZ-000000")
    page.locator(".error").first.wait_for()
    found["not found"] = violations(page)

    agent = make_customer(name="Agente", language=language, agent=True)
    page.context.clear_cookies()
    log_in(page, base, agent, t, lands_on="#greeting, .queue-page")
    page.locator(".queue-page").wait_for()
    found["agent queue"] = violations(page)

    page.goto(f"{base}/agent/ticket.html?id={ticket_id}")
    page.locator("main.ticket").wait_for()
    found["agent ticket"] = violations(page)

    assert {state: seen for state, seen in found.items() if seen} == {}


def test_the_skip_link_comes_first_and_moves_focus_to_the_main_content(
        live_server: str, page_in: Any, make_customer: Any) -> None:
    for language in ("es", "en"):
        t = TEXTS[language]
        page = page_in(t["locale"])
        log_in(page, live_server, make_customer(language=language), t, lands_on="#greeting, .queue-page")
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.innerText.trim()")
        assert page.evaluate("getComputedStyle(document.activeElement).visibility") == "visible"
        assert focused == t["skip"]
        box = page.evaluate("JSON.stringify(document.activeElement.getBoundingClientRect())")
        assert '"width":0' not in box and '"height":0' not in box  # visible on focus
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        assert page.evaluate("document.activeElement.tagName") == "MAIN"


def test_a_form_error_is_referenced_by_its_field(live_server: str, page_in: Any, make_customer: Any) -> None:
    t = TEXTS["en"]
    page = page_in(t["locale"])
    log_in(page, live_server, make_customer(language="en"), t, lands_on="#greeting, .queue-page")
    open_form(page, live_server, t)
    # Required fields say so, to the browser and to assistive technology; optional ones do not.
    assert page.get_by_label(t["subject"]).get_attribute("required") is not None
    assert page.locator("label[for=subject] .required").count() == 1
    assert page.locator("label[for=service] .required").count() == 0
    assert page.locator("#service").get_attribute("required") is None
    send_with_errors(page, t)
    for field in ("subject", "message"):
        element = page.locator(f"#{field}")
        assert element.get_attribute("aria-invalid") == "true"
        described = (element.get_attribute("aria-describedby") or "").split()
        assert f"{field}-error" in described
        assert page.locator(f"#{field}-error").inner_text().strip()


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two computed colours ("rgb(r, g, b)")."""
    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_focus_ring_stands_out_from_its_background(live_server: str, page_in: Any, make_customer: Any) -> None:
    t = TEXTS["en"]
    page = page_in(t["locale"])
    log_in(page, live_server, make_customer(language="en"), t, lands_on="#greeting, .queue-page")
    open_form(page, live_server, t)
    seen = {}
    page.keyboard.press("Tab")  # the skip link, on the page's wash
    for name, locator in (("skip link", "a.skip"), ("subject", "#subject"), ("priority", "#priority")):
        if name != "skip link":
            page.locator(locator).focus()
        ring = page.locator(locator).evaluate("e => getComputedStyle(e).outlineColor")
        assert page.locator(locator).evaluate("e => getComputedStyle(e).outlineStyle") == "solid", name
        # what the ring is drawn on: the nearest ancestor with a background of its own
        behind = page.locator(locator).evaluate("""e => { for (let p = e.parentElement; p; p = p.parentElement) {
            const c = getComputedStyle(p).backgroundColor; if (c !== 'rgba(0, 0, 0, 0)') return c; }
            return 'rgb(255, 255, 255)'; }""")
        seen[name] = round(contrast(ring, behind), 2)
    assert {name: ratio for name, ratio in seen.items() if ratio < 3} == {}


def test_the_file_input_is_tied_to_its_error(page_in: Any) -> None:
    """A refused attachment (the server's answer to a sent form) marks the file input and
    points it at the error; without an error it is not marked, and points at the limits only."""
    from types import SimpleNamespace

    from portal.rendering import environment
    from supportdesk.attachments import AttachmentRefused

    policy = SimpleNamespace(max_files=10, max_bytes=10 << 20, max_megabytes=10, extensions={"png", "txt"})
    template = environment("en").get_template("_attachments.html")
    page = page_in("en-GB")
    page.set_content(template.render(policy=policy, uploads=[],
                                     attachment_error=AttachmentRefused("too-large", "backup.png")))
    files = page.locator("#attachment-files")
    assert files.get_attribute("aria-invalid") == "true"
    # The limits' hint describes it always; the error, when there is one.
    assert files.get_attribute("aria-describedby") == "attachment-limits attachments-error"
    assert "backup.png" in page.locator("#attachments-error").inner_text()
    page.set_content(template.render(policy=policy, uploads=[], attachment_error=None))
    assert files.get_attribute("aria-invalid") is None
    assert files.get_attribute("aria-describedby") == "attachment-limits"
