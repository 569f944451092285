"""The agents' side of the data: who the agents are, their saved replies, finding any ticket.

Agents are Cognito users in the `agents` group with a profile like any account; a small
directory item each (PK=AGENT) lists them for the assignee menu in one Query. Saved replies
belong to a department (PK=SAVED#<department>), so the editor of a ticket offers that
department's. Search finds any ticket, closed ones included: by ID (one GetItem), by the
customer's e-mail (the customer's tickets, or a guest's by address), or by words (the
search index, supportdesk.search_index).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from supportdesk.accounts import Account, find_account_by_email, normalize_email
from supportdesk.limits import message_problem
from supportdesk.search import fold
from supportdesk.search_index import EVERYONE, Lookup, lookup
from supportdesk.store import Item, Table
from supportdesk.tickets import Agent, Ticket, get_ticket_head, is_ticket_id, ticket_from_item, utc_now

SEARCH_PAGE = 25
SAVED_TITLE_CHARS = 80


def agent_of(account: Account) -> Agent:
    return Agent(account.id, account.name)


def directory_item(account: Account) -> Item:
    return {"PK": "AGENT", "SK": f"AGENT#{account.id}", "type": "AgentEntry", "id": account.id,
            "name": account.name, "email": account.email}


def record_agent(table: Table, account: Account) -> None:
    """List the agent in the directory (the assignee menu); writing it again changes nothing."""
    table.put(directory_item(account))


def list_agents(table: Table) -> list[Agent]:
    items = table.query("PK", "AGENT", sort_key="SK", begins_with="AGENT#")
    return sorted((Agent(str(i["id"]), str(i["name"])) for i in items), key=lambda a: fold(a.name))


# --- saved replies -----------------------------------------------------------------------

@dataclass(frozen=True)
class SavedReply:
    department: str
    id: str
    title: str
    body: str
    author: str
    created_at: str


class InvalidSavedReply(ValueError):
    """`reason` names what is wrong (title or body)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def save_reply(table: Table, *, department: str, title: str, body: str, author: Agent) -> SavedReply:
    title = " ".join(title.split())
    if not title or len(title) > SAVED_TITLE_CHARS:
        raise InvalidSavedReply("title", "required" if not title else "too-long")
    problem = message_problem(body)
    if problem:
        raise InvalidSavedReply("body", problem)
    reply = SavedReply(department, secrets.token_hex(6), title, body, author.name, utc_now())
    table.put({"PK": f"SAVED#{department}", "SK": f"REPLY#{reply.id}", "type": "SavedReply",
               "department": department, "id": reply.id, "title": title, "body": body,
               "author": author.name, "created_at": reply.created_at})
    return reply


def saved_replies(table: Table, department: str) -> list[SavedReply]:
    items = table.query("PK", f"SAVED#{department}", sort_key="SK", begins_with="REPLY#")
    replies = [SavedReply(str(i["department"]), str(i["id"]), str(i["title"]), str(i["body"]),
                          str(i.get("author", "")), str(i.get("created_at", ""))) for i in items
               if not i.get("removed_at")]
    return sorted(replies, key=lambda r: fold(r.title))


def remove_saved_reply(table: Table, department: str, reply_id: str) -> None:
    """Saved replies are kept as history: a removed one is marked and no longer offered."""
    table.update(f"SAVED#{department}", f"REPLY#{reply_id}", "SET removed_at = :now", {":now": utc_now()},
                 condition="attribute_exists(PK)")


# --- search ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchResult:
    tickets: list[Ticket]
    cursor: str | None
    kind: str  # "id", "email", "words" or "empty"


def search_tickets(table: Table, query: str, *, cursor: str | None = None) -> SearchResult | Lookup:
    """Any ticket, by ID or by the customer's e-mail; or, for words, the first step of a
    search of the index (search_index.Lookup: its keys are read with the agent's profile)."""
    text = query.strip()
    if is_ticket_id(text.upper()):
        found = get_ticket_head(table, text.upper())
        return SearchResult([found] if found else [], None, "id")
    if "@" in text and " " not in text:
        return _by_email(table, normalize_email(text), cursor)
    found_words = lookup(table, EVERYONE, text, cursor=cursor)
    return found_words if found_words is not None else SearchResult([], None, "empty")


def _by_email(table: Table, email: str, cursor: str | None) -> SearchResult:
    account = find_account_by_email(table, email)
    owner = f"OWNER#{account.id}" if account else f"GUEST#{email}"
    page = table.page("GSI1PK", owner, index="Owner", sort_key="GSI1SK", cursor=cursor, size=SEARCH_PAGE,
                      newest_first=True)
    return SearchResult([ticket_from_item(i) for i in page.items if i.get("type") == "Ticket"], page.cursor,
                        "email")
