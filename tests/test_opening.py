"""What a valid ticket request is, for customers and for guests."""

from __future__ import annotations

import pytest

from supportdesk.accounts import Account
from supportdesk.opening import TicketRequest, validate
from supportdesk_dev.provision import declared_departments

DEPARTMENTS = {d.slug: d for d in declared_departments("example.com")}
ANA = Account(id="acc-ana", email="ana@example.org", name="Ana", services=("Hosting Pro — ana.es",))


def request(**changes: str) -> TicketRequest:
    base = dict(department="support", subject="Error 500 en ana.es", message="Desde las 10:00...",
                priority="normal", service="Hosting Pro — ana.es")
    base.update(changes)
    return TicketRequest(**base)


def test_a_complete_request_from_a_customer_is_valid() -> None:
    assert validate(request(), DEPARTMENTS, ANA) == {}
    assert validate(request(service=""), DEPARTMENTS, ANA) == {}


@pytest.mark.parametrize("changes, field, reason", [
    ({"subject": "   "}, "subject", "required"),
    ({"subject": "x" * 201}, "subject", "too-long"),
    ({"message": " \n "}, "message", "required"),
    ({"message": "ñ" * (32 * 1024 + 1)}, "message", "too-large"),  # 2 bytes each: over 64 KiB
    ({"department": "legal"}, "department", "unknown-department"),
    ({"priority": "whenever"}, "priority", "unknown-priority"),
    ({"service": "VPS de otra persona"}, "service", "not-your-service"),
])
def test_each_problem_is_named_by_field(changes: dict[str, str], field: str, reason: str) -> None:
    assert validate(request(**changes), DEPARTMENTS, ANA)[field] == reason


def test_subject_length_counts_characters_after_joining_lines() -> None:
    assert validate(request(subject="á" * 200), DEPARTMENTS, ANA) == {}
    assert validate(request(subject="a\n" * 100), DEPARTMENTS, ANA) == {}  # 199 chars on one line


def test_guests_may_write_to_sales_and_billing_but_not_support() -> None:
    guest = dict(name="Bea", email="bea@example.org", service="")
    assert validate(request(department="sales", **guest), DEPARTMENTS, None) == {}
    assert validate(request(department="billing", **guest), DEPARTMENTS, None) == {}
    assert validate(request(department="support", **guest), DEPARTMENTS, None) == {
        "department": "login-required"}


@pytest.mark.parametrize("email", ["", "bea", "bea@", "@example.org", "bea@example", "b ea@example.org",
                                   "bea@example.org>", "x" * 250 + "@example.org"])
def test_guests_need_a_real_address(email: str) -> None:
    errors = validate(request(department="sales", name="Bea", email=email, service=""), DEPARTMENTS, None)
    assert "email" in errors


def test_a_guest_has_no_services_to_choose_from() -> None:
    errors = validate(request(department="sales", name="Bea", email="bea@example.org"), DEPARTMENTS, None)
    assert errors == {"service": "not-your-service"}
