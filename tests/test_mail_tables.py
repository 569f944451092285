"""Tables keep every cell's words on the ticket page, whatever their shape.

Two ways a table reaches a ticket: typed in the web form as Markdown (rendered by
supportdesk.markup), or mailed as HTML (supportdesk.mail.markdown turns it into Markdown,
then it is rendered like any message). A GFM table shows no cell beyond its header's
count, and HTML tables come in every shape (rows longer or shorter than the header, no
header, colspan and rowspan, pipes and line breaks in cells, cells left open, tables in
tables for layout): the tests below check that every word of every cell is on the page,
for the mail fixtures in fixtures/mail/tables/ and for tables of random shapes.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from supportdesk.mail.markdown import html_to_markdown
from supportdesk.mail.parsing import parse_mail
from supportdesk.markup import render_markdown

FIXTURES = Path(__file__).parent / "fixtures" / "mail" / "tables"
WORD = re.compile(r"\w+")


# -- helpers ------------------------------------------------------------------------------

def html_mail(html: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Ana <ana@example.com>"
    message["To"] = "soporte@example.com"
    message["Subject"] = "Tabla"
    message.set_content(html, subtype="html")
    return message.as_bytes()


def visible_words(html: str) -> Counter[str]:
    """The words a browser shows of the HTML (images by their alt text)."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(["head", "script", "style"]):
        if not tag.decomposed:
            tag.decompose()
    for image in soup.find_all("img"):
        image.replace_with(" " + str(image.get("alt") or "") + " ")
    return Counter(WORD.findall(soup.get_text(" ")))


def shown_words(rendered: str) -> Counter[str]:
    return Counter(WORD.findall(BeautifulSoup(rendered, "html.parser").get_text(" ")))


def lost(html_words: Counter[str], rendered: str) -> Counter[str]:
    return html_words - shown_words(rendered)


def tables_of(rendered: str) -> list[list[list[str]]]:
    """Each table of the page as rows of cell texts (header row first)."""
    soup = BeautifulSoup(rendered, "html.parser")
    return [[[cell.get_text() for cell in row.find_all(["th", "td"])] for row in table.find_all("tr")]
            for table in soup.find_all("table")]


def page_of_mail(raw: bytes) -> tuple[str, str]:
    """(the message as stored on the ticket, all the mail's text), both rendered."""
    parsed = parse_mail(raw)
    return render_markdown(parsed.text), render_markdown(parsed.full_text)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def html_of(raw: bytes) -> str:
    from email import message_from_bytes, policy

    part = message_from_bytes(raw, policy=policy.default).get_body(("html",))
    assert part is not None
    return str(part.get_content())


def plain_gfm(markdown: str) -> str:
    """The Markdown as any GFM reader renders it, without this project's own table rule."""
    return MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)


# -- the mail path, end to end --------------------------------------------------------------

def test_the_corpus_is_all_there() -> None:
    assert sorted(path.name for path in FIXTURES.iterdir()) == [
        "boletin_maquetado.eml", "celdas_abiertas.eml", "factura_celda_extra.eml", "horario_spans.eml",
        "sin_cabecera.eml",
    ]


@pytest.mark.parametrize("name", sorted(path.name for path in FIXTURES.glob("*.eml")))
def test_every_word_of_a_mailed_table_reaches_the_page(name: str) -> None:
    raw = fixture(name)
    html = html_of(raw)
    stored, whole = page_of_mail(raw)
    assert not lost(visible_words(html), whole)
    # What the ticket stores (history and signature cut off) still holds every cell's words.
    cells = BeautifulSoup(html, "html.parser").find_all(["td", "th", "caption"])
    assert set(WORD.findall(" ".join(cell.get_text(" ") for cell in cells))) <= set(shown_words(stored))
    # No Markdown table syntax shows as text: each table became a table, or blocks.
    assert "| ---" not in BeautifulSoup(whole, "html.parser").get_text()


@pytest.mark.parametrize("name", sorted(path.name for path in FIXTURES.glob("*.eml")))
def test_a_mailed_table_is_well_formed_markdown(name: str) -> None:
    # Stored Markdown is read elsewhere too: any GFM reader must show every cell.
    markdown = parse_mail(fixture(name)).full_text
    assert not lost(visible_words(html_of(fixture(name))), plain_gfm(markdown))


def test_a_row_longer_than_its_header_keeps_its_cells() -> None:
    # The mail: header "Servicio | Importe", a row with a third cell.
    stored, _ = page_of_mail(fixture("factura_celda_extra.eml"))
    [table] = tables_of(stored)
    assert table == [
        ["", "", "", ""],  # Outlook's first row is <td>s: not a header
        ["Servicio", "Importe", "", ""],
        ["Hosting Pro", "120 EUR", "cobrado dos veces en octubre", ""],
        ["Dominio anaweb.es", "12 EUR", "", ""],
        ["Certificado SSL", "0 EUR", "incluido", "pero aparece en la factura"],
    ]


def test_colspan_and_rowspan_keep_the_columns_in_place() -> None:
    stored, _ = page_of_mail(fixture("horario_spans.eml"))
    [table] = tables_of(stored)
    assert table == [
        ["Servidor", "Ventana", "", "Notas"],
        ["", "inicio", "fin", ""],
        ["web1", "02:00", "04:00", "reinicio de PHP-FPM"],
        ["", "todo el domingo", "", "migración del disco"],
        ["", "01:00", "01:30", ""],
        ["mail2", "sin ventana: no se puede parar la cola", "", ""],
        ["fila que abarca todo", "", "", ""],  # colspan="1000" adds no column
    ]
    assert "<p>Mantenimiento de noviembre</p>" in stored  # the caption, above


def test_an_absurd_colspan_does_not_undo_the_other_spans() -> None:
    # colspan="1000" before another cell spans no more columns than the longest row has
    # cells: the table keeps its layout (with 1,000 empty cells it would be past the budget).
    html = ("<table><tr><th colspan=2>Ventana</th><th>Notas</th></tr><tr><td>02:00</td><td>04:00</td><td>ok</td></tr>"
            "<tr><td colspan=1000>todo el día</td><td>sin notas</td></tr></table>")
    assert tables_of(render_markdown(html_to_markdown(html))) == [[
        ["Ventana", "", "Notas", ""],
        ["02:00", "04:00", "ok", ""],
        ["todo el día", "", "", "sin notas"],
    ]]


def test_layout_tables_become_blocks_and_their_data_table_stays_a_table() -> None:
    stored, _ = page_of_mail(fixture("boletin_maquetado.eml"))
    assert "<h1>Tu pedido 4411 está en camino</h1>" in stored
    assert "<li>Devoluciones gratis 30 días</li>" in stored
    assert 'href="https://tienda.example/seguimiento"' in stored
    [table] = tables_of(stored)
    assert table == [
        ["Artículo", "Cantidad", "Precio", ""],
        ["Teclado mecánico", "1", "89,00 €", ""],
        ["Alfombrilla XL", "2", "19,98 €", "oferta 2x1 no aplicada"],
        ["Total", "", "108,98 €", ""],
    ]
    text = BeautifulSoup(stored, "html.parser").get_text(" ")
    assert text.index("Tienda Ejemplo") < text.index("Tu pedido") < text.index("Teclado") < text.index("Darse de baja")


def test_a_table_inside_a_link_is_the_links_words() -> None:
    # Marketing mail wraps its buttons, tables and all, in links.
    for html in ("<a href='https://tienda.example/oferta'><table><tr><td>Comprar</td><td>ahora</td></tr></table></a>",
                 "<a href='https://tienda.example/oferta'><table><tr><td><h2>Comprar</h2><p>ahora</p></td></tr>"
                 "</table></a>"):
        links = BeautifulSoup(render_markdown(html_to_markdown(html)), "html.parser").find_all("a")
        assert [(a["href"], a.get_text().strip("# ")) for a in links] == [("https://tienda.example/oferta",
                                                                          "Comprar ahora")]


def test_pipes_backslashes_and_line_breaks_in_cells() -> None:
    stored, _ = page_of_mail(fixture("celdas_abiertas.eml"))
    [table] = tables_of(stored)
    assert table == [  # cells and rows left open (no </td>, </tr>) are read as a browser does
        ["Ruta", "Error", "Desde", ""],
        ["C:\\inetpub\\*.log", "acceso | denegado", "lunes", ""],
        ['grep "a|b" /var/log/app.log', "línea uno línea dos", "martes", "y también el miércoles"],
        ["a\\|b", "barra\\\\invertida", "", ""],
    ]
    assert '<code>grep "a|b" /var/log/app.log</code>' in stored


def test_odd_tables_lose_nothing() -> None:
    stored, _ = page_of_mail(fixture("sin_cabecera.eml"))
    [table] = tables_of(stored)
    assert table == [
        ["", "", ""],  # no header row: an empty one, as wide as the widest row
        ["Web", "20 GB", ""],  # the spacer row (&nbsp;) is gone: it said nothing
        ["Correo", "11 GB", "sube cada mes"],
        ["Total", "31 GB", "(sobre el límite de 30 GB)"],  # the footer, below the body
    ]
    assert "<p>Consumo de <em>octubre</em></p>" in stored
    # One column is a stack of blocks; a table with loose text, or in a heading, is its words.
    for words in ("<p>Una tabla de una sola columna</p>", "<p>con dos filas</p>",
                  "<p>texto suelto dentro de la tabla</p>", "<p>celda uno</p>", "<p>celda dos</p>",
                  "<h2>Resumen tabla en título</h2>"):
        assert words in stored


def test_a_backslash_before_punctuation_is_kept_outside_tables_too() -> None:
    markdown = html_to_markdown(r"<p>C:\*.log, a\|b, \\server\share, \n, 50\%</p>")
    assert BeautifulSoup(render_markdown(markdown), "html.parser").get_text() == (
        r"C:\*.log, a\|b, \\server\share, \n, 50\%")


# -- the typed path -----------------------------------------------------------------------------

def test_a_typed_row_longer_than_its_header_widens_the_table() -> None:
    rendered = render_markdown(
        "Servicio | Importe\n--- | ---\nHosting Pro | 120 EUR | cobrado dos veces en octubre\nDominio | 12 EUR")
    assert tables_of(rendered) == [[
        ["Servicio", "Importe", ""],
        ["Hosting Pro", "120 EUR", "cobrado dos veces en octubre"],
        ["Dominio", "12 EUR", ""],
    ]]


def test_typed_cells_with_escaped_pipes_and_code() -> None:
    rendered = render_markdown("| a | b |\n|---|---|\n| x \\| y | `p\\|q` | **z** | [w](https://example.com) |")
    assert tables_of(rendered) == [[["a", "b", "", ""], ["x | y", "p|q", "z", "w"]]]
    assert "<code>p|q</code>" in rendered and "<strong>z</strong>" in rendered


def test_a_table_too_ragged_to_widen_keeps_extra_cells_in_the_last_one() -> None:
    # Widening to one row of 400 cells would pad 300 rows of one cell with 119,700 empty ones.
    long_row = "| " + " | ".join(f"c{n}x" for n in range(400)) + " |"
    text = "| h |\n|---|\n" + long_row + "\n" + "".join(f"| r{n}x |\n" for n in range(300))
    rendered = render_markdown(text)
    [table] = tables_of(rendered)
    assert all(len(row) == 1 for row in table)
    assert table[1] == [" | ".join(f"c{n}x" for n in range(400))]
    assert [row[0] for row in table[2:]] == [f"r{n}x" for n in range(300)]


# -- tables of random shapes ------------------------------------------------------------------

def token(rng: random.Random) -> str:
    """A word no other word contains: w<number>x."""
    return f"w{rng.randrange(10**6)}x"


def typed_cell(rng: random.Random) -> tuple[str, str]:
    """(Markdown of a cell, the text it shows)."""
    word, other = token(rng), token(rng)
    return rng.choice([
        (word, word),
        (f"{word} {other}", f"{word} {other}"),
        (f"**{word}**", word),
        (f"`{word}`", word),
        (f"{word} \\| {other}", f"{word} | {other}"),
        (f"[{word}](https://example.com/{other})", word),
        ("", ""),
    ])


def typed_table(rng: random.Random) -> tuple[str, list[list[str]]]:
    """A typed table of random shape, and the texts of its rows' cells (header first)."""
    header = [typed_cell(rng) for _ in range(rng.randint(1, 5))]
    body = [[typed_cell(rng) for _ in range(rng.choice([1, 1, 2, 3, 4, 6, 9]))] for _ in range(rng.randint(0, 8))]

    def line(row: list[tuple[str, str]]) -> str:
        cells = [markdown for markdown, _ in row]
        if len(cells) > 1 and cells[0] and cells[-1] and rng.random() < 0.5:
            return " | ".join(cells)  # "a | b": no outer pipes
        return "| " + " | ".join(cells) + " |"

    lines = [line(header), "|" + "|".join(rng.choice(["---", ":--", "--:", ":-:"]) for _ in header) + "|"]
    lines += [line(row) for row in body]
    return "\n".join(lines), [[shown for _, shown in row] for row in (header, *body)]


@pytest.mark.parametrize("seed", range(300))
def test_every_typed_cell_is_on_the_page(seed: int) -> None:
    rng = random.Random(seed)
    text, rows = typed_table(rng)
    rendered = render_markdown(text)
    [table] = tables_of(rendered)
    # Each row as typed, in its own cells, the table as wide as its longest row; or, when
    # that would mostly add empty cells, a row's extra cells in its last one.
    header = len(rows[0])
    width = max(len(row) for row in rows)
    widened = [row + [""] * (width - len(row)) for row in rows]
    joined = [row[: header - 1] + [" | ".join(row[header - 1:])] if len(row) > header
              else row + [""] * (header - len(row)) for row in rows]
    assert table in (widened, joined)
    assert not Counter(WORD.findall(" ".join(" ".join(row) for row in rows))) - shown_words(rendered)


def html_cell(rng: random.Random) -> str:
    word, other = token(rng), token(rng)
    return rng.choice([
        word, f"{word} {other}", f"<b>{word}</b> {other}", f"{word}<br>{other}", f"<p>{word}</p><p>{other}</p>",
        f"{word} | {other}", f"{word}\\|{other}", f"<code>{word}|{other}</code>", f"<a href='https://x.example'>{word}</a>",
        f"<ul><li>{word}</li><li>{other}</li></ul>", f"<h2>{word}</h2>{other}", f"<pre>{word}\n  {other}</pre>",
        f"<table><tr><td>{word}</td><td>{other}</td></tr></table>", f"<img alt='{word}' src='x.png'>",
        "", "&nbsp;", f"<div><div>{word}</div></div>",
    ])


def html_table(rng: random.Random, depth: int = 0) -> str:
    rows = []
    for _ in range(rng.randint(0, 6)):
        cells = []
        for _ in range(rng.choice([0, 1, 1, 2, 3, 3, 4, 5, 7])):
            tag = rng.choice(["td", "td", "td", "th"])
            spans = ""
            if rng.random() < 0.2:
                spans += f" colspan='{rng.choice(['0', '2', '3', '1000', 'x', '²'])}'"
            if rng.random() < 0.2:
                spans += f" rowspan='{rng.choice(['0', '2', '3', '65534'])}'"
            inner = html_table(rng, depth + 1) if depth < 2 and rng.random() < 0.08 else html_cell(rng)
            closed = rng.random() < 0.85  # cells and rows may be left open, as HTML allows
            cells.append(f"<{tag}{spans}>{inner}" + (f"</{tag}>" if closed else ""))
        rows.append("<tr>" + "".join(cells) + ("</tr>" if rng.random() < 0.85 else ""))
    sections = rng.random()
    if sections < 0.3 and rows:
        body = f"<thead>{rows[0]}</thead><tbody>{''.join(rows[1:-1])}</tbody>" + (
            f"<tfoot>{rows[-1]}</tfoot>" if len(rows) > 1 else "")
    elif sections < 0.5:
        body = "<tbody>" + "".join(rows) + "</tbody>"
    else:
        body = "".join(rows)
    extra = ""
    if rng.random() < 0.2:
        extra += f"<caption>{token(rng)} {token(rng)}</caption>"
    if rng.random() < 0.1:
        extra += f"{token(rng)} loose"
    role = " role='presentation'" if rng.random() < 0.1 else ""
    table = f"<table{role}>{extra}{body}</table>"
    return f"<a href='https://x.example/{token(rng)}'>{table}</a>" if rng.random() < 0.1 else table


@pytest.mark.parametrize("seed", range(300))
def test_every_mailed_cell_is_on_the_page(seed: int) -> None:
    rng = random.Random(seed)
    html = f"<p>{token(rng)}</p>{html_table(rng)}<p>{token(rng)}</p>"
    markdown = html_to_markdown(html)
    rendered = render_markdown(markdown)
    words = visible_words(html)
    assert not lost(words, rendered), markdown
    assert not lost(words, plain_gfm(markdown)), markdown  # well-formed for any GFM reader
    assert "| ---" not in BeautifulSoup(rendered, "html.parser").get_text()


@pytest.mark.parametrize("seed", range(40))
def test_every_mailed_cell_reaches_the_page_through_the_mail_intake_parser(seed: int) -> None:
    rng = random.Random(seed)
    html = f"<html><body><p>{token(rng)}</p>{html_table(rng)}</body></html>"
    _, whole = page_of_mail(html_mail(html))
    assert not lost(visible_words(html), whole)


# -- linear in the size of the input -------------------------------------------------------

def timed(function: object, *args: object) -> tuple[float, object]:
    start = time.process_time()
    result = function(*args)  # type: ignore[operator]
    return time.process_time() - start, result


def test_ragged_typed_tables_render_in_linear_time_and_size() -> None:
    sizes = []
    for n in (1000, 4000):
        text = "| h |\n|---|\n" + "|a" * n + "|\n" + "| b |\n" * n
        seconds, rendered = timed(render_markdown, text)
        sizes.append(len(str(rendered)) / len(text))
        assert seconds < 1.0
    assert sizes[1] < 1.5 * sizes[0] and sizes[1] < 40


def test_hostile_spans_convert_in_linear_time_and_size() -> None:
    for cells in ("<td colspan=1000 rowspan=0>a</td>" * 50, "<td rowspan=65534>a</td><td colspan=1000>b</td>"):
        sizes = []
        for rows in (200, 800):
            html = "<table>" + f"<tr>{cells}</tr>" * rows + "</table>"
            seconds, markdown = timed(html_to_markdown, html)
            sizes.append(len(str(markdown)) / len(html))
            assert seconds < 3.0
        assert sizes[1] < 1.5 * sizes[0] + 0.01 and sizes[1] < 1
