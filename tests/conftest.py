"""Fixtures: a local AWS (moto's server over HTTP, resources from template.yaml), the web
app on it, a live server for browsers, and accounts to log in with."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from supportdesk.accounts import Account, register_account
from supportdesk.store import Table
from supportdesk_dev.provision import seed_departments
from supportdesk_dev.stack import LocalStack, start_local_stack

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
_emails = itertools.count(1)


@pytest.fixture(autouse=True)
def limits_count_in_one_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rate limits count per clock window (an hour, a quarter, a day). A test that makes
    its attempts across a window's end would see two allowances, so during a test the limits
    read one instant: its start. Tests of the windows themselves give `now`."""
    from types import SimpleNamespace

    from supportdesk import ratelimit

    start = time.time()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: start))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    state = tmp_path_factory.mktemp("stack")
    # The portal's address is configuration (PUBLIC_URL: mail links, and the only origin
    # the attachments bucket's CORS accepts), so the live server listens where it says.
    local = start_local_stack(outbox=state / "outbox", stack_name="supportdesk-test",
                              public_url=f"http://127.0.0.1:{free_port()}")
    saved = dict(os.environ)
    os.environ.update(local.environment)
    from portal import resources

    resources.reset()
    seed_departments(Table(local.client("dynamodb"), local.environment["TABLE_NAME"]), "example.com")
    yield local
    os.environ.clear()
    os.environ.update(saved)
    local.stop()


@pytest.fixture(scope="session")
def table(stack: LocalStack) -> Table:
    return Table(stack.client("dynamodb"), stack.environment["TABLE_NAME"])


@pytest.fixture(scope="session")
def cognito(stack: LocalStack) -> Any:
    return stack.client("cognito-idp")


@dataclass
class Person:
    account: Account
    password: str

    @property
    def email(self) -> str:
        return self.account.email


@pytest.fixture
def make_customer(stack: LocalStack, table: Table, cognito: Any) -> Any:
    def make(name: str = "Ana Pérez", services: tuple[str, ...] = ("Hosting Pro — ana.es",),
             language: str = "es", agent: bool = False) -> Person:
        email = f"person{next(_emails)}-{time.time_ns()}@example.org"
        password = "correct horse 1"
        account = register_account(
            cognito, table, stack.environment["USER_POOL_ID"], email=email, name=name,
            password=password, language=language, services=services, agent=agent,
        )
        return Person(account, password)

    return make


@pytest.fixture
def customer(make_customer: Any) -> Person:
    return make_customer()


@pytest.fixture(scope="session")
def origin_secret(stack: LocalStack) -> str | None:
    from supportdesk_dev.devserver import origin_secret

    return origin_secret(stack)


@pytest.fixture
def app(stack: LocalStack, origin_secret: str | None) -> Any:
    """The web function's app as browsers reach it: through (the local stand-in of) CloudFront."""
    from portal.app import app
    from supportdesk_dev.devserver import behind_cloudfront

    return behind_cloudfront(app, origin_secret)


_addresses = itertools.count(1)


def browser_client(app: Any, **options: Any) -> Any:
    """A client that behaves as one browser on its own network address (the per-client
    limits count each address apart), over https so the Secure cookies are kept and sent."""
    from starlette.testclient import TestClient

    number = next(_addresses)
    return TestClient(app, base_url="https://testserver",
                      client=(f"198.51.{number // 250 % 250}.{number % 250 + 1}", 50000), **options)


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    with browser_client(app) as test_client:
        yield test_client


@pytest.fixture
def signed_in(app: Any) -> Iterator[Any]:
    """signed_in(person) → a browser-like client with that person's session."""
    clients: list[Any] = []

    def open_for(person: Person | None) -> Any:
        client = browser_client(app)
        client.__enter__()
        clients.append(client)
        if person:
            assert log_in(client, person.email, person.password).status_code == 303
        return client

    yield open_for
    for client in clients:
        client.__exit__(None, None, None)


def tickets_of(table: Table, account_id: str) -> list[Any]:
    """Every ticket of an account, newest activity first (for checks: pages of the index)."""
    from supportdesk.tickets import owner_key, tickets_page

    found: list[Any] = []
    cursor = None
    while True:
        page, cursor = tickets_page(table, owner_key(account_id, ""), cursor=cursor, size=100)
        found += page
        if cursor is None:
            return found


def csrf_token(client: Any, path: str = "/api/login") -> str:
    """Load a page as a browser would and return the form's CSRF token."""
    response = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.text) or re.search(
        r'"X-CSRF-Token": "([^"]+)"', response.text)
    assert match, "the page has no CSRF token"
    return match.group(1)


def log_in(client: Any, email: str, password: str, **headers: str) -> Any:
    token = csrf_token(client)
    return client.post(
        "/api/login", data={"email": email, "password": password, "csrf_token": token},
        headers=headers, follow_redirects=False,
    )


def mailed_key(stack: LocalStack, ticket_id: str) -> str:
    """The key in the link our last mail about `ticket_id` carried (a guest's private link).

    The notifier sends it from the table's stream: what is pending is delivered first.
    """
    import email
    import email.policy

    assert stack.outbox is not None
    deadline = time.monotonic() + 10
    while True:
        stack.deliver_events()
        for path in sorted(stack.outbox.glob("*.eml"), reverse=True):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            body = message.get_body(("plain",)) if message.is_multipart() else message
            text = body.get_content() if body is not None else ""
            found = re.search(rf"ticket\.html\?id={ticket_id}&key=([\w-]+)", text)
            if found:
                return found.group(1)
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail carries a link to {ticket_id}")
        time.sleep(0.05)


def sam_translate(template: dict[str, Any]) -> dict[str, Any]:
    """`template` as CloudFormation, as SAM's translator turns it (code in S3, as `sam
    package` leaves it)."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in props:
                props[key] = "s3://artifacts/supportdesk.zip"
    translator = Translator(managed_policy_map={}, sam_parser=Parser(),
                            boto_session=boto3.session.Session(region_name="us-east-1"))
    return dict(translator.translate(template, parameter_values={}))


_outbox_read: dict[Path, Any] = {}


def mails_to(stack: LocalStack, address: str) -> list[Any]:
    """The mails the system sent to `address` (in the outbox), oldest first, once the
    notifier has delivered every event stored so far."""
    import email
    import email.policy

    assert stack.outbox is not None
    stack.deliver_events()
    found = []
    for path in sorted(stack.outbox.glob("*.eml")):
        # Each file is written once under a name of its own: read once in a session (the
        # outbox holds every mail the session's tests made the system send).
        if path not in _outbox_read:
            _outbox_read[path] = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        message = _outbox_read[path]
        if address.lower() in str(message["To"]).lower():
            found.append(message)
    return found


def every_text(mail: Any) -> str:
    """Every part of a mail, decoded, with its headers."""
    parts = [part.get_content() for part in mail.walk() if part.get_content_maintype() == "text"]
    return "\n".join([str(mail.items()), *parts])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(stack: LocalStack, origin_secret: str | None) -> Iterator[str]:
    """The site and the API on one origin over real HTTP, as `make dev` serves them."""
    import uvicorn

    from supportdesk_dev.devserver import load_portal, site_and_api

    port = urlsplit(stack.environment["PUBLIC_URL"]).port
    served = site_and_api(load_portal(), REPO / "site", origin=origin_secret, local_endpoint=stack.endpoint_url)
    config = uvicorn.Config(served, host="127.0.0.1",
                            port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def deliver(stack: LocalStack) -> Any:
    """deliver(raw, to=..., **verdicts) → the handler's outcome for that mail."""
    from inbound.handler import handler
    from supportdesk_dev.events import LambdaContext, ses_receipt_event

    s3 = stack.client("s3")

    def send(raw: bytes, *, to: str = "support@example.com", sender: str = "x@example.org",
             message_id: str | None = None, **verdicts: str) -> dict[str, Any]:
        message_id = message_id or uuid.uuid4().hex
        s3.put_object(Bucket=stack.environment["INBOUND_BUCKET"], Key=f"inbound/{message_id}", Body=raw)
        result = handler(ses_receipt_event(message_id, sender=sender, recipients=[to],
                                           verdicts=verdicts), LambdaContext())
        (outcome,) = result["outcomes"]
        return dict(outcome)

    return send


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Per module: Playwright's sync API keeps an event loop running in this thread while
    # it is open, and the Lambda tests (Mangum) need to run their own.
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: run `make test`, which installs it")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page_in(browser: Any, table: Any) -> Iterator[Any]:
    """page_in("es") → a fresh browser page whose user speaks that language.

    Every browser test is a visitor of its own: all of them come from 127.0.0.1, whose login
    allowance (30 per 15 minutes per client) the whole suite would otherwise share."""
    for item in table.query("PK", "RATE#login-client#127.0.0.1"):
        table.client.delete_item(TableName=table.name, Key={"PK": {"S": item["PK"]}, "SK": {"S": item["SK"]}})
    contexts: list[Any] = []

    def open_page(locale: str) -> Any:
        context = browser.new_context(locale=locale)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


@contextmanager
def on_web_clients(event: str, handler: Any) -> Iterator[None]:
    """`handler` hooked on `event` ("before-call.*", "after-call.*") of the web function's own
    DynamoDB and S3 clients inside the block."""
    from portal import resources

    clients = [resources._client("dynamodb"), resources._client("s3")]
    for client in clients:
        client.meta.events.register(event, handler)
    try:
        yield
    finally:
        for client in clients:
            client.meta.events.unregister(event, handler)


@contextmanager
def datastore_calls() -> Iterator[list[str]]:
    """Every DynamoDB and S3 call the web function's clients make inside the block."""
    calls: list[str] = []

    def count(event_name: str, **_: Any) -> None:
        calls.append(event_name.split(".", 2)[-1])

    with on_web_clients("before-call.*", count):
        yield calls
