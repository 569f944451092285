"""Departments are data: name in each language, address, who may open tickets there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from supportdesk.store import ConditionFailed, Item, Table

if TYPE_CHECKING:
    from supportdesk.accounts import Account


@dataclass(frozen=True)
class Department:
    slug: str
    name_es: str
    name_en: str
    email: str
    login_required: bool
    guests_allowed: bool
    email_intake: bool = True
    position: int = 0

    def name(self, language: str) -> str:
        return self.name_es if language == "es" else self.name_en

    @property
    def open_to_guests(self) -> bool:
        """Whether someone without a client account may open a ticket here, on the web or
        by mail: the one access rule of a department (Support, in the seed, is not)."""
        return self.guests_allowed and not self.login_required

    def admits(self, account: Account | None) -> bool:
        return account is not None or self.open_to_guests


def default_departments(mail_domain: str) -> list[Department]:
    """The three departments of the seed article: Support needs login; Billing and Sales take guests."""
    return [
        Department("support", "Soporte", "Support", f"support@{mail_domain}",
                   login_required=True, guests_allowed=False, position=1),
        Department("billing", "Facturación", "Billing", f"billing@{mail_domain}",
                   login_required=False, guests_allowed=True, position=2),
        Department("sales", "Ventas", "Sales", f"sales@{mail_domain}",
                   login_required=False, guests_allowed=True, position=3),
    ]


def _department_item(department: Department) -> Item:
    return {
        "PK": "DEPARTMENT",
        "SK": f"DEPARTMENT#{department.slug}",
        "type": "Department",
        "slug": department.slug,
        "name_es": department.name_es,
        "name_en": department.name_en,
        "email": department.email,
        "login_required": department.login_required,
        "guests_allowed": department.guests_allowed,
        "email_intake": department.email_intake,
        "position": department.position,
    }


def _department_from_item(item: Item) -> Department:
    return Department(
        slug=item["slug"],
        name_es=item["name_es"],
        name_en=item["name_en"],
        email=item["email"],
        login_required=bool(item["login_required"]),
        guests_allowed=bool(item["guests_allowed"]),
        email_intake=bool(item.get("email_intake", True)),
        position=int(item.get("position", 0)),
    )


def list_departments(table: Table) -> list[Department]:
    departments = [_department_from_item(i) for i in table.query("PK", "DEPARTMENT")]
    return sorted(departments, key=lambda d: (d.position, d.slug))


def seed_departments(table: Table, mail_domain: str) -> list[Department]:
    """Store the default departments that are missing; an operator's edits are kept."""
    added = []
    for department in default_departments(mail_domain):
        try:
            table.put(_department_item(department), condition="attribute_not_exists(PK)")
            added.append(department)
        except ConditionFailed:
            pass
    return added
