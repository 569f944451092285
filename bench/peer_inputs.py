"""The inputs bench/peer.py gives both help desks, and the checks of what each one kept.

Standard library only: bench/peer_django.py imports it in the bench-only virtualenv, and
bench/peer.py in the project's.
"""

from __future__ import annotations

import email
import re
from email import policy
from email.message import Message
from html.parser import HTMLParser
from typing import Any

from mail import CORPUS, message
from serving import EMAIL

WEB_ROUNDS = 30  # web submissions measured on each side (one more, unmeasured, warms up)
MAIL_ROUNDS = 9  # new-ticket mails and replies to them, from the customer (within 20 an hour)
WORDS = 40  # words of a mail's first text part that must be found in what was stored
WORD = re.compile(r"[^\W\d_]{4,}")

CUSTOMER = EMAIL  # the signed-in customer, on both sides


def web_subject(n: int) -> str:
    return f"El correo rebota {n}"


WEB_MESSAGE = "Desde las 10:00 los mensajes a info@ana.es rebotan con 550.\n\n```\n550 5.1.1\n```"


def new_mail(n: int) -> bytes:
    return message(CUSTOMER, f"Copia de seguridad {n}", "Falló anoche.")


def warm_up_mail() -> bytes:
    """The first, unmeasured mail of each side: a plain part and a Latin-1 HTML part side by
    side, so that neither pays for importing its HTML and charset code inside a measured mail."""
    return (f"From: {CUSTOMER}\r\nTo: support@example.com\r\nSubject: Primera\r\n".encode()
            + b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
            + b"--B\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n\r\nHola.\r\n"
            + b"--B\r\nContent-Type: text/html; charset=\"iso-8859-1\"\r\n\r\n<p>Hola, \xbfqu\xe9 tal?</p>\r\n"
            + b"--B--\r\n")


def reply_mail(token: str) -> bytes:
    """A reply that names its ticket in the subject: `token` is each desk's own ([#ID], [queue-ID])."""
    return message(CUSTOMER, f"Re: {token} Copia", "Otra vez.")


def corpus() -> list[tuple[str, bytes]]:
    return [(path.name, path.read_bytes()) for path in sorted(CORPUS.glob("msg_*.txt"))]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    try:
        text = payload.decode(part.get_content_charset() or "latin-1")
    except (LookupError, UnicodeDecodeError):
        text = payload.decode("latin-1")
    if part.get_content_type() == "text/html":
        parser = _Text()
        parser.feed(text)
        text = " ".join(parser.chunks)
    return text


def reference(raw: bytes) -> dict[str, Any]:
    """What a desk should keep of `raw`, as the standard library reads it (neither desk's parser):
    - words: the first WORDS words (4+ letters) of the first text part: the first text/plain
      leaf, else the first text/html one (as text), else the first other text/* one;
    - attachments: the decoded size of each leaf that is not text, multipart or message/*
      (a forwarded message's own files included), and of each text leaf sent as an attachment.
    """
    mail = email.message_from_bytes(raw, policy=policy.compat32)
    leaves = [part for part in mail.walk() if not part.is_multipart()]
    texts = [part for part in leaves if part.get_content_maintype() == "text"
             and part.get_content_disposition() != "attachment"]
    first = next((part for kind in ("text/plain", "text/html") for part in texts
                  if part.get_content_type() == kind), texts[0] if texts else None)
    sizes = []
    for part in leaves:
        if part in texts or part.get_content_maintype() in ("multipart", "message"):
            continue
        payload = part.get_payload(decode=True)
        sizes.append(len(payload) if isinstance(payload, bytes) else 0)
    return {"words": WORD.findall(_decoded(first))[:WORDS] if first is not None else [],
            "attachments": sizes}


def _as_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def kept(ref: dict[str, Any], text: str, files: list[bytes], listed: int) -> dict[str, int]:
    """Of the reference, what a stored ticket lacks. `text`: its messages' text; `files`: the
    contents of the files stored with them; `listed`: files named in the text as not imported.
    - words_not_in_text: reference words not in the text (a word kept only in a file counts);
    - words_lost: not in the text nor in any file;
    - attachments_dropped: reference attachments neither stored (matched by size) nor listed.
    """
    flat = " ".join(text.split())
    in_files = " ".join(" ".join(_as_text(data).split()) for data in files)
    not_in_text = [word for word in ref["words"] if word not in flat]
    left = [len(data) for data in files]
    unmatched = 0
    for size in ref["attachments"]:
        if size in left:
            left.remove(size)
        else:
            unmatched += 1
    return {"words": len(ref["words"]), "words_not_in_text": len(not_in_text),
            "words_lost": len([word for word in not_in_text if word not in in_files]),
            "attachments": len(ref["attachments"]), "attachments_stored": len(ref["attachments"]) - unmatched,
            "files_stored": len(files),
            "attachments_listed": listed, "attachments_dropped": max(0, unmatched - listed)}
