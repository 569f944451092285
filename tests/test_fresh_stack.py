"""A stack as `sam deploy` leaves it takes tickets on day one.

A fresh local stack is made from template.yaml without the demo seed: no departments. The
template's own Departments custom resource is then run as CloudFormation runs it (a Create
event carrying the resource's properties, the answer PUT to a ResponseURL that a local
HTTP server stands for), and a ticket is opened on the web and by mail. Links in what the
customer sees and gets come from PUBLIC_URL, never from the request's Host.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import threading
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from conftest import browser_client, csrf_token, log_in

from supportdesk.accounts import register_account
from supportdesk.departments import list_departments
from supportdesk.store import Table
from supportdesk_dev.events import LambdaContext, ses_receipt_event
from supportdesk_dev.provision import custom_resource_properties
from supportdesk_dev.stack import REGION, LocalStack, start_local_stack

PORTAL = "https://portal.example.net"
FORGED = "forged.example.org"


def _forget_cached_clients() -> None:
    """Each function caches its settings and clients, as a warm Lambda container does."""
    from inbound.handler import mailroom
    from notifier.handler import files, outlet
    from portal import resources

    resources.reset()
    mailroom.cache_clear()
    outlet.cache_clear()
    files.cache_clear()


@pytest.fixture(scope="module")
def fresh() -> Iterator[LocalStack]:
    name = f"fresh-{uuid.uuid4().hex[:8]}"
    # No outbox: the session's stack may write sent mail to its own (moto keeps every mail
    # SES is given either way; sent_mails_to reads them there).
    local = start_local_stack(stack_name=name, public_url=PORTAL)
    local.environment["STACK_NAME"] = name
    saved = dict(os.environ)
    os.environ.update(local.environment)
    _forget_cached_clients()
    yield local
    os.environ.clear()
    os.environ.update(saved)
    _forget_cached_clients()
    local.stop()


class ResponseUrl:
    """What CloudFormation's presigned ResponseURL receives: the custom resource's answer."""

    def __init__(self) -> None:
        answers: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answers.append({"content_type": self.headers.get("Content-Type"), **json.loads(body)})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.answers = answers
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cfn-response?X-Amz-Signature=x"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def response_url() -> Iterator[ResponseUrl]:
    server = ResponseUrl()
    yield server
    server.close()


def cloudformation_event(request_type: str, stack_name: str, url: str, properties: dict[str, Any],
                         old: dict[str, Any] | None = None) -> dict[str, Any]:
    event = {
        "RequestType": request_type,
        "ServiceToken": properties["ServiceToken"],
        "ResponseURL": url,
        "StackId": f"arn:aws:cloudformation:{REGION}:123456789012:stack/{stack_name}/{uuid.uuid4()}",
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "Departments",
        "ResourceType": "Custom::Departments",
        "ResourceProperties": properties,
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = "supportdesk-departments"
    if old is not None:
        event["OldResourceProperties"] = old
    return event


def run_custom_resource(event: dict[str, Any]) -> None:
    from departments.handler import handler

    handler(event, LambdaContext())


def template_properties(stack: LocalStack) -> dict[str, Any]:
    return custom_resource_properties("Departments", stack_name=stack.environment["STACK_NAME"],
                                      parameters={"MailDomain": stack.environment["MAIL_DOMAIN"]})


def sent_mails_to(address: str) -> list[Any]:
    """What SES was given for `address` (moto keeps each raw mail it sends)."""
    from moto.ses.models import ses_backends

    found = []
    for message in ses_backends["123456789012"][REGION].sent_messages:
        raw = getattr(message, "raw_data", None)
        if raw is None:
            continue
        mail = email.message_from_string(raw, policy=email.policy.default)
        if address in str(mail["To"]):
            found.append(mail)
    return found


def every_text(mail: Any) -> str:
    return "\n".join([str(mail.items()), *(part.get_content() for part in mail.walk()
                                           if part.get_content_maintype() == "text")])


def test_a_fresh_stack_has_no_departments_until_the_custom_resource_writes_them(
        fresh: LocalStack, response_url: ResponseUrl) -> None:
    table = Table(fresh.client("dynamodb"), fresh.environment["TABLE_NAME"])
    assert list_departments(table) == []  # as after `sam deploy`, without the demo seed

    properties = template_properties(fresh)
    run_custom_resource(cloudformation_event("Create", fresh.environment["STACK_NAME"], response_url.url, properties))

    (answer,) = response_url.answers
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == "supportdesk-departments"
    assert answer["content_type"] == ""  # a presigned PUT is signed without one
    stored = {d.slug: d for d in list_departments(table)}
    assert list(stored) == [entry["Key"] for entry in properties["Departments"]]
    assert stored["support"].email == "support@example.com" and stored["support"].login_required
    assert stored["billing"].open_to_guests and stored["billing"].name("es") == "Facturación"
    assert all(d.enabled and d.description_es and d.description_en for d in stored.values())


def test_an_update_that_drops_a_department_disables_it_and_delete_keeps_it(
        fresh: LocalStack, response_url: ResponseUrl) -> None:
    table = Table(fresh.client("dynamodb"), fresh.environment["TABLE_NAME"])
    properties = template_properties(fresh)
    stack_name = fresh.environment["STACK_NAME"]
    run_custom_resource(cloudformation_event("Create", stack_name, response_url.url, properties))
    without_sales = {**properties, "Departments": [d for d in properties["Departments"] if d["Key"] != "sales"]}
    run_custom_resource(cloudformation_event("Update", stack_name, response_url.url, without_sales, old=properties))
    assert {d.slug: d.enabled for d in list_departments(table)} == {"support": True, "billing": True, "sales": False}
    run_custom_resource(cloudformation_event("Delete", stack_name, response_url.url, without_sales))
    assert len(list_departments(table)) == 3  # tickets point at them: never deleted
    run_custom_resource(cloudformation_event("Update", stack_name, response_url.url, properties, old=without_sales))
    assert all(d.enabled for d in list_departments(table))
    assert [a["Status"] for a in response_url.answers] == ["SUCCESS"] * 4


def test_a_bad_declaration_is_answered_failed_not_left_hanging(
        fresh: LocalStack, response_url: ResponseUrl) -> None:
    properties = template_properties(fresh)
    broken = {**properties, "Departments": [{**properties["Departments"][0], "LoginRequired": "maybe"}]}
    run_custom_resource(cloudformation_event("Create", fresh.environment["STACK_NAME"], response_url.url, broken))
    (answer,) = response_url.answers
    assert answer["Status"] == "FAILED"
    assert "LoginRequired must be true or false" in answer["Reason"]
    twice = {**properties, "Departments": [*properties["Departments"], {**properties["Departments"][1], "Key": "cobros"}]}
    run_custom_resource(cloudformation_event("Create", fresh.environment["STACK_NAME"], response_url.url, twice))
    assert response_url.answers[-1]["Status"] == "FAILED"
    assert "more than one department with the address billing@example.com" in response_url.answers[-1]["Reason"]
    # Whatever fails (here: a table that does not exist), CloudFormation hears of it.
    os.environ["TABLE_NAME"] = "no-such-table"
    try:
        run_custom_resource(cloudformation_event("Create", fresh.environment["STACK_NAME"], response_url.url,
                                                 properties))
    finally:
        os.environ["TABLE_NAME"] = fresh.environment["TABLE_NAME"]
    assert response_url.answers[-1]["Status"] == "FAILED"
    assert "ResourceNotFoundException" in response_url.answers[-1]["Reason"]


@pytest.fixture
def departments_written(fresh: LocalStack, response_url: ResponseUrl) -> None:
    run_custom_resource(cloudformation_event("Create", fresh.environment["STACK_NAME"], response_url.url,
                                             template_properties(fresh)))
    assert response_url.answers[-1]["Status"] == "SUCCESS"
    _forget_cached_clients()


def test_a_customer_opens_a_ticket_on_the_web_and_by_mail(fresh: LocalStack, departments_written: None) -> None:
    from supportdesk_dev.devserver import behind_cloudfront, load_portal, origin_secret

    table = Table(fresh.client("dynamodb"), fresh.environment["TABLE_NAME"])
    email_address = f"dia-uno-{uuid.uuid4().hex[:8]}@example.org"
    register_account(fresh.client("cognito-idp"), table, fresh.environment["USER_POOL_ID"], email=email_address,
                     name="Lucía Día Uno", password="correct horse 1", language="es", services=("Hosting — lucia.es",))

    # On the web, with a forged Host and X-Forwarded-Host: no link may take them.
    forged = {"Host": FORGED, "X-Forwarded-Host": FORGED, "Forwarded": f"host={FORGED}"}
    with browser_client(behind_cloudfront(load_portal(), origin_secret(fresh))) as client:
        assert log_in(client, email_address, "correct horse 1", **forged).status_code == 303
        departments = client.get("/api/departments", headers=forged)
        assert "Soporte" in departments.text and "Facturación" in departments.text
        created = client.post("/api/tickets", follow_redirects=False, headers=forged, data={
            "department": "support", "subject": "La web no carga", "priority": "normal",
            "message": "Desde esta mañana ana.es da error 500.", "csrf_token": csrf_token(client, "/api/departments")})
        assert created.status_code == 303, created.text
        assert FORGED not in created.headers["location"]
        page = client.get(created.headers["location"], headers=forged)
        assert "La web no carga" in page.text
        assert FORGED not in page.text
        web_id = re.search(r"[A-Z]{3}-\d{6}", created.headers["location"]).group(0)  # type: ignore[union-attr]

    # By mail: the raw MIME where the receipt rule stores it, then the intake's SES event.
    from inbound.handler import handler

    message = EmailMessage()
    message["From"] = f"Lucía <{email_address}>"
    message["To"] = "support@example.com"
    message["Subject"] = "El correo no llega"
    message["Message-ID"] = f"<{uuid.uuid4().hex}@example.org>"
    message.set_content("Desde ayer no recibo correo en info@lucia.es.")
    ses_id = uuid.uuid4().hex
    fresh.client("s3").put_object(Bucket=fresh.environment["INBOUND_BUCKET"], Key=f"inbound/{ses_id}",
                                  Body=bytes(message))
    result = handler(ses_receipt_event(ses_id, sender=email_address, recipients=["support@example.com"]),
                     LambdaContext())
    (outcome,) = result["outcomes"]
    assert outcome["outcome"] == "created", outcome
    mail_id = outcome["ticket"]

    # Both acknowledgements link to PUBLIC_URL (the stack's configuration), never the forged host.
    fresh.deliver_events()
    acks = {tid: [m for m in sent_mails_to(email_address) if f"[#{tid}]" in str(m["Subject"])]
            for tid in (web_id, mail_id)}
    for ticket_id, mails in acks.items():
        assert mails, f"no acknowledgement of {ticket_id}"
        text = every_text(mails[0])
        assert f"{PORTAL}/ticket.html?id={ticket_id}" in text
        assert FORGED not in text


@pytest.fixture
def cli(fresh: LocalStack, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The operators' CLI against this stack, as against the one `make dev` runs."""
    from supportdesk_dev.cli import main
    from supportdesk_dev.stack import write_stack_file

    write_stack_file(tmp_path / "stack.json", fresh)
    monkeypatch.setenv("SUPPORTDESK_DEV_DIR", str(tmp_path))

    def run(*argv: str) -> int:
        return main(list(argv))

    return run


def test_the_cli_adds_edits_disables_and_lists_departments(
        fresh: LocalStack, departments_written: None, cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    table = Table(fresh.client("dynamodb"), fresh.environment["TABLE_NAME"])
    key = f"dominios{uuid.uuid4().hex[:4]}"
    assert cli("department", "add", key, "--name-es", "Dominios", "--name-en", "Domains",
               "--description-es", "Registros y traslados.", "--description-en", "Registrations and transfers.",
               "--mail-local-part", "dominios", "--guests") == 0
    added = {d.slug: d for d in list_departments(table)}[key]
    assert added.email == "dominios@example.com" and added.open_to_guests and added.position == 4
    assert cli("department", "add", key, "--name-es", "Otra", "--name-en", "Other") == 1  # exists: not replaced
    assert cli("department", "add", "Bad Key", "--name-es", "X", "--name-en", "X") == 2
    assert "lower-case letters" in capsys.readouterr().err

    assert cli("department", "edit", key, "--name-en", "Domain names", "--no-guests") == 0
    edited = {d.slug: d for d in list_departments(table)}[key]
    assert edited.name_en == "Domain names" and not edited.guests_allowed and edited.name_es == "Dominios"
    assert cli("department", "edit", "nosuch", "--name-en", "X") == 1

    assert cli("department", "disable", key) == 0
    assert not {d.slug: d for d in list_departments(table)}[key].enabled
    capsys.readouterr()
    assert cli("department", "list") == 0
    listed = capsys.readouterr().out
    assert re.search(rf"^{key} .*Dominios / Domain names.*disabled$", listed, re.M)
    assert re.search(r"^support .*support@example.com.*enabled$", listed, re.M)
    assert cli("department", "enable", key) == 0
    assert {d.slug: d for d in list_departments(table)}[key].enabled


def test_a_disabled_department_takes_no_new_tickets_but_its_tickets_carry_on(
        fresh: LocalStack, departments_written: None, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from inbound.handler import handler
    from supportdesk_dev.devserver import behind_cloudfront, load_portal, origin_secret

    sender = f"invitado-{uuid.uuid4().hex[:8]}@example.org"

    def mail_to_sales(subject: str, **headers: str) -> dict[str, Any]:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = sender, "sales@example.com", subject
        message["Message-ID"] = f"<{uuid.uuid4().hex}@example.org>"
        for name, value in headers.items():
            message[name] = value
        message.set_content("¿Tienen planes para tiendas online?")
        ses_id = uuid.uuid4().hex
        fresh.client("s3").put_object(Bucket=fresh.environment["INBOUND_BUCKET"], Key=f"inbound/{ses_id}",
                                      Body=bytes(message))
        result = handler(ses_receipt_event(ses_id, sender=sender, recipients=["sales@example.com"]), LambdaContext())
        return dict(result["outcomes"][0])

    opened = mail_to_sales("Planes de tienda")
    assert opened["outcome"] == "created"
    assert cli("department", "disable", "sales") == 0
    # A warm intake container still takes the department's mail for at most a minute...
    assert mail_to_sales("Una pregunta más")["outcome"] == "created"
    # ...and then reads the departments again (the web function's are kept as long).
    import inbound.handler

    later = inbound.handler.monotonic() + inbound.handler.DEPARTMENTS_KEPT_SECONDS
    monkeypatch.setattr(inbound.handler, "monotonic", lambda: later)
    from portal import resources

    resources.reset()
    try:
        refused = mail_to_sales("Otra pregunta")
        assert (refused["outcome"], refused["reason"]) == ("rejected", "unknown-recipient")
        follow_up = mail_to_sales(f"Re: Planes de tienda [#{opened['ticket']}]")
        assert (follow_up["outcome"], follow_up["ticket"]) == ("replied", opened["ticket"])

        with browser_client(behind_cloudfront(load_portal(), origin_secret(fresh))) as client:
            listed = client.get("/api/departments", headers={"Accept-Language": "es"})
            assert "Facturación" in listed.text and "Ventas" not in listed.text
            assert client.get("/api/tickets/new?department=sales").status_code == 404
            refused_web = client.post("/api/tickets", follow_redirects=False, data={
                "department": "sales", "subject": "Planes", "priority": "normal", "email": sender, "name": "Invitado",
                "message": "¿Tienen planes para tiendas online?", "csrf_token": csrf_token(client, "/api/departments")})
            assert 400 <= refused_web.status_code < 500
            assert "Traceback" not in refused_web.text
    finally:
        assert cli("department", "enable", "sales") == 0
        _forget_cached_clients()
