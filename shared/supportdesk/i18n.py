"""Languages of the UI and the e-mails: Spanish (the seed's) and English.

Texts live in Babel message catalogs under ``locale/`` (``make catalogs`` compiles them;
``make messages`` extracts new strings). At run time the compiled catalogs are read with
the standard ``gettext`` module, which is all a lookup needs and costs nothing to import.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"  # the seed article, and most of our customers, speak Spanish
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


def N_(text: str) -> str:
    """Marks a text for the catalogs where it is defined; it is translated where it is shown."""
    return text


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalog of a supported language (English is the source language)."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language: {language!r}")
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=language == "en")


def supported(language: str | None) -> str | None:
    """`language` (or its primary subtag, 'es-MX' -> 'es') if we speak it, else None."""
    if not language:
        return None
    primary = language.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in LANGUAGES else None


def negotiate_language(accept_language: str | None) -> str:
    """The best language for an Accept-Language header (RFC 9110 §12.5.4), or the default."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        language = supported(tag)
        if language and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE
