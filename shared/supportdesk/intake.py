"""Mail intake: a raw mail that SES received becomes a ticket, a reply, or a reasoned refusal.

The seed article: tickets may be opened by mailing a department's address, but Support
accepts mail only from the address registered on a customer account; otherwise the mail
is rejected. A From header alone is easy to forge, so every mail, in every department,
opens or joins a ticket only when its From is one address whose domain SES's checks vouch
for (supportdesk.sender: DMARC alignment); anything else is refused without a word to the
address it names. Those checks, and the spam and virus verdicts, are read from the headers
alone, before any of the body is parsed.

Guarantees:
- Idempotent: the record of the SES message id is written in the same transaction as the
  ticket or reply, so a second delivery (or a concurrent one) changes nothing.
- Nothing is lost: the raw mail stays in the inbound bucket and every message links it;
  attachments over the limits are listed in the message as not imported, with the reason;
  an error raises, so Lambda retries and the dead-letter queue keeps the event.
- No loops: automatic mail (auto-replies, bounces, lists) never opens a ticket nor gets an
  answer; our own mail says it is automatic; each sender has a rate limit.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Mapping

from supportdesk import notifications, ratelimit
from supportdesk.access import CUSTOMER, access_to
from supportdesk.accounts import Account, find_account_by_email
from supportdesk.attachments import (
    ATTACHMENT_PREFIX,
    Attachment,
    AttachmentPolicy,
    AttachmentRefused,
    check_file,
    safe_filename,
)
from supportdesk.departments import Department
from supportdesk.i18n import DEFAULT_LANGUAGE, supported
from supportdesk.limits import MESSAGE_BYTES, SUBJECT_CHARS
from supportdesk.mail.parsing import MailHeaders, MailPart, ParsedMail, parse_headers, parse_mail
from supportdesk.opening import one_line
from supportdesk.reply_address import base_address, ticket_of
from supportdesk.sender import Verdicts, is_authenticated
from supportdesk.store import ConditionFailed, Table
from supportdesk.tickets import (
    AlsoRefused,
    GuestKeys,
    Requester,
    Ticket,
    add_customer_reply,
    create_ticket,
    get_ticket_head,
    utc_now,
)

SUBJECT_REFERENCE = re.compile(r"\[#([A-Z]{3}-\d{6})\]")
# Our Message-IDs carry the ticket ID (notifications.acknowledgement).
MESSAGE_ID_REFERENCE = re.compile(r"([A-Z]{3}-\d{6})\.(?:ack|reply)")
MAILS_PER_SENDER_PER_HOUR = 20
NOTICES_PER_SENDER_PER_DAY = 3


@dataclass(frozen=True)
class Outcome:
    """What became of a mail: created / replied / rejected / ignored / quarantined / duplicate."""

    kind: str
    reason: str | None = None
    ticket_id: str | None = None


@dataclass(frozen=True)
class Mailroom:
    """Where intake reads and writes: injected by the handler (or the local SMTP port)."""

    table: Table
    s3: Any
    ses: Any
    inbound_bucket: str  # where SES's receipt rule stores the raw mail
    attachments_bucket: str
    policy: AttachmentPolicy
    departments: Mapping[str, Department]
    reply_secret: str = ""

    @property
    def guest_keys(self) -> GuestKeys:
        return GuestKeys(self.reply_secret)


def receive_stored_mail(room: Mailroom, *, raw_key: str, ses_message_id: str, recipients: list[str],
                        verdicts: Verdicts, envelope_sender: str = "") -> Outcome:
    """receive_mail for the raw mail that SES stored at `raw_key` in the inbound bucket."""
    raw = room.s3.get_object(Bucket=room.inbound_bucket, Key=raw_key)["Body"].read()
    return receive_mail(room, raw=raw, raw_key=raw_key, ses_message_id=ses_message_id, recipients=recipients,
                        verdicts=verdicts, envelope_sender=envelope_sender)


def receive_mail(room: Mailroom, *, raw: bytes, raw_key: str, ses_message_id: str,
                 recipients: list[str], verdicts: Verdicts, envelope_sender: str = "") -> Outcome:
    """Turn one received mail into a ticket, a reply, or a refusal with its reason."""
    record_key = f"INBOUND#{ses_message_id}"
    if room.table.get(record_key, "INBOUND", consistent=True):
        return Outcome("duplicate")
    headers = parse_headers(raw)
    screened = _screen(room, headers, recipients, verdicts, envelope_sender.strip().lower())
    if isinstance(screened, Outcome):
        outcome = screened
    else:
        outcome = _file(room, parse_mail(raw), screened, raw_key, ses_message_id, recipients)
    if outcome.kind in ("created", "replied", "duplicate"):
        return outcome
    try:
        _record(room.table, ses_message_id, outcome, raw_key)
    except ConditionFailed:
        return Outcome("duplicate")
    return outcome


def _record_action(table: Table, ses_message_id: str, outcome: Outcome, raw_key: str) -> dict[str, Any]:
    return table.put_action({
        "PK": f"INBOUND#{ses_message_id}", "SK": "INBOUND", "type": "InboundMail",
        "outcome": outcome.kind, "reason": outcome.reason, "ticket_id": outcome.ticket_id,
        "raw_key": raw_key, "received_at": utc_now(),
    }, "attribute_not_exists(PK)")


def _record(table: Table, ses_message_id: str, outcome: Outcome, raw_key: str) -> None:
    table.transact([_record_action(table, ses_message_id, outcome, raw_key)])


def _department_for(room: Mailroom, recipients: list[str]) -> Department | None:
    # The envelope recipients SES matched to a rule, not the To header (which may name
    # anyone, or nobody when we were BCC'd).
    # support+label@ is support@ (SES delivers labelled addresses to the address's rule).
    by_address = {d.email.lower(): d for d in room.departments.values()}
    return next((by_address[base_address(r)] for r in recipients if base_address(r) in by_address),
                None)


def _referenced_ticket(mail: ParsedMail, recipients: list[str], secret: str) -> str | None:
    for recipient in recipients:
        signed = ticket_of(recipient, secret)
        if signed:
            return signed
    found = SUBJECT_REFERENCE.search(mail.subject)
    if found:
        return found.group(1)
    for message_id in (*mail.in_reply_to, *reversed(mail.references)):
        found = MESSAGE_ID_REFERENCE.search(message_id)
        if found:
            return found.group(1)
    return None


@dataclass(frozen=True)
class _Accepted:
    """A mail that passed the screening: whose it is, and for which department."""

    sender: str
    account: Account | None
    department: Department


def _screen(room: Mailroom, headers: MailHeaders, recipients: list[str], verdicts: Verdicts,
            envelope_sender: str) -> Outcome | _Accepted:
    """Everything decided from the verdicts and the headers, before the body is read."""
    unwanted = _unwanted(headers, verdicts)
    if unwanted is not None:
        return unwanted
    department = _department_for(room, recipients)
    if department is None or not department.email_intake:
        return Outcome("rejected", "unknown-recipient")
    sender = _authenticated_sender(headers, verdicts, envelope_sender)
    if isinstance(sender, Outcome):
        return sender
    return _admit(room, headers, sender, department)


def _unwanted(headers: MailHeaders, verdicts: Verdicts) -> Outcome | None:
    """Viruses, spam and automatic mail: no department hears of them."""
    if verdicts.virus == "FAIL" or verdicts.spam == "FAIL":
        return Outcome("quarantined", "virus" if verdicts.virus == "FAIL" else "spam")
    if headers.is_automatic:
        return Outcome("ignored", headers.automatic_reason or "automatic")
    return None


def _authenticated_sender(headers: MailHeaders, verdicts: Verdicts, envelope_sender: str) -> str | Outcome:
    """The From address, if SES's checks vouch for it."""
    # Checked before anything is counted for the sender: a forged From must not use up
    # the real sender's allowance, nor get a notice.
    if headers.sender_problem is not None:
        return Outcome("rejected", f"unauthenticated: {headers.sender_problem}")
    sender = headers.from_address
    if not is_authenticated(verdicts, from_address=sender, envelope_sender=envelope_sender):
        return Outcome("rejected", "unauthenticated")
    return sender


def _admit(room: Mailroom, headers: MailHeaders, sender: str, department: Department) -> Outcome | _Accepted:
    """An authenticated sender's mail, within the sender's allowance, from someone the
    department takes mail from."""
    if not ratelimit.allow(room.table, "mail", sender, limit=MAILS_PER_SENDER_PER_HOUR,
                           window_seconds=3600):
        return Outcome("ignored", "rate-limited")
    account = find_account_by_email(room.table, sender)
    if not department.admits(account):
        _notify_rejection(room, headers, sender, department)
        return Outcome("rejected", "unknown-sender")
    return _Accepted(sender, account, department)


@dataclass(frozen=True)
class _Filed:
    """What an accepted mail adds to a ticket, and the record that it was received."""

    body: str
    attachments: tuple[Attachment, ...]
    raw_key: str
    ses_message_id: str
    trimmed: str = ""  # what the history step cut from the body, shown folded under it

    def record(self, table: Table, outcome: Outcome) -> list[dict[str, Any]]:
        return [_record_action(table, self.ses_message_id, outcome, self.raw_key)]


def _file(room: Mailroom, mail: ParsedMail, accepted: _Accepted, raw_key: str, ses_message_id: str,
          recipients: list[str]) -> Outcome:
    """An accepted mail joins the ticket it refers to (if its sender's), or opens one."""
    attachments, not_imported = _store_parts(room, mail.attachments, ses_message_id)
    filed = _Filed(_message_body(mail, not_imported), attachments, raw_key, ses_message_id,
                   trimmed=mail.trimmed if mail.text.strip() else "")
    reference = _referenced_ticket(mail, recipients, room.reply_secret)
    ticket = get_ticket_head(room.table, reference) if reference else None
    account_id = accepted.account.id if accepted.account else None
    if ticket is not None and access_to(ticket, account_id=account_id, mail_from=accepted.sender) in CUSTOMER:
        return _join(room, ticket, filed)
    return _open(room, mail, accepted, filed)


def _join(room: Mailroom, ticket: Ticket, filed: _Filed) -> Outcome:
    outcome = Outcome("replied", ticket_id=ticket.id)
    try:
        add_customer_reply(room.table, ticket, author_name=ticket.requester.name, body=filed.body,
                           attachments=filed.attachments, raw_mail_key=filed.raw_key, trimmed=filed.trimmed,
                           also=filed.record(room.table, outcome))
    except AlsoRefused:
        return Outcome("duplicate")
    return outcome


def _open(room: Mailroom, mail: ParsedMail, accepted: _Accepted, filed: _Filed) -> Outcome:
    account, sender = accepted.account, accepted.sender
    if account is not None:
        requester = Requester.of(account)
    else:
        language = supported(mail.language_hint) or DEFAULT_LANGUAGE
        requester = Requester(mail.from_name or sender, sender, None, language)
    try:
        ticket = create_ticket(
            room.table, department=accepted.department.slug, body=filed.body, requester=requester,
            subject=one_line(mail.subject)[:SUBJECT_CHARS] or _fallback_subject(filed.body),
            attachments=filed.attachments, raw_mail_key=filed.raw_key, trimmed=filed.trimmed,
            in_reply_to=mail.message_id,
            # A guest's mail proved its address as far as mail can (DMARC alignment): its ticket
            # needs no confirmation, and the acknowledgement carries its private link.
            guest_keys=None if account else room.guest_keys,
            also=filed.record(room.table, Outcome("created")),
        )
    except AlsoRefused:
        return Outcome("duplicate")
    return Outcome("created", ticket_id=ticket.id)


def _fallback_subject(body: str) -> str:
    first = next((line.strip(" #*>") for line in body.splitlines() if line.strip(" #*>")), "")
    return first[:80] or "(sin asunto / no subject)"


def _message_body(mail: ParsedMail, not_imported: list[tuple[str, str]]) -> str:
    text = mail.text.strip() or mail.full_text.strip()
    if len(text.encode("utf-8")) > MESSAGE_BYTES:
        text = text.encode("utf-8")[: MESSAGE_BYTES - 200].decode("utf-8", "ignore") + (
            "\n\n[…]")
    lines = [text] if text else []
    if not_imported:
        lines.append("\n".join(["", "---", "Adjuntos no importados / attachments not imported:"] +
                               [f"- {name}: {reason}" for name, reason in not_imported]))
    return "\n".join(lines) if lines else "(sin texto / no text)"


def _store_parts(room: Mailroom, parts: tuple[MailPart, ...], ses_message_id: str
                 ) -> tuple[tuple[Attachment, ...], list[tuple[str, str]]]:
    """Put the mail's files where web attachments live; list the refused ones with why."""
    stored: list[Attachment] = []
    refused: list[tuple[str, str]] = []
    for number, part in enumerate(parts):
        name = safe_filename(part.filename, f"adjunto-{number + 1}")
        if len(stored) >= room.policy.max_files:
            refused.append((name, f"more than {room.policy.max_files} files"))
            continue
        try:
            check_file(room.policy, name, len(part.data))
        except AttachmentRefused as refusal:
            refused.append((name, _refusal_words(refusal, room.policy)))
            continue
        # The same mail delivered again writes the same keys: a retry adds nothing.
        attachment_id = hashlib.sha256(f"{ses_message_id}/{number}".encode()).hexdigest()[:32]
        key = f"{ATTACHMENT_PREFIX}{attachment_id}/{name}"
        room.s3.put_object(Bucket=room.attachments_bucket, Key=key, Body=part.data,
                           ContentType=part.content_type or "application/octet-stream")
        stored.append(Attachment(attachment_id, key, name, len(part.data),
                                 part.content_type or "application/octet-stream"))
    return tuple(stored), refused


def _refusal_words(refusal: AttachmentRefused, policy: AttachmentPolicy) -> str:
    if refusal.reason == "too-large":
        return f"larger than {policy.max_megabytes} MB"
    if refusal.reason == "empty":
        return "empty"
    return "type not allowed"


def _notify_rejection(room: Mailroom, headers: MailHeaders, sender: str, department: Department) -> None:
    """Tell an authenticated sender why nothing was opened (never an unauthenticated one)."""
    if not ratelimit.allow(room.table, "notice", sender, limit=NOTICES_PER_SENDER_PER_DAY,
                           window_seconds=86400):
        return
    language = supported(headers.language_hint) or "es"
    message = notifications.rejection(sender, headers.subject, headers.message_id, department,
                                      language=language)
    notifications.send(room.ses, message)
