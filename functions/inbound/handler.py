"""SES receipt rule (Lambda action, Event) -> supportdesk.intake; and, every five minutes,
the mail held back over a sender's hourly allowance that is due -> let in.

Thin on purpose: it reads the event (inbound.ses_event) and hands each mail to one domain
function, which reads the raw message the rule's S3 action stored. Any error propagates, so
Lambda retries and then keeps the event in the dead-letter queue; the raw mail stays in the
bucket either way.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from time import monotonic
from typing import Any

from aws_lambda_powertools import Logger

from inbound.ses_event import received_mails
from supportdesk.attachments import DEFAULT_EXTENSIONS, AttachmentPolicy
from supportdesk.config import Settings
from supportdesk.departments import list_departments
from supportdesk.intake import Mailroom, let_in_held_mail, receive_stored_mail
from supportdesk.secrets import read_secrets
from supportdesk.store import Table

logger = Logger()

# An operator's change to the departments (one added, disabled, its address changed) reaches
# a warm container within this time, as it reaches the web function (portal.resources).
DEPARTMENTS_KEPT_SECONDS = 60.0
_departments_read: tuple[float, Mailroom] | None = None


@cache
def mailroom() -> tuple[Mailroom, Any, Settings]:
    import boto3

    settings = Settings.from_environ()

    def client(service: str) -> Any:
        return boto3.client(service, region_name=settings.region, endpoint_url=settings.endpoint_url)

    table = Table(client("dynamodb"), settings.table_name)
    s3 = client("s3")
    room = Mailroom(
        table=table,
        s3=s3,
        ses=client("ses"),
        inbound_bucket=settings.inbound_bucket,
        attachments_bucket=settings.attachments_bucket,
        policy=AttachmentPolicy(
            max_bytes=settings.attachment_max_megabytes * 1024 * 1024,
            max_files=settings.attachment_max_files,
            extensions=frozenset(settings.attachment_extensions) or DEFAULT_EXTENSIONS,
        ),
        departments={},  # read by current_mailroom(), and again once they are a minute old
        reply_secret=read_secrets(client("secretsmanager"), [settings.signing_secret_arn])[
            settings.signing_secret_arn],
        provider_name=settings.provider_name,
    )
    return room, s3, settings


def current_mailroom() -> tuple[Mailroom, Settings]:
    """The cached mailroom with departments read at most DEPARTMENTS_KEPT_SECONDS ago (one
    Query a minute at most, not one per mail)."""
    global _departments_read
    room, _, settings = mailroom()
    now = monotonic()
    if _departments_read is None or _departments_read[0] <= now or _departments_read[1].table is not room.table:
        fresh = replace(room, departments={d.slug: d for d in list_departments(room.table)})
        _departments_read = (now + DEPARTMENTS_KEPT_SECONDS, fresh)
    return _departments_read[1], settings


def forget_departments() -> None:
    """Read the departments again on the next mail (as a minute later)."""
    global _departments_read
    _departments_read = None


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    room, settings = current_mailroom()
    if event.get("let_in_held_mail"):  # template.yaml: the InboundFunction's HeldMail schedule
        let_in = let_in_held_mail(room, limit=50)
        logger.info("held mail let in", extra={"outcomes": [o.kind for o in let_in]})
        return {"let_in": [{"outcome": o.kind, "reason": o.reason, "ticket": o.ticket_id} for o in let_in]}
    outcomes = []
    for mail in received_mails(event):
        outcome = receive_stored_mail(room, raw_key=settings.inbound_prefix + mail.ses_message_id,
                                      ses_message_id=mail.ses_message_id, recipients=list(mail.recipients),
                                      verdicts=mail.verdicts, envelope_sender=mail.envelope_sender)
        logger.info("mail received", extra={"ses_message_id": mail.ses_message_id,
                                            "outcome": outcome.kind, "reason": outcome.reason,
                                            "ticket": outcome.ticket_id})
        outcomes.append({"messageId": mail.ses_message_id, "outcome": outcome.kind,
                         "reason": outcome.reason, "ticket": outcome.ticket_id})
    return {"outcomes": outcomes}
