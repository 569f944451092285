"""Departments are data: name in each language, address, who may open tickets there."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
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
    return {"PK": "DEPARTMENT", "SK": f"DEPARTMENT#{department.slug}", "type": "Department",
            **asdict(department)}


def _department_from_item(item: Item) -> Department:
    # An item written before a field existed takes the field's default.
    known = {f.name: item[f.name] for f in fields(Department) if f.name in item}
    return Department(**{**known, "position": int(known.get("position", 0))})


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
