"""A customer logs in with Debian's Chromium, as the seed article's first step asks."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import Person

pytestmark = pytest.mark.browser


def test_a_customer_logs_in_in_spanish_and_is_greeted_by_name(
        live_server: str, page_in: Any, customer: Person) -> None:
    page = page_in("es-ES")
    page.goto(live_server + "/")
    page.get_by_label("Correo electrónico").fill(customer.email)
    page.get_by_label("Contraseña").fill("no es la contraseña")
    page.get_by_role("button", name="Ingresar").click()
    error = page.get_by_role("alert").filter(has_text="no son correctos")
    error.wait_for()
    assert page.get_by_label("Correo electrónico").input_value() == customer.email

    page.get_by_label("Contraseña").fill(customer.password)
    page.get_by_role("button", name="Ingresar").click()
    page.locator("#greeting").wait_for()
    assert page.locator("#greeting").inner_text() == "Hola, Ana"
    assert page.url == live_server + "/home.html"
    assert page.get_by_text("Hosting Pro — ana.es").is_visible()

    page.reload()  # the session survives a reload
    page.locator("#greeting").wait_for()

    page.get_by_role("link", name="English").click()
    page.get_by_role("heading", name="Hello, Ana").wait_for()
    assert page.evaluate("document.documentElement.lang") == "en"

    page.get_by_role("button", name="Log out").click()
    page.get_by_label("E-mail").wait_for()
    page.goto(live_server + "/home.html")  # logged out means logged out
    page.get_by_label("E-mail").wait_for()
    assert page.url == live_server + "/"


def test_an_english_browser_gets_the_english_portal(live_server: str, page_in: Any,
                                                   customer: Person) -> None:
    page = page_in("en-US")
    page.goto(live_server + "/")
    page.get_by_role("heading", name="Log in to your client account").wait_for()
    page.get_by_label("E-mail").fill(customer.email)
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("alert").filter(has_text="The e-mail or the password is not right").wait_for()
    page.get_by_label("Password").fill(customer.password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Hello, Ana").wait_for()


def test_the_session_cookie_is_out_of_reach_of_scripts(live_server: str, page_in: Any,
                                                       customer: Person) -> None:
    page = page_in("es-ES")
    page.goto(live_server + "/")
    page.get_by_label("Correo electrónico").fill(customer.email)
    page.get_by_label("Contraseña").fill(customer.password)
    page.get_by_role("button", name="Ingresar").click()
    page.locator("#greeting").wait_for()
    assert "__Host-sd_id" not in page.evaluate("document.cookie")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["__Host-sd_id"]["httpOnly"] and cookies["__Host-sd_id"]["secure"]
    assert cookies["__Host-sd_id"]["sameSite"] == "Lax"
    assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", cookies["__Host-sd_id"]["value"])
