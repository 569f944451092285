"""Steps the browser tests share."""

from __future__ import annotations

from typing import Any

from conftest import Person


def log_in(page: Any, base: str, person: Person, t: dict[str, str], *, lands_on: str | None = "#greeting") -> None:
    """Log in from the start page in the language of `t` (browser_words.TEXTS), then wait
    for the first element `lands_on` matches (None: do not wait)."""
    page.goto(base + "/")
    page.get_by_label(t["email"]).fill(person.email)
    page.get_by_label(t["password"]).fill(person.password)
    page.get_by_role("button", name=t["login"], exact=True).click()
    if lands_on:
        page.locator(lands_on).first.wait_for()
