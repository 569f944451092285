"""Accounts: customers and agents, their profile, and their login in Cognito.

Cognito holds the credentials; the table holds the profile the portal shows (name,
language, services). The account id is the Cognito `sub`, so a verified ID token leads
straight to the profile item with one GetItem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from supportdesk.i18n import DEFAULT_LANGUAGE, LANGUAGES
from supportdesk.store import Item, Table

AGENTS_GROUP = "agents"  # template.yaml: AgentsGroup


class AccountExists(Exception):
    """An account with this e-mail address exists already."""


class InvalidAccount(ValueError):
    """The account's data cannot be stored as given (the message says why)."""


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    name: str
    language: str = DEFAULT_LANGUAGE
    is_agent: bool = False
    services: tuple[str, ...] = field(default_factory=tuple)
    # Sessions started before this moment (ms since the epoch) no longer count: set when
    # the password is reset, so a browser that knew the old one is out at once.
    sessions_after: int = 0

    def accepts_session(self, started_ms: int) -> bool:
        return started_ms >= self.sessions_after

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else self.name


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _account_item(account: Account) -> Item:
    return {
        "PK": f"ACCOUNT#{account.id}",
        "SK": "PROFILE",
        "GSI1PK": f"EMAIL#{account.email}",
        "GSI1SK": "ACCOUNT",
        "type": "Account",
        "id": account.id,
        "email": account.email,
        "name": account.name,
        "language": account.language,
        "is_agent": account.is_agent,
        "services": list(account.services),
    }


def account_from_item(item: Item) -> Account:
    return Account(
        id=item["id"],
        email=item["email"],
        name=item["name"],
        language=item.get("language", DEFAULT_LANGUAGE),
        is_agent=bool(item.get("is_agent", False)),
        services=tuple(item.get("services", ())),
        sessions_after=int(item.get("sessions_after", 0)),
    )


def profile_key(account_id: str) -> tuple[str, str]:
    return f"ACCOUNT#{account_id}", "PROFILE"


def get_account(table: Table, account_id: str) -> Account | None:
    item = table.get(f"ACCOUNT#{account_id}", "PROFILE")
    return account_from_item(item) if item else None


def find_account_by_email(table: Table, email: str) -> Account | None:
    items = table.query("GSI1PK", f"EMAIL#{normalize_email(email)}", index="Owner", limit=1)
    return account_from_item(items[0]) if items else None


def end_sessions(cognito: Any, table: Table, user_pool_id: str, email: str, *, now_ms: int) -> None:
    """Every session of this account started before `now_ms` stops working, at once.

    Cognito's global sign-out revokes the refresh tokens; the ID tokens already handed out
    stay valid until they expire, so the profile records the moment and every request
    compares its session's start with it (see `accepts_session`).
    """
    account = find_account_by_email(table, email)
    if account is not None:
        table.update(f"ACCOUNT#{account.id}", "PROFILE", "SET sessions_after = :now", {":now": now_ms},
                     condition="attribute_exists(PK)")
    try:
        cognito.admin_user_global_sign_out(UserPoolId=user_pool_id, Username=normalize_email(email))
    except cognito.exceptions.UserNotFoundException:
        pass


def session_check(table: Table, account_id: str, started_ms: int) -> dict[str, Any]:
    """A transaction action that fails unless the account still accepts this session."""
    return table.condition_check_action(
        f"ACCOUNT#{account_id}", "PROFILE",
        "attribute_exists(PK) AND (attribute_not_exists(sessions_after) OR sessions_after <= :started)",
        {":started": started_ms})


def register_account(
    cognito: Any,
    table: Table,
    user_pool_id: str,
    *,
    email: str,
    name: str,
    password: str,
    language: str = DEFAULT_LANGUAGE,
    services: tuple[str, ...] = (),
    agent: bool = False,
) -> Account:
    """Create the login in Cognito and the profile in the table; the account can log in at once.

    The password is set as permanent (operators hand it over), so no first-login
    challenge stands between the customer and the portal. If the profile cannot be
    stored, the Cognito user is removed again: nothing is left half-made.
    """
    email = normalize_email(email)
    name = name.strip()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise InvalidAccount(f"not an e-mail address: {email!r}")
    if not name:
        raise InvalidAccount("the name is empty")
    if language not in LANGUAGES:
        raise InvalidAccount(f"language must be one of {', '.join(LANGUAGES)}")
    try:
        created = cognito.admin_create_user(
            UserPoolId=user_pool_id,
            Username=email,
            MessageAction="SUPPRESS",
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
                {"Name": "name", "Value": name},
                {"Name": "locale", "Value": language},
            ],
        )
    except cognito.exceptions.UsernameExistsException as error:
        raise AccountExists(email) from error
    try:
        cognito.admin_set_user_password(
            UserPoolId=user_pool_id, Username=email, Password=password, Permanent=True
        )
        if agent:
            cognito.admin_add_user_to_group(
                UserPoolId=user_pool_id, Username=email, GroupName=AGENTS_GROUP
            )
        attributes = {a["Name"]: a["Value"] for a in created["User"]["Attributes"]}
        account = Account(
            id=attributes["sub"],
            email=email,
            name=name,
            language=language,
            is_agent=agent,
            services=tuple(s.strip() for s in services if s.strip()),
        )
        table.put(_account_item(account))
        if agent:
            from supportdesk.agents import record_agent

            record_agent(table, account)
    except Exception as error:
        cognito.admin_delete_user(UserPoolId=user_pool_id, Username=email)
        if isinstance(error, cognito.exceptions.InvalidPasswordException):
            raise InvalidAccount(error.response["Error"]["Message"]) from error
        raise
    return account
