"""Benchmark of the mail-intake function against SPEC §5, and of the mail parser on the
worst inputs found for it.

    .venv/bin/python bench/mail.py            # prints a Markdown report
    .venv/bin/python bench/mail.py --parsing  # only the parser's CPU on the worst inputs

Through the real handler (SES events, raw mail in the local inbound bucket), in a child
process so its peak RSS is the function's own:
- data-store calls (DynamoDB + S3, botocore event hook) and time per mail, for a new
  ticket, a reply by subject token, and a duplicate delivery;
- the same for every message of CPython's email corpus (msg_*.txt);
- peak RSS after a 40 MB message (a 38 MB attachment), against the function's MemorySize.

In this process: CPU seconds (time.process_time) of parse_headers and parse_mail on each
of the worst inputs found while hunting for superlinear paths (WORST); each took from
seconds to minutes before the parser was made linear.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "cpython_email"  # CPython's own test mail


def message(sender: str, subject: str, body: str, attachment: bytes | None = None) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, "support@example.com", subject
    mail["Message-ID"] = f"<{uuid.uuid4().hex}@example.org>"
    mail.set_content(body)
    if attachment is not None:
        mail.add_attachment(attachment, maintype="application", subtype="zip", filename="backup.zip")
    return bytes(mail)


def _multipart(parts: bytes, boundary: bytes = b"B", params: bytes = b"") -> bytes:
    return (b"From: ana@example.com\r\nContent-Type: multipart/mixed; " + params + b"boundary=" + boundary
            + b"\r\n\r\n" + parts + b"--" + boundary + b"--\r\n")


def _text(body: bytes, params: bytes = b"", headers: bytes = b"") -> bytes:
    return (b"From: ana@example.com\r\nSubject: x\r\n" + headers + b"Content-Type: text/plain; charset=utf-8"
            + params + b"\r\n\r\n" + body)


def _html(body: str) -> bytes:
    return b"From: ana@example.com\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body.encode()


MB = 1_000_000
_NESTED = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (n, n) for n in range(500))
_SEMICOLONS = b'x="' + b"; " * 4_000 + b'"; '
# name -> (what it is, a function making it): each is made when measured.
WORST: dict[str, tuple[str, Any]] = {
    "flowed-paragraph": ("5 MB format=flowed, one paragraph of 70-character soft-broken lines",
                         lambda: _text((b"word " * 14 + b"\r\n") * (5 * MB // 72), b"; format=flowed")),
    "flowed-short-lines": ("5 MB format=flowed, 1.25 million soft-broken lines of one letter",
                           lambda: _text(b"a \r\n" * (5 * MB // 4), b"; format=flowed; delsp=yes")),
    "quoted-history": ("5 MB of \">\"-quoted history under two lines of reply",
                       lambda: _text(b"Sigue sin funcionar.\r\n\r\nOn Mon, Ana wrote:\r\n"
                                     + b"> la respuesta anterior, citada\r\n" * (5 * MB // 32))),
    "deep-quote": ("one line quoted 5 million levels deep", lambda: _text(b"Nuevo.\r\n" + b">" * (5 * MB) + b" x\r\n")),
    "blank-lines": ("a reply, 5 MB of empty lines, a signature", lambda: _text(b"Hola.\n" + b"\n" * (5 * MB) + b"-- \nAna\n")),
    "short-lines": ("10 MB of one-letter lines in one text part", lambda: _text(b"a\n" * (5 * MB))),
    "tiny-parts": ("10,000 tiny parts", lambda: _multipart(b"--B\r\n\r\nx\r\n" * 10_000)),
    "delimiter-flood": ("5 MB of delimiter lines", lambda: _multipart(b"--B\r\n" * (5 * MB // 5))),
    "nested-multiparts": ("500 nested multiparts, then 5 MB of short lines",
                          lambda: b"From: ana@example.com\r\n" + _NESTED + b"Content-Type: text/plain\r\n\r\n"
                          + b"a\r\n" * (5 * MB // 3)),
    "parameter-lists": ("100 parts, each Content-Type with 8 KB of quoted semicolons",
                        lambda: _multipart((b"--B\r\nContent-Type: text/plain; " + _SEMICOLONS
                                            + b"charset=utf-8\r\n\r\nhola\r\n") * 100, params=_SEMICOLONS)),
    "encoded-subject": ("a 1 MB Subject of encoded words",
                        lambda: b"From: ana@example.com\r\nSubject: " + b"=?utf-8?q?caf=C3=A9?= " * (MB // 22)
                        + b"\r\n\r\nx"),
    "header-lines": ("200,000 header lines (From headers among them)",
                     lambda: b"From: ana@example.com\r\n" * 100_000 + b"X-A: b\r\n" * 100_000 + b"\r\nx"),
    "reply-to": ("9,000 Reply-To headers of 48 addresses each",
                 lambda: b"From: ana@example.com\r\n" + (b"Reply-To: " + b"x@example.net, " * 48 + b"\r\n") * 9_000
                 + b"\r\nx"),
    "recipients": ("100,000 To headers", lambda: b"From: ana@example.com\r\n" + b"To: a@example.com\r\n" * 100_000
                   + b"\r\nx"),
    "long-header-lines": ("four 1 MB header lines", lambda: b"Subject: " + b"word " * 200_000 + b"\r\nX-Junk: "
                          + b"x" * MB + b"\r\nTo: " + b"someone@example.com, " * 50_000 + b"\r\nFrom: a@example.com"
                          + b"\r\nContent-Type: text/plain; name=" + b"n" * MB + b"\r\n\r\nx"),
    "base64-junk": ("5 MB of base64 text with junk", lambda: _text(b"aGVsbG8g!!\r\n" * (5 * MB // 12),
                                                                    headers=b"Content-Transfer-Encoding: base64\r\n")),
    "qp-soft-breaks": ("5 MB of quoted-printable soft line breaks",
                       lambda: _text(b"ab=\r\n" * MB, headers=b"Content-Transfer-Encoding: quoted-printable\r\n")),
    "big-text": ("a 10 MB text part (1 MB of it kept)", lambda: _text(b"Lorem ipsum dolor sit amet. " * (10 * MB // 28))),
    "html-dense": ("1 MB of dense HTML", lambda: _html("<p>hola <b>mundo</b></p>\n" * (MB // 25))),
    "html-long-list": ("an HTML list of 15,000 items", lambda: _html("<ol>" + "<li>paso</li>" * 15_000 + "</ol>")),
    "html-nested-lists": ("100 nested HTML lists around 30,000 lines",
                          lambda: _html("<ul><li>" * 100 + "x<br>" * 30_000 + "</li></ul>" * 100)),
}


def parsing_cpu(rounds: int = 3) -> list[tuple[str, str, int, float, float]]:
    """(name, what, bytes, parse_headers s, parse_mail s): the median CPU of `rounds` runs."""
    sys.path.insert(0, str(REPO / "shared"))
    from supportdesk.mail.parsing import parse_headers, parse_mail

    parse_mail(_html("<p>import everything first</p>"))
    rows = []
    for name, (what, make) in WORST.items():
        raw = make()
        cpu: dict[Any, list[float]] = {parse_headers: [], parse_mail: []}
        for _ in range(rounds):
            for function in cpu:
                start = time.process_time()
                function(raw)
                cpu[function].append(time.process_time() - start)
        rows.append((name, what, len(raw), statistics.median(cpu[parse_headers]), statistics.median(cpu[parse_mail])))
    return rows


def print_parsing() -> None:
    print("## The parser on the worst inputs found (CPU seconds, median of 3)\n")
    print("| input | size | parse_headers | parse_mail |")
    print("|---|---|---|---|")
    for _, what, size, headers, mail in parsing_cpu():
        print(f"| {what} | {size / MB:.1f} MB | {headers:.3f} | {mail:.3f} |")


def serve(rounds: int) -> dict[str, Any]:
    """In the child: feed mails to the handler and measure."""
    from serving import own_peak_mb

    from inbound.handler import handler, mailroom
    from supportdesk.mail.parsing import parse_headers
    from supportdesk_dev.events import LambdaContext, ses_receipt_event

    room, s3, settings = mailroom()
    calls: list[str] = []

    def count(event_name: str, **_: Any) -> None:
        calls.append(event_name)

    for client in (room.table.client, room.s3):
        client.meta.events.register("before-call.*", count)
    sender = os.environ["BENCH_EMAIL"]

    def deliver(raw: bytes, message_id: str | None = None, to: str = "support@example.com",
                envelope: str = sender) -> tuple[dict[str, Any], int, float]:
        message_id = message_id or uuid.uuid4().hex
        s3.put_object(Bucket=settings.inbound_bucket, Key=settings.inbound_prefix + message_id, Body=raw)
        calls.clear()
        start = time.perf_counter()
        result = handler(ses_receipt_event(message_id, sender=envelope, recipients=[to]), LambdaContext())
        elapsed = time.perf_counter() - start
        return result["outcomes"][0], len(calls), elapsed  # the raw mail's GetObject included

    costs: dict[str, list[int]] = {}
    times: dict[str, list[float]] = {}

    def note(name: str, cost: int, elapsed: float) -> None:
        costs.setdefault(name, []).append(cost)
        times.setdefault(name, []).append(elapsed)

    # First, within the sender's hourly allowance (20 mails), which the rounds below use up.
    # base64 makes 29.5 MB of attachment a 40 MB message, the size SPEC §5 names
    big = message(sender, "Copia completa", "Adjunto la copia.", os.urandom(29_500 * 1024))
    big_outcome, big_cost, big_elapsed = deliver(big)
    assert big_outcome["outcome"] == "created", big_outcome
    for n in range(rounds):
        outcome, cost, elapsed = deliver(message(sender, f"Copia de seguridad {n}", "Falló anoche."), f"bench-{n}")
        note("new ticket", cost, elapsed)
        _, cost, elapsed = deliver(message(sender, f"Re: [#{outcome['ticket']}] Copia", "Otra vez."))
        note("reply by subject token", cost, elapsed)
        _, cost, elapsed = deliver(message(sender, "x", "y"), f"bench-{n}")
        note("duplicate delivery", cost, elapsed)
    corpus_costs, corpus_times = [], []
    for path in sorted(CORPUS.glob("msg_*.txt")):
        raw = path.read_bytes()
        # Each as if sent by its own From's server (SPF-aligned), so it is read, not refused.
        _, cost, elapsed = deliver(raw, to="sales@example.com",
                                   envelope=parse_headers(raw).from_address or sender)
        corpus_costs.append(cost)
        corpus_times.append(elapsed)
    fidelity = kept_of_every_fixture(room, s3, settings, deliver)
    return {
        "costs": {k: max(v) for k, v in costs.items()},
        "times_ms": {k: statistics.median(v) * 1000 for k, v in times.items()},
        "corpus": {"mails": len(corpus_costs), "max_calls": max(corpus_costs),
                   "median_calls": statistics.median(corpus_costs),
                   "median_ms": statistics.median(corpus_times) * 1000,
                   "total_ms": sum(corpus_times) * 1000},
        "big": {"bytes": len(big), "calls": big_cost, "ms": big_elapsed * 1000},
        "fidelity": fidelity,
        "peak_rss_mb": own_peak_mb(),
    }


def fixture_mails() -> list[Path]:
    """Every mail the tests hold: CPython's corpus and our own fixtures, one per cause."""
    return sorted(CORPUS.glob("msg_*.txt")) + sorted((REPO / "tests" / "fixtures" / "mail").rglob("*.eml"))


def kept_of_every_fixture(room: Any, s3: Any, settings: Any, deliver: Any) -> dict[str, Any]:
    """Each fixture mail through the handler once more, then what its ticket kept of it
    (supportdesk_dev.fidelity): its outcome, words in no text or file of the ticket, files
    neither stored nor listed as not imported."""
    from supportdesk import intake
    from supportdesk.mail.parsing import ORIGINAL_NAME, parse_headers
    from supportdesk.tickets import get_ticket
    from supportdesk_dev.fidelity import compare

    # The sender's hourly allowance would hold back most of them: this measures what is kept.
    intake.MAILS_PER_SENDER_PER_HOUR = 1_000_000
    outcomes: dict[str, int] = {}
    lost: dict[str, int] = {}
    dropped: dict[str, int] = {}
    checked = 0
    for path in fixture_mails():
        raw = path.read_bytes()
        message_id = f"fidelity-{uuid.uuid4().hex}"
        outcome, _, _ = deliver(raw, message_id, to="sales@example.com",
                                envelope=parse_headers(raw).from_address or "nobody@example.org")
        kind = outcome["outcome"] + (f" ({outcome['reason']})" if outcome.get("reason") else "")
        outcomes[kind] = outcomes.get(kind, 0) + 1
        if outcome["outcome"] not in ("created", "replied"):
            continue
        ticket = get_ticket(room.table, outcome["ticket"], whole=True)
        message = next(m for m in ticket.messages if (m.raw_mail_key or "").endswith(message_id))
        files = [(a.filename, a.content_type,
                  s3.get_object(Bucket=room.attachments_bucket, Key=a.key)["Body"].read())
                 for a in message.attachments if a.filename != ORIGINAL_NAME]
        listed = message.body.split("attachments not imported:", 1)[-1].count("\n- ") if (
            "attachments not imported:" in message.body) else 0
        kept = compare(raw, texts=[message.body, message.trimmed], files=files, listed=listed)
        checked += 1
        if kept.lost_words:
            lost[path.name] = len(kept.lost_words)
        if kept.dropped_files:
            dropped[path.name] = kept.dropped_files
    return {"mails": len(fixture_mails()), "outcomes": outcomes, "checked": checked, "lost": lost,
            "dropped": dropped}


def memory_size() -> int:
    text = (REPO / "template.yaml").read_text()
    block = text.split("  InboundFunction:", 1)[1]
    return int(re.search(r"MemorySize: (\d+)", block).group(1))  # type: ignore[union-attr]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        print(json.dumps(serve(int(sys.argv[2]))))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--parsing":
        print_parsing()
        return
    from serving import serve_in_child

    results = serve_in_child(__file__, 9, stack_name="supportdesk-bench-mail",
                             env={"INBOUND_PREFIX": "inbound/"})
    print("## Data-store calls and time per mail (9 rounds; the raw mail's GetObject counted)\n")
    print("| mail | DynamoDB + S3 calls (max) | median time (ms, moto) |")
    print("|---|---|---|")
    for name, cost in results["costs"].items():
        print(f"| {name} | {cost} | {results['times_ms'][name]:.1f} |")
    corpus = results["corpus"]
    print(f"| CPython corpus, {corpus['mails']} mails | median {corpus['median_calls']}, "
          f"max {corpus['max_calls']} | median {corpus['median_ms']:.1f} (all: {corpus['total_ms']:.0f}) |")
    big = results["big"]
    print(f"\n## A {big['bytes'] / 1024 / 1024:.0f} MB message (a 29.5 MB attachment, over the 10 MB limit: "
          f"listed as not imported, raw mail kept)\n")
    print(f"- handled in {big['ms']:.0f} ms with {big['calls']} data-store calls")
    print(f"- peak memory (VmHWM) of the function's own process over the whole run: {results['peak_rss_mb']:.0f} MB "
          f"(MemorySize in template.yaml: {memory_size()} MB)")
    fidelity = results["fidelity"]
    print(f"\n## What the tickets kept of every fixture mail ({fidelity['mails']} mails: CPython's corpus "
          "and tests/fixtures/mail/)\n")
    print("| outcome | mails |")
    print("|---|---|")
    for kind, count in sorted(fidelity["outcomes"].items(), key=lambda item: (-item[1], item[0])):
        print(f"| {kind} | {count} |")
    print(f"\nOf the {fidelity['checked']} filed (created or replied), checked against the standard "
          "library's reading of the same bytes (supportdesk_dev.fidelity):\n")
    print(f"- with text lost (a word in no text, trimmed text or file of the ticket): {len(fidelity['lost'])}"
          + (f" ({', '.join(f'{k}: {v} words' for k, v in sorted(fidelity['lost'].items()))})" if fidelity["lost"] else ""))
    print(f"- with a file dropped without a word (neither stored nor listed as not imported): "
          f"{len(fidelity['dropped'])}"
          + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(fidelity['dropped'].items()))})" if fidelity["dropped"] else ""))
    print()
    print_parsing()


if __name__ == "__main__":
    main()
