"""Who really sent a mail: the From address, when SES's checks vouch for its domain.

SPF vouches for the envelope sender's domain and DKIM for the signing domain (`d=`), and
either may be any domain at all: an attacker's own server passes SPF for the attacker's own
bounce address while its From: names our customer. What ties a check to the From address is
DMARC alignment (RFC 7489): the check passed for the From domain's organizational domain.

So a sender is authenticated only when
* the mail has a From of exactly one address (parsing reports anything else), and
* SES's DMARC verdict is PASS (an aligned SPF or DKIM check passed and the domain publishes
  DMARC), or, unless it is FAIL, SPF passed for an envelope sender in the From domain's
  organizational domain (relaxed SPF alignment: the way a domain without a DMARC record
  still proves itself).

A DKIM pass alone is not enough: SES does not say which domain signed, and any domain can.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList


@dataclass(frozen=True)
class Verdicts:
    """What SES found about the sender and the content (PASS, FAIL, GRAY, PROCESSING_FAILED)."""

    spf: str = "GRAY"
    dkim: str = "GRAY"
    dmarc: str = "GRAY"
    spam: str = "PASS"
    virus: str = "PASS"


@cache
def _suffixes() -> PublicSuffixList:
    # Loaded on first use: the mail intake needs it, the web function never does.
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def domain_of(address: str) -> str:
    local, at, domain = address.strip().lower().rpartition("@")
    return domain.rstrip(".") if at and local else ""


def organizational_domain(domain: str) -> str | None:
    """example.co.uk for mail.example.co.uk; None for a public suffix (co.uk) or nonsense."""
    domain = domain.strip().lower().rstrip(".")
    if not domain or ".." in domain or domain.startswith("."):
        return None
    found = _suffixes().privatesuffix(domain)
    return str(found) if found else None


def is_authenticated(verdicts: Verdicts, *, from_address: str, envelope_sender: str) -> bool:
    """True when SES's checks vouch for the domain of `from_address` (see the module docstring)."""
    from_domain = organizational_domain(domain_of(from_address))
    if from_domain is None:
        return False
    if verdicts.dmarc == "PASS":
        return True
    # DMARC FAIL: the domain publishes a policy and no aligned check passed; nothing we
    # compute overrules it.
    if verdicts.dmarc == "FAIL" or verdicts.spf != "PASS":
        return False
    return organizational_domain(domain_of(envelope_sender)) == from_domain
