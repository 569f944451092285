"""Who may see and act on a ticket: one rule, which every way in asks.

A ticket opens to the client account that opened it, to a guest who holds the key of its
private link (or writes from its address by mail, once that address confirmed it), and to
support agents. Everyone else is told it does not exist.
"""

from __future__ import annotations

import hmac
from enum import Enum

from supportdesk.tickets import Ticket, hash_guest_key


class Access(Enum):
    OWNER = "owner"  # the client account that opened the ticket
    GUEST = "guest"  # the person a guest ticket was opened for
    AGENT = "agent"


# The ways in of the customer side (the portal, mail): an agent answers from the agents' side.
CUSTOMER = frozenset({Access.OWNER, Access.GUEST})


def access_to(ticket: Ticket, *, account_id: str | None = None, guest_key: str | None = None,
              mail_from: str | None = None, agent: bool = False) -> Access | None:
    """How the caller may reach `ticket`, or None.

    `account_id`: the signed-in (or, by mail, authenticated) account; `guest_key`: the key in
    a guest's link; `mail_from`: the authenticated sender of a mail; `agent`: the caller is a
    support agent.
    """
    owner = ticket.requester.account_id
    if owner is not None and account_id == owner:
        return Access.OWNER
    if owner is None and (_opens_with(ticket, guest_key) or _confirmed_address(ticket, mail_from)):
        return Access.GUEST
    return Access.AGENT if agent else None


def _opens_with(ticket: Ticket, guest_key: str | None) -> bool:
    if not guest_key or not ticket.guest_key_hash:
        return False
    return hmac.compare_digest(hash_guest_key(guest_key), ticket.guest_key_hash)


def _confirmed_address(ticket: Ticket, mail_from: str | None) -> bool:
    # A guest's ticket takes mail only from its address, once that address confirmed it.
    return bool(mail_from) and ticket.confirmed and ticket.requester.email.lower() == str(mail_from).lower()
