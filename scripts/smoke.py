"""The customer's path against a running stack: `make smoke URL=https://support.example.com`.

Against `make dev` (URL http://127.0.0.1:8000) or a stack in AWS, the same steps a browser
takes: log in as a customer, upload a file (presigned POST straight to S3, then the API's
check), open a ticket with it, and find it in My tickets with its file. Then, where the
stack allows it, a mail round trip: a mail from the customer to a department address opens
a ticket that My tickets shows, and (given the outbox) its acknowledgement links to URL.

The customer (an existing account) comes from --email/--password or SMOKE_EMAIL and
SMOKE_PASSWORD; against 127.0.0.1 the demo customer of `make dev` is the default.

Mail: --smtp HOST:PORT (SMOKE_SMTP) to a department address (--mail-to, SMOKE_MAIL_TO).
`make dev` listens on 127.0.0.1:$SMTP_PORT (2525) and is the default for a local URL. In
AWS the mail must reach SES as real mail does: sent through a server that may send as the
customer's address (SPF/DKIM aligned, or the intake refuses it as spoofed), with
SMOKE_SMTP_USER and SMOKE_SMTP_PASSWORD for it (STARTTLS); without --smtp the round trip
is skipped and said so. --outbox DIR (SMOKE_OUTBOX; `make dev`: .dev/outbox) also checks the
acknowledgement's link.

Exit status 0: every step passed; 1: a step failed (it says which, and why).
"""

from __future__ import annotations

import argparse
import email
import email.policy
import html
import os
import re
import smtplib
import sys
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx

DEMO_CUSTOMER = ("cliente@example.com", "demo-cliente")
ATTACHMENT = ("smoke-test.txt", b"supportdesk smoke test: this file travelled through a presigned POST.\n")
TICKET_ID = re.compile(r"[A-Z]{3}-\d{6}")


class StepFailed(Exception):
    pass


def _local(url: str) -> bool:
    return urlsplit(url).hostname in ("127.0.0.1", "localhost")


class Browser:
    """What a browser keeps between requests: the cookies (carried by hand, as they are
    Secure and __Host- and a local URL is plain http) and the page's CSRF token."""

    def __init__(self, base: str, timeout: float) -> None:
        self.base = base.rstrip("/")
        self.http = httpx.Client(base_url=self.base, follow_redirects=False, timeout=timeout)
        self.cookies: dict[str, str] = {}

    def _keep(self, response: Any) -> Any:
        self.cookies.update(dict(response.cookies))
        return response

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept-Language": "en", **(extra or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def get(self, path: str) -> Any:
        return self._keep(self.http.get(path, headers=self._headers()))

    def post(self, path: str, data: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        return self._keep(self.http.post(path, data=data, headers=self._headers(headers)))

    def csrf(self, path: str) -> str:
        page = self.get(path)
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text) or re.search(
            r'"X-CSRF-Token": "([^"]+)"', page.text)
        if page.status_code != 200 or not found:
            raise StepFailed(f"GET {path} answered {page.status_code} without a CSRF token")
        return found.group(1)

    def close(self) -> None:
        self.http.close()


def log_in(browser: Browser, email_address: str, password: str) -> None:
    token = browser.csrf("/api/login")
    answer = browser.post("/api/login", {"email": email_address, "password": password, "csrf_token": token})
    if answer.status_code != 303:
        raise StepFailed(f"log in as {email_address}: {answer.status_code} (wrong e-mail or password?)")


def upload(browser: Browser) -> str:
    """The browser's upload: a presigned POST from the API, the file to S3, the API's check."""
    name, data = ATTACHMENT
    token = browser.csrf("/api/departments")
    asked = browser.post("/api/uploads", {"filename": name, "size": str(len(data)), "content_type": "text/plain"},
                         headers={"X-CSRF-Token": token})
    if asked.status_code != 200:
        raise StepFailed(f"ask for an upload: {asked.status_code} {asked.text[:200]}")
    post = asked.json()
    sent = httpx.post(post["url"], data=post["fields"], files={"file": (name, data, "text/plain")},
                      headers={"Origin": browser.base}, timeout=browser.http.timeout)
    if sent.status_code >= 300:
        raise StepFailed(f"upload to storage: {sent.status_code} {sent.text[:200]}")
    checked = browser.post("/api/uploads/checked", {"key": post["key"]}, headers={"X-CSRF-Token": token})
    if checked.status_code != 200:
        raise StepFailed(f"check the upload: {checked.status_code} {checked.text[:200]}")
    return str(checked.json()["token"])


def open_ticket(browser: Browser, department: str, subject: str, attachment: str) -> str:
    token = browser.csrf("/api/departments")
    created = browser.post("/api/tickets", {
        "department": department, "subject": subject, "priority": "normal", "csrf_token": token,
        "message": "Automatic smoke test of the customer's path; it may be closed.", "attachment": attachment})
    found = TICKET_ID.search(created.headers.get("location", ""))
    if created.status_code != 303 or not found:
        raise StepFailed(f"open a ticket in {department}: {created.status_code} {created.text[:200]}")
    return found.group(0)


def in_my_tickets(browser: Browser, subject: str, *, wait: float = 0) -> str:
    """The ticket's ID once My tickets lists `subject` (waiting up to `wait` seconds)."""
    deadline = time.monotonic() + wait
    while True:
        listed = browser.get("/api/tickets")
        if listed.status_code != 200:
            raise StepFailed(f"My tickets: {listed.status_code}")
        for row in listed.text.split("<tr>"):
            found = re.search(r'class="ticket-id">([A-Z]{3}-\d{6})<', row)
            if found and html.escape(subject) in row:
                return found.group(1)
        if time.monotonic() >= deadline:
            raise StepFailed(f"My tickets does not list {subject!r}")
        time.sleep(1)


def send_mail(smtp: str, sender: str, to: str, subject: str) -> None:
    host, _, port = smtp.rpartition(":")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<smoke-{uuid.uuid4().hex}@{sender.rpartition('@')[2]}>"
    message.set_content("Automatic smoke test of the mail intake; it may be closed.")
    with smtplib.SMTP(host or "127.0.0.1", int(port), timeout=30) as server:
        user = os.environ.get("SMOKE_SMTP_USER")
        if user:
            server.starttls()
            server.login(user, os.environ.get("SMOKE_SMTP_PASSWORD", ""))
        server.send_message(message)


def acknowledgement_link(outbox: Path, ticket_id: str, wait: float) -> str:
    deadline = time.monotonic() + wait
    while True:
        for path in sorted(outbox.glob("*.eml"), reverse=True) if outbox.is_dir() else []:
            mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if f"[#{ticket_id}]" not in str(mail["Subject"]):
                continue
            body = mail.get_body(("plain",))
            found = re.search(r"\S+/ticket\.html\?id=" + ticket_id, body.get_content() if body else "")
            if found:
                return found.group(0)
        if time.monotonic() >= deadline:
            raise StepFailed(f"no acknowledgement of {ticket_id} with a link in {outbox}")
        time.sleep(0.5)


def parser() -> argparse.ArgumentParser:
    env = os.environ.get
    top = argparse.ArgumentParser(prog="smoke", description=__doc__.splitlines()[0])
    top.add_argument("url", help="the portal, e.g. http://127.0.0.1:8000 or https://support.example.com")
    top.add_argument("--email", default=env("SMOKE_EMAIL"), help="an existing customer's e-mail")
    top.add_argument("--password", default=env("SMOKE_PASSWORD"), help="that customer's password")
    top.add_argument("--department", default=env("SMOKE_DEPARTMENT", "support"), help="where the web ticket goes")
    top.add_argument("--smtp", default=env("SMOKE_SMTP"), help="HOST:PORT that mail to the stack goes through")
    top.add_argument("--mail-to", default=env("SMOKE_MAIL_TO"), help="a department address, e.g. support@example.com")
    top.add_argument("--outbox", default=env("SMOKE_OUTBOX"), help="where the stack's sent mail is kept (local)")
    top.add_argument("--wait", type=float, default=float(env("SMOKE_WAIT", "120")),
                     help="seconds a mail may take to become a ticket")
    return top


def run(args: argparse.Namespace) -> None:
    local = _local(args.url)
    email_address, password = args.email, args.password
    if not (email_address and password):
        if not local:
            raise StepFailed("give the customer: --email and --password (or SMOKE_EMAIL, SMOKE_PASSWORD)")
        email_address, password = DEMO_CUSTOMER
    smtp = args.smtp or (f"127.0.0.1:{os.environ.get('SMTP_PORT', '2525')}" if local else None)
    mail_to = args.mail_to or f"support@{os.environ.get('MAIL_DOMAIN', 'example.com')}"
    outbox = args.outbox
    if not outbox and local:  # where `make dev` keeps the mail it sends
        dev_dir = Path(os.environ.get("SUPPORTDESK_DEV_DIR", ".dev"))
        outbox = str(dev_dir / "outbox") if (dev_dir / "stack.json").is_file() else None
    stamp = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {uuid.uuid4().hex[:6]}"

    browser = Browser(args.url, timeout=30)
    try:
        log_in(browser, email_address, password)
        print(f"ok  logged in as {email_address}")
        attachment = upload(browser)
        print(f"ok  uploaded {ATTACHMENT[0]} (presigned POST, checked)")
        subject = f"Smoke test (web) {stamp}"
        ticket_id = open_ticket(browser, args.department, subject, attachment)
        print(f"ok  opened {ticket_id} in {args.department}")
        if in_my_tickets(browser, subject) != ticket_id:
            raise StepFailed(f"My tickets lists {subject!r} under another ID")
        page = browser.get(f"/api/tickets/{ticket_id}")
        if page.status_code != 200 or ATTACHMENT[0] not in page.text:
            raise StepFailed(f"the page of {ticket_id} does not show {ATTACHMENT[0]} ({page.status_code})")
        print(f"ok  My tickets lists {ticket_id}; its page shows {ATTACHMENT[0]}")

        if not smtp:
            print("--  mail round trip skipped: no --smtp (see scripts/smoke.py for what AWS needs)")
            return
        subject = f"Smoke test (mail) {stamp}"
        send_mail(smtp, email_address, mail_to, subject)
        print(f"ok  mailed {mail_to} through {smtp}")
        mailed_id = in_my_tickets(browser, subject, wait=args.wait)
        print(f"ok  My tickets lists the mailed ticket {mailed_id}")
        if outbox:
            link = acknowledgement_link(Path(outbox), mailed_id, wait=args.wait)
            if not link.startswith(browser.base + "/"):
                raise StepFailed(f"the acknowledgement links to {link}, not to {browser.base}")
            print(f"ok  its acknowledgement links to {link}")
    finally:
        browser.close()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        run(args)
    except StepFailed as failure:
        print(f"FAILED  {failure}", file=sys.stderr)
        return 1
    except (httpx.TransportError, OSError) as error:
        print(f"FAILED  {args.url} or the mail server did not answer: {error}", file=sys.stderr)
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
