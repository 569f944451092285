"""The seed article's advice, as checks the form can run while the customer types.

"Es importante describirlo adecuadamente ya que todos los tickets en su cuenta quedan
archivados": a generic subject, or one the customer has used before, gets a hint. "No
use cosas como 'Ayuda, tengo un problema'": a message too short to act on gets one too.
"""

from __future__ import annotations

from typing import Sequence, TypeVar

from supportdesk.search import Searchable, fold, words

# Subjects made only of these words say nothing about the problem.
GENERIC_WORDS = frozenset("""
ayuda ayudenme auxilio pregunta preguntas consulta consultas duda dudas problema problemas
soporte urgente importante hola ticket error errores fallo favor por porfavor tengo un una
help question questions problem problems issue issues support urgent important hello hi
please ticket error errors trouble query info informacion information request solicitud
asap need i have a an my mi
""".split())
# A message shorter than either gets the hint; the form checks it as the customer types
# (the web function hands these limits to the page).
MIN_MESSAGE_CHARS = 60
MIN_MESSAGE_WORDS = 8

T = TypeVar("T", bound=Searchable)


def is_generic_subject(subject: str) -> bool:
    found = words(subject)
    return bool(found) and all(word in GENERIC_WORDS for word in found)


def same_subject(tickets: Sequence[T], subject: str) -> T | None:
    """An earlier ticket with this very subject (case, accents and spacing aside)."""
    wanted = fold(subject).strip(" .!?¡¿")
    if not wanted:
        return None
    return next((t for t in tickets if fold(t.subject).strip(" .!?¡¿") == wanted), None)
