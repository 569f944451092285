"""Finding tickets by their words, whatever the size of the archive: an inverted index in
the table.

Each word of a ticket's subject and of every message a customer can see (notes make no
event, so they are never indexed) has an item per scope: the customer's own
(`TERMS#<owner>#<word>`) and everyone's, for agents (`TERMS#*#<word>`), keyed by the
ticket's creation and ID. The notifier writes them from the ticket's events (a channel
like the mail), a moment after the change, off the request path.

A search is two calls whatever the archive holds: one Query of the partition of its
longest word (the likeliest to be rare), a page of candidates, newest first; then one
BatchGetItem that reads the candidates' heads (their current status and subject) together
with the items of the other words (at most MAX_QUERY_WORDS in all), so only the tickets
that have every word are shown, and the caller's profile, which checks the session.

Why not a managed search engine: OpenSearch Serverless starts at several hundred dollars a
month, more than a small provider's whole help desk; DynamoDB bills this index by the item.
A provider with millions of tickets can feed one from the same stream (a channel here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from supportdesk.events import EventKind, TicketEvent
from supportdesk.search import STOPWORDS, words
from supportdesk.store import Item, Table
from supportdesk.tickets import Ticket, get_message, owner_key, ticket_from_item

if TYPE_CHECKING:
    from supportdesk.channels import Outlet

EVERYONE = "*"
# A message of logs can hold thousands of distinct words; the first ones carry its subject.
MAX_WORDS_PER_MESSAGE = 200
MAX_QUERY_WORDS = 3
PAGE = 25
_PARTS = re.compile(r"[._@-]+")


def index_words(text: str, limit: int = MAX_WORDS_PER_MESSAGE) -> list[str]:
    """The distinct words of `text` a search can find it by, in order: folded, and a word
    like info@ana.es also by its parts (info, ana.es, ana, es)."""
    found: dict[str, None] = {}
    for word in words(text):
        for part in (word, *word.split("@"), *_PARTS.split(word)):
            if part and part not in STOPWORDS and (len(part) > 1 or part.isdigit()):
                found.setdefault(part)
        if len(found) >= limit:
            break
    return list(found)[:limit]


def _sort_key(ticket: Ticket) -> str:
    return f"{ticket.created_at}#{ticket.id}"


def term_items(ticket: Ticket, text: str) -> list[Item]:
    """The index items that find `ticket` by the words of `text`, in both scopes."""
    scopes = (owner_key(ticket.requester.account_id, ticket.requester.email), EVERYONE)
    return [{"PK": f"TERMS#{scope}#{word}", "SK": _sort_key(ticket), "type": "Term", "ticket_id": ticket.id}
            for word in index_words(text) for scope in scopes]


def whole_ticket_items(ticket: Ticket) -> list[Item]:
    """Every index item the channel writes over a ticket's life (its ID, subject and first
    message, then each reply a customer can see), from the whole ticket: for tickets stored
    before the index existed (`supportdesk search reindex`)."""
    shown = [m for m in ticket.messages if not m.internal]
    texts = [f"{ticket.id} {ticket.subject}\n{shown[0].body if shown else ''}", *(m.body for m in shown[1:])]
    return list({(i["PK"], i["SK"]): i for text in texts for i in term_items(ticket, text)}.values())


def on_ticket_event(event: TicketEvent, outlet: Outlet) -> None:
    """The search channel: a new ticket by its ID, subject and first message; a reply (the
    customer's or an agent's) by its words."""
    ticket = event.ticket
    if event.kind not in (EventKind.OPENED, EventKind.REPLIED, EventKind.ANSWERED) or not event.message_key:
        return
    message = get_message(outlet.table, ticket.id, event.message_key)
    text = message.body if message else ""
    if event.kind is EventKind.OPENED:
        text = f"{ticket.id} {ticket.subject}\n{text}"
    outlet.table.batch_put(term_items(ticket, text))


@dataclass(frozen=True)
class Lookup:
    """A word search between its two calls: the candidates found by the longest word."""

    scope: str
    others: tuple[str, ...]
    candidates: tuple[tuple[str, str], ...]  # (ticket ID, index sort key), newest first
    cursor: str | None

    def keys(self) -> list[tuple[str, str]]:
        """What the second call reads: each candidate's head, and its items of the other words."""
        heads = [(f"TICKET#{ticket_id}", "TICKET") for ticket_id, _ in self.candidates]
        return heads + [(f"TERMS#{self.scope}#{word}", sort_key)
                        for word in self.others for _, sort_key in self.candidates]

    def results(self, items: Sequence[Item]) -> list[Ticket]:
        """The candidates that have every word, as their heads say they are now."""
        found = {(str(i["PK"]), str(i["SK"])) for i in items}
        heads = {str(i["id"]): i for i in items if i.get("SK") == "TICKET"}
        return [ticket_from_item(heads[ticket_id]) for ticket_id, sort_key in self.candidates
                if ticket_id in heads
                and all((f"TERMS#{self.scope}#{word}", sort_key) in found for word in self.others)]


def lookup(table: Table, scope: str, query: str, *, cursor: str | None = None) -> Lookup | None:
    """The first call of a word search in `scope` (an owner_key, or EVERYONE); None when the
    query has no word to look for. BadCursor for a cursor of another search."""
    wanted = sorted(index_words(query, limit=50), key=len, reverse=True)[:MAX_QUERY_WORDS]
    if not wanted:
        return None
    driver, others = wanted[0], tuple(wanted[1:])
    page = table.page("PK", f"TERMS#{scope}#{driver}", index=None, sort_key="SK", cursor=cursor, size=PAGE,
                      newest_first=True)
    candidates = tuple((str(i["ticket_id"]), str(i["SK"])) for i in page.items)
    return Lookup(scope, others, candidates, page.cursor)
