"""Mail over a sender's hourly allowance is held, never dropped: its sender is told (once an
hour), it is kept, and when its hour is over it is let in, filed as it would have been on
arrival, once.

The intake is driven with its clock given (`now`), each test in hours of its own far from
the real one, through moto over HTTP and raw MIME as in test_intake.py.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import replace
from email.message import EmailMessage
from typing import Any, Iterator

import pytest
from conftest import Person, mails_to

from supportdesk import intake, ratelimit
from supportdesk.intake import HELD, HOUR, MAILS_PER_SENDER_PER_HOUR, Mailroom, Outcome
from supportdesk.sender import Verdicts
from supportdesk.store import Item, Table
from supportdesk.tickets import Ticket, get_ticket
from supportdesk_dev.stack import LocalStack

PASS = Verdicts(spf="PASS", dkim="PASS", dmarc="PASS")
_hours = itertools.count(1)


@pytest.fixture
def room(stack: LocalStack) -> Mailroom:
    from inbound.handler import current_mailroom

    return current_mailroom()[0]


@pytest.fixture
def hour(room: Mailroom) -> Iterator[float]:
    """The start of an hour of this test's own: far from now, and from every other test's.
    Held mail other tests left is let in before, and this test's after."""
    start = float((int(time.time() // HOUR) + 1000 * next(_hours) + 500) * HOUR)
    intake.let_in_held_mail(room, now=start, limit=10_000)
    yield start
    intake.let_in_held_mail(room, now=start + 100 * HOUR, limit=10_000)


def mail(sender: str, subject: str, body: str = "Texto.", *, to: str = "support@example.com",
         attachment: bytes | None = None, language: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example.org>"
    if language:
        message["Content-Language"] = language
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(attachment, maintype="application", subtype="pdf", filename="factura.pdf")
    return bytes(message)


def receive(room: Mailroom, raw: bytes, now: float, *, to: str = "support@example.com",
            ses_message_id: str | None = None, verdicts: Verdicts = PASS) -> tuple[str, Outcome]:
    """The raw mail stored where SES stores it, then received at `now`: (its SES id, outcome)."""
    ses_message_id = ses_message_id or uuid.uuid4().hex
    room.s3.put_object(Bucket=room.inbound_bucket, Key=f"inbound/{ses_message_id}", Body=raw)
    outcome = intake.receive_stored_mail(room, raw_key=f"inbound/{ses_message_id}", ses_message_id=ses_message_id,
                                         recipients=[to], verdicts=verdicts, now=now)
    return ses_message_id, outcome


def use_up(room: Mailroom, sender: Person, now: float) -> list[Outcome]:
    """The sender's allowance of the hour of `now`, spent on new tickets."""
    return [receive(room, mail(sender.email, f"Consulta {n}"), now + n)[1] for n in range(MAILS_PER_SENDER_PER_HOUR)]


def spend(table: Table, sender: str, now: float, mails: int = MAILS_PER_SENDER_PER_HOUR) -> None:
    """`mails` of the sender's allowance of the hour of `now` (all of it unless told), counted
    as the intake counts each mail, without the mails (the first test spends it on real ones)."""
    for _ in range(mails):
        assert ratelimit.allow(table, "mail", sender, limit=MAILS_PER_SENDER_PER_HOUR, window_seconds=HOUR, now=now)


def held_items(table: Table, ses_message_id: str) -> list[Item]:
    return [item for item in table.query("PK", HELD) if item["ses_message_id"] == ses_message_id]


def record(table: Table, ses_message_id: str) -> Item:
    found = table.get(f"INBOUND#{ses_message_id}", "INBOUND", consistent=True)
    assert found is not None
    return found


def filed_ticket(table: Table, person: Person, subject: str) -> Ticket:
    (found,) = [t for t in _tickets_of(table, person) if t.subject == subject]
    full = get_ticket(table, found.id)
    assert full is not None
    return full


def notices(stack: LocalStack, address: str) -> list[Any]:
    return [m for m in mails_to(stack, address) if m["Auto-Submitted"] == "auto-replied"]


# -- held, and told ---------------------------------------------------------------------------

def test_the_21st_mail_in_an_hour_is_held_and_its_sender_told_once(room: Mailroom, customer: Person,
                                                                     table: Table, stack: LocalStack,
                                                                     hour: float) -> None:
    assert [o.kind for o in use_up(room, customer, hour)] == ["created"] * MAILS_PER_SENDER_PER_HOUR
    held = [receive(room, mail(customer.email, f"Más datos {n}"), hour + 600 + n) for n in range(3)]
    assert [outcome for _, outcome in held] == [Outcome("held", "rate-limited")] * 3
    for ses_message_id, _ in held:
        assert record(table, ses_message_id)["outcome"] == "held"
        (item,) = held_items(table, ses_message_id)
        assert item["raw_key"] == f"inbound/{ses_message_id}" and item["sender"] == customer.email
        assert item["release_at"] == intake._moment(hour + HOUR)  # the hour's end
    # One notice for the hour, not one per mail, in the customer's language, as a robot's answer.
    (notice,) = notices(stack, customer.email)
    assert str(notice["Subject"]) == "Su correo está en espera: Más datos 0"
    text = notice.get_content()
    assert "No se ha perdido" in text and f"más de {MAILS_PER_SENDER_PER_HOUR} correos" in text
    assert intake._moment(hour + HOUR)[11:16] in text  # "después de las HH:MM (UTC)"
    assert notice["Auto-Submitted"] == "auto-replied"
    # The same mail delivered again is a duplicate: not held twice, no second notice.
    again = receive(room, mail(customer.email, "Más datos 0"), hour + 700, ses_message_id=held[0][0])[1]
    assert again == Outcome("duplicate") and len(held_items(table, held[0][0])) == 1
    assert len(notices(stack, customer.email)) == 1
    # The next hour that holds mail tells again, once.
    use_up(room, customer, hour + HOUR + 1200)  # (the held three go in first, then new ones)
    assert receive(room, mail(customer.email, "Y otra"), hour + HOUR + 1800)[1].kind == "held"
    assert receive(room, mail(customer.email, "Y otra más"), hour + HOUR + 1801)[1].kind == "held"
    assert len(notices(stack, customer.email)) == 2


def test_a_notice_in_english_for_an_english_speaker(room: Mailroom, make_customer: Any, stack: LocalStack,
                                                    hour: float) -> None:
    sender = make_customer(name="Ann Smith", language="en")
    spend(room.table, sender.email, hour)
    receive(room, mail(sender.email, "More logs"), hour + 60)
    (notice,) = notices(stack, sender.email)
    assert str(notice["Subject"]) == "Your mail is waiting: More logs"
    assert notice["From"].addresses[0].display_name == "Support \u00b7 Demo Hosting"  # the intake's own mail too
    assert "It is not lost." in notice.get_content() and "You do not need to send them again." in notice.get_content()


def test_a_guests_notice_is_in_the_language_of_the_mail(room: Mailroom, stack: LocalStack, hour: float) -> None:
    guest = f"prospect{uuid.uuid4().hex[:6]}@example.org"
    spend(room.table, guest, hour)
    words = "Hi, one more question about the price of the VPS for my shop. Thanks"
    _, outcome = receive(room, mail(guest, "Quote", words, to="sales@example.com"), hour + 60, to="sales@example.com")
    assert outcome == Outcome("held", "rate-limited")
    (notice,) = notices(stack, guest)
    assert str(notice["Subject"]) == "Your mail is waiting: Quote" and notice["Content-Language"] == "en"


def test_a_notice_that_failed_to_go_goes_with_the_retried_delivery(room: Mailroom, customer: Person,
                                                                   table: Table, stack: LocalStack,
                                                                   hour: float) -> None:
    class Down:
        def send_raw_email(self, **_: Any) -> Any:
            raise RuntimeError("SES is down")

    spend(room.table, customer.email, hour)
    raw, ses_message_id = mail(customer.email, "Urgente"), uuid.uuid4().hex
    with pytest.raises(RuntimeError):
        receive(replace(room, ses=Down()), raw, hour + 60, ses_message_id=ses_message_id)
    # Nothing recorded: Lambda gives the event again (and, failing that, its dead-letter queue
    # keeps it, with the raw mail in the bucket). Another mail of the hour is not the one to tell.
    assert table.get(f"INBOUND#{ses_message_id}", "INBOUND") is None
    assert receive(room, mail(customer.email, "Otra"), hour + 61)[1].kind == "held"
    assert notices(stack, customer.email) == []
    assert receive(room, raw, hour + 62, ses_message_id=ses_message_id)[1].kind == "held"
    (notice,) = notices(stack, customer.email)
    assert "Urgente" in str(notice["Subject"])


def test_automatic_and_unauthenticated_mail_is_refused_not_held(room: Mailroom, customer: Person,
                                                                 table: Table, stack: LocalStack,
                                                                 hour: float) -> None:
    spend(room.table, customer.email, hour)
    auto = EmailMessage()
    auto["From"], auto["To"], auto["Subject"] = customer.email, "support@example.com", "Fuera de la oficina"
    auto["Auto-Submitted"] = "auto-replied"
    auto.set_content("Vuelvo el lunes.")
    auto_id, outcome = receive(room, bytes(auto), hour + 60)
    assert outcome.kind == "ignored" and "auto-submitted" in str(outcome.reason)
    forged_id, outcome = receive(room, mail(customer.email, "Soy yo"), hour + 61, verdicts=Verdicts())
    assert outcome == Outcome("rejected", "unauthenticated")
    assert held_items(table, auto_id) == held_items(table, forged_id) == []
    assert notices(stack, customer.email) == []


# -- let in -----------------------------------------------------------------------------------

def test_held_mail_is_let_in_as_it_would_have_been_filed(room: Mailroom, customer: Person, table: Table,
                                                         hour: float) -> None:
    receive(room, mail(customer.email, "La web da error 500"), hour)
    opened = filed_ticket(table, customer, "La web da error 500")
    spend(room.table, customer.email, hour + 1, mails=MAILS_PER_SENDER_PER_HOUR - 1)
    reply_id, reply = receive(room, mail(customer.email, f"Re: [#{opened.id}] La web da error 500",
                                         "Sigue fallando; adjunto la factura.", attachment=b"%PDF-1.4 factura"),
                              hour + 600)
    billing_id, billing = receive(room, mail(customer.email, "Factura duplicada", "Me cobraron dos veces."),
                                  hour + 601, to="billing@example.com")
    assert reply.kind == billing.kind == "held"

    outcomes = intake.let_in_held_mail(room, now=hour + HOUR + 60, limit=1000)
    assert Outcome("replied", ticket_id=opened.id) in outcomes
    # The reply joined the ticket it referred to, with its file; the other opened a Billing ticket.
    assert record(table, reply_id)["outcome"] == "replied"
    joined = get_ticket(table, opened.id)
    assert joined is not None and joined.messages[-1].body.startswith("Sigue fallando")
    assert [a.filename for a in joined.messages[-1].attachments] == ["factura.pdf"]
    assert joined.messages[-1].raw_mail_key == f"inbound/{reply_id}"
    created = filed_ticket(table, customer, "Factura duplicada")
    assert created.department == "billing" and created.subject == "Factura duplicada"
    assert created.requester.account_id == customer.account.id
    assert record(table, billing_id)["outcome"] == "created"
    assert held_items(table, reply_id) == held_items(table, billing_id) == []
    # Counted in the hour it was let in: that hour has two mails fewer to give.
    left = [ratelimit.allow(table, "mail", customer.email, limit=MAILS_PER_SENDER_PER_HOUR, window_seconds=HOUR,
                            now=hour + HOUR + 120) for _ in range(MAILS_PER_SENDER_PER_HOUR)]
    assert left.count(True) == MAILS_PER_SENDER_PER_HOUR - 2


def test_a_held_mail_is_let_in_once(room: Mailroom, customer: Person, table: Table, hour: float) -> None:
    spend(room.table, customer.email, hour)
    ses_message_id, _ = receive(room, mail(customer.email, "Solo una vez"), hour + 60)
    (item,) = held_items(table, ses_message_id)
    later = hour + HOUR + 60
    # Twice at once, then again with the same (stale) item, then a full run: one ticket.
    results: list[Outcome] = []
    threads = [threading.Thread(target=lambda: results.append(intake.let_in(room, item, now=later)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.append(intake.let_in(room, item, now=later + 1))
    results += [o for o in intake.let_in_held_mail(room, now=later + 2, limit=1000) if o.kind != "created"]
    assert sorted(o.kind for o in results) == ["created", "duplicate", "duplicate"]
    created = record(table, ses_message_id)
    assert created["outcome"] == "created" and held_items(table, ses_message_id) == []
    filed_ticket(table, customer, "Solo una vez")  # one, not two


def test_held_mail_goes_in_before_the_senders_next_mail(room: Mailroom, customer: Person, table: Table,
                                                        hour: float) -> None:
    spend(room.table, customer.email, hour)
    held_id, _ = receive(room, mail(customer.email, "Primero"), hour + 60)
    # No run let it in; the next mail that arrives after the hour does, before itself.
    _, outcome = receive(room, mail(customer.email, "Segundo"), hour + HOUR + 5)
    assert outcome.kind == "created" and record(table, held_id)["outcome"] == "created"
    assert filed_ticket(table, customer, "Primero").created_at < filed_ticket(table, customer, "Segundo").created_at


def test_a_held_mail_waits_another_hour_when_the_next_is_spent_too(room: Mailroom, customer: Person,
                                                                   table: Table, stack: LocalStack,
                                                                   hour: float) -> None:
    spend(room.table, customer.email, hour)
    ses_message_id, _ = receive(room, mail(customer.email, "Paciencia"), hour + 60)
    for _ in range(MAILS_PER_SENDER_PER_HOUR):  # the next hour's allowance, spent elsewhere
        ratelimit.allow(table, "mail", customer.email, limit=MAILS_PER_SENDER_PER_HOUR, window_seconds=HOUR,
                        now=hour + HOUR + 10)
    assert Outcome("held", "rate-limited") in intake.let_in_held_mail(room, now=hour + HOUR + 60, limit=1000)
    (item,) = held_items(table, ses_message_id)
    assert item["release_at"] == intake._moment(hour + 2 * HOUR) and record(table, ses_message_id)["outcome"] == "held"
    assert len(notices(stack, customer.email)) == 1  # told once already
    intake.let_in_held_mail(room, now=hour + 2 * HOUR + 60, limit=1000)
    assert record(table, ses_message_id)["outcome"] == "created"


def test_a_held_mail_that_cannot_be_let_in_waits_and_holds_back_no_other(room: Mailroom, customer: Person,
                                                                          table: Table, hour: float) -> None:
    spend(room.table, customer.email, hour)
    broken_id, _ = receive(room, mail(customer.email, "Primero, roto"), hour + 60)
    fine_id, _ = receive(room, mail(customer.email, "Segundo, bien"), hour + 61)
    raw = room.s3.get_object(Bucket=room.inbound_bucket, Key=f"inbound/{broken_id}")["Body"].read()
    room.s3.delete_object(Bucket=room.inbound_bucket, Key=f"inbound/{broken_id}")
    intake.let_in_held_mail(room, now=hour + HOUR + 60, limit=1000)
    assert record(table, fine_id)["outcome"] == "created"
    (item,) = held_items(table, broken_id)  # kept, for the next hour
    assert item["release_at"] == intake._moment(hour + 2 * HOUR) and record(table, broken_id)["outcome"] == "held"
    room.s3.put_object(Bucket=room.inbound_bucket, Key=f"inbound/{broken_id}", Body=raw)
    intake.let_in_held_mail(room, now=hour + 2 * HOUR + 60, limit=1000)
    assert record(table, broken_id)["outcome"] == "created"


def test_the_raw_mail_is_kept_longer_than_any_hold() -> None:
    from supportdesk_dev.provision import load_template

    retention = load_template()["Parameters"]["InboundMailRetentionDays"]
    assert retention["MinValue"] * 86400 > 2 * HOUR and retention["Default"] >= 30


def _tickets_of(table: Table, person: Person) -> list[Ticket]:
    from conftest import tickets_of

    return list(tickets_of(table, person.account.id))
