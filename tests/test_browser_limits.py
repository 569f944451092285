"""Visible limits in Debian's Chromium: the message and the subject show a counter near their
limit, counted as the server counts; what is over it is marked and not sent, and nothing
typed or pasted is ever cut."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Person
from playwright.sync_api import expect
from test_browser_attachments import new_ticket, submit

from supportdesk.limits import MESSAGE_BYTES, SUBJECT_CHARS

pytestmark = pytest.mark.browser


def ticket_posts(page: Any) -> list[str]:
    """The forms the page sends from now on (a new ticket or a reply)."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url)
            if request.method == "POST" and ("/api/tickets" in request.url) else None)
    return seen


def spanish(count: int) -> str:
    """A count as Chromium writes it in Spanish (a dot between thousands from 10.000)."""
    return f"{count:,}".replace(",", ".") if count >= 10_000 else str(count)


def test_the_message_counter_appears_near_the_limit_and_speaks_only_at_thresholds(
        live_server: str, page_in: Any, customer: Person) -> None:
    page = new_ticket(page_in, live_server, customer, "Un mensaje corto.")
    counter = page.locator("#message-counter")
    expect(counter).to_be_hidden()
    message = page.get_by_label("Mensaje")

    near = int(MESSAGE_BYTES * 0.8) + 100
    message.fill("a" * near)
    left = MESSAGE_BYTES - near
    expect(counter).to_have_text(f"Quedan {spanish(left)} caracteres")
    assert "message-counter" in (message.get_attribute("aria-describedby") or "").split()
    news = page.locator("#message-counter + [data-counter-news]")
    expect(news).to_have_text(f"Quedan {spanish(left)} caracteres")
    assert news.get_attribute("aria-live") == "polite"

    # A keystroke changes the count on screen, not what is announced.
    message.press("End")
    page.keyboard.type("bc")
    expect(counter).to_have_text(f"Quedan {spanish(left - 2)} caracteres")
    expect(news).to_have_text(f"Quedan {spanish(left)} caracteres")

    message.fill("corto otra vez")
    expect(counter).to_be_hidden()
    assert "message-counter" not in (message.get_attribute("aria-describedby") or "")


def test_forty_thousand_enes_are_flagged_before_submit_and_kept(
        live_server: str, page_in: Any, customer: Person) -> None:
    text = "ñ" * 40_000  # 40,000 characters, 80,000 bytes: over the server's 64 KB
    assert len(text.encode()) > MESSAGE_BYTES
    page = new_ticket(page_in, live_server, customer, text, subject="Texto con muchas eñes")
    sent = ticket_posts(page)
    message = page.get_by_label("Mensaje")
    counter = page.locator("#message-counter")
    over = len(text.encode()) - MESSAGE_BYTES
    expect(counter).to_contain_text(f"{spanish(over)} caracteres de más")
    expect(counter).to_contain_text("El mensaje supera los 64 KB")
    expect(message).to_have_attribute("aria-invalid", "true")
    assert "message-counter" in (message.get_attribute("aria-describedby") or "").split()

    page.get_by_role("button", name="Enviar", exact=True).click()
    assert message.evaluate("e => e.validationMessage").startswith("El mensaje supera los 64 KB")
    expect(counter).to_be_visible()
    assert sent == []
    assert message.input_value() == text

    # Shortened below the limit, it is sent.
    message.fill("ñ" * 30_000)
    expect(message).not_to_have_attribute("aria-invalid", "true")
    submit(page)


def test_a_paste_over_the_limit_is_kept_whole_and_marked(
        live_server: str, page_in: Any, customer: Person) -> None:
    page = new_ticket(page_in, live_server, customer, "")
    message = page.get_by_label("Mensaje")
    message.focus()
    page.keyboard.insert_text("x" * 100_000)  # as a paste: the browser's own text insertion
    assert len(message.input_value()) == 100_000
    expect(page.locator("#message-counter")).to_contain_text(f"{spanish(100_000 - MESSAGE_BYTES)} caracteres de más")
    expect(message).to_have_attribute("aria-invalid", "true")


def test_the_subject_counts_characters_as_the_server_does(
        live_server: str, page_in: Any, customer: Person) -> None:
    page = new_ticket(page_in, live_server, customer, "El asunto es largo.")
    sent = ticket_posts(page)
    subject = page.get_by_label("Asunto")
    assert subject.get_attribute("maxlength") is None
    counter = page.locator("#subject-counter")
    # Spaces collapse on the server, and "ñ" is one character there: 150 are far from 200.
    subject.fill("ñ" * 150 + " " * 40)
    expect(counter).to_be_hidden()
    subject.fill("ñ" * (SUBJECT_CHARS - 1))
    expect(counter).to_have_text("Queda 1 carácter")
    subject.focus()
    page.keyboard.insert_text("ññ")
    assert subject.input_value() == "ñ" * (SUBJECT_CHARS + 1)
    expect(counter).to_contain_text("1 carácter de más")
    expect(counter).to_contain_text(f"menos de {SUBJECT_CHARS} caracteres")
    expect(subject).to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Enviar", exact=True).click()
    assert sent == []


def test_the_reply_form_has_the_same_counter(live_server: str, page_in: Any, customer: Person) -> None:
    page = new_ticket(page_in, live_server, customer, "Primer mensaje.", subject="Para responder")
    submit(page)  # the new ticket's page, with its reply form
    reply = page.get_by_label("Mensaje")
    sent = ticket_posts(page)
    reply.fill("ñ" * 40_000)
    expect(page.locator("#message-counter")).to_contain_text("caracteres de más")
    page.get_by_role("button", name="Enviar respuesta").click()
    assert sent == []
    assert reply.input_value() == "ñ" * 40_000


def test_at_the_exact_limit_the_browser_and_the_server_agree(
        live_server: str, page_in: Any, customer: Person) -> None:
    """Line breaks and accents counted as the server counts them: a message of exactly the
    limit passes both, one byte more is stopped in the browser."""
    text = "ñ\n" * (MESSAGE_BYTES // 3) + "a" * (MESSAGE_BYTES % 3)
    assert len(text.encode()) == MESSAGE_BYTES
    page = new_ticket(page_in, live_server, customer, "", subject="Justo en el límite")
    message = page.get_by_label("Mensaje")
    # 21,845 lines typed one by one take minutes: the text arrives as one input, as a paste.
    message.evaluate("""(area, text) => {
        area.value = text;
        area.dispatchEvent(new Event("input", { bubbles: true }));
    }""", text + "a")
    counter = page.locator("#message-counter")
    expect(counter).to_contain_text("1 carácter de más")
    expect(message).to_have_attribute("aria-invalid", "true")
    message.press("End")
    message.press("Backspace")  # the one byte too many
    expect(counter).to_have_text("Quedan 0 caracteres")
    assert message.input_value() == text
    expect(message).not_to_have_attribute("aria-invalid", "true")
    submit(page)
    expect(page.locator(".thread .message-body").first).to_contain_text("ñ")
