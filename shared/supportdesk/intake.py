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
- Held, never dropped: an authenticated sender's mail over the hourly allowance is kept
  (a HELD item with what SES said of it; its raw mail stays in the inbound bucket) and
  its sender is told, once an hour, that it waits. When its hour is over it is let in
  (`let_in_held_mail`): filed as it would have been on arrival, against the allowance of
  the hour it is let in, once. Held mail whose hour is over goes first whenever a mail
  arrives; a scheduled call of `let_in_held_mail` lets it in when none does.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
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
from supportdesk.i18n import supported
from supportdesk.language import detect_language
from supportdesk.limits import MESSAGE_BYTES, SUBJECT_CHARS
from supportdesk.mail.parsing import MailHeaders, MailPart, ParsedMail, parse_headers, parse_mail
from supportdesk.opening import one_line
from supportdesk.reply_address import base_address, ticket_of
from supportdesk.sender import Verdicts, is_authenticated
from supportdesk.store import ConditionFailed, Item, Table, from_dynamodb, to_dynamodb
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
HOUR = 3600  # the window of MAILS_PER_SENDER_PER_HOUR
# Held mail: PK=HELD, SK=<when it may be let in>#<when it arrived>#<SES message id>, so one
# Query finds what is due, oldest first.
HELD = "HELD"
# Held mail let in before each mail that arrives (a scheduled call lets in more).
LET_IN_PER_MAIL = 5

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What became of a mail: created / replied / held / rejected / ignored / quarantined /
    duplicate."""

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
    # Whose help desk this is (ProviderName), for the notices the intake sends itself.
    provider_name: str = ""

    @property
    def guest_keys(self) -> GuestKeys:
        return GuestKeys(self.reply_secret)


@dataclass(frozen=True)
class _Envelope:
    """What SES said of one mail besides its bytes; a held mail keeps it, to be filed later
    exactly as it would have been on arrival."""

    raw_key: str
    ses_message_id: str
    recipients: tuple[str, ...]
    verdicts: Verdicts
    envelope_sender: str


def receive_stored_mail(room: Mailroom, *, raw_key: str, ses_message_id: str, recipients: list[str],
                        verdicts: Verdicts, envelope_sender: str = "", now: float | None = None) -> Outcome:
    """receive_mail for the raw mail that SES stored at `raw_key` in the inbound bucket."""
    raw = room.s3.get_object(Bucket=room.inbound_bucket, Key=raw_key)["Body"].read()
    return receive_mail(room, raw=raw, raw_key=raw_key, ses_message_id=ses_message_id, recipients=recipients,
                        verdicts=verdicts, envelope_sender=envelope_sender, now=now)


def receive_mail(room: Mailroom, *, raw: bytes, raw_key: str, ses_message_id: str,
                 recipients: list[str], verdicts: Verdicts, envelope_sender: str = "",
                 now: float | None = None) -> Outcome:
    """Turn one received mail into a ticket, a reply, a held mail, or a refusal with its reason."""
    now = time.time() if now is None else now
    if room.table.get(f"INBOUND#{ses_message_id}", "INBOUND", consistent=True):
        return Outcome("duplicate")
    _let_in_before(room, now)
    envelope = _Envelope(raw_key, ses_message_id, tuple(recipients), verdicts, envelope_sender.strip().lower())
    return _receive(room, raw, envelope, None, now)


def _receive(room: Mailroom, raw: bytes, envelope: _Envelope, held: Item | None, now: float) -> Outcome:
    """A new mail (`held` None), or a held one being let in."""
    headers = parse_headers(raw)
    screened = _screen(room, headers, list(envelope.recipients), envelope.verdicts, envelope.envelope_sender, now)
    if isinstance(screened, _OverLimit):
        return _hold(room, headers, raw, screened, envelope, held, now)
    if isinstance(screened, _Stranger):
        _notify_rejection(room, headers, raw, screened)
        screened = Outcome("rejected", "unknown-sender")
    if isinstance(screened, Outcome):
        outcome = screened
    else:
        outcome = _file(room, parse_mail(raw), screened, envelope, held)
    if outcome.kind in ("created", "replied", "duplicate"):
        return outcome
    try:
        room.table.transact(_record(room.table, envelope, outcome, held))
    except ConditionFailed:
        return Outcome("duplicate")
    return outcome


def _record(table: Table, envelope: _Envelope, outcome: Outcome, held: Item | None) -> list[dict[str, Any]]:
    """The actions that record what became of a mail, in the transaction that files it: its
    SES message id's record (a second delivery stops there). A held mail's record of being
    held becomes this one, and its HELD item goes: only while both are as they were, so a
    held mail is let in once."""
    record = {
        "PK": f"INBOUND#{envelope.ses_message_id}", "SK": "INBOUND", "type": "InboundMail",
        "outcome": outcome.kind, "reason": outcome.reason, "ticket_id": outcome.ticket_id,
        "raw_key": envelope.raw_key, "received_at": held["received_at"] if held else utc_now(),
    }
    if held is None:
        return [table.put_action(record, "attribute_not_exists(PK)")]
    return [table.put_action({**record, "let_in_at": utc_now()}, "outcome = :held", {":held": "held"}),
            _unhold(table, held)]


def _unhold(table: Table, held: Item) -> dict[str, Any]:
    return table.delete_action(HELD, str(held["SK"]), "ses_message_id = :id", {":id": held["ses_message_id"]})


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


@dataclass(frozen=True)
class _Stranger:
    """An authenticated sender the department takes no mail from: told why, nothing opened."""

    sender: str
    department: Department


@dataclass(frozen=True)
class _OverLimit:
    """An authenticated sender's mail over the hourly allowance: to be held, not dropped."""

    sender: str
    department: Department


def _screen(room: Mailroom, headers: MailHeaders, recipients: list[str], verdicts: Verdicts,
            envelope_sender: str, now: float) -> Outcome | _Accepted | _OverLimit | _Stranger:
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
    return _admit(room, headers, sender, department, now)


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


def _admit(room: Mailroom, headers: MailHeaders, sender: str, department: Department,
           now: float) -> _Accepted | _OverLimit | _Stranger:
    """An authenticated sender's mail, within the sender's allowance (or else held), from
    someone the department takes mail from."""
    if not ratelimit.allow(room.table, "mail", sender, limit=MAILS_PER_SENDER_PER_HOUR,
                           window_seconds=HOUR, now=now):
        return _OverLimit(sender, department)
    account = find_account_by_email(room.table, sender)
    if not department.admits(account):
        return _Stranger(sender, department)
    return _Accepted(sender, account, department)


@dataclass(frozen=True)
class _Filed:
    """What an accepted mail adds to a ticket, and the record that it was received."""

    body: str
    attachments: tuple[Attachment, ...]
    envelope: _Envelope
    held: Item | None  # the HELD item of a held mail being let in
    trimmed: str = ""  # what the history step cut from the body, shown folded under it

    @property
    def raw_key(self) -> str:
        return self.envelope.raw_key

    def record(self, table: Table, outcome: Outcome) -> list[dict[str, Any]]:
        return _record(table, self.envelope, outcome, self.held)


def _file(room: Mailroom, mail: ParsedMail, accepted: _Accepted, envelope: _Envelope, held: Item | None) -> Outcome:
    """An accepted mail joins the ticket it refers to (if its sender's), or opens one; a
    disabled department takes no new tickets (its tickets' replies still join them)."""
    reference = _referenced_ticket(mail, list(envelope.recipients), room.reply_secret)
    ticket = get_ticket_head(room.table, reference) if reference else None
    account_id = accepted.account.id if accepted.account else None
    joins = ticket is not None and access_to(ticket, account_id=account_id, mail_from=accepted.sender) in CUSTOMER
    if not joins and not accepted.department.enabled:
        return Outcome("rejected", "unknown-recipient")
    attachments, not_imported = _store_parts(room, mail.attachments, envelope.ses_message_id)
    filed = _Filed(_message_body(mail, not_imported), attachments, envelope, held,
                   trimmed=mail.trimmed if mail.text.strip() else "")
    if joins and ticket is not None:
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
        # A guest has no profile language: the mail's own header says it, or its words do.
        language = supported(mail.language_hint) or detect_language(f"{mail.subject}\n{filed.body}")
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


def _mail_language(headers: MailHeaders, raw: bytes) -> str:
    """The language of a mail from someone without a profile: its header says, or its words
    do (read only when a notice is to be written: most mail needs no notice)."""
    return supported(headers.language_hint) or detect_language(f"{headers.subject}\n{parse_mail(raw).text}")


def _notify_rejection(room: Mailroom, headers: MailHeaders, raw: bytes, stranger: _Stranger) -> None:
    """Tell an authenticated sender why nothing was opened (never an unauthenticated one)."""
    if not ratelimit.allow(room.table, "notice", stranger.sender, limit=NOTICES_PER_SENDER_PER_DAY,
                           window_seconds=86400):
        return
    message = notifications.rejection(stranger.sender, headers.subject, headers.message_id, stranger.department,
                                      language=_mail_language(headers, raw), provider=room.provider_name)
    notifications.send(room.ses, message)


# -- held mail -------------------------------------------------------------------------------

def _hold(room: Mailroom, headers: MailHeaders, raw: bytes, over: _OverLimit, envelope: _Envelope, held: Item | None,
          now: float) -> Outcome:
    """Keep a mail over its sender's allowance, to be let in when the hour is over.

    A new one is recorded as held (a second delivery of it is a duplicate) with its HELD
    item, and its sender is told, once an hour. One being let in whose new hour is spent
    too waits for the next one, as it was: in the same transaction its HELD item moves."""
    release = (int(now // HOUR) + 1) * HOUR
    item = _held_item(envelope, over.sender, release, str(held["received_at"]) if held else utc_now())
    if held is not None:
        if item["SK"] == held["SK"]:  # let in before its hour was over: it stays as it is
            return Outcome("held", "rate-limited")
        actions = [_unhold(room.table, held), room.table.put_action(item)]
    else:
        # Told before the mail is recorded: should the notice fail, the delivery is retried,
        # and this mail still is the hour's one to tell (at worst, told twice; never not).
        if ratelimit.claim(room.table, "held-notice", over.sender, envelope.ses_message_id,
                           window_seconds=HOUR, now=now):
            _notify_hold(room, headers, raw, over, release)
        actions = [*_record(room.table, envelope, Outcome("held", "rate-limited"), None),
                   room.table.put_action(item, "attribute_not_exists(PK)")]
    try:
        room.table.transact(actions)
    except ConditionFailed:
        return Outcome("duplicate")
    return Outcome("held", "rate-limited")


def _held_item(envelope: _Envelope, sender: str, release: float, received_at: str) -> Item:
    return {
        "PK": HELD, "SK": f"{_moment(release)}#{received_at}#{envelope.ses_message_id}", "type": "HeldMail",
        "sender": sender, "release_at": _moment(release), "received_at": received_at,
        "ses_message_id": envelope.ses_message_id, "raw_key": envelope.raw_key,
        "recipients": list(envelope.recipients), "verdicts": asdict(envelope.verdicts),
        "envelope_sender": envelope.envelope_sender,
    }


def _moment(seconds: float) -> str:
    """A moment as text that sorts as time (whole seconds, UTC)."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _notify_hold(room: Mailroom, headers: MailHeaders, raw: bytes, over: _OverLimit, release: float) -> None:
    account = find_account_by_email(room.table, over.sender)
    language = account.language if account else _mail_language(headers, raw)
    notifications.send(room.ses, notifications.held_notice(
        over.sender, headers.subject, headers.message_id, over.department, limit=MAILS_PER_SENDER_PER_HOUR,
        release=datetime.fromtimestamp(release, timezone.utc), language=language, provider=room.provider_name))


def held_mail_due(room: Mailroom, *, now: float | None = None, limit: int = 100) -> list[Item]:
    """The HELD items whose hour is over, oldest first (at most `limit`)."""
    now = time.time() if now is None else now
    response = room.table.client.query(
        TableName=room.table.name, KeyConditionExpression="PK = :held AND SK < :after", Limit=limit,
        ExpressionAttributeValues=to_dynamodb({":held": HELD, ":after": _moment(now + 1)}))
    return [from_dynamodb(raw) for raw in response.get("Items", [])]


def let_in_held_mail(room: Mailroom, *, now: float | None = None, limit: int = 100) -> list[Outcome]:
    """Let in held mail whose hour is over, oldest first: each is filed as it would have been
    when it arrived (same department, same ticket), counted in this hour's allowance, or
    waits another hour if that is spent. Safe to run again, or twice at once: a mail is
    let in once. One that cannot be let in (its raw mail unreadable) is logged and waits
    another hour, so it holds back no other."""
    now = time.time() if now is None else now
    outcomes = []
    for held in held_mail_due(room, now=now, limit=limit):
        try:
            outcomes.append(let_in(room, held, now=now))
        except Exception:
            logger.exception("held mail %s could not be let in; it waits another hour", held.get("ses_message_id"))
            _postpone(room, held, now)
    return outcomes


def let_in(room: Mailroom, held: Item, *, now: float | None = None) -> Outcome:
    """File one held mail now (see let_in_held_mail); "duplicate" if it was let in already."""
    now = time.time() if now is None else now
    raw = room.s3.get_object(Bucket=room.inbound_bucket, Key=held["raw_key"])["Body"].read()
    return _receive(room, raw, _envelope_of(held), held, now)


def _envelope_of(held: Item) -> _Envelope:
    return _Envelope(str(held["raw_key"]), str(held["ses_message_id"]), tuple(held.get("recipients") or ()),
                     Verdicts(**held["verdicts"]), str(held.get("envelope_sender") or ""))


def _postpone(room: Mailroom, held: Item, now: float) -> None:
    later = _held_item(_envelope_of(held), str(held["sender"]), (int(now // HOUR) + 1) * HOUR,
                       str(held["received_at"]))
    try:
        room.table.transact([_unhold(room.table, held), room.table.put_action(later)])
    except Exception:
        logger.exception("held mail %s stays where it was", held.get("ses_message_id"))


def _let_in_before(room: Mailroom, now: float) -> None:
    """Held mail whose hour is over goes in before a new mail; a problem there never keeps
    the new mail out."""
    try:
        let_in_held_mail(room, now=now, limit=LET_IN_PER_MAIL)
    except Exception:
        logger.exception("held mail could not be looked up; it waits for the next mail or run")
