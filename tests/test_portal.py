"""The web app's behaviour as HTTP: two renderings, languages, errors that never leak."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import Person, browser_client, csrf_token, log_in

REPO = Path(__file__).resolve().parents[1]


def test_htmx_gets_a_fragment_and_a_browser_gets_the_page(client: Any) -> None:
    page = client.get("/api/login")
    fragment = client.get("/api/login", headers={"HX-Request": "true"})
    assert page.text.startswith("<!doctype html>")
    assert "<html" not in fragment.text
    assert '<label for="email">' in fragment.text
    for response in (page, fragment):
        assert "HX-Request" in response.headers["Vary"]
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("headers, params, expected", [
    ({"Accept-Language": "es-ES,es;q=0.9"}, {}, "Ingrese a su cuenta de cliente"),
    ({"Accept-Language": "en-GB,en;q=0.9"}, {}, "Log in to your client account"),
    ({"Accept-Language": "en-GB"}, {"lang": "es"}, "Ingrese a su cuenta de cliente"),
    ({"Accept-Language": "es"}, {"lang": "en"}, "Log in to your client account"),
    ({}, {}, "Ingrese a su cuenta de cliente"),
])
def test_the_language_comes_from_lang_then_accept_language(
        client: Any, headers: dict[str, str], params: dict[str, str], expected: str) -> None:
    response = client.get("/api/login", headers=headers, params=params)
    assert expected in response.text
    assert response.headers["Content-Language"] == ("es" if "Ingrese" in expected else "en")


def test_the_switchers_choice_is_remembered(client: Any) -> None:
    chosen = client.get("/api/login", params={"lang": "en"}, headers={"Accept-Language": "es"})
    assert any(c.startswith("__Host-sd_lang=en") for c in chosen.headers.get_list("set-cookie"))
    later = client.get("/api/login", headers={"Accept-Language": "es"})
    assert "Log in to your client account" in later.text


def test_the_switcher_links_keep_the_address_the_user_sees(client: Any) -> None:
    response = client.get("/api/login", headers={
        "HX-Request": "true", "HX-Current-URL": "https://evil.example/?reset=done&lang=es"})
    links = dict(re.findall(r'<a href="([^"]+)" hreflang="(\w+)"', response.text))
    assert links == {"/?reset=done&amp;lang=es": "es", "/?reset=done&amp;lang=en": "en"}


def test_an_unknown_page_is_a_localized_404(client: Any) -> None:
    response = client.get("/api/no-such-page", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "We could not find that page." in response.text
    spanish = client.get("/api/no-such-page", headers={"HX-Request": "true"})
    assert "No encontramos esa página." in spanish.text
    assert spanish.headers["HX-Retarget"] == "#notice"


def test_a_wrong_method_is_a_localized_405(client: Any) -> None:
    response = client.put("/api/home", headers={"Accept-Language": "en",
                                                 "X-CSRF-Token": csrf_token(client)})
    assert response.status_code == 405
    assert "That action is not possible here." in response.text


def test_a_failure_on_our_side_shows_a_kind_page_and_no_trace(
        client: Any, app: Any, customer: Person, monkeypatch: pytest.MonkeyPatch) -> None:
    from portal import session

    log_in(client, customer.email, customer.password)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internals: table xyz unreachable")

    monkeypatch.setattr(session, "get_account", broken)

    with browser_client(app, raise_server_exceptions=False,
                    cookies=client.cookies) as quiet:
        response = quiet.get("/api/home", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert "Something went wrong on our side. Nothing you typed was lost" in response.text
    for leak in ("Traceback", "RuntimeError", "secret internals", "File \""):
        assert leak not in response.text


def test_an_oversized_form_is_refused_before_any_handler(client: Any) -> None:
    client.get("/api/login")
    response = client.post("/api/login", content=b"email=" + b"a" * (300 * 1024),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413


def test_the_static_pages_are_current_with_their_shell() -> None:
    """site/ pages and the server's whole pages share one <head>; `make site` rewrites them."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(REPO / "scripts/build_site.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
