"""Attacks on the portal through its real path (HTTP into the web function's app, as
CloudFront hands requests over, or a browser against the served site). Each asserts that
the attack fails and that nothing was written or sent."""

from __future__ import annotations

import email
import email.policy
import json
import re
import uuid
from typing import Any

import httpx2 as httpx
import pytest
from conftest import Person, browser_client, csrf_token, log_in, mails_to, tickets_of

from supportdesk.store import Table
from supportdesk.tickets import get_ticket
from supportdesk_dev.events import LambdaContext, http_api_event
from supportdesk_dev.stack import LocalStack

TICKET_ID = re.compile(r"[A-Z]{3}-\d{6}")



def guest_ticket(client: Any, address: str, **fields: str) -> Any:
    data = {"department": "sales", "name": "Soporte Oficial", "email": address, "service": "",
            "subject": "Su cuenta será suspendida: pague aquí https://evil.example/pay",
            "message": "Entre en https://evil.example/login con su contraseña.",
            "csrf_token": csrf_token(client, "/api/departments"), **fields}
    return client.post("/api/tickets", data=data, follow_redirects=False)


def mailed_text(message: email.message.EmailMessage) -> str:
    body = message.get_body(("plain",)) if message.is_multipart() else message
    assert body is not None
    return f"{message}\n{body.get_content()}"


# --- 3. guest tickets as a phishing relay ------------------------------------------------------

def test_a_guest_ticket_mails_only_our_own_words_to_an_unproven_address(app: Any, stack: LocalStack) -> None:
    victim = f"victima-{uuid.uuid4().hex[:8]}@example.net"
    attacker = browser_client(app)
    response = attacker.post(
        "/api/tickets", follow_redirects=False,
        headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
        data={"department": "sales", "name": "Soporte Oficial\r\nBcc: otro@example.net", "email": victim,
              "service": "", "subject": "Su cuenta será suspendida: pague en https://evil.example/pay",
              "message": "Entre en https://evil.example/login con su contraseña.",
              "csrf_token": csrf_token(attacker, "/api/departments")})
    assert response.status_code == 303
    ticket_id = TICKET_ID.search(response.headers["location"]).group(0)  # type: ignore[union-attr]
    assert "key=" not in response.headers["location"]  # the page does not hand out the key

    (mail,) = mails_to(stack, victim)
    text = mailed_text(mail)
    for planted in ("evil.example", "Soporte Oficial", "suspendida", "contraseña", "Bcc", "otro@example.net"):
        assert planted not in text
    assert str(mail["To"]) == victim
    link = re.search(r"(\S+)/ticket\.html\?id=" + ticket_id, text)
    assert link and link.group(1) == stack.environment["PUBLIC_URL"]
    stored = get_ticket(Table(stack.client("dynamodb"), stack.environment["TABLE_NAME"]), ticket_id)
    assert stored is not None and not stored.confirmed
    assert stored.requester.name == "Soporte Oficial Bcc: otro@example.net"  # one line: the mail went out


def test_links_in_mail_never_take_their_host_from_the_request(customer: Person, stack: LocalStack,
                                                              app: Any) -> None:
    client = browser_client(app)
    log_in(client, customer.email, customer.password)
    response = client.post("/api/tickets", follow_redirects=False,
                           headers={"X-Forwarded-Host": "evil.example", "Host": "evil.example"},
                           data={"department": "support", "subject": "Host forjado", "priority": "normal",
                                 "message": "El enlace del correo no debe apuntar a otro sitio.",
                                 "csrf_token": csrf_token(client, "/api/departments")})
    assert response.status_code == 303
    (mail,) = mails_to(stack, customer.email)
    assert "evil.example" not in mailed_text(mail)
    assert stack.environment["PUBLIC_URL"] + "/ticket.html?id=" in mailed_text(mail)


# --- the API answers only through CloudFront -----------------------------------------------------

def test_the_api_refuses_requests_that_bypass_cloudfront(stack: LocalStack, table: Table,
                                                         origin_secret: str | None) -> None:
    from portal.app import handler

    assert origin_secret, "the local stack has an origin secret, as the deployed one does"
    address = f"bypass-{uuid.uuid4().hex[:8]}@example.net"
    body = f"department=sales&name=X&email={address}&subject=s&message=m&csrf_token=x"
    for secret in (None, "a-guess", origin_secret[:-1] + "x"):
        for method, path in (("GET", "/api/login"), ("POST", "/api/tickets"), ("POST", "/api/preview")):
            response = handler(http_api_event(method, path, origin_secret=secret, body=body,
                                              headers={"content-type": "application/x-www-form-urlencoded"}),
                               LambdaContext())
            assert response["statusCode"] == 403, (secret, path)
    assert mails_to(stack, address) == []
    assert handler(http_api_event("GET", "/api/login", origin_secret=origin_secret),
                   LambdaContext())["statusCode"] == 200


# --- 5. limits per client ------------------------------------------------------------------------

def test_one_client_cannot_open_guest_tickets_to_many_addresses(app: Any, stack: LocalStack) -> None:
    client = browser_client(app)
    addresses = [f"many-{n}-{uuid.uuid4().hex[:6]}@example.net" for n in range(14)]
    statuses = [guest_ticket(client, address, subject=f"Consulta {n}").status_code
                for n, address in enumerate(addresses)]
    assert statuses == [303] * 10 + [429] * 4
    assert [len(mails_to(stack, a)) for a in addresses] == [1] * 10 + [0] * 4
    # Another client is not held back by this one.
    assert guest_ticket(browser_client(app), f"other-{uuid.uuid4().hex[:6]}@example.net").status_code == 303


def test_anonymous_upload_slots_are_limited_per_client(app: Any) -> None:
    client = browser_client(app)
    token = csrf_token(client, "/api/departments")
    statuses = [client.post("/api/uploads", headers={"X-CSRF-Token": token},
                            data={"filename": f"f{n}.pdf", "size": str(10 * 1024 * 1024),
                                  "content_type": "application/pdf"}).status_code for n in range(32)]
    assert statuses == [200] * 30 + [429] * 2
    refused = client.post("/api/uploads", headers={"X-CSRF-Token": token, "Accept-Language": "en"},
                          data={"filename": "x.pdf", "size": "10", "content_type": "application/pdf"})
    assert refused.status_code == 429 and "Too many requests" in refused.json()["error"]


def test_login_attempts_are_limited_per_client(app: Any, customer: Person) -> None:
    client = browser_client(app)
    statuses = [log_in(client, f"guess{n}@example.net", "wrong password").status_code for n in range(31)]
    assert statuses == [400] * 30 + [429]
    # Within the window even the right password from this client waits...
    assert log_in(client, customer.email, customer.password).status_code == 429
    # ...and the customer elsewhere is not locked out by it.
    assert log_in(browser_client(app), customer.email, customer.password).status_code == 303


def test_password_reset_mails_are_limited_per_client_and_address(app: Any, stack: LocalStack,
                                                                 customer: Person) -> None:
    client = browser_client(app)
    token = csrf_token(client, "/api/password/forgot")
    asked = [client.post("/api/password/forgot", data={"email": customer.email, "csrf_token": token}).status_code
             for _ in range(6)]
    assert asked == [200] * 5 + [429]
    others = [client.post("/api/password/forgot", data={"email": f"r{n}@example.net", "csrf_token": token}
                          ).status_code for n in range(6)]
    assert others == [200] * 5 + [429]  # 10 per client in all (a refused attempt counts nowhere)


def test_preview_is_bounded_in_size_and_per_client(app: Any) -> None:
    client = browser_client(app)
    token = csrf_token(client, "/api/departments")
    huge = client.post("/api/preview", data={"message": "[" * (65 * 1024)},
                       headers={"X-CSRF-Token": token, "Accept-Language": "en"})
    assert huge.status_code == 413 and "longer than 64 KB" in huge.text
    body = client.post("/api/preview", content=b"message=" + b"x" * (300 * 1024),
                       headers={"X-CSRF-Token": token, "Content-Type": "application/x-www-form-urlencoded"})
    assert body.status_code == 413
    statuses = [client.post("/api/preview", data={"message": "**hola**"},
                            headers={"X-CSRF-Token": token}).status_code for _ in range(121)]
    assert statuses[:119] == [200] * 119 and statuses[-1] == 429


# --- 6. headers, cookies, CSRF, sessions, names ------------------------------------------------

def test_every_response_carries_the_security_headers(client: Any, live_server: str) -> None:
    for response in (client.get("/api/login"), client.get("/api/nothing-here"),
                     httpx.get(live_server + "/"), httpx.get(live_server + "/static/app.js")):
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["strict-transport-security"].startswith("max-age=")


def test_cookies_are_host_only_secure_and_whole_site(client: Any, customer: Person) -> None:
    response = log_in(client, customer.email, customer.password)
    cookies = response.headers.get_list("set-cookie") + client.get("/api/login").headers.get_list("set-cookie")
    assert cookies
    for cookie in cookies:
        assert cookie.startswith("__Host-"), cookie
        assert "Secure" in cookie and "Path=/;" in cookie + ";" and "Domain" not in cookie


def test_a_csrf_token_from_another_browser_or_made_up_is_refused(app: Any, stack: LocalStack) -> None:
    victim, attacker = browser_client(app), browser_client(app)
    theirs = csrf_token(attacker, "/api/departments")
    csrf_token(victim, "/api/departments")  # the victim's browser has its own cookie
    address = f"csrf-{uuid.uuid4().hex[:8]}@example.net"
    stolen = guest_ticket(victim, address, csrf_token=theirs)
    assert stolen.status_code == 403
    # A value the client chose, in the cookie and in the form alike (cookie tossing).
    chosen = "a" * 43
    made_up = browser_client(app).post("/api/tickets", headers={"Cookie": f"__Host-sd_csrf={chosen}"}, data={
        "department": "sales", "name": "X", "email": address, "subject": "s", "message": "m", "csrf_token": chosen})
    assert made_up.status_code == 403
    assert mails_to(stack, address) == []


def test_a_planted_csrf_cookie_with_its_known_token_is_useless_against_a_signed_in_victim(
        app: Any, customer: Person, table: Table) -> None:
    attacker = browser_client(app)
    known_token = csrf_token(attacker, "/api/departments")  # genuine, for the attacker's own cookie
    planted = attacker.cookies["__Host-sd_csrf"]
    victim = browser_client(app)
    log_in(victim, customer.email, customer.password)
    before = len(tickets_of(table, customer.account.id))
    cookies = {**dict(victim.cookies.items()), "__Host-sd_csrf": planted}
    victim.cookies.clear()
    forged = victim.post("/api/tickets", follow_redirects=False,
                         headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
                         data={"department": "support", "subject": "Borren mi cuenta", "priority": "normal",
                               "message": "Escrito por otro.", "csrf_token": known_token})
    assert forged.status_code == 403
    assert len(tickets_of(table, customer.account.id)) == before


def test_after_a_password_reset_every_other_browser_is_out_at_once(
        app: Any, customer: Person, stack: LocalStack, table: Table) -> None:
    old = browser_client(app)
    log_in(old, customer.email, customer.password)
    token = csrf_token(old, "/api/departments")
    opened = old.post("/api/tickets", follow_redirects=False, data={
        "department": "support", "subject": "Antes del cambio", "priority": "normal",
        "message": "Escrito con la sesión vieja.", "csrf_token": token})
    ticket_id = TICKET_ID.search(opened.headers["location"]).group(0)  # type: ignore[union-attr]
    assert old.get("/api/home").status_code == 200

    resetter = browser_client(app)
    reset_token = csrf_token(resetter, "/api/password/forgot")
    resetter.post("/api/password/forgot", data={"email": customer.email, "csrf_token": reset_token})
    code = next(re.search(r"code is (\S+)", m.get_content()).group(1)  # type: ignore[union-attr]
                for m in reversed(mails_to(stack, customer.email)) if "code is" in m.get_content())
    done = resetter.post("/api/password/reset", follow_redirects=False, data={
        "email": customer.email, "code": code, "password": "otra clave nueva", "csrf_token": reset_token})
    assert done.status_code == 303

    session = "; ".join(f"{name}={value}" for name, value in old.cookies.items())

    def as_before(method: str, path: str, **data: str) -> Any:
        """A request from the old browser, with the cookies it held before the reset."""
        old.cookies.clear()
        return old.request(method, path, headers={"Cookie": session}, follow_redirects=False,
                           data={**data, "csrf_token": token} if method == "POST" else None)

    written = as_before("POST", f"/api/tickets/{ticket_id}/replies", message="Escrito después del cambio.")
    assert written.status_code == 303 and written.headers["location"] == "/api/login"
    closed = as_before("POST", f"/api/tickets/{ticket_id}/close", sure="yes")
    assert closed.status_code == 303 and closed.headers["location"] == "/api/login"
    stored = get_ticket(table, ticket_id)
    assert stored is not None and stored.message_count == 1 and not stored.is_closed
    assert as_before("GET", "/api/home").status_code == 303  # to the login
    assert as_before("GET", f"/api/tickets/{ticket_id}").status_code == 404
    assert as_before("GET", "/api/tickets").status_code == 303

    fresh = browser_client(app)
    assert log_in(fresh, customer.email, "otra clave nueva").status_code == 303
    assert fresh.get("/api/home").status_code == 200


def test_names_shown_come_from_our_profile_not_from_the_token(app: Any, make_customer: Any,
                                                               stack: LocalStack, cognito: Any) -> None:
    person = make_customer(name="Ana Pérez")
    client_id = stack.environment["USER_POOL_CLIENT_ID"]
    access = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
        "USERNAME": person.email, "PASSWORD": person.password})["AuthenticationResult"]["AccessToken"]
    try:  # through the public client, as any customer could try
        cognito.update_user_attributes(AccessToken=access, UserAttributes=[{"Name": "name",
                                                                            "Value": "Equipo de Soporte"}])
    except cognito.exceptions.ClientError:
        pass  # refused by WriteAttributes, as in AWS: then nothing to show anyway
    client = browser_client(app)
    log_in(client, person.email, person.password)
    token = csrf_token(client, "/api/departments")
    opened = client.post("/api/tickets", follow_redirects=False, data={
        "department": "support", "subject": "Nombre", "priority": "normal", "message": "Primero.",
        "csrf_token": token})
    ticket_id = TICKET_ID.search(opened.headers["location"]).group(0)  # type: ignore[union-attr]
    page = client.post(f"/api/tickets/{ticket_id}/replies", data={"message": "Segundo.", "csrf_token": token})
    assert "Equipo de Soporte" not in page.text
    assert page.text.count("Ana Pérez") >= 3  # header, and the author of both messages


def test_a_file_name_planted_in_an_upload_key_is_refused(app: Any, customer: Person, stack: LocalStack) -> None:
    """Only keys as presign_upload makes them (a clean name) are checked, let alone linked."""
    client = browser_client(app)
    log_in(client, customer.email, customer.password)
    token = csrf_token(client, "/api/departments")
    slot = client.post("/api/uploads", headers={"X-CSRF-Token": token},
                       data={"filename": "ok.txt", "size": "5", "content_type": "text/plain"}).json()
    for planted in (slot["key"].rsplit("/", 1)[0] + "/\u202etxt.exe\u0007.txt",
                    slot["key"].rsplit("/", 2)[0] + "/not-an-upload-id/ok.txt",
                    slot["key"].rsplit("/", 1)[0] + "/more/ok.txt"):
        stack.client("s3").put_object(Bucket=stack.environment["ATTACHMENTS_BUCKET"], Key=planted, Body=b"hola!")
        checked = client.post("/api/uploads/checked", headers={"X-CSRF-Token": token}, data={"key": planted})
        assert checked.status_code == 400, planted
        assert "\u202e" not in checked.text and "\u0007" not in checked.text
        named = json.dumps({"key": planted, "size": 5, "type": "text/plain"})
        opened = client.post("/api/tickets", follow_redirects=False, data={
            "department": "support", "subject": "Nombre plantado", "priority": "normal", "message": "Adjunto.",
            "attachment": named, "csrf_token": token})
        assert opened.status_code == 400, planted


@pytest.mark.browser
def test_the_portal_runs_under_its_content_security_policy(live_server: str, page_in: Any,
                                                           customer: Person) -> None:
    page = page_in("es-ES")
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(live_server + "/")
    page.get_by_label("Correo electrónico").fill(customer.email)
    page.get_by_label("Contraseña").fill(customer.password)
    page.get_by_role("button", name="Ingresar").click()
    page.locator("#greeting").wait_for()
    page.goto(live_server + "/new.html?department=support")
    page.get_by_label("Mensaje").fill("**negrita**")
    page.get_by_role("button", name="Previsualizar").click()
    page.locator("#preview strong", has_text="negrita").wait_for()
    assert violations == []
    # And what the policy is for: an inline script does not run in our pages.
    ran = page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.__ran = true'; document.body.appendChild(s); return window.__ran === true; }""")
    assert ran is False
