"""The event of an SES receipt rule's Lambda action, read into what the intake needs.

Only this adapter knows the event's shape: one record per mail, with SES's ``mail`` (its
message id, the envelope sender) and ``receipt`` (the envelope recipients the rule matched,
SES's verdicts). The event carries no body: the rule's S3 action stored the raw mail under
its prefix plus the message id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from supportdesk.sender import Verdicts


@dataclass(frozen=True)
class ReceivedMail:
    """One mail SES received, as its receipt event describes it."""

    ses_message_id: str
    envelope_sender: str  # "" for a bounce (null return path)
    recipients: tuple[str, ...]  # the envelope recipients the rule matched, not the To header
    verdicts: Verdicts


def received_mails(event: Mapping[str, Any]) -> Iterator[ReceivedMail]:
    """Each record's mail, read when its turn comes."""
    for record in event.get("Records", []):
        yield received_mail(record["ses"])


def received_mail(ses: Mapping[str, Any]) -> ReceivedMail:
    """One record's ``ses`` object."""
    mail, receipt = ses["mail"], ses["receipt"]
    return ReceivedMail(ses_message_id=mail["messageId"], envelope_sender=str(mail.get("source", "")),
                        recipients=tuple(receipt.get("recipients", [])), verdicts=verdicts_from_receipt(receipt))


def verdicts_from_receipt(receipt: Mapping[str, Any]) -> Verdicts:
    """SES's verdicts; one that is missing counts as GRAY (spam and virus: PASS)."""
    def status(name: str, default: str) -> str:
        return str((receipt.get(name) or {}).get("status", default)).upper()

    return Verdicts(spf=status("spfVerdict", "GRAY"), dkim=status("dkimVerdict", "GRAY"),
                    dmarc=status("dmarcVerdict", "GRAY"), spam=status("spamVerdict", "PASS"),
                    virus=status("virusVerdict", "PASS"))
