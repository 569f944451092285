"""Languages: negotiation, and catalogs that are complete and current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from supportdesk.i18n import LOCALE_DIR, negotiate_language, supported, translations

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("header, expected", [
    ("es-ES,es;q=0.9,en;q=0.8", "es"),
    ("en-US,en;q=0.9", "en"),
    ("fr-FR,en;q=0.5,es;q=0.7", "es"),
    ("de, en;q=0.1", "en"),
    ("en;q=0, es", "es"),
    ("fr", "es"),
    ("", "es"),
    (None, "es"),
    ("en;q=abc, es;q=0.2", "es"),
    ("*", "es"),
])
def test_accept_language_picks_the_best_language_we_speak(header: str | None, expected: str) -> None:
    assert negotiate_language(header) == expected


def test_language_tags_reduce_to_what_we_speak() -> None:
    assert supported("es-MX") == "es"
    assert supported("EN_gb") == "en"
    assert supported("pt") is None
    assert supported(None) is None


def test_every_text_has_a_spanish_translation() -> None:
    with (LOCALE_DIR / "es/LC_MESSAGES/messages.po").open("rb") as po:
        catalog = read_po(po)
    untranslated = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert untranslated == []
    assert translations("es").gettext("Log in") == "Ingresar"
    assert translations("en").gettext("Log in") == "Log in"


def test_the_catalog_holds_every_text_of_the_code_and_templates(tmp_path: Path) -> None:
    """A text added without `make messages` would show in English to Spanish users."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-o", str(pot), "--no-location", "--omit-header", "shared", "functions", "templates"],
        cwd=REPO, check=True, capture_output=True,
    )
    with pot.open("rb") as extracted, (LOCALE_DIR / "es/LC_MESSAGES/messages.po").open("rb") as po:
        wanted = {m.id for m in read_po(extracted) if m.id}
        have = {m.id for m in read_po(po) if m.id and m.string}
    assert wanted - have == set()
