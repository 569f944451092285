"""Signed reply addresses: support+kxr-482913.<signature>@example.com.

Our mail about a ticket asks for answers at the department's address with a label that
names the ticket and is signed with the stack's secret. SES delivers labelled addresses
to the department's rule, and intake recognizes the ticket even when a mail client drops
the subject's [#ABC-123456] and the threading headers. The signature makes the label
unforgeable; the ticket still accepts mail only from its owner.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

LABEL = re.compile(r"^([a-z]{3}-\d{6})\.([a-z2-7]{16})$")


def _signature(ticket_id: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), ticket_id.upper().encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:16]  # 80 bits, in letters mail keeps


def reply_address(department_address: str, ticket_id: str, secret: str) -> str:
    """The address answers about this ticket go to (the plain address without a secret)."""
    if not secret:
        return department_address
    local, _, domain = department_address.partition("@")
    return f"{local}+{ticket_id.lower()}.{_signature(ticket_id, secret)}@{domain}"


def base_address(address: str) -> str:
    """support+anything@example.com -> support@example.com (lower case)."""
    local, _, domain = address.strip().lower().partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def ticket_of(address: str, secret: str) -> str | None:
    """The ticket a signed reply address names, if its signature is ours."""
    if not secret:
        return None
    local = address.strip().lower().partition("@")[0]
    _, plus, label = local.partition("+")
    found = LABEL.match(label) if plus else None
    if not found:
        return None
    ticket_id = found.group(1).upper()
    return ticket_id if hmac.compare_digest(found.group(2), _signature(ticket_id, secret)) else None
