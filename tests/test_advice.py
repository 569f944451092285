"""The seed's advice and the customer's search, as pure functions."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from supportdesk.advice import is_generic_subject, same_subject
from supportdesk.search import fold, similar_tickets


@dataclass(frozen=True)
class Header:
    """What a list holds of a ticket: its subject and excerpt (how it began)."""

    id: str
    subject: str
    excerpt: str = ""


def header(ticket_id: str, subject: str, first: str = "") -> Header:
    return Header(ticket_id, subject, first)


@pytest.mark.parametrize("subject", [
    "Ayuda", "ayuda!", "Pregunta", "Preguntas", "Help", "Problem", "PROBLEMA URGENTE",
    "Tengo un problema", "help please", "Consulta", "Hola", "Error", "¿Ayuda?",
])
def test_generic_subjects_get_a_hint(subject: str) -> None:
    assert is_generic_subject(subject)


@pytest.mark.parametrize("subject", [
    "Error 500 en ana.es desde las 10:00", "No llegan correos a info@ana.es",
    "Renovar dominio ana.es", "Help with DNS records for shop.example", "", "   ",
])
def test_specific_subjects_do_not(subject: str) -> None:
    assert not is_generic_subject(subject)


def test_a_subject_used_before_is_recognized_whatever_its_case_and_accents() -> None:
    earlier = [header("AAA-000001", "Migración de correo"), header("AAA-000002", "Renovar dominio")]
    assert same_subject(earlier, "  MIGRACION de   correo ") == earlier[0]
    assert same_subject(earlier, "Migración de correo a otro plan") is None
    assert same_subject(earlier, "") is None


def test_similar_tickets_rank_shared_subject_words_first() -> None:
    earlier = [
        header("AAA-000001", "Certificado SSL caducado", "El navegador dice que el sitio no es seguro"),
        header("AAA-000002", "Correo rebotado", "Los correos a gmail rebotan con error 550"),
        header("AAA-000003", "Factura duplicada", "Me cobraron dos veces"),
        header("AAA-000004", "Error 550 al enviar", "mensajes rebotados"),
    ]
    found = similar_tickets(earlier, "Correos rebotan con error 550")
    # 550 and error in the subject weigh more than the same words in a message
    assert [t.id for t in found] == ["AAA-000004", "AAA-000002"]
    assert similar_tickets(earlier, "el de la") == []  # only words that say nothing


def test_a_ticket_is_indexed_by_its_words_and_their_parts() -> None:
    from supportdesk.search_index import index_words

    found = index_words("Migración: los buzones de **info@ana.es** no sincronizan (error 550)")
    assert {"migracion", "buzones", "info@ana.es", "info", "ana.es", "ana", "sincronizan", "error", "550"} <= set(found)
    assert not {"los", "de", "no"} & set(found)  # words that say nothing
    assert len(index_words(" ".join(f"palabra{n}" for n in range(1000)))) == 200  # a log's worth is capped


def test_folding_removes_case_and_accents() -> None:
    assert fold("  Éxito  TOTAL\tÑandú ") == "exito total nandu"
