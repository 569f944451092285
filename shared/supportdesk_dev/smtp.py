"""The local stand-in for SES receiving: an SMTP port that does what the receipt rules say.

For each mail to an address a receipt rule lists (read from the local SES, which was made
from template.yaml), it stores the raw MIME where the rule's S3 action would, then calls
the real intake handler with the event the rule's Lambda action would send. Verdicts are
PASS unless the mail says otherwise in an `X-Test-Verdicts: spf=FAIL, dkim=FAIL` header
(local only; SES computes them in AWS).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any, Callable

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from supportdesk.reply_address import base_address


@dataclass(frozen=True)
class ReceiptRule:
    recipients: tuple[str, ...]
    bucket: str
    prefix: str


def receipt_rules(ses: Any, rule_set: str) -> list[ReceiptRule]:
    rules = []
    for rule in ses.describe_receipt_rule_set(RuleSetName=rule_set).get("Rules", []):
        if not rule.get("Enabled", True):
            continue
        for action in rule.get("Actions", []):
            if "S3Action" in action:
                rules.append(ReceiptRule(
                    tuple(r.lower() for r in rule.get("Recipients", [])),
                    action["S3Action"]["BucketName"], action["S3Action"].get("ObjectKeyPrefix", "")))
    return rules


def verdicts_of(raw: bytes) -> dict[str, str]:
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    wanted = str(headers.get("X-Test-Verdicts", ""))
    found = {}
    for pair in wanted.split(","):
        name, _, value = pair.partition("=")
        if name.strip().lower() in ("spf", "dkim", "dmarc", "spam", "virus") and value.strip():
            found[name.strip().lower()] = value.strip().upper()
    return found


class ReceivingHandler:
    """aiosmtpd handler: accept the rules' recipients, store, hand over to intake."""

    def __init__(self, rules: list[ReceiptRule], s3: Any,
                 deliver: Callable[[dict[str, Any]], Any]) -> None:
        self.rules = rules
        self.s3 = s3
        self.deliver = deliver

    def _rule_for(self, address: str) -> ReceiptRule | None:
        # As SES does, a rule for support@ also takes support+label@.
        wanted = base_address(address)
        return next((r for r in self.rules if wanted in r.recipients), None)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if self._rule_for(address) is None:
            return "550 5.1.1 Mailbox does not exist"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        from supportdesk_dev.events import ses_receipt_event

        content = envelope.original_content or envelope.content or b""
        raw = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
        rule = self._rule_for(envelope.rcpt_tos[0])
        assert rule is not None  # RCPT accepted only the rules' recipients
        message_id = uuid.uuid4().hex
        self.s3.put_object(Bucket=rule.bucket, Key=rule.prefix + message_id, Body=raw)
        event = ses_receipt_event(message_id, sender=envelope.mail_from or "",
                                  recipients=list(envelope.rcpt_tos), verdicts=verdicts_of(raw))
        try:
            self.deliver(event)
        except Exception:
            # As with SES: the mail was received and stored; processing failed and is
            # retried by Lambda in AWS. Locally it is logged, the raw mail kept.
            import logging

            logging.getLogger("supportdesk_dev").exception("intake failed for %s", message_id)
        return "250 Message accepted"


def start_smtp(host: str, port: int, rules: list[ReceiptRule], s3: Any,
               deliver: Callable[[dict[str, Any]], Any]) -> Controller:
    controller = Controller(ReceivingHandler(rules, s3, deliver), hostname=host, port=port,
                            decode_data=False, data_size_limit=50 * 1024 * 1024)
    controller.start()
    return controller
