"""`make dev` as a newcomer uses it: start, log in, add a customer with the CLI, restart."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from conftest import free_port

BIN = Path(sys.executable).parent


class DevServer:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.port = free_port()
        self.smtp_port = free_port()
        self.env = {**os.environ, "SUPPORTDESK_DEV_DIR": str(state), "PORT": str(self.port),
                    "MOTO_PORT": str(free_port()), "SMTP_PORT": str(self.smtp_port)}
        for name in ("AWS_ENDPOINT_URL", "TABLE_NAME", "USER_POOL_ID", "USER_POOL_CLIENT_ID"):
            self.env.pop(name, None)  # nothing of the test session's own stack leaks in
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "supportdesk_dev.devserver"], env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.process.stdout is not None
        banner = []
        deadline = time.monotonic() + 60
        for line in self.process.stdout:
            banner.append(line)
            if "Ctrl-C stops everything" in line:
                break
            if time.monotonic() > deadline:
                break
        for _ in range(100):  # the banner comes just before uvicorn binds the port
            try:
                httpx.get(self.url + "/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        return "".join(banner)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            return self.process.wait(timeout=20)
        finally:
            if self.process.stdout:
                self.process.stdout.close()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "supportdesk"), *args], env=self.env,
                              capture_output=True, text=True, timeout=60)


def logged_in_cookies(http: httpx.Client, email: str, password: str) -> str | None:
    """Log in over real HTTP as a browser would; the Cookie header the session then sends
    (carried by hand: the cookies are Secure and __Host-, and this is http://127.0.0.1)."""
    form = http.get("/api/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    jar = dict(form.cookies)
    login = http.post("/api/login", data={"email": email, "password": password, "csrf_token": token.group(1)},
                      headers={"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())})
    if login.status_code != 303:
        return None
    jar.update(login.cookies)
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def greeting_after_login(base: str, email: str, password: str) -> str | None:
    with httpx.Client(base_url=base, follow_redirects=False) as http:
        cookies = logged_in_cookies(http, email, password)
        if cookies is None:
            return None
        home = http.get("/api/home", headers={"Cookie": cookies})
        match = re.search(r'<h1 id="greeting">([^<]*)</h1>', home.text)
        return match.group(1) if match else None


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevServer]:
    server = DevServer(tmp_path / ".dev")
    yield server
    if server.process and server.process.poll() is None:
        server.process.kill()
        server.process.wait()
    if server.process and server.process.stdout:
        server.process.stdout.close()


def test_make_dev_runs_the_system_and_keeps_it_across_restarts(dev: DevServer) -> None:
    banner = dev.start()
    assert f"http://127.0.0.1:{dev.port}" in banner
    assert "cliente@example.com / demo-cliente" in banner
    assert greeting_after_login(dev.url, "cliente@example.com", "demo-cliente") == "Hola, Ana"
    site = httpx.get(dev.url + "/")
    assert site.status_code == 200 and 'hx-get="/api/login"' in site.text

    added = dev.cli("customer", "add", "Nuevo@Example.org", "--name", "Nuevo Cliente",
                    "--password", "nuevo-pass-1", "--service", "Dominio nuevo.es")
    assert added.returncode == 0, added.stderr
    assert "They can log in now" in added.stdout
    assert greeting_after_login(dev.url, "nuevo@example.org", "nuevo-pass-1") == "Hola, Nuevo"
    again = dev.cli("customer", "add", "nuevo@example.org", "--name", "X", "--password", "whatever-1")
    assert again.returncode == 1 and "exists already" in again.stderr

    agent = dev.cli("agent", "add", "soporte@example.org", "--name", "Agente Uno", "--password", "agente-pass-1")
    assert agent.returncode == 0, agent.stderr
    departments = dev.cli("department", "list")
    assert departments.returncode == 0
    for slug, address in (("support", "support@example.com"), ("billing", "billing@example.com"),
                          ("sales", "sales@example.com")):
        assert re.search(rf"^{slug}\s.*{address}", departments.stdout, re.M)

    pool_before = json.loads((dev.state / "stack.json").read_text())["USER_POOL_ID"]
    assert dev.stop() == 0
    assert not (dev.state / "stack.json").exists()
    stopped = dev.cli("department", "list")
    assert stopped.returncode != 0 and "make dev" in stopped.stderr

    dev.start()
    assert json.loads((dev.state / "stack.json").read_text())["USER_POOL_ID"] == pool_before
    assert greeting_after_login(dev.url, "nuevo@example.org", "nuevo-pass-1") == "Hola, Nuevo"
    assert greeting_after_login(dev.url, "cliente@example.com", "demo-cliente") == "Hola, Ana"
    assert greeting_after_login(dev.url, "nuevo@example.org", "wrong-password") is None
    assert dev.stop() == 0


def test_a_mail_to_make_devs_smtp_port_opens_a_ticket_seen_in_the_portal(dev: DevServer) -> None:
    import smtplib
    from email.message import EmailMessage

    banner = dev.start()
    assert f"smtp://127.0.0.1:{dev.smtp_port}" in banner
    message = EmailMessage()
    message["From"] = "Ana Demo <cliente@example.com>"
    message["To"] = "support@example.com"
    message["Subject"] = "Correo entrante: la copia de seguridad falló"
    message["Message-ID"] = "<e2e-smtp-1@example.com>"
    message.set_content("La copia de seguridad de anoche falló con 'disk quota exceeded'.")
    with smtplib.SMTP("127.0.0.1", dev.smtp_port, timeout=30) as smtp:
        smtp.send_message(message)
        with pytest.raises(smtplib.SMTPRecipientsRefused):  # no receipt rule for this address
            smtp.sendmail("x@example.org", ["nadie@example.com"], b"Subject: x\r\n\r\nx")
    assert greeting_after_login(dev.url, "cliente@example.com", "demo-cliente") == "Hola, Ana"
    with httpx.Client(base_url=dev.url, follow_redirects=False) as http:
        cookies = logged_in_cookies(http, "cliente@example.com", "demo-cliente")
        assert cookies
        listed = http.get("/api/tickets", headers={"Cookie": cookies}).text
    assert "Correo entrante: la copia de seguridad falló" in listed
    ticket_id = re.search(r'class="ticket-id">([A-Z]{3}-\d{6})<', listed).group(1)  # type: ignore[union-attr]
    # The notifier sends it from the table's stream, a moment after the ticket is stored.
    deadline = time.monotonic() + 10
    while True:
        acks = [p.read_text(errors="replace") for p in (dev.state / "outbox").glob("*.eml")]
        if any(f"[#{ticket_id}]" in text and "cliente@example.com" in text for text in acks):
            break
        assert time.monotonic() < deadline, "no acknowledgement in the outbox"
        time.sleep(0.1)
    assert dev.stop() == 0
