"""Mail structure: attached mails kept as .eml files with their text shown, boundaries that
the stdlib cannot find, file names that must carry their extension, uuencoded files.

The fixtures (tests/fixtures/mail/structure/) are small raw mails modeled on what real clients
send: Outlook's forward as attachment (no file name), Thunderbird's and Apple Mail's (named),
Exchange Online's base64-encoded message/rfc822, Outlook Express's unquoted boundaries,
Outlook's uuencoded plain-text attachments.
"""

from __future__ import annotations

import io
import random
import re
import zipfile
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import pytest
from conftest import Person

from supportdesk.attachments import DEFAULT_EXTENSIONS, AttachmentPolicy, check_file
from supportdesk.mail import mime, uuencode
from supportdesk.mail.body import select_body
from supportdesk.mail.decode import decode
from supportdesk.mail.parsing import ORIGINAL_NAME, MailPart, ParsedMail, parse_mail
from supportdesk.store import Table
from supportdesk.tickets import get_ticket
from supportdesk_dev.stack import LocalStack

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
    assert len(list(FIXTURES.glob("*.eml"))) == 19


# -- Attached mails ---------------------------------------------------------------------------

ATTACHED = {
    # fixture: (the .eml's name, the part's header that tells it, outer boundary, its From and
    #           Subject, words of its text, the files inside it)
    "attached-outlook-no-filename.eml": (
        "Factura 2025-001 errónea.eml", b"Content-Type: message/rfc822", b"_004_AM0PR01MB0003BEEF_",
        "Proveedor Hosting <facturacion@proveedor.example>", "Factura 2025-001 errónea",
        "El importe incluye el dominio y la migración del buzón.", ["factura-2025-001.pdf"]),
    "attached-thunderbird-named.eml": (
        "Pedido 4711 pago rechazado.eml", b"Content-Type: message/rfc822", b"------------gS0Ar3kT1q2w3e4r5t6y7u8i",
        "Tienda Online <pedidos@tienda.example>", "Pedido 4711: pago rechazado",
        "Su pago del pedido **4711** ha sido rechazado por la pasarela.", []),
    "attached-apple-mail-thanks.eml": (
        "thanks.eml", b"filename=thanks.eml", b"Apple-Mail=_3B4C5D6E-7F80-4192-A3B4-C5D6E7F8091A",
        "Ana Gil <ana@cliente.example>", "Gracias",
        "Muchas gracias por restaurar la copia de seguridad, la tienda vuelve a funcionar.", []),
    "attached-global-utf8-headers.eml": (
        "Reunión mañana migración del correo.eml", b"Content-Type: message/global", b"g1",
        "Sofía Núñez <sofia@cliente.example>", "Reunión mañana: migración del correo",
        "Mañana a las 9:00 revisamos la migración de los buzones con soporte.", []),
}


@pytest.mark.parametrize("name", ATTACHED)
def test_an_attached_mail_is_an_eml_file_and_its_text_is_shown(name: str) -> None:
    eml, part_header, boundary, sender, subject, words, inner_files = ATTACHED[name]
    raw = fixture(name)
    mail = parsed(raw)
    files = named(mail)
    # Kept as it came, under its file name or its Subject, ending in .eml.
    assert files[eml].data == as_it_came(raw, part_header, boundary)
    assert files[eml].content_type in ("message/rfc822", "message/global")
    assert check_file(AttachmentPolicy(), eml, len(files[eml].data)) is None
    # Its text is shown, under one line that names it and holds its header fields.
    for text in (mail.full_text, mail.text):
        line = next(line for line in text.split("\n") if line.startswith("**Attached mail:"))
        assert line.startswith(f"**Attached mail: {eml}** — From: {sender}, Date: ")
        assert line.endswith(f", Subject: {subject}")
        assert words in text
    # Not "> "-quoted, and no header line of its own (a reply's quote header to history).
    assert not re.search(r"(?m)^(?:>|From:|Date:|Subject:|To:)", mail.full_text)
    assert not RAW_MIME.search(mail.full_text)
    # The files inside it are kept as well, after the mail's own.
    assert [part.filename for part in mail.attachments] == [eml, *inner_files]
    assert ORIGINAL_NAME not in files


def test_an_attached_mail_sent_in_base64_is_decoded() -> None:
    """Exchange Online sends message/rfc822 in base64, which RFC 2046 does not allow."""
    mail = parsed(fixture("attached-exchange-base64.eml"))
    [eml] = mail.attachments
    assert eml.filename == "ForwardedMessage.eml"
    assert eml.data.startswith(b"From: Notificaciones <no-reply@panel.example>\r\nTo:")
    assert parse_mail(eml.data).full_text.startswith("El certificado de tienda.example caducó el 5 de febrero.")
    assert "**Attached mail: ForwardedMessage.eml** — From: Notificaciones" in mail.text
    assert "Renueve el certificado desde el panel." in mail.text
    assert not RAW_MIME.search(mail.full_text)


def test_a_mail_attached_to_an_attached_mail() -> None:
    mail = parsed(fixture("attached-mail-inside-attached-mail.eml"))
    # The mail's own files first: a limit on files leaves out copies, not them.
    assert [part.filename for part in mail.attachments] == [
        "Fwd Recibo devuelto.eml", "extracto.pdf", "Recibo devuelto.eml", "justificante.png"]
    outer, _, inner, image = mail.attachments
    assert inner.data in outer.data and image.data == PNG
    assert re.findall(r"(?m)^\*\*Attached mail: (.*?)\*\*", mail.text) == ["Fwd Recibo devuelto.eml", "Recibo devuelto.eml"]
    assert "El recibo del hosting ha sido devuelto por falta de fondos." in mail.text
    assert mail.text.index("Revisad esto") < mail.text.index("**Attached mail: Recibo devuelto.eml**")


def test_the_body_tells_its_own_text_from_the_attached_mails() -> None:
    """What history stripping needs to take the outer signature off without the mail attached
    after it (supportdesk.mail.parsing)."""
    inner = EmailMessage()
    inner["From"], inner["Subject"] = "Banco <avisos@banco.example>", "Recibo devuelto"
    inner.set_content("El recibo ha sido devuelto.\n\n-- \nBanco\n")
    outer = EmailMessage()
    outer["From"], outer["Subject"] = "pedro@cliente.example", "Fwd"
    outer.set_content("Mirad esto.\n\n-- \nPedro Vidal\nContabilidad\n")
    outer.add_attachment(inner)
    body = select_body(decode(outer.as_bytes(), 100).root, max_parts=100, max_text_bytes=100_000)
    line = "**Attached mail: Recibo devuelto.eml** — From: Banco <avisos@banco.example>, Subject: Recibo devuelto"
    assert body.own_text == "Mirad esto.\n\n-- \nPedro Vidal\nContabilidad"
    assert body.attached == ((line, "El recibo ha sido devuelto.\n\n-- \nBanco"),)
    assert body.text == body.own_text + "\n\n" + line + "\n\n" + body.attached[0][1]


def test_an_attached_mail_past_the_text_budget_is_still_kept() -> None:
    inner = EmailMessage()
    inner["Subject"] = "Largo"
    inner.set_content("palabra " * 5_000)
    outer = EmailMessage()
    outer.set_content("Adjunto.")
    outer.add_attachment(inner)
    mail = parsed(outer.as_bytes(), max_text_bytes=1_000)
    assert [part.filename for part in mail.attachments] == ["Largo.eml", ORIGINAL_NAME]
    assert parse_mail(mail.attachments[0].data).full_text == ("palabra " * 5_000).strip()


# -- Boundaries -------------------------------------------------------------------------------

BOUNDARIES = {
    # fixture: (words of its text, the image's name, the image's bytes' start)
    "boundary-outlook-express-unquoted.eml": (
        "Al entrar en el panel sale el error de la captura. ¿Podéis mirarlo?", "error panel.jpg", b"\xff\xd8\xff"),
    "boundary-parameter-case-and-trailing-space.eml": (
        "La web da error 502 desde esta mañana, adjunto captura.", "Screenshot_20250212-085901.png", PNG),
    "boundary-declared-not-used.eml": ("Os adjunto la captura del cargo duplicado en la tarjeta.", "cargo.png", PNG),
    "boundary-lost-to-a-broken-fold.eml": ("Desde ayer no llegan los correos a info@, adjunto el rebote.", "rebote.png", PNG),
}


@pytest.mark.parametrize("name", BOUNDARIES)
def test_the_boundary_in_use_is_found(name: str) -> None:
    words, image, start = BOUNDARIES[name]
    mail = parsed(fixture(name))
    assert mail.text == mail.full_text == words
    [part] = mail.attachments
    assert part.filename == image and part.data.startswith(start)
    assert check_file(AttachmentPolicy(), part.filename, len(part.data)) is None


def test_a_body_whose_parts_cannot_be_told_apart_is_kept_as_a_file() -> None:
    raw = fixture("boundary-nowhere-to-be-found.eml")
    mail = parsed(raw)
    assert mail.text == mail.full_text == "Os mando la captura del fallo del carrito."
    body, original = mail.attachments
    assert (body.filename, original.filename, original.data) == ("attachment-1.txt", ORIGINAL_NAME, raw)
    assert body.data == raw[raw.index(b"\r\n\r\n") + 4:]


def test_a_multipart_of_plain_text_without_its_boundary_is_still_text() -> None:
    raw = (b"Content-Type: multipart/mixed; boundary=\"a\"\r\n\r\nSolo texto, sin partes.\r\n"
           b"--b\r\nNo: es una cabecera sin Content-\r\n\r\nSigue el texto.\r\n--b--\r\n")
    mail = parsed(raw)
    assert mail.full_text == "Solo texto, sin partes.\n--b\nNo: es una cabecera sin Content-\n\nSigue el texto.\n--b--"
    assert mail.attachments == ()


def tree(part: Message) -> list[object]:
    found: list[object] = [part.get_content_type(), list(part.raw_items()), part.preamble, part.epilogue]
    payload = part.get_payload()
    return [*found, [tree(child) for child in payload] if isinstance(payload, list) else payload]


def repaired(part: Message) -> bool:
    return bool(getattr(part, "repaired", None)) or (
        part.is_multipart() and any(repaired(child) for child in part.get_payload()))


def test_lenient_reading_changes_only_what_it_repairs() -> None:
    """Where the stdlib's tree is whole, the lenient reader builds the very same."""
    corpus = Path(__file__).parent / "fixtures" / "cpython_email"
    mails = [path.read_bytes() for path in sorted(corpus.glob("msg_*.txt"))]
    pieces = [b"Content-Type: multipart/mixed; boundary=A\n", b"Content-Type: message/rfc822\n",
              b"Content-Type: multipart/mixed\n", b"Content-Transfer-Encoding: base64\n", b"Content-Type: text/plain\n",
              b"\n", b"\r\n", b"--A\n", b"--A--\n", b"--B\n", b"--B--\n", b"x\n", b"X: y\n", b"--A \t\r\n", b"Zm9v\n"]
    rng = random.Random(3)
    mails += [b"".join(rng.choice(pieces) for _ in range(rng.randrange(1, 40))) for _ in range(3000)]
    repairs = 0
    for raw in mails:
        lenient = mime.read_mail(raw, 100_000, lenient=True).root
        if repaired(lenient):
            repairs += 1
        else:
            assert tree(lenient) == tree(mime.read_mail(raw, 100_000).root), raw
    assert repairs > 100  # the pieces do make mails to repair


def test_looking_for_the_boundary_in_use_stays_linear() -> None:
    """Only the first few delimiter-like lines are candidates: a flood of them costs no more."""
    flood = b"--X%d\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    raw = b"Content-Type: multipart/mixed; boundary=nowhere\r\n\r\n" + b"".join(flood % n for n in range(50_000))
    mail = parsed(raw)
    assert mail.full_text == "" and [part.filename for part in mail.attachments] == ["attachment-1.txt", ORIGINAL_NAME]


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


# -- uuencoded files --------------------------------------------------------------------------

def test_a_uuencoded_file_in_a_plain_text_mail_is_extracted() -> None:
    mail = parsed(fixture("uuencoded-outlook-plain-text.eml"))
    [archive] = mail.attachments
    assert (archive.filename, archive.content_type) == ("registro.zip", "application/zip")
    with zipfile.ZipFile(io.BytesIO(archive.data)) as opened:
        assert opened.read("registro.log") == "2025-02-03 10:00:01 ERROR conexión rechazada\n".encode() * 3
    assert mail.full_text == ("Buenos dias,\n\nOs envio los logs del servidor de correo de esta noche.\n\n"
                              "Un saludo,\nJose Luis")
    assert not RAW_MIME.search(mail.full_text) and "begin 644" not in mail.full_text


def test_two_uuencoded_files_in_latin1_text() -> None:
    mail = parsed(fixture("uuencoded-two-files-latin1.eml"))
    assert [(part.filename, part.content_type, part.data) for part in mail.attachments] == [
        ("configuración.txt", "text/plain", b"smtp=mail.cliente.example\nport=587\n"),
        ("captura error.png", "image/png", PNG)]
    assert mail.full_text == "Aquí va la configuración:\n\nY la captura del error:\n\nGracias por la ayuda."


def test_the_base64_form_of_uuencode_is_extracted() -> None:
    mail = parsed(fixture("uuencoded-base64-variant.eml"))
    [archive] = mail.attachments
    assert archive.filename == "volcado.zip" and zipfile.ZipFile(io.BytesIO(archive.data)).namelist() == ["registro.log"]
    assert mail.full_text == "El volcado de la base de datos:\n\nSaludos."


def test_a_block_that_does_not_decode_stays_text() -> None:
    mail = parsed(fixture("uuencoded-block-that-does-not-decode.eml"))
    assert mail.attachments == ()
    assert "begin 644 copia.sh\ny luego los comandos de siempre hasta el final:\nend" in mail.full_text
    # A block begins at the start of a line.
    assert uuencode.split(b"Ejemplo: begin 644 a.txt\n#86)C\n`\nend\n", 10).files == ()
    assert [f.data for f in uuencode.split(b"Ejemplo:\nbegin 644 a.txt\n#86)C\n`\nend\n", 10).files] == [b"abc"]


def test_a_uuencoded_file_in_a_base64_inline_text_part() -> None:
    message = EmailMessage()
    block = uuencode_block(PNG, "grafico.png")
    message.set_content(f"Antes.\n\n{block}\n\nDespués.\n", cte="base64", disposition="inline", cid="<t@x>")
    mail = parsed(message.as_bytes())
    # The file is no inline part, and the Content-ID is the text's, not its own.
    assert [(part.filename, part.data, part.inline, part.content_id) for part in mail.attachments] == [
        ("grafico.png", PNG, False, None)]
    assert mail.full_text == "Antes.\n\nDespués."


def test_uuencoded_lines_with_a_check_character() -> None:
    """Some encoders add a character after the data of each line."""
    lines = uuencode_block(PDF, "factura.pdf").split("\n")
    checked = "\n".join(line + "X" if line.startswith("M") else line for line in lines)
    mail = parsed(f"Subject: x\r\n\r\nFactura:\r\n{checked}\r\n".encode())
    assert [(part.filename, part.data) for part in mail.attachments] == [("factura.pdf", PDF)]


def uuencode_block(data: bytes, name: str) -> str:
    import binascii

    lines = [binascii.b2a_uu(data[n:n + 45]).decode().rstrip("\n") for n in range(0, len(data), 45)]
    return "\n".join([f"begin 644 {name}", *lines, "`", "end"])


def test_uuencoded_files_count_against_the_part_limit() -> None:
    blocks = "\n\n".join(uuencode_block(b"%d" % n, f"f{n}.txt") for n in range(12))
    raw = f"Subject: muchos\r\n\r\nTexto.\r\n\r\n{blocks}\r\n".replace("\n", "\r\n").replace("\r\r", "\r").encode()
    mail = parsed(raw, max_parts=6)
    names = [part.filename for part in mail.attachments]
    assert names == [f"f{n}.txt" for n in range(5)] + [ORIGINAL_NAME]
    assert "begin 644 f5.txt" in mail.full_text  # the rest is not lost: still text, and in the mail kept


def test_a_big_uuencoded_file_and_a_flood_of_begin_lines() -> None:
    data = random.Random(1).randbytes(600_000)
    mail = parsed(f"Subject: grande\r\n\r\n{uuencode_block(data, 'big.bin')}\r\n".encode())
    assert [(part.filename, part.data == data) for part in mail.attachments] == [("big.bin", True)]
    flood = b"Subject: x\r\n\r\n" + b"begin 644 a\r\nM\r\nbegin 644 b\r\n" * 50_000
    assert uuencode.split(flood.split(b"\r\n\r\n", 1)[1], 100).files == ()
    assert parsed(flood).full_text.startswith("begin 644 a\nM\n")


# -- Through the intake -----------------------------------------------------------------------

def test_an_attached_mail_and_a_nameless_screenshot_become_the_tickets_attachments(
        deliver: Any, customer: Person, table: Table, stack: LocalStack) -> None:
    inner = EmailMessage()
    inner["From"], inner["Subject"] = "Proveedor <facturas@proveedor.example>", "Factura de enero"
    inner.set_content("La factura de enero ya está disponible.")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = customer.email, "support@example.com", "RV: Factura"
    message.set_content("Os reenvío la factura; la captura muestra el error del pago.")
    message.add_attachment(inner)
    message.add_attachment(PNG, "image", "png", filename="captura de pantalla")
    raw = bytes(message)
    outcome = deliver(raw)
    stored = get_ticket(table, outcome["ticket"])
    assert stored is not None
    first = stored.messages[0]
    assert sorted(a.filename for a in first.attachments) == ["Factura de enero.eml", "captura de pantalla.png"]
    assert "no importados" not in first.body
    assert "**Attached mail: Factura de enero.eml**" in first.body
    assert "La factura de enero ya está disponible." in first.body
    s3 = stack.client("s3")
    kept = {a.filename: s3.get_object(Bucket=stack.environment["ATTACHMENTS_BUCKET"], Key=a.key)["Body"].read()
            for a in first.attachments}
    assert kept["captura de pantalla.png"] == PNG
    assert parse_mail(kept["Factura de enero.eml"]).subject == "Factura de enero"
    assert {"eml", "png"} <= DEFAULT_EXTENSIONS
