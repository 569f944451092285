"""Finding tickets by their words: the customer's search, and similar earlier tickets.

A customer has tens of tickets, rarely thousands: their ticket headers come back in one
Query, each with a `search_text` (ID, subject and the start of every message, folded to
lower case without accents), and matching happens here. Text search at AWS scale would
be a search service; for one account's archive this is exact and costs no extra call.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable, Protocol, Sequence, TypeVar

CHARS_PER_MESSAGE = 1_000
MAX_SEARCH_TEXT = 6_000  # keeps a page of 100 tickets well under DynamoDB's 1 MB Query page

# Words that say nothing about a problem, in both languages.
STOPWORDS = frozenset("""
a al algo con de del el en es la las lo los me mi mis no por que se su sus un una uno y o
the and or of to in on at is it my me i we for with not no this that from have has be are
""".split())
_WORD = re.compile(r"[a-z0-9][a-z0-9._@-]*[a-z0-9]|[a-z0-9]")


def fold(text: str) -> str:
    """Lower case, no accents, single spaces: 'Éxito  TOTAL' -> 'exito total'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def search_text_of(ticket_id: str, subject: str, bodies: Iterable[str]) -> str:
    parts = [ticket_id, subject, *(body[:CHARS_PER_MESSAGE] for body in bodies)]
    return fold("\n".join(parts))[:MAX_SEARCH_TEXT]


def with_message(search_text: str, body: str) -> str:
    """A ticket's search text once `body` is added (folding twice changes nothing), so that
    a reply needs the ticket's head only, not its whole thread."""
    return fold("\n".join([search_text, body[:CHARS_PER_MESSAGE]]))[:MAX_SEARCH_TEXT]


class Searchable(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def search_text(self) -> str: ...


T = TypeVar("T", bound=Searchable)


def matches(ticket: Searchable, query: str) -> bool:
    """Every word of the query appears in the ticket's ID, subject or messages."""
    wanted = words(query)
    haystack = ticket.search_text or fold(f"{ticket.id} {ticket.subject}")
    return all(word in haystack for word in wanted)


def significant_words(text: str) -> set[str]:
    return {w for w in words(text) if len(w) > 2 and w not in STOPWORDS}


def similar_tickets(tickets: Sequence[T], subject: str, limit: int = 5) -> list[T]:
    """Earlier tickets sharing significant words with `subject`, most shared first."""
    wanted = significant_words(subject)
    if not wanted:
        return []
    scored = []
    for position, ticket in enumerate(tickets):
        subject_words = significant_words(ticket.subject)
        body_words = set(words(ticket.search_text))
        score = 2 * len(wanted & subject_words) + len(wanted & body_words)
        if score:
            scored.append((-score, position, ticket))
    return [ticket for _, _, ticket in sorted(scored, key=lambda s: (s[0], s[1]))[:limit]]
