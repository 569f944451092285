"""The agents' console in Debian's Chromium, in Spanish and in English: a customer's two
tickets (one from the web form, one by mail over SMTP) wait in the queue oldest first; an
agent adds a note and a formatted reply with a file; the customer sees the reply and never
the note; the reply is mailed, the customer answers it by mail, and the ticket joins the
queue again at the back."""

from __future__ import annotations

import email.policy
import re
import smtplib
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import pytest
from browser_steps import log_in
from browser_words import TEXTS
from conftest import every_text, free_port, mails_to
from playwright.sync_api import expect

from supportdesk.departments import Department, _department_item
from supportdesk.store import Table
from supportdesk_dev.stack import LocalStack

pytestmark = pytest.mark.browser

LANGUAGES = ("es", "en")


@pytest.fixture(scope="module")
def desks(stack: LocalStack, table: Table) -> dict[str, Department]:
    """A department of its own per language, so its queue holds that run's tickets alone
    (Support's holds other tests' tickets, older than these, and pages by 25).

    Its address must reach intake as Support's does: the local SMTP port accepts only the
    addresses of the receipt rule set, so the department's address gets a rule there (what
    adding a department's address means in SES too), storing where Support's rule stores.
    The mail answering our reply goes to the department's signed address (slug+id.sig@),
    which that rule takes as well.
    """
    from inbound.handler import forget_departments
    from portal import resources

    made = {}
    for language in LANGUAGES:
        slug = f"d{uuid.uuid4().hex[:8]}"
        made[language] = Department(slug, f"Mesa {slug}", f"Desk {slug}", f"{slug}@example.com",
                                    login_required=False, guests_allowed=True, position=9)
        table.put(_department_item(made[language]))
    ses = stack.client("ses")
    rule_set = "supportdesk-test-inbound"
    support = next(r for r in ses.describe_receipt_rule_set(RuleSetName=rule_set)["Rules"] if r["Name"] == "support")
    ses.create_receipt_rule(RuleSetName=rule_set, Rule={
        "Name": f"browser-agent-{uuid.uuid4().hex[:8]}", "Enabled": True, "ScanEnabled": True,
        "Recipients": [d.email for d in made.values()],
        "Actions": [a for a in support["Actions"] if "S3Action" in a]})
    resources._kept.clear()  # the portal's departments, as a minute later
    forget_departments()  # intake's, as a minute later
    return made


@pytest.fixture(scope="module")
def smtp_port(stack: LocalStack, desks: dict[str, Department]) -> Iterator[int]:
    """The local mail intake (as `make dev` runs it) on a free port."""
    from supportdesk_dev.devserver import start_mail_intake

    port = free_port()
    controller = start_mail_intake(stack, "supportdesk-test", port)
    yield port
    controller.stop()


def send_mail(port: int, message: EmailMessage) -> None:
    """The raw MIME over SMTP, with the CRLF line ends SMTP requires."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.sendmail(str(message["From"]), [str(message["To"])], message.as_bytes(policy=email.policy.SMTP))




def queue_order(page: Any) -> list[str]:
    return list(page.locator("#queue tr[data-ticket]").evaluate_all("rows => rows.map(r => r.dataset.ticket)"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_agent_answers_a_web_ticket_and_the_customer_answers_back_by_mail(
        live_server: str, page_in: Any, make_customer: Any, stack: LocalStack,
        desks: dict[str, Department], smtp_port: int, language: str) -> None:
    t = TEXTS[language]
    desk = desks[language]
    secret_word = f"zafiro{uuid.uuid4().hex[:8]}"

    # 1. The customer opens a ticket on the web form, then another one by mail.
    customer = make_customer(language=language)
    mine = page_in(t["locale"])
    log_in(mine, live_server, customer, t, lands_on=None)
    mine.locator("#greeting").wait_for()
    mine.get_by_role("link", name=t["open"], exact=True).click()
    mine.get_by_role("link", name=re.compile(desk.slug)).click()
    web_subject = "La tienda de ana.es da error 500 al pagar"
    mine.get_by_label(t["subject"]).fill(web_subject)
    mine.get_by_label(t["message"]).fill("Desde las 10:00 la tienda responde con un error 500 al pagar con tarjeta.")
    mine.get_by_role("button", name=t["submit"], exact=True).click()
    web_id = mine.locator("#created-ticket-id").inner_text()

    mail_subject = "Las copias de seguridad de ana.es no se descargan"
    opening = EmailMessage()
    opening["From"] = f"Ana Pérez <{customer.email}>"
    opening["To"] = desk.email
    opening["Subject"] = mail_subject
    opening["Date"] = formatdate(localtime=True)
    opening["Message-ID"] = make_msgid(domain="example.org")
    opening.set_content("Al descargar la copia de seguridad de ayer el panel muestra un error de permisos.")
    send_mail(smtp_port, opening)

    # 2. An agent logs in and lands on the queue; in the department's queue the web ticket,
    # the older one, comes first.
    agent = make_customer(name="Carla Agente", services=(), language=language, agent=True)
    from portal import resources

    resources._kept.clear()  # the agents' directory, as a minute later
    console = page_in(t["locale"])
    log_in(console, live_server, agent, t, lands_on=None)
    console.wait_for_url(re.compile(r"/agent/queue\.html"))
    console.locator("#queue").wait_for()
    console.goto(f"{live_server}/agent/queue.html?department={desk.slug}")
    console.locator(f"#queue tr[data-ticket='{web_id}']").wait_for()
    mail_row = console.locator("#queue tr[data-ticket]", has_text=mail_subject)
    mail_id = str(mail_row.get_attribute("data-ticket"))
    assert queue_order(console) == [web_id, mail_id]
    for ticket_id in (web_id, mail_id):
        expect(console.locator(f"#queue tr[data-ticket='{ticket_id}'] td.waited")).to_be_visible()

    # 3. The agent opens the web ticket, adds a note, and answers with bold text and a file.
    console.locator(f"#queue tr[data-ticket='{web_id}'] a.ticket-id").click()
    console.wait_for_url(re.compile(rf"/agent/ticket\.html\?id={web_id}$"))
    console.locator("h1", has_text=web_subject).wait_for()
    console.locator("#message").fill(f"El cliente ya pidió esto antes: {secret_word}.")
    console.get_by_role("button", name=t["note"]).click()
    expect(console.locator(".thread > li.note")).to_contain_text(secret_word)

    answer = "Importante: el pago falla por el certificado; lo renovamos y ya funciona."
    console.locator("#message").fill(answer)
    console.locator("#message").evaluate("t => { t.focus(); t.setSelectionRange(0, 10); }")
    console.get_by_role("button", name=t["bold"]).click()
    assert console.locator("#message").input_value().startswith("**Importante**")
    console.set_input_files("#attachment-files", files=[
        {"name": "certificado.txt", "mimeType": "text/plain", "buffer": b"Certificado renovado el 25/11.\n"}])
    expect(console.locator(".upload.done .upload-state")).to_have_text(t["ready"])
    console.get_by_role("button", name=t["agent reply"]).click()
    console.locator(".thread > li.from-agent:not(.note) .message-body strong", has_text="Importante").wait_for()
    expect(console.locator("#ticket-status")).to_have_text(t["answered"])

    # 4. The customer sees the reply and its file, not the note.
    mine.goto(f"{live_server}/ticket.html?id={web_id}")
    reply_shown = mine.locator(".thread > li", has_text="el certificado")
    expect(reply_shown.locator(".message-body strong")).to_have_text("Importante")
    expect(reply_shown.locator(".message-attachments")).to_contain_text("certificado.txt")
    expect(mine.locator("#ticket-status")).to_have_text(t["awaiting"])
    assert secret_word not in mine.content()
    mine.get_by_role("link", name=t["mine"], exact=True).click()
    mine.get_by_label(t["search"]).fill(secret_word)
    expect(mine.locator("#ticket-rows")).to_contain_text(t["no-match"])
    assert secret_word not in mine.content()

    # 5. The reply was mailed: threaded, answerable at the signed address, without the note.
    mails = mails_to(stack, customer.email)
    assert mails and all(secret_word not in every_text(mail) for mail in mails)
    (mailed,) = [m for m in mails if "el certificado" in every_text(m)]
    assert f"[#{web_id}]" in str(mailed["Subject"])
    reply_to = str(mailed["Reply-To"])
    assert re.fullmatch(rf"{desk.slug}\+{web_id.lower()}\.[a-z2-7]{{16}}@example\.com", reply_to)
    assert mailed.get_body(("plain",)).get_content().startswith(t["above"])

    # 6. The customer answers that mail; the ticket waits again, behind the mail ticket.
    quoted = "\n".join("> " + line for line in mailed.get_body(("plain",)).get_content().splitlines())
    answer_back = EmailMessage()
    answer_back["From"] = f"Ana Pérez <{customer.email}>"
    answer_back["To"] = reply_to
    answer_back["Subject"] = "Re: " + str(mailed["Subject"])
    answer_back["Date"] = formatdate(localtime=True)
    answer_back["Message-ID"] = make_msgid(domain="example.org")
    answer_back["In-Reply-To"] = str(mailed["Message-ID"])
    answer_back["References"] = " ".join(filter(None, [str(mailed["References"] or ""), str(mailed["Message-ID"])]))
    answer_back.set_content(f"Ahora el pago funciona, pero el recibo no llega.\n\n{quoted}\n")
    send_mail(smtp_port, answer_back)

    console.goto(f"{live_server}/agent/queue.html?department={desk.slug}")
    console.locator(f"#queue tr[data-ticket='{web_id}']").wait_for()
    assert queue_order(console) == [mail_id, web_id]
    expect(console.locator(f"#queue tr[data-ticket='{web_id}'] .status")).to_have_text(t["customer-reply"])
