"""Words: how text is folded and split for search (supportdesk.search_index), and earlier
tickets like a subject being typed (the advice, over the customer's latest tickets).

The advice reads what a list shows of each ticket (its subject and excerpt: how it began),
never the thread; word search reads its own index (supportdesk.search_index).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Protocol, Sequence, TypeVar

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


class Searchable(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def subject(self) -> str: ...
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
        # A word of the subject counts twice: as the subject's and as the ticket's.
        ticket_words = set(words(f"{ticket.subject}\n{ticket.excerpt}"))
        score = 2 * len(wanted & subject_words) + len(wanted & ticket_words)
        if score:
            scored.append((-score, position, ticket))
    return [ticket for _, _, ticket in sorted(scored, key=lambda s: (s[0], s[1]))[:limit]]
