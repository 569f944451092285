"""The Lambda entry point: an HTTP API (payload 2.0) event in, a response out, as in AWS."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import Person

from supportdesk_dev.events import LambdaContext as Context
from supportdesk_dev.events import http_api_event

REPO = Path(__file__).resolve().parents[1]


def _cookies(response: dict[str, Any]) -> list[str]:
    return [c.split(";")[0] for c in response.get("cookies", [])]


def _log_in(handler: Any, customer: Person, origin_secret: str | None) -> list[str]:
    """A login as a browser makes it through CloudFront; the cookies it ends with."""
    form = handler(http_api_event("GET", "/api/login", origin_secret=origin_secret), Context())
    assert form["statusCode"] == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', form["body"]).group(1)  # type: ignore[union-attr]
    body = f"email={customer.email}&password={customer.password.replace(' ', '+')}&csrf_token={token}"
    login = handler(http_api_event(
        "POST", "/api/login", cookies=_cookies(form), origin_secret=origin_secret,
        headers={"content-type": "application/x-www-form-urlencoded"}, body=body), Context())
    assert login["statusCode"] == 303
    session = next(c for c in login["cookies"] if c.startswith("__Host-sd_id="))
    assert "Secure" in session and "HttpOnly" in session
    return _cookies(login)


def test_a_login_through_the_lambda_handler(stack: Any, customer: Person, origin_secret: str | None) -> None:
    from portal.app import handler

    cookies = _log_in(handler, customer, origin_secret)
    home = handler(http_api_event("GET", "/api/home", cookies=cookies, origin_secret=origin_secret), Context())
    assert home["statusCode"] == 200 and "Hola, Ana" in home["body"]


def test_an_error_in_the_lambda_is_logged_as_json_and_answered_kindly(
        stack: Any, customer: Person, capsys: Any, monkeypatch: Any, origin_secret: str | None) -> None:
    import sys

    from portal import errors, session
    from portal.app import handler

    # The JSON handler holds the stdout of the test that first imported it; read this one's.
    monkeypatch.setattr(errors.logger.registered_handler, "stream", sys.stdout)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("table unreachable")

    cookies = _log_in(handler, customer, origin_secret)
    monkeypatch.setattr(session, "get_account", broken)
    home = handler(http_api_event("GET", "/api/home", cookies=cookies, origin_secret=origin_secret), Context())
    assert home["statusCode"] == 500
    assert "Algo falló de nuestro lado" in home["body"] and "table unreachable" not in home["body"]
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    error = next(r for r in records if r.get("message") == "unhandled error")
    assert error["level"] == "ERROR" and error["path"] == "/api/home"
    assert error["function_request_id"] == "request-id"
    assert "table unreachable" in error["exception"]


def test_the_built_function_finds_its_templates(tmp_path: Path) -> None:
    """`sam build` runs `make build-WebFunction`; the bundle must render pages on its own."""
    from supportdesk_dev.artifacts import build, host_settings

    tmp_path = tmp_path / "function"
    build("build-WebFunction", tmp_path, **host_settings())
    assert (tmp_path / "portal" / "app.py").exists()
    probe = ("from portal.rendering import TEMPLATES, environment; print(TEMPLATES); "
             "environment('es').get_template('login.html')")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO / 'shared'}"}
    found = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env,
                           check=True, capture_output=True, text=True).stdout.strip()
    assert Path(found) == tmp_path / "portal" / "templates"
