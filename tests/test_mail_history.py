"""The new text of a mail: a forwarded mail is what the customer sends us, whatever client
forwarded it; the quoted history of a reply and a signature are trimmed, and only after a
delimiter we trust; and what is trimmed is all still there, in `split_history`'s second half.

The mails in fixtures/mail/history/ are as their clients write them (Gmail, Outlook and its
web app, Thunderbird, KMail, Apple Mail, Yahoo), in English, Spanish, German and French, and
go through `parse_mail` whole, from their bytes.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from supportdesk.mail.history import MAX_REPLY_SCAN, split_history, strip_history
from supportdesk.mail.parsing import ParsedMail, parse_mail

FIXTURES = Path(__file__).parent / "fixtures" / "mail" / "history"
CORPUS = Path(__file__).parent / "fixtures" / "cpython_email"  # CPython's own test mail
FIXTURE_FILES = sorted(path.name for path in FIXTURES.glob("*.eml"))
CORPUS_FILES = sorted(path.name for path in CORPUS.glob("msg_*"))


def parsed(name: str) -> ParsedMail:
    return parse_mail((FIXTURES / name).read_bytes())


def flat(text: str) -> str:
    return " ".join(text.split())


def assert_in(phrases: list[str], text: str) -> None:
    missing = [phrase for phrase in phrases if flat(phrase) not in flat(text)]
    assert not missing, f"missing {missing} in:\n{text}"


def assert_not_in(phrases: list[str], text: str) -> None:
    found = [phrase for phrase in phrases if flat(phrase) in flat(text)]
    assert not found, f"{found} should be trimmed from:\n{text}"


def test_every_fixture_is_used() -> None:
    named = {*FORWARDS, *REPLIES, *HEADER_LIKE, *CLOSINGS_WITH_TEXT, *CLOSINGS_WITH_NAME, *LATER_PARTS}
    assert named == set(FIXTURE_FILES)


# -- Cause 1: a forwarded mail is text ----------------------------------------------------------

# fixture -> (the customer's note, phrases of the forwarded mail)
FORWARDS = {
    "forward-gmail-en.eml": ("FYI, this arrived last night.", [
        "---------- Forwarded message ---------", "From: Cron Daemon <root@web42.example.com>",
        "Access denied for user 'backup'@'localhost'", "Cannot stat: No such file or directory"]),
    "forward-gmail-es-html.eml": ("Mira abajo, ¿es vuestro?", [
        "Mensaje reenviado", "Registro de dominios", "será suspendido el 12 de febrero",
        "Verificación pendiente desde el 20 de enero."]),
    "forward-thunderbird-de.eml": ("Siehe unten, das kommt bei jeder Bestellung.", [
        "-------- Weitergeleitete Nachricht --------", "Mail Delivery System", "550 5.7.1 Relaying",
        "Absender nicht authentifiziert"]),
    "forward-thunderbird-fr-html.eml": ("Bonjour, voir ci-dessous.", [
        "-------- Message transféré --------", "Votre certificat expire",
        "expire dans trois jours (renouvellement automatique en échec)."]),
    "forward-kmail-en.eml": ("Is this the reason why uploads fail?", [
        "----------  Forwarded Message  ----------", "From: quota@web17.example.com",
        "Your account pnovak is using 9.8 GB of its 10 GB quota."]),
    "forward-apple-en.eml": ("Can you check this? My card is fine.", [
        "Begin forwarded message:", "From: Billing <billing@example.com>",
        "was declined by the issuer.", "Reason code: do_not_honor"]),
    "forward-apple-es.eml": ("Os reenvío lo que me llegó de un cliente.", [
        "Inicio del mensaje reenviado:", "De: Pedro Ruiz <pedro@cliente.example>",
        'sale "Error 502 Bad Gateway" y el mensaje no llega.']),
    "forward-apple-de-html.eml": ("Bitte prüfen.", [
        "Anfang der weitergeleiteten Nachricht:", "Monitoring <alarm@monitor.example>",
        "Das TLS-Zertifikat von shop.example.de ist seit heute abgelaufen."]),
    "forward-outlook-en.eml": ("Hi, see below. Started after your maintenance window.", [
        "From: Veeam Backup <veeam@contoso.example>", "Sent: Wednesday, February 12, 2025 2:00 AM",
        "Failed to connect to repository backup.example.com:10005 (connection timed out)."]),
    "forward-outlook-es-html.eml": ("Os reenvío el correo del banco.", [
        "**De:** Banco Ejemplo <avisos@banco.example>", "**Asunto:** Cargo duplicado",
        "Se han cargado dos veces 120,00 EUR en concepto de hosting anual (referencia HST-88231)."]),
    "forward-outlook-de.eml": ("Zur Info.", [
        "Von: Mailserver <postmaster@firma.example>", "Betreff: Postfach voll",
        "Ihr Postfach hat 98 % der zulässigen Größe erreicht."]),
    "forward-outlook-fr.eml": ("Pour info, est-ce normal ?", [
        "De : Sécurité <securite@panel.example>", "Objet : Alerte de sécurité",
        "Connexion au panneau depuis une adresse inconnue : 203.0.113.77 (Lagos)."]),
    "forward-outlook-original-message.eml": ("Forwarding the registrar's answer.", [
        "-----Original Message-----", "From: Registrar Support <help@registrar.example>",
        "still point to ns1.oldhost.example; please update them at your hosting panel."]),
    "forward-yahoo-en.eml": ("see below", [
        "----- Forwarded Message ----- From: Uptime Robot",
        "Monitor kimpark-blog.example is DOWN (HTTP 503 Service Unavailable) since 19:58 UTC."]),
}


@pytest.mark.parametrize("name", FORWARDS)
def test_a_forwarded_mail_is_text(name: str) -> None:
    note, forwarded = FORWARDS[name]
    mail = parsed(name)
    assert mail.text.strip().startswith(note)
    assert_in(forwarded, mail.text)


def test_the_senders_own_closing_above_a_forward_is_trimmed() -> None:
    """A closing and a name, a phone's line: what a client adds above the forwarded mail."""
    assert_not_in(["Gruß", "\nJens\n"], "\n" + parsed("forward-thunderbird-de.eml").text + "\n")
    assert_not_in(["Sent from my iPhone"], parsed("forward-apple-en.eml").text)
    assert_not_in(["Sabine Koch\n"], parsed("forward-outlook-de.eml").text.split("Von:")[0])


OUTLOOK_BLOCK = ("Please look at this.\n\n________________________________\nFrom: Monitor <alert@monitor.example>\n"
                 "Sent: Monday, February 3, 2025 10:00 AM\nTo: Ana <ana@example.com>\nSubject: {subject}\n\n"
                 "Disk usage on web42 is at 97 percent.")


@pytest.mark.parametrize("mail_subject, block_subject, forward", [
    ("FW: Disk usage", "Disk usage", True),
    ("Fwd: Disk usage", "Disk usage", True),
    ("RV: Uso de disco", "Disk usage", True),
    ("WG: Festplatte", "Disk usage", True),
    ("TR : Disque", "Disk usage", True),
    ("Enc: Disco", "Disk usage", True),
    ("Doorst: Schijf", "Disk usage", True),
    ("VS: Levy", "Disk usage", True),
    ("[EXTERNAL] FW: Disk usage", "Disk usage", True),
    ("FW: RE: Disk usage", "RE: Disk usage", True),  # a thread, forwarded
    ("RE: Disk usage", "Disk usage", False),
    ("Re: Fwd: Disk usage", "Fwd: Disk usage", False),  # a reply to a forward
    ("AW: Festplatte", "Disk usage", False),
    ("SV: Disk", "Disk usage", False),
    ("Antw: Schijf", "Disk usage", False),
    ("Disk usage", "Disk usage", False),  # no prefix: as it always was, a reply
    ("", "FW: Disk usage", True),  # no subject known: the block's own says
    ("", "RE: Disk usage", False),
])
def test_outlook_tells_a_forward_from_a_reply_by_the_subject(mail_subject: str, block_subject: str,
                                                             forward: bool) -> None:
    text = OUTLOOK_BLOCK.format(subject=block_subject)
    new, trimmed = split_history(text, subject=mail_subject)
    if forward:
        assert (new, trimmed) == (text, "")
    else:
        assert new == "Please look at this."
        assert trimmed.startswith("________________________________\nFrom: Monitor")
        assert strip_history(text, subject=mail_subject) == new


def test_our_own_marker_still_cuts_inside_a_forward() -> None:
    text = ("Still not fixed, see below.\n\n---------- Forwarded message ---------\nFrom: Support\n\n"
            "##- Please type your reply above this line -##\n\nHello Ana, it is fixed.")
    new, trimmed = split_history(text, subject="Fwd: [#KXR-482913] Mail")
    assert new == "Still not fixed, see below.\n\n---------- Forwarded message ---------\nFrom: Support"
    assert trimmed == "##- Please type your reply above this line -##\n\nHello Ana, it is fixed."


def test_a_forwarded_mails_own_history_and_signature_are_its_text() -> None:
    text = ("FYI\n\n-------- Forwarded Message --------\nSubject: Re: outage\n\nIt is down again.\n\n-- \n"
            "Ops team\n\nOn Mon, Feb 3, 2025 at 10:00 AM Bob <bob@example.net> wrote:\n> Is it up?")
    assert split_history(text, subject="Fwd: Re: outage") == (text, "")


# -- The history of a reply is still trimmed ------------------------------------------------------

# fixture -> (the new text, exactly; phrases of the history)
REPLIES = {
    "reply-gmail-en.eml": ("Thanks, it works now after changing the SMTP port to 587.",
                           ["wrote:", "Please type your reply", "port 25 is blocked"]),
    "reply-gmail-es.eml": ("Perfecto, ya la he descargado.",
                           ["escribió", "Escriba su respuesta", "La copia de ayer", "Marta"]),
    "reply-outlook-en.eml": ("The repository is reachable again, tonight's job succeeded.",
                             ["Regards", "From: Support", "We reopened port 10005"]),
    "reply-outlook-es-html.eml": ("Recibido el abono, gracias.",
                                  ["**De:** Soporte", "Hemos devuelto el cargo duplicado"]),
    "reply-outlook-original-message.eml": ("Done, the nameservers are updated now.",
                                           ["-----Original Message-----", "Please point the domain"]),
    "reply-thunderbird-de.eml": ("Danke, mit dem neuen Passwort klappt der Versand wieder.",
                                 ["schrieb Support", "SMTP-Passwort zurückgesetzt"]),
    # The reply header comes first: the forward quoted under it is history.
    "reply-gmail-en-forward-in-history.eml": ("Yes, the password was changed last week.",
                                              ["Forwarded message", "mysqldump"]),
}


@pytest.mark.parametrize("name", REPLIES)
def test_the_history_of_a_reply_is_trimmed(name: str) -> None:
    expected, history = REPLIES[name]
    mail = parsed(name)
    assert mail.text == expected
    assert_not_in(history, mail.text)
    new, trimmed = split_history(mail.full_text, subject=mail.subject)
    assert new == expected
    assert_in(history, trimmed)


# -- Cause 5: header-like lines are text ---------------------------------------------------------

# fixture -> (phrases of the new text, phrases of the history)
HEADER_LIKE = {
    "headerlike-obsolete-fields.eml": (["To    : Mary Smith <mary@x.test>", "Subject : hello",
                                        "The backup of mary's site failed twice this week"], []),
    "headerlike-obsolete-fields-reply.eml": (["To    : Support", "Subject : hello again",
                                              "Restoring yesterday's copy worked"],
                                             ["Which copy should we restore?"]),
    "headerlike-after-greeting.eml": (["Hello,", "To: Mary Smith <mary@x.test>", "Subject: hello",
                                       "The restore of mary's mailbox stopped at 40 percent"], []),
    "headerlike-from-content.eml": (["From: the contact form of my shop",
                                     "The messages never arrive since the migration"], []),
    "headerlike-from-date-es.eml": (["Revisad el formulario", "De: el formulario de contacto",
                                     "Fecha: desde ayer", "Los mensajes de los clientes no llegan"], []),
    # A whole quote header with nothing above it is no history of this mail: what follows it
    # is text, and the real history further down is still trimmed.
    "headerlike-block-at-start.eml": (["De: Ana López", "Asunto: la web",
                                       "La web sigue sin cargar desde el lunes, ni con el móvil."],
                                      ["escribió", "Texto viejo del ticket"]),
}


@pytest.mark.parametrize("name", HEADER_LIKE)
def test_header_like_lines_are_text(name: str) -> None:
    kept, history = HEADER_LIKE[name]
    mail = parsed(name)
    assert_in(kept, mail.text)
    assert_not_in(history, mail.text)


def test_a_quote_header_with_nothing_new_keeps_all_of_the_text() -> None:
    text = "On Mon, Feb 3, 2025 at 10:00 AM Ana <ana@example.com> wrote:\n> everything is old"
    assert split_history(text) == (text, "")
    text = "From: Ana\nSent: Monday\nTo: support\nSubject: RE: x\n\n##- Please type your reply above this line -##\nold"
    assert split_history(text, subject="RE: x") == (text, "")


# -- Cause 6: a closing is no delimiter ----------------------------------------------------------

# fixture -> phrases after the closing, which are text
CLOSINGS_WITH_TEXT = {
    "closing-de-content.eml": ["Mit freundlichen Grüßen", "Das Backup von gestern ist übrigens auch fehlgeschlagen."],
    "closing-es-content.eml": ["Saludos,", "además el correo devuelve 535 al enviar desde Outlook."],
    "closing-en-content-html.eml": ["Best regards,", "P.S. the staging site returns a blank page too."],
    "closing-fr-content.eml": ["Cordialement,", "il manque peut-être l'enregistrement DKIM du domaine."],
}
# fixture -> the new text: a closing followed by a name only is trimmed, a signature too
CLOSINGS_WITH_NAME = {
    "closing-en-name.eml": "Please renew the certificate of example.org before Friday.",
    "closing-es-name-signature.eml": "Quiero trasladar el dominio example.es a otra cuenta.",
}


@pytest.mark.parametrize("name", CLOSINGS_WITH_TEXT)
def test_text_after_a_closing_is_kept(name: str) -> None:
    assert_in(CLOSINGS_WITH_TEXT[name], parsed(name).text)


@pytest.mark.parametrize("name", CLOSINGS_WITH_NAME)
def test_a_closing_and_a_name_are_trimmed(name: str) -> None:
    mail = parsed(name)
    assert mail.text == CLOSINGS_WITH_NAME[name]
    assert split_history(mail.full_text, subject=mail.subject)[1].startswith(("Best regards,", "Un saludo,"))


@pytest.mark.parametrize("text, new", [
    ("Server down.\n\nThanks,\nAna", "Server down."),
    ("Server down.\n\nKind regards,\n\nAna Pérez\nACME S.L.", "Server down."),
    ("Server down.\n\nSaludos,\nMarta García\n\nEnviado desde mi iPhone", "Server down."),
    ("Server down.\n\nMfG\nJens", "Server down."),
    ("Server down.\n\nThanks,\nAlso the queue is stuck.", "Server down.\n\nThanks,\nAlso the queue is stuck."),
    ("Server down.\n\nBest,\nAna\nTel. +34 600 000 000", "Server down.\n\nBest,\nAna\nTel. +34 600 000 000"),
    ("Server down.\n\nGracias", "Server down.\n\nGracias"),  # a closing alone: nothing to gain
    ("Server down.\n\nRegards,\nAna\nBob\nCarl\nDora", "Server down.\n\nRegards,\nAna\nBob\nCarl\nDora"),
    ("Server down.\n\nGrüße\nDas Backup fehlt.", "Server down.\n\nGrüße\nDas Backup fehlt."),
])
def test_closings(text: str, new: str) -> None:
    assert split_history(text)[0] == new


# -- Cause 7: a later part is text ---------------------------------------------------------------

# fixture -> (phrases of the later part, phrases of the signature)
LATER_PARTS = {
    "parts-signature-then-text.eml": (["Hola, el cliente de correo da este error al enviar:",
                                       "535 auth failed para info@acme.example desde 192.0.2.15"],
                                      ["Ana López", "ACME S.L."]),
    "parts-apple-signature-image-text.eml": (["The checkout page shows this:",
                                              "PHP Fatal error: Allowed memory size of 134217728 bytes"],
                                             ["Sam Carter", "Carter Photo"]),
    "parts-signature-then-html.eml": (["Im Anhang die Fehlermeldung", "**disk quota exceeded**"],
                                      ["Weber Elektro GmbH", "Musterstadt"]),
    # The next part is history: trimmed as such.
    "parts-signature-then-reply-history.eml": (["The new password works, thanks."],
                                               ["Ana Lopez", "wrote:", "the old history text"]),
}


@pytest.mark.parametrize("name", LATER_PARTS)
def test_a_later_part_after_a_signature_is_text(name: str) -> None:
    kept, signature = LATER_PARTS[name]
    mail = parsed(name)
    assert_in(kept, mail.text)
    assert_not_in(signature, mail.text)


SIGNED = "Please look at the log.\n\n-- \nAna López\n\nACME S.L.\nCalle Mayor 1"
LATER = "535 auth failed para info@acme.example"


def test_a_signature_ends_at_a_blank_line_where_the_parts_are_not_known() -> None:
    """body.py joins its parts with a blank line, as a signature may have one: what follows
    the blank line is kept, the safe side."""
    assert split_history(f"{SIGNED}\n\n{LATER}") == (
        f"Please look at the log.\n\nACME S.L.\nCalle Mayor 1\n\n{LATER}", "-- \nAna López")


def test_a_signature_ends_with_its_part_where_the_parts_are_known() -> None:
    text = f"{SIGNED}\n\n{LATER}"
    assert split_history(text, part_starts=[0, len(SIGNED) + 2]) == (
        f"Please look at the log.\n\n{LATER}", "-- \nAna López\n\nACME S.L.\nCalle Mayor 1")


def test_a_history_ends_with_its_part_where_the_parts_are_known() -> None:
    """Apple Mail puts an attached text file after the quoted history, as a part of its own."""
    reply = "Here is the log.\n\nOn Mon, Feb 3, 2025 at 10:00 AM Ana <ana@example.com> wrote:\nold text"
    text = f"{reply}\n\n{LATER}"
    assert split_history(text)[0] == "Here is the log."
    assert split_history(text, part_starts=[0, len(reply) + 2])[0] == f"Here is the log.\n\n{LATER}"


# -- What is trimmed stays reachable -------------------------------------------------------------

WORDS = re.compile(r"\w+")


def assert_split_is_exact(full_text: str, subject: str = "", part_starts: Sequence[int] = ()) -> tuple[str, str]:
    new, trimmed = split_history(full_text, subject=subject, part_starts=part_starts)
    assert Counter(WORDS.findall(full_text)) == Counter(WORDS.findall(new)) + Counter(WORDS.findall(trimmed))
    lines = [line.rstrip() for line in full_text.split("\n") if line.strip()]
    for part in (new, trimmed):  # each holds lines of the text, in order
        found = iter(lines)
        assert all(line.rstrip() in found for line in part.split("\n") if line.strip())
    assert strip_history(full_text, subject=subject, part_starts=part_starts) == new
    return new, trimmed


@pytest.mark.parametrize("name", FIXTURE_FILES + CORPUS_FILES)
def test_every_word_is_in_the_new_text_or_the_trimmed_text(name: str) -> None:
    mail = parse_mail(((FIXTURES if name.endswith(".eml") else CORPUS) / name).read_bytes())
    new, trimmed = assert_split_is_exact(mail.full_text, mail.subject)
    assert bool(new.strip()) == bool(mail.full_text.strip())
    # parse_mail splits the mail's own text part by part, and shows attached mails whole:
    # what it shows and what it trimmed hold every word of the body all the same.
    shown = set(re.findall(r"\w+", mail.text + "\n" + mail.trimmed))
    assert set(re.findall(r"\w+", mail.full_text)) <= shown


LINES = [
    "New text here.", "", "", "> quoted", ">", "-- ", "Ana López", "ACME S.L.", "Best regards,", "Saludos,",
    "the rest of a sentence", "On Mon, Feb 3, 2025 at 10:00 AM Ana <ana@example.com> wrote:",
    "El lun, 3 feb 2025 a las 10:00, Ana", "escribió:", "-----Original Message-----", "From: Ana <ana@example.com>",
    "Sent: Monday", "To: support@example.com", "Subject: x", "________________________________",
    "---------- Forwarded message ---------", "Begin forwarded message:", "> Begin forwarded message:",
    "##- Please type your reply above this line -##", "Sent from my iPhone", "To    : Mary", "Subject : hello",
]


@pytest.mark.parametrize("seed", range(300))
def test_split_history_is_exact_on_random_mixes(seed: int) -> None:
    chance = random.Random(seed)
    lines = [chance.choice(LINES) for _ in range(chance.randint(1, 25))]
    text = "\n".join(lines)
    starts = sorted(chance.sample(range(len(lines)), chance.randint(0, min(3, len(lines)))))
    offsets = [sum(len(line) + 1 for line in lines[:start]) for start in starts]
    for subject in ("", "Re: x", "Fwd: x"):
        assert_split_is_exact(text, subject)
        assert_split_is_exact(text, subject, part_starts=offsets)


def test_past_the_scanned_head_only_a_cut_history_trims() -> None:
    long_tail = "word\n" * (MAX_REPLY_SCAN // 5) + "> the last line"
    text = f"New.\n> quoted\n{long_tail}"
    assert split_history(text) == (text, "")  # no history cut off: all of it is new
    text = f"New.\n\nOn Mon, Feb 3, 2025 at 10:00 AM Ana <ana@example.com> wrote:\n{long_tail}"
    new, trimmed = assert_split_is_exact(text)
    assert new == "New." and trimmed.endswith("word\n> the last line")
