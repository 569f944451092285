"""Mail leaves from the table's stream, never from a request: SES failing fails no request
and loses no mail, and each event makes the mail it should (and only that one)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import Person, csrf_token, mails_to

from supportdesk.agents import agent_of
from supportdesk.store import Table
from supportdesk.tickets import (
    Changes,
    Requester,
    Status,
    add_agent_reply,
    add_customer_reply,
    add_note,
    change_ticket,
    close_ticket,
    create_ticket,
    get_ticket_head,
)
from supportdesk_dev.stack import LocalStack


@pytest.fixture
def ses_down(monkeypatch: pytest.MonkeyPatch) -> Any:
    """SES refuses every mail (throttled) until `ses_down.restore()`."""
    from notifier.handler import outlet

    ses = outlet().ses
    real = ses.send_raw_email
    tries: list[int] = []

    def throttled(**_: Any) -> Any:
        tries.append(1)
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."},
                           "ResponseMetadata": {"HTTPStatusCode": 400}}, "SendRawEmail")

    monkeypatch.setattr(ses, "send_raw_email", throttled)

    class Switch:
        attempts = tries

        @staticmethod
        def restore() -> None:
            monkeypatch.setattr(ses, "send_raw_email", real)

    return Switch


def test_a_failing_ses_fails_no_request_and_its_mail_goes_out_later(
        signed_in: Any, customer: Person, stack: LocalStack, ses_down: Any) -> None:
    client = signed_in(customer)
    response = client.post("/api/tickets", follow_redirects=False, data={
        "department": "support", "subject": "SES caído", "priority": "normal",
        "message": "El correo de confirmación no debe frenar ni romper esta página.",
        "csrf_token": csrf_token(client, "/api/departments")})
    assert response.status_code == 303  # the ticket is stored; the mail waits
    assert mails_to(stack, customer.email) == []
    assert ses_down.attempts  # it was tried, and failed
    ses_down.restore()
    assert stack.notifier is not None
    stack.notifier.drain(wait_retries=True)
    (acknowledgement,) = mails_to(stack, customer.email)  # sent once, not lost, not twice
    assert "SES caído" in str(acknowledgement["Subject"])


def test_a_mail_that_cannot_ever_be_sent_does_not_hold_back_the_others(
        table: Table, stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    from notifier.handler import outlet

    ses = outlet().ses
    real = ses.send_raw_email

    def refusing_one(**kwargs: Any) -> Any:
        if b"nunca@" in kwargs["RawMessage"]["Data"]:
            raise ClientError({"Error": {"Code": "MessageRejected", "Message": "Address blacklisted."},
                               "ResponseMetadata": {"HTTPStatusCode": 400}}, "SendRawEmail")
        return real(**kwargs)

    monkeypatch.setattr(ses, "send_raw_email", refusing_one)
    address = f"otra-{uuid.uuid4().hex[:6]}@example.org"
    create_ticket(table, department="sales", subject="Primero", body="b", requester=Requester("N", "nunca@example.org", "acc-n"))
    create_ticket(table, department="sales", subject="Segundo", body="b", requester=Requester("O", address, "acc-o"))
    assert len(mails_to(stack, address)) == 1


def test_each_change_mails_whom_it_should(table: Table, stack: LocalStack, make_customer: Any) -> None:
    customer = make_customer()
    agent_person = make_customer(name="Dora Agente", services=(), agent=True)
    agent = agent_of(agent_person.account)
    ticket = create_ticket(table, department="support", subject="Web lenta", body="Va muy lenta.",
                           requester=Requester.of(customer.account))
    add_note(table, ticket, agent=agent, body="NOTA-PRIVADA: revisar el servidor 12")
    assigned = change_ticket(table, get_ticket_head(table, ticket.id), Changes(assignee=agent),  # type: ignore[arg-type]
                             agent=agent)
    add_customer_reply(table, assigned, author_name=customer.account.name, body="Sigue igual de lenta.")
    to_agent = mails_to(stack, agent_person.email)
    assert len(to_agent) == 1 and ticket.id in str(to_agent[0]["Subject"])
    assert "Sigue igual" not in to_agent[0].get_content()  # the customer's words stay in the help desk
    assert to_agent[0]["Auto-Submitted"] == "auto-generated"

    answered = add_agent_reply(table, get_ticket_head(table, ticket.id), agent=agent,  # type: ignore[arg-type]
                               body="Hemos ampliado la memoria.")
    closed = change_ticket(table, answered, Changes(status=Status.CLOSED), agent=agent)
    mails = mails_to(stack, customer.email)
    assert [str(m["Subject"]) for m in mails] == [f"[#{ticket.id}] Web lenta"] * 3  # ack, reply, closed
    ack, reply, notice = mails
    assert ack["Auto-Submitted"] == "auto-generated" and reply["Auto-Submitted"] is None
    assert notice["Auto-Submitted"] == "auto-generated" and "Dora Agente" in notice.get_content()
    assert ack["Message-ID"] == f"<{ticket.id}.ack@example.com>"
    assert reply["In-Reply-To"] == ack["Message-ID"] and notice["References"] == ack["Message-ID"]
    for mail in (*mails, *to_agent):
        assert "NOTA-PRIVADA" not in mail.as_string()
    # The customer closing their own ticket hears nothing more.
    reopened = add_customer_reply(table, closed, author_name=customer.account.name, body="Otra vez lenta.")
    close_ticket(table, reopened)
    assert len(mails_to(stack, customer.email)) == 3


def test_mail_speaks_the_customers_language(table: Table, stack: LocalStack, make_customer: Any) -> None:
    customer = make_customer(language="en")
    agent = agent_of(make_customer(name="Eva Agent", services=(), agent=True).account)
    ticket = create_ticket(table, department="support", subject="Slow site", body="It is slow.",
                           requester=Requester.of(customer.account))
    add_agent_reply(table, ticket, agent=agent, body="We added memory.")
    ack, reply = mails_to(stack, customer.email)
    assert ack["Content-Language"] == reply["Content-Language"] == "en"
    text = reply.get_body(("plain",)).get_content()
    assert text.startswith("##- Please type your reply above this line -##")
    assert "Awaiting your reply" in text
    # From the department of the provider's help desk (ProviderName, the demo's by default).
    assert ack["From"].addresses[0].display_name == "Support \u00b7 Demo Hosting"
    assert ack.get_content().rstrip().endswith("\u2014 Support \u00b7 Demo Hosting")
    assert "\u2014 Eva Agent, Support \u00b7 Demo Hosting" in text


def test_the_local_stream_keeps_what_the_templates_filter_keeps() -> None:
    import json

    from conftest import REPO

    from supportdesk_dev.provision import load_template
    from supportdesk_dev.streams import keeps

    stream = load_template(REPO / "template.yaml")["Resources"]["NotifierFunction"]["Properties"]["Events"][
        "TicketEvents"]["Properties"]
    events, expired = [json.loads(f["Pattern"]) for f in stream["FilterCriteria"]["Filters"]]
    assert events == {"eventName": ["INSERT"], "dynamodb": {"Keys": {"PK": {"S": [{"prefix": "OUTBOX#"}]}}}}
    assert expired == {"eventName": ["REMOVE"], "userIdentity": {"type": ["Service"],
                                                               "principalId": ["dynamodb.amazonaws.com"]},
                       "dynamodb": {"Keys": {"PK": {"S": [{"prefix": "UPLOAD#uploads/"}]}}}}
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

    def record(name: str, pk: str) -> dict[str, Any]:
        return {"eventName": name, "dynamodb": {"Keys": {"PK": {"S": pk}, "SK": {"S": "x"}}}}

    assert keeps(record("INSERT", "OUTBOX#ABC-123456"))
    assert not keeps(record("MODIFY", "OUTBOX#ABC-123456")) and not keeps(record("INSERT", "TICKET#ABC-123456"))
    ttl = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert keeps({**record("REMOVE", "UPLOAD#uploads/acct-1/f/a.txt"), "userIdentity": ttl})
    assert not keeps(record("REMOVE", "UPLOAD#uploads/acct-1/f/a.txt"))  # a message's claim
    assert not keeps({**record("REMOVE", "TICKET#ABC-123456"), "userIdentity": ttl})


def test_without_the_portals_address_no_mail_goes_out_with_broken_links(monkeypatch: pytest.MonkeyPatch) -> None:
    from notifier import handler

    monkeypatch.setenv("TABLE_NAME", "t")
    monkeypatch.setenv("USER_POOL_ID", "p")
    monkeypatch.setenv("USER_POOL_CLIENT_ID", "c")
    monkeypatch.setenv("PUBLIC_URL", "")
    with pytest.raises(RuntimeError, match="PUBLIC_URL is not set"):
        handler._outlet()
