"""Mail structure: what real clients send, read without losing a part or a name.

The fixtures (tests/fixtures/mail/structure/) are small raw mails modeled on what real clients
send.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from supportdesk.attachments import AttachmentPolicy, check_file
from supportdesk.mail import mime
from supportdesk.mail.parsing import MailPart, ParsedMail, parse_mail

FIXTURES = Path(__file__).parent / "fixtures" / "mail" / "structure"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63"
    "64f8cf500f0003860180"
    "5a347d6b0000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
# What must never be shown as text: MIME header lines, base64, uuencoded lines.
RAW_MIME = re.compile(r"(?im)^\s*content-(?:type|transfer-encoding|disposition)\s*:|[A-Za-z0-9+/]{40,}|^M[!-`]{60}$")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parsed(raw: bytes, **limits: int) -> ParsedMail:
    mail = parse_mail(raw, **limits)
    for text in (mail.text, mail.full_text):
        assert "\r" not in text and "\x00" not in text
        text.encode("utf-8")
    for part in mail.attachments:
        assert part.filename and not re.search(r"[\x00-\x1f/\\]", part.filename)
    return mail


def named(mail: ParsedMail) -> dict[str, MailPart]:
    return {part.filename: part for part in mail.attachments}


def as_it_came(raw: bytes, after: bytes, boundary: bytes) -> bytes:
    """The body of the part whose headers hold `after`, up to the delimiter line of `boundary`."""
    head = raw.index(b"\r\n\r\n", raw.index(after)) + 4
    return raw[head:raw.index(b"\r\n--" + boundary, head)]


def test_the_fixtures_are_all_there() -> None:
    assert len(list(FIXTURES.glob("*.eml"))) == 4


# -- Boundaries -------------------------------------------------------------------------------

def test_delimiters_are_searched_for_once_however_many_parts() -> None:
    """A mail with lone CRs looks for delimiters after LFs and after CRs: a search that found
    none is not made again for every part (1,100 parts of 5 MB took over a second)."""
    searches = []

    class Counting:
        def __init__(self, pattern: re.Pattern[str]) -> None:
            self.pattern = pattern

        def search(self, *args: Any) -> re.Match[str] | None:
            searches.append(args)
            return self.pattern.search(*args)

    text = "--X\rContent-Type: a\r\rb\r" * 1_000
    delimiters = mime._Delimiters("X", text, len(text), True)
    delimiters.after_lf.pattern = Counting(delimiters.after_lf.pattern)  # type: ignore[assignment]
    position, found = 0, 0
    while (delimiter := delimiters.next(position)) is not None:
        position, found = delimiter.end, found + 1
    assert found == 1_000 and len(searches) == 1


# -- File names -------------------------------------------------------------------------------

NAMES = {
    "names-without-extension.eml": [
        "captura de pantalla.png", "IMG_20250217_101532.jpg", "Screenshot 2025-02-17 at 10.15.32.png",
        "Factura enero.pdf", "logs.zip", "foto.jpg"],
    "names-unquoted-with-spaces.eml": ["registro de errores.txt", "informe final de la migracion.pdf"],
    "names-rfc2231-and-encoded-words.eml": [
        "Informe técnico de la migración de correo de febrero.pdf", "Presupuesto año 2025.xlsx",
        "Recibo € nº 7.png", "foto del contador.jpg", "configuración.txt"],
    "names-raw-utf8.eml": ["Contrato señal.pdf"],
}


@pytest.mark.parametrize("name", NAMES)
def test_file_names_are_whole_and_carry_their_extension(name: str) -> None:
    mail = parsed(fixture(name))
    assert [part.filename for part in mail.attachments] == NAMES[name]
    for part in mail.attachments:
        check_file(AttachmentPolicy(), part.filename, len(part.data))  # none refused for its name
        assert part.data


def test_an_extension_that_contradicts_the_type_is_kept() -> None:
    mail = parsed(fixture("names-without-extension.eml"))
    assert (mail.attachments[-1].filename, mail.attachments[-1].content_type) == ("foto.jpg", "image/png")


def test_a_nameless_file_is_named_by_its_type() -> None:
    raw = (b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: image/jpeg\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ\r\n--B\r\nContent-Type: application/x-zip-compressed\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n--B--\r\n")
    assert [part.filename for part in parsed(raw).attachments] == ["attachment-1.jpg", "attachment-2.zip"]
