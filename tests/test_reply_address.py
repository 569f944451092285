"""Signed reply addresses: made and checked with the stack's secret."""

from __future__ import annotations

from supportdesk.reply_address import base_address, reply_address, ticket_of

SECRET = "0123456789abcdef" * 4


def test_the_address_names_the_ticket_and_checks_out() -> None:
    address = reply_address("support@example.com", "KXR-482913", SECRET)
    assert address.startswith("support+kxr-482913.") and address.endswith("@example.com")
    assert ticket_of(address, SECRET) == "KXR-482913"
    assert ticket_of(address.upper(), SECRET) == "KXR-482913"  # mail may change the case
    assert base_address(address) == "support@example.com"


def test_a_forged_or_foreign_label_names_nothing() -> None:
    address = reply_address("support@example.com", "KXR-482913", SECRET)
    other_ticket = address.replace("kxr-482913", "kxr-482914")
    assert ticket_of(other_ticket, SECRET) is None
    assert ticket_of(address, "another secret" * 4) is None
    assert ticket_of("support@example.com", SECRET) is None
    assert ticket_of("support+hello@example.com", SECRET) is None


def test_without_a_secret_mail_asks_for_replies_at_the_plain_address() -> None:
    assert reply_address("sales@example.com", "KXR-482913", "") == "sales@example.com"
    assert ticket_of("sales+kxr-482913.aaaaaaaaaaaaaaaa@example.com", "") is None
