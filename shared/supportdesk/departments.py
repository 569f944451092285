"""Departments are data: name and description in each language, address, who may open
tickets there, and whether they still take new ones.

A stack's departments are declared in template.yaml (the `Departments` custom resource)
and written to the table when the stack is deployed (functions/departments); operators
add, edit and disable more with the CLI. Both use the functions here. A department is
never deleted: its tickets keep pointing at it, so one that is no longer wanted is
disabled (it takes no new tickets; its tickets carry on).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from supportdesk.store import ConditionFailed, Item, Table

if TYPE_CHECKING:
    from supportdesk.accounts import Account

PARTITION = "DEPARTMENT"
# A department's key names it in URLs, queue counts and tickets: short, lower case.
KEY = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
# The part before the @ of its address; labels (+...) are the reply addresses' own.
LOCAL_PART = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
NAME_CHARS = 60
DESCRIPTION_CHARS = 300


class InvalidDepartment(ValueError):
    """A declaration or an edit that cannot be stored; the message says what is wrong."""


class DepartmentExists(Exception):
    pass


class UnknownDepartment(Exception):
    pass


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
    description_es: str = ""
    description_en: str = ""
    # A disabled department takes no new tickets (web or mail); its tickets carry on.
    enabled: bool = True

    def name(self, language: str) -> str:
        return self.name_es if language == "es" else self.name_en

    def description(self, language: str) -> str:
        return self.description_es if language == "es" else self.description_en

    @property
    def mail_local_part(self) -> str:
        return self.email.partition("@")[0]

    @property
    def open_to_guests(self) -> bool:
        """Whether someone without a client account may open a ticket here, on the web or
        by mail: the one access rule of a department (Support, in the seed, is not)."""
        return self.guests_allowed and not self.login_required

    def admits(self, account: Account | None) -> bool:
        return account is not None or self.open_to_guests


def _department_item(department: Department) -> Item:
    return {"PK": PARTITION, "SK": f"DEPARTMENT#{department.slug}", "type": "Department",
            **asdict(department)}


def _department_from_item(item: Item) -> Department:
    # An item written before a field existed takes the field's default.
    known = {f.name: item[f.name] for f in fields(Department) if f.name in item}
    return Department(**{**known, "position": int(known.get("position", 0))})


def list_departments(table: Table) -> list[Department]:
    """Every department, disabled ones included (their tickets still name them)."""
    departments = [_department_from_item(i) for i in table.query("PK", PARTITION)]
    return sorted(departments, key=lambda d: (d.position, d.slug))


# --- declared in configuration ----------------------------------------------------------

def _flag(entry: Mapping[str, Any], name: str, key: str) -> bool:
    # CloudFormation hands a custom resource every scalar as text ("true"); YAML gives bools.
    value = entry.get(name)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidDepartment(f"department {key!r}: {name} must be true or false, not {value!r}")


def _text(entry: Mapping[str, Any], name: str, key: str, limit: int, *, required: bool) -> str:
    value = " ".join(str(entry.get(name) or "").split())
    if required and not value:
        raise InvalidDepartment(f"department {key!r}: {name} is required")
    if len(value) > limit:
        raise InvalidDepartment(f"department {key!r}: {name} is longer than {limit} characters")
    return value


def check(department: Department) -> Department:
    """The department if it can be stored; else InvalidDepartment saying why."""
    key = department.slug
    if not KEY.match(key):
        raise InvalidDepartment(
            f"department key {key!r}: lower-case letters, digits and '-', starting with a letter (at most 32)")
    local, at, domain = department.email.partition("@")
    if not at or not LOCAL_PART.match(local) or not domain or "@" in domain:
        raise InvalidDepartment(f"department {key!r}: {department.email!r} is not a department address")
    for name, value, limit in (("name_es", department.name_es, NAME_CHARS), ("name_en", department.name_en, NAME_CHARS),
                               ("description_es", department.description_es, DESCRIPTION_CHARS),
                               ("description_en", department.description_en, DESCRIPTION_CHARS)):
        if name.startswith("name") and not value.strip():
            raise InvalidDepartment(f"department {key!r}: {name} is required")
        if len(value) > limit:
            raise InvalidDepartment(f"department {key!r}: {name} is longer than {limit} characters")
    return department


def declared_departments(properties: Mapping[str, Any]) -> list[Department]:
    """The departments a `Custom::Departments` resource declares, in its order.

    `properties` are the resource's properties as CloudFormation sends them:
    ``MailDomain`` and ``Departments``, a list of ``{Key, NameEs, NameEn, DescriptionEs,
    DescriptionEn, MailLocalPart, GuestsAllowed, LoginRequired, Enabled}``.
    """
    domain = str(properties.get("MailDomain") or "").strip().lower()
    if not domain:
        raise InvalidDepartment("MailDomain is required")
    entries = properties.get("Departments")
    if not isinstance(entries, list):
        raise InvalidDepartment("Departments must be a list")
    departments: list[Department] = []
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping):
            raise InvalidDepartment(f"department {position}: not a mapping")
        key = str(entry.get("Key") or "")
        local = str(entry.get("MailLocalPart") or key).strip().lower()
        departments.append(check(Department(
            slug=key,
            name_es=_text(entry, "NameEs", key, NAME_CHARS, required=True),
            name_en=_text(entry, "NameEn", key, NAME_CHARS, required=True),
            email=f"{local}@{domain}",
            login_required=_flag(entry, "LoginRequired", key),
            guests_allowed=_flag(entry, "GuestsAllowed", key),
            position=position,
            description_es=_text(entry, "DescriptionEs", key, DESCRIPTION_CHARS, required=False),
            description_en=_text(entry, "DescriptionEn", key, DESCRIPTION_CHARS, required=False),
            enabled=_flag(entry, "Enabled", key) if "Enabled" in entry else True,
        )))
    for kind, values in (("key", [d.slug for d in departments]), ("address", [d.email for d in departments])):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise InvalidDepartment(f"more than one department with the {kind} {', '.join(repeated)}")
    return departments


@dataclass(frozen=True)
class Applied:
    written: list[str]
    disabled: list[str]


def apply_declared(table: Table, declared: Sequence[Department], *, previously: Sequence[str] = ()) -> Applied:
    """Store the declared departments as declared (an upsert: the declaration wins over
    the stored item), and disable those `previously` declared that no longer are; a
    department the declaration never named (one an operator added) is left alone."""
    for department in declared:
        table.put(_department_item(department))
    kept = {d.slug for d in declared}
    disabled = []
    for slug in previously:
        if slug in kept:
            continue
        try:
            set_enabled(table, slug, enabled=False)
            disabled.append(slug)
        except UnknownDepartment:
            pass
    return Applied([d.slug for d in declared], disabled)


# --- operators' changes -----------------------------------------------------------------

def get_department(table: Table, slug: str) -> Department | None:
    item = table.get(PARTITION, f"DEPARTMENT#{slug}", consistent=True)
    return _department_from_item(item) if item else None


def add_department(table: Table, department: Department) -> Department:
    check(department)
    try:
        table.put(_department_item(department), condition="attribute_not_exists(PK)")
    except ConditionFailed as error:
        raise DepartmentExists(department.slug) from error
    return department


def edit_department(table: Table, slug: str, **changes: Any) -> Department:
    """The department with `changes` (fields of Department) stored; its key stays."""
    current = get_department(table, slug)
    if current is None:
        raise UnknownDepartment(slug)
    unknown = set(changes) - {f.name for f in fields(Department)} | ({"slug"} & set(changes))
    if unknown:
        raise InvalidDepartment(f"cannot change {', '.join(sorted(unknown))}")
    changed = check(replace(current, **changes))
    try:
        table.put(_department_item(changed), condition="attribute_exists(PK)")
    except ConditionFailed as error:
        raise UnknownDepartment(slug) from error
    return changed


def set_enabled(table: Table, slug: str, *, enabled: bool) -> None:
    try:
        table.update(PARTITION, f"DEPARTMENT#{slug}", "SET enabled = :enabled", {":enabled": enabled},
                     condition="attribute_exists(PK)")
    except ConditionFailed as error:
        raise UnknownDepartment(slug) from error
