"""Words: how text is folded and split for search (supportdesk.search_index), and earlier
tickets like a subject being typed (the advice, over the customer's latest tickets).

A ticket keeps a `search_text` (ID, subject and the start of every message, folded to lower
case without accents) on its head; the lists' indexes do not hold it, so the advice reads
a list's excerpt instead.
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
    @property
    def excerpt(self) -> str: ...


T = TypeVar("T", bound=Searchable)


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
        # A list's index holds no search text: the excerpt (how the ticket began) stands in.
        body_words = set(words(ticket.search_text or ticket.excerpt))
        score = 2 * len(wanted & subject_words) + len(wanted & body_words)
        if score:
            scored.append((-score, position, ticket))
    return [ticket for _, _, ticket in sorted(scored, key=lambda s: (s[0], s[1]))[:limit]]
