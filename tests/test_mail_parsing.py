"""Mail parsing: never raises, never drops text or parts, reads lying charsets and broken
MIME, strips quoted history in English and Spanish, and tells robots from people."""

from __future__ import annotations

import base64
import email
import email.message
import email.parser
import random
import re
from email import policy
from email.message import EmailMessage, Message
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from supportdesk.mail import flowed, mime, parsing, parts
from supportdesk.mail import headers as headers_module
from supportdesk.mail.parsing import ORIGINAL_NAME, MailHeaders, ParsedMail, parse_headers, parse_mail

CORPUS = Path(__file__).parent / "fixtures" / "cpython_email"  # CPython's own test mail (see its README)
CORPUS_FILES = sorted(path.name for path in CORPUS.iterdir() if path.name != "README.md")
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
WORD = re.compile(r"[A-Za-z]{4,}")
BAD_IN_FILENAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def mail(body: str, *, subtype: str = "plain", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = headers.pop("From", "Ana López <ana@example.com>")
    message["To"] = headers.pop("To", "soporte@example.com")
    message["Subject"] = headers.pop("Subject", "Ayuda")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body, subtype=subtype)
    return message.as_bytes()


def assert_sound(parsed: ParsedMail) -> None:
    """What holds for every result: proper Unicode, safe names, no `text` without `full_text`."""
    assert isinstance(parsed, ParsedMail)
    for value in (parsed.subject, parsed.text, parsed.full_text, parsed.from_address,
                  parsed.from_name, parsed.message_id or "", *parsed.references, *parsed.in_reply_to):
        assert "\x00" not in value
        value.encode("utf-8")  # no surrogates left from undecodable bytes
    assert bool(parsed.text.strip()) == bool(parsed.full_text.strip())
    assert "\r" not in parsed.full_text and "\x00" not in parsed.full_text
    for part in parsed.attachments:
        assert part.filename and len(part.filename) <= 150
        assert not BAD_IN_FILENAME.search(part.filename)
        assert not part.filename.startswith(".")
        assert re.fullmatch(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+", part.content_type)
        part.filename.encode("utf-8")
    assert parsed.is_automatic == (parsed.automatic_reason is not None)


def parsed_ok(raw: bytes, **limits: int) -> ParsedMail:
    parsed = parse_mail(raw, **limits)
    assert_sound(parsed)
    return parsed


def flat(text: str) -> str:
    return " ".join(text.split())


# -- CPython's own test corpus --------------------------------------------------------------

def leaf_texts(raw: bytes) -> list[tuple[str, str, bytes]]:
    """(content type, decoded text, payload) of each text part, as the stdlib reads it."""
    message = email.message_from_bytes(raw, policy=policy.compat32)
    parts = [part for part in message.walk() if not part.is_multipart()]
    has_plain = any(part.get_content_type() == "text/plain" for part in parts)
    found = []
    for part in parts:
        ctype = part.get_content_type()
        payload = part.get_payload(decode=True)
        # Only text/html-only mail must show its HTML: next to a plain part it is an alternative.
        if ctype not in ("text/plain", "text/html") or (ctype == "text/html" and has_plain):
            continue
        if not isinstance(payload, bytes):
            continue
        try:
            text = payload.decode(part.get_content_charset() or "latin-1")
        except (LookupError, UnicodeDecodeError):
            text = payload.decode("latin-1")
        if ctype == "text/html":
            soup = BeautifulSoup(text, "html.parser")
            for tag in soup.find_all(["script", "style", "head"]):
                tag.decompose()
            text = soup.get_text(" ")
        found.append((ctype, text, payload))
    return found


def test_the_corpus_is_all_there() -> None:
    """An emptied corpus folder would turn the cases below into nothing at all."""
    assert len(CORPUS_FILES) == 65 and len([name for name in CORPUS_FILES if name.startswith("msg_")]) == 48


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_cpython_corpus_parses_without_losing_text(name: str) -> None:
    raw = (CORPUS / name).read_bytes()
    parsed = parsed_ok(raw)
    if not name.startswith("msg_"):
        return  # images and sounds: it is enough that they do not crash the parser
    full_text = flat(parsed.full_text)
    kept = [part.data for part in parsed.attachments]
    for ctype, text, payload in leaf_texts(raw):
        words = WORD.findall(text)[:30]
        missing = [word for word in words if word not in full_text]
        # A part inside a kept message/* part (msg_36: message/external-body) is kept with it.
        accounted = any(payload in data for data in kept)
        assert not missing or accounted, f"{ctype} words lost: {missing}"


# -- Charsets and headers ---------------------------------------------------------------------

def test_spanish_in_iso_8859_1_body_and_encoded_subject() -> None:
    raw = (b"From: =?ISO-8859-1?Q?Jos=E9_P=E9rez?= <Jose.Perez@Example.COM>\r\n"
           b"To: soporte@example.com\r\nSubject: =?ISO-8859-1?Q?Informaci=F3n?=\r\n"
           b"Content-Language: es-ES\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=ISO-8859-1\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n"
           + "¿Podéis ayudarme? La señal no llega al módem.\r\n".encode("latin-1"))
    parsed = parsed_ok(raw)
    assert parsed.subject == "Información"
    assert parsed.from_name == "José Pérez"
    assert parsed.from_address == "jose.perez@example.com"
    assert parsed.text == "¿Podéis ayudarme? La señal no llega al módem."
    assert parsed.language_hint == "es"


def test_windows_1252_smart_quotes_labelled_iso_8859_1() -> None:
    body = "“Hola” – it’s 5 €…".encode("cp1252")
    raw = b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\n" + body
    assert parsed_ok(raw).text == "“Hola” – it’s 5 €…"


def test_iso_8859_1_labelled_windows_1252() -> None:  # 0x81 is undefined in windows-1252
    raw = b"Content-Type: text/plain; charset=windows-1252\r\n\r\nCaf\xe9 \x81 ol\xe9"
    assert parsed_ok(raw).text.startswith("Café")


def test_no_charset_utf8_bytes() -> None:
    raw = b"Content-Type: text/plain\r\n\r\n" + "Ñandú — 日本語 ça marche".encode()
    assert parsed_ok(raw).text == "Ñandú — 日本語 ça marche"


def test_unknown_charset_falls_back_to_a_guess() -> None:
    body = ("La factura del mes pasado está mal: el importe no coincide con el contrato "
            "que firmamos, y la dirección también es incorrecta. ¿Podéis revisarlo?").encode("cp1252")
    raw = b"Content-Type: text/plain; charset=x-nonsense\r\n\r\n" + body
    parsed = parsed_ok(raw)
    assert "está mal" in parsed.text and "dirección" in parsed.text


def test_raw_8bit_headers_and_split_encoded_words() -> None:
    encoded = "Reunión mañana ✓".encode()
    first, second = base64.b64encode(encoded[:8]), base64.b64encode(encoded[8:])  # splits "ñ"
    raw = (b"Subject: =?UTF-8?B?" + first + b"?=\r\n =?UTF-8?B?" + second + b"?=\r\n"
           b"From: Jos\xe9 \xd1u\xf1ez <jose@example.com>\r\n"  # windows-1252, unencoded
           b"To: Zo\xc3\xab <zoe@example.com>\r\n\r\nhola\r\n")  # UTF-8, unencoded
    parsed = parsed_ok(raw)
    assert parsed.subject == "Reunión mañana ✓"
    assert parsed.from_name == "José Ñuñez"


def test_addresses_and_ids() -> None:
    raw = (b"Message-ID: <m1@example.com>\r\nIn-Reply-To: <r9@example.com> (sent by Ana)\r\n"
           b"References: <r1@example.com> <r2@example.com>\r\nReferences: <r3@example.com>\r\n"
           b"References: <r2@example.com>\r\n\t<r9@example.com>\r\n"
           b"From: \"L\xc3\xb3pez, Ana\" <ANA@Example.com>\r\nReply-To: help+1@Example.com\r\n"
           b"To: Soporte <Soporte@Example.com>, otro@example.com\r\n"
           b"Cc: =?utf-8?q?Mar=C3=ADa?= <maria@example.com>\r\n"
           b"Delivered-To: soporte@example.com\r\nX-Original-To: alias@example.com\r\n"
           b"Envelope-To: env@example.com\r\nDate: Mon, 3 Feb 2025 10:00:00 +0100\r\n\r\nhola\r\n")
    parsed = parsed_ok(raw)
    assert parsed.message_id == "m1@example.com"
    assert parsed.in_reply_to == ("r9@example.com",)
    assert parsed.references == (
        "r1@example.com", "r2@example.com", "r3@example.com", "r9@example.com"
    )
    assert (parsed.from_name, parsed.from_address) == ("López, Ana", "ana@example.com")
    assert parse_headers(raw).reply_to == "help+1@example.com"


def test_broken_headers_fall_back() -> None:
    raw = (b"From: @@@ <<<>>> ,,,\r\nTo: \"unterminated <a@b\r\nDate: 99 Foo 2025 99:99\r\n"
           b"Subject: =?utf-8?b?!!!notbase64?= =?x-unknown?q?caf=E9?=\r\n"
           b"Content-Type: text/plain; charset=\"utf-8\r\nMessage-ID: no-brackets-here\r\n\r\n"
           b"body text\r\n")
    parsed = parsed_ok(raw)
    assert parsed.message_id == "no-brackets-here"
    assert "caf" in parsed.subject
    assert parsed.text == "body text"


def test_crlf_and_nul_are_normalised() -> None:
    raw = b"Content-Type: text/plain\r\n\r\nline one\r\nline\x00 two\rline three\r\n"
    assert parsed_ok(raw).full_text == "line one\nline two\nline three"


FLOWED = {
    "delsp-no": (b"", b"Soft \r\nwrapped.\r\n From, stuffed.\r\n> quoted and \r\n> continued\r\n",
                 "Soft wrapped.\nFrom, stuffed.\n> quoted and continued"),
    "delsp-yes": (b"; delsp=yes", b"A word soft-wrap \r\nped in two.\r\n-- \r\nAna\r\n",
                  "A word soft-wrapped in two.\n-- \nAna"),
}


@pytest.mark.parametrize("delsp, body, expected", FLOWED.values(), ids=FLOWED.keys())
def test_format_flowed_is_unwrapped(delsp: bytes, body: bytes, expected: str) -> None:
    raw = b"Content-Type: text/plain; charset=utf-8; format=flowed" + delsp + b"\r\n\r\n" + body
    assert parsed_ok(raw).full_text == expected


# -- Structure ---------------------------------------------------------------------------------

HTML = """<html><head><title>Titulo</title><style>p { color: red }</style></head><body>
<h1>Problema</h1><p>See <a href="https://example.com/docs">the docs</a> first.</p>
<table><tr><th>Host</th><th>Status</th></tr><tr><td>web1</td><td>down</td></tr></table>
<img src="https://tracker.example/pixel.gif"><script>alert("xss")</script></body></html>"""


def test_html_only_mail_becomes_markdown() -> None:
    parsed = parsed_ok(mail(HTML, subtype="html"))
    assert "# Problema" in parsed.text
    assert "[the docs](https://example.com/docs)" in parsed.text
    assert "| Host | Status |" in parsed.text and "| web1 | down |" in parsed.text
    for hidden in ("alert", "xss", "color", "Titulo", "tracker", "<"):
        assert hidden not in parsed.full_text


def test_alternative_prefers_plain() -> None:
    message = EmailMessage()
    message.set_content("The plain words.")
    message.add_alternative("<p>The <b>HTML</b> words.</p>", subtype="html")
    parsed = parsed_ok(message.as_bytes())
    assert parsed.full_text == "The plain words."
    assert parsed.attachments == ()  # the other alternative is the same text, not a file


def test_alternative_with_empty_plain_takes_the_html() -> None:
    message = EmailMessage()
    message.set_content("  \n")
    message.add_alternative("<p>Only the <b>HTML</b> has words.</p>", subtype="html")
    assert parsed_ok(message.as_bytes()).full_text == "Only the **HTML** has words."


def test_related_inline_image_is_kept_with_its_content_id() -> None:
    message = EmailMessage()
    message.set_content("Plain version.")
    message.add_alternative('<p><img src="cid:logo@example.com" alt="our logo"></p>', subtype="html")
    message.get_payload()[1].add_related(PNG, "image", "png", cid="<logo@example.com>")
    parsed = parsed_ok(message.as_bytes())
    assert parsed.text == "Plain version."
    [image] = parsed.attachments
    assert (image.content_type, image.data, image.filename) == ("image/png", PNG, "attachment-1.png")
    assert (image.inline, image.content_id) == (True, "logo@example.com")


def test_html_related_root_is_the_text() -> None:
    message = EmailMessage()
    message.set_content('<p>Screenshot: <img src="cid:shot" alt="error dialog"></p>', subtype="html")
    message.add_related(PNG, "image", "png", cid="<shot>", filename="shot.png")
    parsed = parsed_ok(message.as_bytes())
    assert parsed.text == "Screenshot: error dialog"
    [image] = parsed.attachments
    assert (image.filename, image.inline, image.content_id) == ("shot.png", True, "shot")


def test_nasty_filenames_are_sanitised() -> None:
    long_name = "x" * 300 + ".pdf"
    names = ['="../../etc/passwd"', '="C:\\\\evil\\\\x.exe"', "*=utf-8''%00bad%0Aname.txt",
             f'="{long_name}"', '="=?utf-8?q?Informaci=C3=B3n_2025.pdf?="', '="..."',
             "*=utf-8''%E2%80%AEgpj.exe"]  # U+202E RIGHT-TO-LEFT OVERRIDE shows "exe.jpg"
    parts = b"".join(
        b"--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename" + name.encode() + b"\r\n\r\nZGF0YQ==\r\n"
        for name in names
    )
    raw = b"Content-Type: multipart/mixed; boundary=B\r\n\r\n" + parts + b"--B--\r\n"
    parsed = parsed_ok(raw)
    got = [part.filename for part in parsed.attachments]
    assert got[:3] == ["passwd", "x.exe", "badname.txt"]
    assert len(got[3]) == 150 and got[3].endswith(".pdf")
    assert got[4:] == ["Información 2025.pdf", "attachment-6.bin", "gpj.exe"]
    assert all(part.data == b"data" and not part.inline for part in parsed.attachments)


def test_an_attached_mail_is_kept_as_eml_and_its_text_shown_unquoted() -> None:
    inner = EmailMessage()
    inner["From"] = "Cliente <cliente@example.net>"
    inner["Date"] = "Mon, 3 Feb 2025 10:00:00 +0100"
    inner["Subject"] = "=?utf-8?q?Factura_err=C3=B3nea?="
    inner.set_content("La factura de enero tiene un error.")
    inner.add_attachment(b"%PDF-1.4", "application", "pdf", filename="factura.pdf")
    outer = EmailMessage()
    outer["Subject"] = "Fwd: Factura"
    outer.set_content("Os reenvío esto.")
    outer.add_attachment(inner)
    raw = outer.as_bytes()
    parsed = parsed_ok(raw)
    # Its text, not "> "-quoted (history stripping drops "> " lines), under one line naming it.
    block = ("**Attached mail: Factura errónea.eml** — From: Cliente <cliente@example.net>, "
             "Date: Mon, 03 Feb 2025 10:00:00 +0100, Subject: Factura errónea\n\nLa factura de enero tiene un error.")
    assert parsed.text == parsed.full_text == "Os reenvío esto.\n\n" + block
    # The mail itself as it came, and the file inside it too.
    head = raw.index(b"\n\n", raw.index(b"Content-Type: message/rfc822")) + 2
    as_it_came = raw[head:raw.index(b"\n--" + str(outer.get_boundary()).encode(), head)]
    assert [(part.filename, part.data) for part in parsed.attachments] == [
        ("Factura errónea.eml", as_it_came), ("factura.pdf", b"%PDF-1.4")
    ]


def test_declared_boundary_never_appears() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=XYZ\r\n\r\nThe text is still here.\r\n--ABC\r\n"
    parsed = parsed_ok(raw)
    assert "The text is still here." in parsed.full_text


def test_missing_final_boundary() -> None:
    raw = (b"Content-Type: multipart/mixed; boundary=XYZ\r\n\r\n"
           b"--XYZ\r\nContent-Type: text/plain\r\n\r\nFirst part.\r\n"
           b"--XYZ\r\nContent-Type: text/plain\r\n\r\nSecond part, never closed.\r\n")
    assert parsed_ok(raw).full_text == "First part.\n\nSecond part, never closed."


def test_multipart_without_boundary_or_parts() -> None:
    assert "Just text." in parsed_ok(b"Content-Type: multipart/mixed\r\n\r\nJust text.\r\n").full_text
    assert parsed_ok(b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B--\r\n").attachments == ()


def test_several_text_parts_are_joined_in_order() -> None:
    raw = (b"Content-Type: multipart/mixed; boundary=B\r\n\r\n"
           b"--B\r\nContent-Type: text/plain\r\n\r\nOne.\r\n"
           b"--B\r\nContent-Type: text/html\r\n\r\n<p>Two.</p>\r\n"
           b"--B\r\nContent-Type: text/plain\r\n\r\nThree.\r\n--B--\r\n")
    assert parsed_ok(raw).full_text == "One.\n\nTwo.\n\nThree."


def test_a_1_mb_header_line() -> None:
    raw = (b"Subject: " + b"word " * 200_000 + b"\r\nX-Junk: " + b"x" * 1_000_000 + b"\r\n"
           b"To: " + b"someone@example.com, " * 50_000 + b"\r\n"
           b"Content-Type: text/plain; name=" + b"n" * 1_000_000 + b"\r\n\r\nStill read.\r\n")
    parsed = parsed_ok(raw)
    assert parsed.text == "Still read."
    assert len(parsed.subject) == 1000


def test_more_parts_than_the_limit_are_not_read_and_the_original_kept() -> None:
    parts = b"".join(b"--B\r\nContent-Type: text/plain\r\n\r\nPart number %d here.\r\n" % n
                     for n in range(150))
    raw = b"Content-Type: multipart/mixed; boundary=B\r\n\r\n" + parts + b"--B--\r\n"
    parsed = parsed_ok(raw)
    assert "Part number 98 here." in parsed.full_text  # the root and 99 parts: 100
    assert "Part number 99 here." not in parsed.full_text
    assert [part.data for part in parsed.attachments if part.filename == ORIGINAL_NAME] == [raw]


def test_a_flood_of_tiny_parts_is_cut_short() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=B\r\n\r\n" + b"--B\r\n\r\nx\r\n" * 50_000
    parsed = parsed_ok(raw)
    assert parsed.attachments[-1].data == raw


def test_text_over_the_byte_limit_is_truncated() -> None:
    raw = mail("ñandú " * 1000)
    parsed = parsed_ok(raw, max_text_bytes=1001)
    assert len(parsed.full_text.encode()) <= 1001 and parsed.full_text.startswith("ñandú ñandú")
    assert parsed.attachments[-1].filename == ORIGINAL_NAME


def test_undecodable_text_part_is_kept_as_attachment() -> None:
    binary = bytes(range(256)) * 8
    raw = (b"Content-Type: multipart/mixed; boundary=B\r\n\r\n"
           b"--B\r\nContent-Type: text/plain\r\n\r\nHello.\r\n"
           b"--B\r\nContent-Type: text/plain; charset=x-unknown\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(binary) + b"--B--\r\n")
    parsed = parsed_ok(raw)
    assert parsed.text == "Hello."
    [part] = parsed.attachments
    assert (part.content_type, part.filename) == ("text/plain", "attachment-1.txt")
    assert part.data == binary


def test_damaged_base64_keeps_the_original() -> None:
    raw = (b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: image/png\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo!!!AAAANSUhE=U\r\n--B--\r\n")
    parsed = parsed_ok(raw)
    assert [part.filename for part in parsed.attachments] == ["attachment-1.png", ORIGINAL_NAME]


def test_winmail_dat_is_kept() -> None:
    message = EmailMessage()
    message.set_content("See attached.")
    message.add_attachment(b"\x78\x9f\x3e\x22", "application", "ms-tnef", filename="winmail.dat")
    parsed = parsed_ok(message.as_bytes())
    assert [part.filename for part in parsed.attachments] == ["winmail.dat"]


GARBAGE = [
    b"",
    b"\x00" * 1000,
    b"\xff\xfe\x00garbage\r\n\r\n\x00\x01",
    bytes(random.Random(7).randrange(256) for _ in range(20_000)),
    b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--\r\n",
    b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: message/rfc822\r\n\r\n",
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n====",
    b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nnot a mail",
    b"Content-Type: text/html\r\n\r\n" + b"<div>" * 3000 + b"deep" + b"</div>" * 3000,
    b"Subject: " + b"=?utf-8?q?" * 20_000 + b"\r\n\r\n",
    b"From: " + b"<" * 50_000 + b"\r\nTo: " + b"\"" * 50_000 + b"\r\n\r\nx",
]


@pytest.mark.parametrize("raw", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_never_raises(raw: bytes) -> None:
    parsed_ok(raw)


# Each of these once took minutes: quadratic or cubic regular expressions and parsers.
SLOW_ONCE = {
    "html-left-open": b"Content-Type: text/html\r\n\r\n" + b"<a " * 30_000,
    "rule-lines": b"Content-Type: text/plain\r\n\r\n" + b"----\n" * 20_000 + b"x",
    "long-quote-header-lines": b"Content-Type: text/plain\r\n\r\n" + b"On Am schrieb wrote " * 20_000,
    "long-parameter-list": b"Content-Type: text/plain; " + b"a=b; " * 200_000 + b"\r\n\r\nx",
}


@pytest.mark.parametrize("raw", SLOW_ONCE.values(), ids=SLOW_ONCE.keys())
def test_pathological_input_is_handled(raw: bytes) -> None:
    # These once took tens of seconds; their time is bench/mail.py's to watch, not a test's.
    parsed_ok(raw)


def test_truncated_mails_never_raise() -> None:
    message = EmailMessage()
    message.set_content("Texto.")
    message.add_alternative(HTML, subtype="html")
    message.add_attachment(PNG, "image", "png", filename="a.png")
    raw = message.as_bytes()
    for end in range(0, len(raw), 37):
        parsed_ok(raw[:end])


def test_deep_nesting_never_raises() -> None:
    raw = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (n, n)
                   for n in range(3000)) + b"Content-Type: text/plain\r\n\r\ndeep"
    parsed = parsed_ok(raw)
    # The stdlib's parser recurses once per level and gives up: the mail is kept whole.
    assert "deep" in parsed.full_text or parsed.attachments[-1].data == raw


def test_an_unreadable_mail_is_kept_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> Message:
        raise MemoryError

    monkeypatch.setattr(parsing, "decode", explode)
    parsed = parsed_ok(b"Subject: x\r\n\r\nbody")
    assert (parsed.text, parsed.full_text) == ("", "")
    assert (parsed.subject, parsed.sender_problem) == ("x", "no-from")  # still parse_headers' fields
    [original] = parsed.attachments
    assert (original.filename, original.data) == (ORIGINAL_NAME, b"Subject: x\r\n\r\nbody")


# -- The new text of a reply ------------------------------------------------------------------

QUOTE_HEADER = "On Mon, Feb 3, 2025 at 10:00 AM Ana <ana@example.com> wrote:"
REPLIES = {
    "gmail-es": ("Hola, el servidor no responde.\n\nGracias\n\n"
                 "El lun, 3 feb 2025 a las 10:00, Ana <ana@example.com> escribió:\n> Hola\n> ¿Qué tal?\n",
                 "Hola, el servidor no responde.\n\nGracias"),
    "gmail-es-wrapped": ("Sigue sin funcionar.\n\nEl lun, 3 feb 2025 a las 10:00, Ana López (<\n"
                         "ana.lopez@example.com>) escribió:\n> Hola\n", "Sigue sin funcionar."),
    "apple-es": ("Nuevo.\n\nEl 3 feb 2025, a las 10:00, Soporte <soporte@example.com> escribió:\n\n"
                 "Texto viejo sin comillas.\n", "Nuevo."),
    "gmail-en": (f"The server is down again.\n\n{QUOTE_HEADER}\n> Hello\n> there\n",
                 "The server is down again."),
    "gmail-en-wrapped": ("Still broken.\n\nOn Mon, Feb 3, 2025 at 10:00 AM Ana Lopez <\n"
                         "ana.lopez@example.com> wrote:\n\n> Hello\n", "Still broken."),
    "outlook-en": ("New text here.\n\n-----Original Message-----\nFrom: Ana\n"
                   "Sent: Monday, February 3, 2025 10:00 AM\nTo: support@example.com\n"
                   "Subject: problem\n\nold text\n", "New text here."),
    "outlook-es-original": ("Texto nuevo.\n\n-----Mensaje original-----\nDe: Ana\n"
                            "Enviado el: lunes\nPara: x\nAsunto: y\n\nviejo texto\n", "Texto nuevo."),
    "outlook-es-block": ("Texto nuevo.\n\n________________________________\n"
                         "De: Ana <ana@example.com>\nEnviado el: lunes, 3 de febrero de 2025 10:00\n"
                         "Para: soporte@example.com\nAsunto: RE: y\n\nviejo texto\n", "Texto nuevo."),
    "outlook-en-block": ("New text.\n\nFrom: Ana <ana@example.com>\n"
                         "Sent: Monday, February 3, 2025 10:00 AM\nTo: support@example.com\n"
                         "Subject: y\n\nold text\n", "New text."),
    "inline-quotes": ("> Does it fail every time?\nYes, every time.\n> Which browser?\nFirefox 135.\n",
                      "Yes, every time.\nFirefox 135."),
    "signature": ("Please reset my password.\n\n-- \nAna Pérez\nACME S.L.\n",
                  "Please reset my password."),
    "iphone-es": ("No puedo entrar al panel.\n\nEnviado desde mi iPhone\n", "No puedo entrar al panel."),
    "iphone-en": ("I cannot log in.\n\nSent from my iPhone\n", "I cannot log in."),
    "keeps-code-and-lists": ("Run this:\n\n    sudo systemctl restart nginx\n\n- first\n  - nested\n"
                             f"- second\n\n{QUOTE_HEADER}\n> old\n",
                             "Run this:\n\n    sudo systemctl restart nginx\n\n- first\n  - nested\n"
                             "- second"),
    "only-a-quote": (f"{QUOTE_HEADER}\n> everything is old\n", f"{QUOTE_HEADER}\n> everything is old"),
    "no-history": ("Just a question: does the plan include backups?\n",
                   "Just a question: does the plan include backups?"),
}


@pytest.mark.parametrize("body, expected", REPLIES.values(), ids=REPLIES.keys())
def test_reply_stripping(body: str, expected: str) -> None:
    parsed = parsed_ok(mail(body))
    assert parsed.text == expected
    assert parsed.full_text == body.strip("\n")


HTML_REPLIES = {
    "gmail-es": ('<div dir="ltr">Nuevo <b>texto</b>.</div><br><div class="gmail_quote"><div>El lun, 3 '
                 'feb 2025 a las 10:00, Ana &lt;ana@example.com&gt; escribió:<br></div><blockquote>'
                 'Texto viejo.</blockquote></div>', "Nuevo **texto**."),
    "outlook-es": ('<div class=WordSection1><p class=MsoNormal>Adjunto la captura.<o:p></o:p></p><div '
                   'style="border-top:solid #E1E1E1 1.0pt"><p class=MsoNormal><b>De:</b> Soporte '
                   '&lt;soporte@example.com&gt;<br><b>Enviado el:</b> lunes, 3 de febrero de 2025 10:00'
                   '<br><b>Para:</b> Ana<br><b>Asunto:</b> RE: Correo</p></div><p>Texto viejo.</p></div>',
                   "Adjunto la captura."),
}


@pytest.mark.parametrize("html, expected", HTML_REPLIES.values(), ids=HTML_REPLIES.keys())
def test_reply_stripping_in_html_mail(html: str, expected: str) -> None:
    parsed = parsed_ok(mail(html, subtype="html"))
    assert parsed.text == expected
    assert "Texto viejo." in parsed.full_text


# -- Automatic mail ----------------------------------------------------------------------------

AUTOMATIC = {
    "auto-submitted": ({"Auto_Submitted": "auto-replied"}, "auto-submitted: auto-replied"),
    "precedence": ({"Precedence": "bulk"}, "precedence: bulk"),
    "x-autoreply": ({"X_Autoreply": "yes"}, "x-autoreply"),
    "list-id": ({"List_Id": "Clientes <clientes.lists.example.com>"}, "list-id"),
    "noreply": ({"From": "Tienda <No-Reply@shop.example>"}, "no-reply sender"),
    "null-return-path": ({"Return_Path": "<>"}, "null return-path"),
    "human": ({}, None),
    "auto-submitted-no": ({"Auto_Submitted": "no"}, None),
    "x-auto-response-suppress": ({"X_Auto_Response_Suppress": "All"}, None),
}


@pytest.mark.parametrize("headers, reason", AUTOMATIC.values(), ids=AUTOMATIC.keys())
def test_automatic_mail(headers: dict[str, str], reason: str | None) -> None:
    parsed = parsed_ok(mail("Hola, tengo un problema.", **headers))
    assert (parsed.is_automatic, parsed.automatic_reason) == (reason is not None, reason)


def test_delivery_status_notification_from_mailer_daemon() -> None:
    raw = (b"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
           b"To: soporte@example.com\r\n"
           b"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/report; report-type=delivery-status; boundary=R\r\n\r\n"
           b"--R\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
           b"--R\r\nContent-Type: message/delivery-status\r\n\r\n"
           b"Reporting-MTA: dns; mx.example.com\r\n\r\n"
           b"Final-Recipient: rfc822; nobody@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
           b"--R\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: Hola\r\n--R--\r\n")
    parsed = parsed_ok(raw)
    assert (parsed.is_automatic, parsed.automatic_reason) == (True, "delivery status notification")
    assert parsed.from_address == "mailer-daemon@mx.example.com"
    assert parsed.text == "Your message could not be delivered."
    status = [part.data for part in parsed.attachments if part.content_type == "message/delivery-status"]
    assert len(status) == 1 and b"Status: 5.1.1" in status[0]


# -- The header fields, before the body ------------------------------------------------------

HEADER_FIELDS = ("from_address", "from_name", "sender_problem", "subject", "message_id", "in_reply_to",
                 "references", "is_automatic", "automatic_reason", "language_hint")


def assert_agree(raw: bytes) -> MailHeaders:
    """parse_headers gives what parse_mail gives, field by field."""
    headers, parsed = parse_headers(raw), parsed_ok(raw)
    assert isinstance(headers, MailHeaders)
    for name in HEADER_FIELDS:
        assert getattr(headers, name) == getattr(parsed, name), name
    return headers


def sender(from_lines: bytes) -> MailHeaders:
    return assert_agree(from_lines + b"To: soporte@example.com\r\nSubject: Hola\r\n\r\nCuerpo.\r\n")


SENDERS = {  # one mailbox: (From lines, its address, its name)
    "one-plain-address": (b"From: ana@example.com\r\n", "ana@example.com", ""),
    "display-name": (b"From: Ana Lopez <Ana@Example.COM>\r\n", "ana@example.com", "Ana Lopez"),
    "name-with-commas-and-quotes": (b'From: "L\xc3\xb3pez, Ana \\"la jefa\\"" <ana@example.com>\r\n',
                                    "ana@example.com", 'López, Ana "la jefa"'),
    "encoded-word-name": (b"From: =?utf-8?q?L=C3=B3pez=2C_Ana?= <ana@example.com>\r\n",
                          "ana@example.com", "López, Ana"),
    "encoded-words-b": (b"From: =?UTF-8?B?Sm9zw6k=?= =?UTF-8?B?IFDDqXJleg==?= <jose@example.com>\r\n",
                        "jose@example.com", "José Pérez"),
    "folded": (b"From: Ana\r\n Lopez <ana@example.com>\r\n", "ana@example.com", "Ana Lopez"),
}
NO_SENDER = {  # sender problem: {case: From lines}, none of which names a sender
    "several-from-headers": {"two-from-headers": b"From: ana@example.com\r\nFrom: eve@example.net\r\n"},
    "several-addresses": {"two-addresses": b"From: ana@example.com, eve@example.net\r\n",
                          "unquoted-comma": b"From: Lopez, Ana <ana@example.com>\r\n"},
    "group": {"group": b"From: undisclosed: ana@example.com, eve@example.net;\r\n",
              "group-of-one": b"From: team: ana@example.com;\r\n", "empty-group": b"From: undisclosed-recipients:;\r\n"},
    "no-from": {"no-from": b"", "empty-from": b"From:   \r\n"},
    "unreadable": {
        "does-not-parse": b"From: @@@ <<<>>> ,,,\r\n", "no-domain": b"From: not an address\r\n",
        # Read as b's by one parser and a's by the other: nobody can say who sent it.
        "parsers-disagree": b"From: a@example.com b@example.net\r\n",
        "smuggled-second-address": b"From: alice@example.org)<bob@example.org>\r\n",
        "junk-after-address": b"From: Ana <ana@example.com> eve@example.net\r\n",
        "too-long": b"From: " + b"x" * 3000 + b" <ana@example.com>\r\n",
    },
}


@pytest.mark.parametrize("from_lines, address, name", SENDERS.values(), ids=SENDERS.keys())
def test_one_mailbox_is_the_sender(from_lines: bytes, address: str, name: str) -> None:
    headers = sender(from_lines)
    assert (headers.sender_problem, headers.from_address, headers.from_name) == (None, address, name)


@pytest.mark.parametrize("problem, from_lines", [(problem, lines) for problem, cases in NO_SENDER.items()
                                                 for lines in cases.values()],
                         ids=[case for cases in NO_SENDER.values() for case in cases])
def test_sender_problem(problem: str, from_lines: bytes) -> None:
    headers = sender(from_lines)
    assert (headers.sender_problem, headers.from_address, headers.from_name) == (problem, "", "")


def test_parse_headers_reads_the_fields() -> None:
    raw = (b"Message-ID: <m1@example.com>\r\nIn-Reply-To: <r9@example.com>\r\n"
           b"References: <r1@example.com> <r2@example.com>\r\n"
           b"From: =?ISO-8859-1?Q?Jos=E9_P=E9rez?= <Jose.Perez@Example.COM>\r\nReply-To: Help@Example.com\r\n"
           b"Subject: =?ISO-8859-1?Q?Informaci=F3n?=\r\nContent-Language: es-ES\r\nPrecedence: bulk\r\n"
           b"Content-Type: text/plain\r\n\r\nbody\r\n")
    headers = assert_agree(raw)
    assert headers == MailHeaders(
        from_address="jose.perez@example.com", from_name="José Pérez", sender_problem=None,
        reply_to="help@example.com", subject="Información", message_id="m1@example.com",
        in_reply_to=("r9@example.com",), references=("r1@example.com", "r2@example.com"),
        is_automatic=True, automatic_reason="precedence: bulk", language_hint="es")


def test_parse_headers_reads_no_body() -> None:
    head = b"From: ana@example.com\r\nSubject: Hola\r\nContent-Type: multipart/report; report-type=delivery-status\r\n\r\n"
    bodies = [b"", b"x" * 1_000_000, b"\xff\x00" * 100_000, b"--B\r\n" * 100_000, bytes(range(256)) * 1000]
    results = {parse_headers(head + body) for body in bodies}
    assert len(results) == 1
    [headers] = results
    assert (headers.from_address, headers.automatic_reason) == ("ana@example.com", "delivery status notification")


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_parse_headers_agrees_with_parse_mail_on_the_corpus(name: str) -> None:
    assert_agree((CORPUS / name).read_bytes())


HOSTILE_HEADERS = {
    "many-from-headers": b"From: a@example.com\r\n" * 50_000 + b"\r\nx",
    "many-headers": b"X-A: b\r\n" * 200_000 + b"From: a@example.com\r\n\r\nx",
    "many-reply-to": b"From: a@example.com\r\n" + b"Reply-To: junk\r\n" * 20_000 + b"\r\nx",
    "huge-subject": b"Subject: " + b"=?utf-8?q?caf=C3=A9?= " * 50_000 + b"\r\n\r\nx",
    "huge-from": b"From: " + b"a@example.com, " * 70_000 + b"\r\n\r\nx",
    "folded-forever": b"Subject: x" + b"\r\n y" * 300_000 + b"\r\n\r\nx",
    "no-blank-line": b"From: a@example.com\r\n" + b"X: y\r\n" * 20_000,
    "header-only": b"From: a@example.com\r\nSubject: only headers",
    "first-line-blank": b"\r\nFrom: a@example.com\r\n\r\nbody",
    "unix-from": b"From ana@example.com Mon Feb  3 10:00:00 2025\r\nFrom: ana@example.com\r\n\r\nbody",
    "from-line-last": b"From: ana@example.com\r\nFrom nobody\r\n\r\nbody",
    "lone-cr": b"From: ana@example.com\rSubject: cr\r\rbody",
    "binary": bytes(random.Random(3).randrange(256) for _ in range(50_000)),
    "long-line": b"Subject: " + b"s" * 5_000_000 + b"\r\nFrom: a@example.com\r\n\r\nbody",
}


@pytest.mark.parametrize("raw", [*HOSTILE_HEADERS.values(), *GARBAGE], ids=[*HOSTILE_HEADERS, *map(str, range(len(GARBAGE)))])
def test_parse_headers_agrees_with_parse_mail_on_hostile_input(raw: bytes) -> None:
    assert_agree(raw)


def test_a_header_block_over_the_line_limit_is_read_up_to_it() -> None:
    raw = (b"From: ana@example.com\r\nSubject: Hola\r\n" + b"X-Junk: y\r\n" * (mime.HEADER_LINES + 10)
           + b"From: eve@example.net\r\n\r\nStill the body.\r\n")
    headers, parsed = assert_agree(raw), parsed_ok(raw)
    # A second From may lie past the cut: who sent it cannot be told.
    assert (headers.sender_problem, headers.from_address, headers.subject) == ("unreadable", "", "Hola")
    assert parsed.full_text == "Still the body."
    assert parsed.attachments[-1].filename == ORIGINAL_NAME


def test_only_the_first_reply_to_is_read() -> None:
    raw = (b"From: ana@example.com\r\nReply-To: Help@Example.com\r\n"
           + (b"Reply-To: " + b"x@example.net, " * 40 + b"\r\n") * 5_000 + b"\r\nx")
    assert assert_agree(raw).reply_to == "help@example.com"


def test_a_megabyte_subject_of_encoded_words() -> None:
    word = "=?utf-8?b?" + base64.b64encode("ñandú ".encode()).decode() + "?="
    raw = ("Subject: " + " ".join([word] * 60_000) + "\r\n\r\nx").encode()
    headers = assert_agree(raw)
    assert headers.subject == ("ñandú " * 200)[:1000]


def test_encoded_words_split_inside_a_character_join_in_one_pass() -> None:
    encoded = ("€" * 5000).encode()
    words = " ".join(f"=?utf-8?b?{base64.b64encode(encoded[n:n + 2]).decode()}?=" for n in range(0, len(encoded), 2))
    assert headers_module.decode_header(words) == "€" * 5000


# -- Linear time: the behaviour of each fix ----------------------------------------------------

def unflow_as_before(text: str, delsp: bool) -> str:
    """The quadratic implementation this module had: the reference for the linear one."""
    lines: list[tuple[int, str]] = []
    joinable = False
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth + 1:] if line[depth:].startswith(" ") else line[depth:]
        if joinable and lines[-1][0] == depth:
            lines[-1] = (depth, lines[-1][1] + body)
        else:
            lines.append((depth, body))
        joinable = body.endswith(" ") and body != "-- "
        if joinable and delsp:
            lines[-1] = (depth, lines[-1][1][:-1])
    return "\n".join(">" * depth + (" " if depth and body else "") + body for depth, body in lines)


def test_unflow_matches_the_old_implementation() -> None:
    rng = random.Random(11)
    pieces = ["word", " ", "> ", ">", "-- ", "", "x ", ">> a ", "  "]
    for _ in range(3000):
        text = "\n".join("".join(rng.choice(pieces) for _ in range(rng.randrange(4)))
                         for _ in range(rng.randrange(12)))
        for delsp in (False, True):
            assert flowed.unflow(text, delsp) == unflow_as_before(text, delsp)


def test_a_flowed_paragraph_of_many_soft_breaks_is_one_line() -> None:
    body = b"word \r\n" * 100_000 + b"end.\r\n"
    raw = b"Content-Type: text/plain; charset=utf-8; format=flowed\r\n\r\n" + body
    assert parsed_ok(raw).full_text == "word " * 100_000 + "end."
    quoted = b"> a \r\n" * 100_000 + b"> b\r\n"
    raw = b"Content-Type: text/plain; format=flowed; delsp=yes\r\n\r\n" + quoted
    assert parsed_ok(raw).full_text == "> " + "a" * 100_000 + "b"


def test_deep_quoting_is_kept() -> None:
    raw = b"Content-Type: text/plain; format=flowed\r\n\r\nNew.\r\n" + b">" * 90_000 + b" old\r\n"
    parsed = parsed_ok(raw)
    assert parsed.full_text == "New.\n" + ">" * 90_000 + " old"
    assert parsed.text == "New."


def test_a_run_of_blank_lines_before_a_signature() -> None:
    parsed = parsed_ok(mail("Por favor, revisad el DNS." + "\n" * 50_000 + "-- \nAna\n"))
    assert parsed.text == "Por favor, revisad el DNS."


def tree(part: Message) -> list[object]:
    """What a parser made of a mail, for comparing two parsers."""
    ctype = part.get_content_type()
    found: list[object] = [ctype, list(part.raw_items()), part.preamble, part.epilogue, part.get_unixfrom()]
    if ctype.startswith("message/") and ctype not in ("message/rfc822", "message/global"):
        return found  # kept as they came, where the stdlib splits or parses them
    if part.is_multipart():
        return [*found, [tree(child) for child in part.get_payload()]]
    payload = getattr(part, "_payload", None)
    if part.get_content_maintype() == "multipart" and isinstance(payload, str):
        return [*found, ("no parts", payload)]  # the stdlib drops what follows a first closing delimiter
    return [*found, payload]


def same_tree(ours: object, theirs: object) -> bool:
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(same_tree(a, b) for a, b in zip(ours, theirs))
    if isinstance(ours, tuple) and isinstance(theirs, tuple):
        return ours[0] == theirs[0] and str(ours[1]).startswith(str(theirs[1]))
    return ours == theirs


def corpus_variants() -> list[tuple[str, bytes]]:
    found = []
    for name in CORPUS_FILES:
        if name.startswith("msg_"):
            raw = (CORPUS / name).read_bytes()
            found += [(name, raw), (f"{name}-crlf", raw.replace(b"\n", b"\r\n")),
                      (f"{name}-cr", raw.replace(b"\n", b"\r"))]
            found += [(f"{name}@{end}", raw[:end]) for end in range(0, len(raw), 211)]
    return found


def test_the_linear_reader_builds_the_stdlibs_tree() -> None:
    for name, raw in corpus_variants():
        ours = mime.read_mail(raw, 100_000).root
        theirs = email.message_from_bytes(raw, policy=policy.compat32)
        assert same_tree(tree(ours), tree(theirs)), name


def test_the_linear_reader_builds_the_stdlibs_tree_for_broken_structure() -> None:
    pieces = [b"Content-Type: multipart/mixed; boundary=A\n", b'Content-Type: multipart/alternative; boundary="B"\n',
              b"Content-Type: message/rfc822\n", b"Content-Type: multipart/digest; boundary=A\n",
              b"Content-Type: text/plain\n", b"\n", b"\r\n", b"\r", b"--A\n", b"--A--\n", b"--B\n", b"--B--\n",
              b"--A  \n", b"--A--x\n", b"--AB\n", b"x\n", b"From x\n", b" folded\n", b"--A", b"--B--",
              b"X: y\r\n", b"--A \t\r\n", b"Content-Type: multipart/mixed\n", b"\xe9\xff\n"]
    rng = random.Random(7)
    for _ in range(3000):
        raw = b"".join(rng.choice(pieces) for _ in range(rng.randrange(1, 40)))
        ours = mime.read_mail(raw, 100_000).root
        theirs = email.message_from_bytes(raw, policy=policy.compat32)
        assert same_tree(tree(ours), tree(theirs)), raw


def test_mime_parameters_read_as_compat32_reads_them() -> None:
    rng = random.Random(5)
    alphabet = 'ab"\\;= *01\'%4Nx'
    for _ in range(3000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randrange(30)))
        assert mime._split_parameters(value) == email.message._parseparam(value)  # type: ignore[attr-defined]
        block = f"Content-Type: text/plain; {value}\nContent-Disposition: attachment; {value}\n\n"
        ours = email.parser.Parser(mime.MimePart, policy=policy.compat32).parsestr(block, headersonly=True)
        theirs = email.parser.Parser(policy=policy.compat32).parsestr(block, headersonly=True)
        for ours_of, theirs_of in ((lambda: mime.param(ours, "charset"), lambda: theirs.get_param("charset")),
                                   (lambda: mime.boundary(ours), theirs.get_boundary),
                                   (lambda: mime.filename(ours), theirs.get_filename),
                                   (lambda: mime.charset(ours), theirs.get_content_charset)):
            try:
                expected = theirs_of()
            except Exception:  # compat32 raises on some; the linear reader then finds nothing
                expected = None
            assert ours_of() == expected, value


def test_parts_with_huge_parameter_lists_are_read() -> None:
    junk = b'x="' + b"; " * 4_000 + b'"; '
    part = b"--B\r\nContent-Type: text/plain; " + junk + b"charset=iso-8859-1\r\n\r\nCaf\xe9\r\n"
    raw = b"Content-Type: multipart/mixed; " + junk + b"boundary=B\r\n\r\n" + part * 20 + b"--B--\r\n"
    parsed = parsed_ok(raw)
    assert parsed.full_text == "\n\n".join(["Café"] * 20)


def test_nesting_past_the_limit_is_not_read_and_the_mail_kept() -> None:
    head = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (n, n) for n in range(500))
    raw = (b"Content-Type: multipart/mixed; boundary=top\r\n\r\n--top\r\nContent-Type: text/plain\r\n\r\n"
           b"Shallow text.\r\n--top\r\n" + head + b"Content-Type: text/plain\r\n\r\n" + b"deep\r\n" * 100_000
           + b"--top\r\nContent-Type: text/plain\r\n\r\nAfter it.\r\n--top--\r\n")
    parsed = parsed_ok(raw)
    assert parsed.full_text == "Shallow text.\n\nAfter it."
    assert parsed.attachments[-1].data == raw


def test_a_flood_of_delimiter_lines_makes_no_empty_parts() -> None:
    raw = (b"Content-Type: multipart/mixed; boundary=B\r\n\r\n" + b"--B\r\n" * 200_000
           + b"Content-Type: text/plain\r\n\r\nOnly part.\r\n--B--\r\n")
    parsed = parsed_ok(raw)
    assert (parsed.full_text, parsed.attachments) == ("Only part.", ())


def test_ten_thousand_tiny_parts() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=B\r\n\r\n" + b"--B\r\n\r\nx\r\n" * 10_000 + b"--B--\r\n"
    parsed = parsed_ok(raw)
    assert parsed.full_text == "\n\n".join(["x"] * 99)
    assert parsed.attachments[-1].data == raw


# -- Sizes capped before decoding ---------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["base64", "quoted-printable", "8bit"])
def test_only_the_text_that_is_kept_is_decoded(encoding: str) -> None:
    text = ("línea número %d del registro\n" * 200_000) % tuple(range(200_000))
    message = EmailMessage()
    message.set_content(text, cte=encoding)
    [part] = [p for p in mime.read_mail(message.as_bytes(), 10).root.walk() if not p.is_multipart()]
    whole = parts.payload(part)
    prefix, cut = parts.payload_prefix(part, 4_000)
    assert cut and 4_000 == len(prefix) and whole.startswith(prefix)
    assert parts.payload_prefix(part, len(whole)) == (whole, False)
    parsed = parsed_ok(message.as_bytes(), max_text_bytes=1_000)
    assert parsed.full_text == text[:1_000].encode()[:1_000].decode("utf-8", "ignore")
    assert parsed.attachments[-1].filename == ORIGINAL_NAME


def test_a_utf16_text_part_cut_before_decoding_keeps_whole_characters() -> None:
    body = ("ñandú " * 100_000).encode("utf-16")
    raw = (b"Content-Type: text/plain; charset=utf-16\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(body))
    parsed = parsed_ok(raw, max_text_bytes=10_001)
    assert parsed.full_text.startswith("ñandú ñandú") and set(parsed.full_text.split()) == {"ñandú"}


def test_html_past_the_conversion_limit_is_cut_and_the_original_kept() -> None:
    words = " ".join(f"palabra{n}" for n in range(30_000))
    parsed = parsed_ok(mail(f"<p>{words}</p>", subtype="html"))
    assert parsed.full_text.startswith("palabra0 palabra1 ") and "palabra29999" not in parsed.full_text
    assert len(parsed.full_text) <= parsing.MAX_HTML
    assert parsed.attachments[-1].filename == ORIGINAL_NAME


def test_html_past_the_tag_limit_is_cut_and_the_original_kept() -> None:
    parsed = parsed_ok(mail("".join(f"<p>Párrafo {n}.</p>\n" for n in range(10_000)), subtype="html"))
    # Two tags a paragraph: the first MAX_HTML_TAGS tags hold half of them.
    assert parsed.full_text.split("\n\n")[-1] == f"Párrafo {parsing.MAX_HTML_TAGS // 2 - 1}."
    assert parsed.attachments[-1].filename == ORIGINAL_NAME


def test_a_long_ordered_list_is_numbered() -> None:
    parsed = parsed_ok(mail("<ol>" + "<li>paso</li>" * 5_000 + "</ol>", subtype="html"))
    lines = parsed.full_text.split("\n")
    assert lines[0] == "1. paso" and lines[-1] == "5000. paso" and len(lines) == 5_000
    parsed = parsed_ok(mail('<ol start="7"><li>a</li><li>b<ol><li>c</li></ol></li></ol>', subtype="html"))
    assert parsed.full_text == "7. a\n8. b\n   1. c"


def test_deeply_nested_quotes_and_lists_keep_their_text() -> None:
    html = "<blockquote>" * 30 + "<ul><li>" * 30 + "hondo" + "</li></ul>" * 30 + "</blockquote>" * 30
    parsed = parsed_ok(mail(html, subtype="html"))
    assert parsed.full_text.strip("> -\n") == "hondo"
    assert parsed.full_text.count(">") == 8  # eight levels are indented, the rest are not


def test_html_too_deep_to_convert_is_taken_as_text() -> None:
    html = "<div>" * 200 + "<p>texto<br></p>" * 3_000 + "</div>" * 200
    parsed = parsed_ok(mail(html, subtype="html"))
    assert parsed.full_text.split() == ["texto"] * 3_000
    assert [part.content_type for part in parsed.attachments] == ["text/html"]


def test_a_plain_alternative_is_checked_for_text_without_decoding_it_all() -> None:
    for plain, chosen in ((" \r\n" * 40_000 + "Late words.", "Late words."), (" \r\n" * 40_000, "HTML words.")):
        message = EmailMessage()
        message.set_content(plain, cte="base64")
        message.add_alternative("<p>HTML words.</p>", subtype="html")
        assert parsed_ok(message.as_bytes()).full_text.strip() == chosen
