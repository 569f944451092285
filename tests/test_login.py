"""Login, sessions and password reset against Cognito on moto's server, over HTTP."""

from __future__ import annotations

import email
import json
import re
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from conftest import Person, csrf_token, log_in
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.utilities.utils import load_resource

from supportdesk.auth import ExpiredToken, InvalidToken, TokenVerifier
from supportdesk.config import Settings
from supportdesk.signing import derive_key, sign
from supportdesk_dev.stack import LocalStack

ID, REFRESH, SINCE = "__Host-sd_id", "__Host-sd_refresh", "__Host-sd_since"


def settings(stack: LocalStack) -> Settings:
    return Settings.from_environ(stack.environment)


def verifier(stack: LocalStack) -> TokenVerifier:
    s = settings(stack)
    return TokenVerifier(s.jwks_url, s.token_issuer, s.user_pool_client_id)


def claims(stack: LocalStack, person: Person, **changes: Any) -> dict[str, Any]:
    s = settings(stack)
    now = int(time.time())
    base = {"sub": person.account.id, "email": person.email, "iss": s.token_issuer,
            "aud": s.user_pool_client_id, "token_use": "id", "iat": now, "auth_time": now,
            "exp": now + 3600, "cognito:username": person.email}
    base.update(changes)
    return base


def pools_key() -> Any:
    """The key moto signs every pool's tokens with (what AWS keeps secret)."""
    return jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(load_resource(
        "cognitoidp/resources/jwks-private.json")))


def session_start(stack: LocalStack, person: Person, started_ms: int | None = None) -> str:
    """The session-start cookie the portal sets at login (signed with the stack's secret)."""
    secret = stack.client("secretsmanager").get_secret_value(
        SecretId=stack.environment["SIGNING_SECRET_ARN"])["SecretString"]
    started = time.time_ns() // 1_000_000 if started_ms is None else started_ms
    return sign(derive_key(secret, "session"), f"{person.account.id}:{started}")


def home_with(client: Any, cookies: dict[str, str]) -> Any:
    """GET the home page sending exactly these cookies, as a browser holding them would."""
    client.cookies.clear()
    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return client.get("/api/home", headers={"Cookie": header}, follow_redirects=False)


def genuine_token(stack: LocalStack, cognito: Any, person: Person) -> str:
    result = cognito.initiate_auth(
        ClientId=settings(stack).user_pool_client_id, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": person.email, "PASSWORD": person.password})
    return str(result["AuthenticationResult"]["IdToken"])


def greeting(response: Any) -> str | None:
    match = re.search(r'<h1 id="greeting">([^<]*)</h1>', response.text)
    return match.group(1) if match else None


def test_the_right_password_logs_in_and_the_home_page_greets_by_name(client: Any, customer: Person) -> None:
    response = log_in(client, customer.email, customer.password)
    assert response.status_code == 303
    assert response.headers["location"] == "/api/home"
    cookie_headers = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookie_headers if c.startswith(f"{ID}="))
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in session_cookie
    home = client.get("/api/home")
    assert home.status_code == 200
    assert greeting(home) == "Hola, Ana"


def test_htmx_login_swaps_the_home_page_in_at_once(client: Any, customer: Person) -> None:
    response = log_in(client, customer.email, customer.password, **{"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == "/home.html"
    assert greeting(response) == "Hola, Ana"
    assert "<html" not in response.text  # a fragment, not a page


@pytest.mark.parametrize("language, message", [
    ("es", "El correo o la contraseña no son correctos"),
    ("en", "The e-mail or the password is not right"),
])
def test_a_wrong_password_is_refused_clearly_and_keeps_the_email(
        client: Any, customer: Person, language: str, message: str) -> None:
    client.headers["Accept-Language"] = language
    response = log_in(client, customer.email, "not the password")
    assert response.status_code == 400
    assert message in response.text
    assert f'value="{customer.email}"' in response.text
    assert f"{ID}=" not in response.headers.get("set-cookie", "")
    assert client.get("/api/home", follow_redirects=False).status_code == 303


def test_an_unknown_address_gets_the_same_answer_as_a_wrong_password(client: Any) -> None:
    response = log_in(client, "nobody@example.org", "whatever1")
    assert response.status_code == 400
    assert "El correo o la contraseña no son correctos" in response.text


def test_a_login_without_the_csrf_token_never_reaches_cognito(client: Any, customer: Person) -> None:
    client.get("/api/login")  # the browser has a token cookie, but the form does not send it
    response = client.post("/api/login", data={"email": customer.email, "password": customer.password},
                           follow_redirects=False)
    assert response.status_code == 403
    assert f"{ID}=" not in response.headers.get("set-cookie", "")
    forged = client.post("/api/login", data={"email": customer.email, "password": customer.password,
                                              "csrf_token": "x" * 43}, follow_redirects=False)
    assert forged.status_code == 403


def test_pages_without_a_session_lead_to_the_login(client: Any) -> None:
    plain = client.get("/api/home", follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == "/api/login"
    htmx = client.get("/api/home", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.headers["HX-Redirect"] == "/"


def test_a_genuine_token_verifies_and_opens_the_home_page(
        stack: LocalStack, cognito: Any, client: Any, customer: Person) -> None:
    token = genuine_token(stack, cognito, customer)
    identity = verifier(stack).verify(token)
    assert identity.account_id == customer.account.id
    assert identity.email == customer.email
    assert greeting(home_with(client, {ID: token, SINCE: session_start(stack, customer)})) == "Hola, Ana"
    # A genuine token alone is no session: the portal began none for it.
    assert home_with(client, {ID: token}).status_code == 303


def test_a_forged_token_is_refused(stack: LocalStack, client: Any, customer: Person) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims(stack, customer), stranger, algorithm="RS256", headers={"kid": "dummy"})
    with pytest.raises(InvalidToken):
        verifier(stack).verify(forged)
    unsigned = jwt.encode(claims(stack, customer), key=None, algorithm="none")
    with pytest.raises(InvalidToken):
        verifier(stack).verify(unsigned)
    refused = home_with(client, {ID: forged, SINCE: session_start(stack, customer)})
    assert refused.status_code == 303
    assert any(c.startswith((f"{ID}=;", f'{ID}="";')) for c in refused.headers.get_list("set-cookie"))


def test_an_expired_token_is_refused(stack: LocalStack, client: Any, customer: Person) -> None:
    past = int(time.time()) - 7200
    expired = jwt.encode(claims(stack, customer, iat=past, auth_time=past, exp=past + 3600),
                         pools_key(), algorithm="RS256", headers={"kid": "dummy"})
    with pytest.raises(ExpiredToken):
        verifier(stack).verify(expired)
    assert home_with(client, {ID: expired, SINCE: session_start(stack, customer)}).status_code == 303


def test_an_expired_token_is_renewed_with_the_refresh_token(client: Any, customer: Person, stack: LocalStack) -> None:
    log_in(client, customer.email, customer.password)
    past = int(time.time()) - 7200
    expired = jwt.encode(claims(stack, customer, iat=past, auth_time=past, exp=past + 3600),
                         pools_key(), algorithm="RS256", headers={"kid": "dummy"})
    home = home_with(client, {ID: expired, REFRESH: client.cookies[REFRESH], SINCE: client.cookies[SINCE]})
    assert greeting(home) == "Hola, Ana"
    renewed = next(c for c in home.headers.get_list("set-cookie") if c.startswith(f"{ID}="))
    assert expired not in renewed


@pytest.mark.parametrize("change", [
    {"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_otherpool"},
    {"aud": "another-app-client"},
    {"token_use": "access"},
])
def test_a_token_of_another_pool_client_or_use_is_refused(stack: LocalStack, customer: Person,
                                                          change: dict[str, str]) -> None:
    # moto signs every pool with the same key, so only the claims tell pools apart:
    # exactly what the verifier must check.
    token = jwt.encode(claims(stack, customer, **change), pools_key(), algorithm="RS256",
                       headers={"kid": "dummy"})
    with pytest.raises(InvalidToken):
        verifier(stack).verify(token)


def test_a_real_token_from_another_user_pool_is_refused(stack: LocalStack, cognito: Any,
                                                        client: Any, customer: Person) -> None:
    pool = cognito.create_user_pool(PoolName="someone-elses")["UserPool"]["Id"]
    app_client = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="theirs", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])
    client_id = app_client["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool, Username="mallory@example.org", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username="mallory@example.org",
                                    Password="Mallory-pass1!", Permanent=True)
    token = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
        "USERNAME": "mallory@example.org", "PASSWORD": "Mallory-pass1!"})["AuthenticationResult"]["IdToken"]
    with pytest.raises(InvalidToken):
        verifier(stack).verify(token)
    assert home_with(client, {ID: token, SINCE: session_start(stack, customer)}).status_code == 303


def test_logout_ends_the_session(client: Any, customer: Person) -> None:
    log_in(client, customer.email, customer.password)
    token = csrf_token(client, "/api/home")
    response = client.post("/api/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    cleared = [c for c in response.headers.get_list("set-cookie") if c.startswith((ID, REFRESH, SINCE))]
    assert len(cleared) == 3 and all("Max-Age=0" in c for c in cleared)
    assert client.get("/api/home", follow_redirects=False).status_code == 303


def latest_code(outbox: Path, address: str) -> str:
    for path in sorted(outbox.glob("*.eml"), reverse=True):
        message = email.message_from_bytes(path.read_bytes())
        if message["To"] == address:
            match = re.search(r"code is (\S+)", message.get_payload())
            assert match
            return match.group(1)
    raise AssertionError(f"no code was mailed to {address}")


def test_password_reset_with_the_mailed_code(client: Any, customer: Person, stack: LocalStack) -> None:
    token = csrf_token(client, "/api/password/forgot")
    sent = client.post("/api/password/forgot", data={"email": customer.email, "csrf_token": token})
    assert sent.status_code == 200 and 'name="code"' in sent.text
    assert stack.outbox is not None
    code = latest_code(stack.outbox, customer.email)

    wrong = client.post("/api/password/reset", data={
        "email": customer.email, "code": "moto-confirmation-code:000000", "password": "brand new pw",
        "csrf_token": token})
    assert wrong.status_code == 400 and "Ese código no es válido" in wrong.text
    short = client.post("/api/password/reset", data={
        "email": customer.email, "code": code, "password": "short", "csrf_token": token})
    assert short.status_code == 400 and "al menos 8 caracteres" in short.text
    assert 'value="' + code + '"' in short.text  # the code typed is kept

    done = client.post("/api/password/reset", data={
        "email": customer.email, "code": code, "password": "brand new pw", "csrf_token": token},
        follow_redirects=False)
    assert done.status_code == 303
    assert log_in(client, customer.email, customer.password).status_code == 400
    assert log_in(client, customer.email, "brand new pw").status_code == 303


def test_asking_a_reset_for_an_unknown_address_reveals_nothing(client: Any) -> None:
    token = csrf_token(client, "/api/password/forgot")
    response = client.post("/api/password/forgot", data={"email": "nobody@example.org", "csrf_token": token})
    assert response.status_code == 200 and 'name="code"' in response.text
