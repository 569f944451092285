"""HTML as Markdown: markdownify with ATX headings, links kept, images reduced to their alt
text so tracking pixels vanish, once <head>, <script> and <style> are gone.

Tables keep every cell's words. A data table (rows of cells holding text) becomes a GFM
table that is well-formed whatever the HTML's shape: its header row as wide as its widest
row (an empty one if it has none), colspan and rowspan laid out as empty cells (while they
add fewer empty cells than the table has cells; past that, each cell stands in its row's
next column), pipes in cells escaped, line breaks in a cell made spaces, the caption a
paragraph above it, the footer below the body. Any other table is layout, as in most
marketing mail, and its cells become blocks, one after the other: a table with one column,
one marked role="presentation", one holding a table, a list, a heading, a quote, a code
block or a rule in a cell (a Markdown cell holds one line), one holding anything outside
its cells, and a table inside a heading, a link or code. A link's words are one line,
whatever blocks it holds.

The work is linear in the HTML, given the bounds stated here: markdownify's own is not.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from functools import cache
from typing import Any

_LINE_WITH_CONTENT = re.compile(r"^(.*)", re.MULTILINE)  # markdownify's, for its list items


def html_to_markdown(html: str) -> str:
    from bs4 import BeautifulSoup

    # Python's HTMLParser rescans the rest of the input for each "<" left open at its end
    # (30 s for 60 KB of "<a <a ..."); past the last ">" there can only be text.
    last = html.rfind(">") + 1
    html = html[:last] + html[last:].replace("<", "&lt;")
    with warnings.catch_warnings():  # "looks like a URL", "looks like XML": mail is what it is
        warnings.simplefilter("ignore")
        soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(["head", "script", "style"]):
        if not tag.decomposed:
            tag.decompose()
    # Nothing escaped: the portal's Markdown reads a backslash as text and keeps hosting text
    # ("*.log", "mi_variable") as typed, so a mail's words need no escape to read as written.
    converter = _converter_class()(_prepare(soup), heading_style=_ATX, bullets="-",
                                   escape_asterisks=False, escape_underscores=False, escape_misc=False)
    return str(converter.convert_soup(soup)).strip("\n")


class NestedTooDeeply(Exception):
    """The HTML is too deep for markdownify to convert in reasonable time."""


_INDENTING = frozenset({"blockquote", "li"})
_MAX_INDENTS = 8
# markdownify looks through all the ancestors of every tag (for a <pre>): 30,000 <br> in 100
# nested lists take 2 s. Real mail needs a tenth of this many steps.
_MAX_ANCESTOR_STEPS = 400_000


def _prepare(soup: Any) -> _Tables:
    """Bound markdownify's work, and sort the tables into data and layout, in one pass over
    the tree (iterative: it may be deep)."""
    from bs4 import Tag

    # Each level of quote or list item indents all the text inside it once more: past
    # _MAX_INDENTS levels that is quadratic work (3 s for 100 nested lists) for no reader.
    steps = 0
    tables: list[tuple[Any, bool]] = []  # each table, and whether it is inside a heading or code
    parts: list[Any] = []  # every element of a table's structure
    crowded: set[int] = set()  # the cells holding what a Markdown cell cannot
    stack: list[tuple[Any, int, int, Any, bool]] = [(soup, 0, 0, None, False)]
    while stack:
        node, depth, indents, cell, one_line = stack.pop()
        for child in node.children:
            if isinstance(child, Tag):
                steps += depth
                name = child.name
                if cell is not None and name in _NOT_IN_A_CELL:
                    crowded.add(id(cell))
                if name in _TABLE_PARTS:
                    parts.append(child)
                    if name == "table":
                        tables.append((child, one_line))
                inside = indents
                if name in _INDENTING:
                    if indents >= _MAX_INDENTS:
                        child.name = "div"
                    else:
                        inside += 1
                stack.append((child, depth + 1, inside, child if name in _CELLS else cell,
                              one_line or name in _ONE_LINE))
        if steps > _MAX_ANCESTOR_STEPS:
            raise NestedTooDeeply
    found = _Tables()
    for table, one_line in tables:
        plan = None if one_line else _data_table(table, crowded)
        if plan is not None:
            found.plans[id(table)] = plan
            found.parts.update(plan.parts)
    for part in parts:
        if id(part) not in found.parts:
            part.name = "div"  # layout: its cells' content as blocks
    return found


_CELLS = frozenset({"td", "th"})
_TABLE_PARTS = frozenset({"table", "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", *_CELLS})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# What a Markdown cell, one line of inline text, cannot hold without losing its shape.
# (A cell, row or section right inside a cell is one left open: see _data_table.)
_NOT_IN_A_CELL = _HEADINGS | {"table", "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "pre", "hr"}
# Where a table's lines would be written on one line, or as code: a table there is its words.
_ONE_LINE = _HEADINGS | {"pre", "code", "a"}
_SECTIONS = frozenset({"thead", "tbody", "tfoot"})
_LAYOUT_ROLES = frozenset({"presentation", "none"})
# colspan and rowspan beyond these are errors (HTML's own limits).
_MAX_COLSPAN = 1000
_MAX_ROWSPAN = 65534
# Empty cells that spans may add to a table, beyond one per cell it has.
_SPAN_ALLOWANCE = 100


@dataclass(frozen=True)
class _DataTable:
    """A table whose words all stand in its cells (or caption): rows in reading order."""

    captions: tuple[Any, ...]
    rows: tuple[tuple[Any, ...], ...]
    has_header: bool  # rows[0] is the header row
    parts: frozenset[int]  # ids of the elements of its structure


@dataclass
class _Tables:
    """The data tables of one document, by id of their <table>, and ids of all their parts."""

    plans: dict[int, _DataTable] = field(default_factory=dict)
    parts: set[int] = field(default_factory=set)


def _data_table(table: Any, crowded: set[int]) -> _DataTable | None:
    """The table as rows of cells, or None if it is layout (or holds anything outside them).

    A cell or row left open ("<td>1<td>2<tr>", valid HTML) is inside the one before it in
    Python's parser's tree: it is read as the next one, as a browser does."""
    from bs4 import Tag

    if str(table.get("role") or "").strip().lower() in _LAYOUT_ROLES:
        return None
    parts = [table]
    captions: list[Any] = []
    rows: dict[str, list[list[Any]]] = {"thead": [], "tbody": [], "tfoot": []}
    section = "tbody"
    # (children to read, what they are in): "table", "section", "row", or "cell" (where
    # anything but the start of another cell, row or section is the cell's content).
    stack: list[tuple[Any, str]] = [(iter(table.children), "table")]
    while stack:
        children, context = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            continue
        if not isinstance(child, Tag):
            if context != "cell" and _has_words(child):
                return None
            continue
        name = child.name
        if name in _CELLS and context in ("row", "cell"):
            if id(child) in crowded:
                return None
            rows[section][-1].append(child)
            stack.append((iter(child.children), "cell"))
        elif name == "tr" and context != "row":
            rows[section].append([])
            stack.append((iter(child.children), "row"))
        elif name in _SECTIONS and context in ("table", "cell"):
            section = name
            stack.append((iter(child.children), "section"))
        elif context == "cell":
            continue  # the cell's content
        elif name == "caption" and context == "table":
            captions.append(child)
        elif name in ("colgroup", "col") and context == "table" and _holds_nothing(child):
            pass
        else:
            return None
        parts.append(child)
    ordered = [*rows["thead"], *rows["tbody"], *rows["tfoot"]]
    if all(len(cells) < 2 for cells in ordered):
        return None  # one column: a stack of blocks
    has_header = bool(rows["thead"]) or all(cell.name == "th" for cell in ordered[0])
    return _DataTable(tuple(captions), tuple(tuple(cells) for cells in ordered), has_header,
                      frozenset(id(part) for part in parts))


def _has_words(node: Any) -> bool:
    from bs4 import Comment, Doctype

    return not isinstance(node, (Comment, Doctype)) and bool(str(node).strip())


def _holds_nothing(element: Any) -> bool:
    """A <colgroup> or <col> with no text nor any element but <col>."""
    from bs4 import Tag

    for node in element.descendants:
        if (node.name != "col") if isinstance(node, Tag) else _has_words(node):
            return False
    return True


def _span(cell: Any, name: str, limit: int, default: int) -> int:
    value = str(cell.get(name) or "").strip()
    return min(int(value), limit) if value.isdecimal() else default


def _grid(rows: list[list[str]], cells: tuple[tuple[Any, ...], ...], budget: int) -> list[list[str]] | None:
    """The rows with their spans laid out as empty cells; None past `budget` cells of work.

    No cell spans more columns than the longest row has cells (colspan="1000" on a row of
    one is a row of one), and a span at a row's end adds nothing: no cell follows it."""
    widest = max(len(row) for row in cells)
    covered: dict[int, int] = {}  # column -> the last row a rowspan covers it to
    grid: list[list[str]] = []
    used = 0
    for number, (texts, row) in enumerate(zip(rows, cells)):
        line: list[str] = []
        column = 0
        for text, cell in zip(texts, row):
            while covered.get(column, -1) >= number:
                column += 1
            colspan = min(max(_span(cell, "colspan", _MAX_COLSPAN, 1), 1), widest)
            rowspan = _span(cell, "rowspan", _MAX_ROWSPAN, 1)
            used += column - len(line) + 1 + (colspan if rowspan != 1 else 0)
            if used > budget:
                return None
            line += [""] * (column - len(line)) + [text]
            if rowspan != 1:  # 0: to the end of the table
                last = number + rowspan - 1 if rowspan else len(rows) - 1
                for spanned in range(column, column + colspan):
                    covered[spanned] = max(covered.get(spanned, -1), last)
            column += colspan
        grid.append(line)
    return grid


def _cell_text(markdown: str) -> str:
    """A cell's Markdown as one line of a table row."""
    return _LINE_BREAKS.sub(" ", markdown.strip()).replace("|", "\\|")


_LINE_BREAKS = re.compile(r"\s*\n\s*")


def _table_markdown(plan: _DataTable, texts: dict[int, str]) -> str:
    rows = [[texts.get(id(cell), "") for cell in row] for row in plan.rows]
    real = sum(len(row) for row in rows)
    grid = _grid(rows, plan.rows, 2 * real + _SPAN_ALLOWANCE) or rows
    header = grid[0] if plan.has_header else []
    body = [row for row in (grid[1:] if plan.has_header else grid) if any(row)]  # spacer rows say nothing
    width = max(len(row) for row in (header, *body))
    if width == 0:
        return ""
    lines = [header + [""] * (width - len(header)), ["---"] * width, *body]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


_ATX = "atx"


@cache
def _converter_class() -> Any:
    from markdownify import MarkdownConverter

    # Its type stub declares only convert() and convert_soup(); the methods met here are
    # markdownify's documented extension points (convert_<tag>, escape).
    base: Any = MarkdownConverter

    class Converter(base):
        """markdownify's, with images as their alt text, list items numbered in linear time
        (it counts every item's previous siblings: 8 s for 15,000 items),
        and data tables laid out whole (_table_markdown)."""

        def __init__(self, tables: _Tables, **options: Any) -> None:
            super().__init__(**options)
            self.numbers: dict[int, dict[int, int]] = {}  # id(list) -> id(item) -> its number
            self.tables = tables
            self.texts: dict[int, str] = {}  # id(cell or caption) -> its Markdown


        def convert_a(self, el: Any, text: str, parent_tags: Any) -> str:
            # A link's words are one line: blocks inside it (a marketing mail's button, or a
            # table laid out as blocks) would break it apart, and show its brackets and address.
            if el.get("href") and "_noformat" not in parent_tags:
                text = _LINE_BREAKS.sub(" ", text)
            return str(super().convert_a(el, text, parent_tags))

        def convert_img(self, el: Any, text: str, parent_tags: Any) -> str:
            return str(el.attrs.get("alt") or "")

        def convert_li(self, el: Any, text: str, parent_tags: Any) -> str:
            text = (text or "").strip()
            if not text:
                return "\n"
            parent = el.parent
            # "-" at every depth: the bullets this converter is made with.
            bullet = f"{self.number(parent, el)}. " if parent is not None and parent.name == "ol" else "- "
            indent = " " * len(bullet)
            text = _LINE_WITH_CONTENT.sub(lambda line: indent + line.group(1) if line.group(1) else "", text)
            return bullet + text[len(bullet):] + "\n"

        def number(self, parent: Any, item: Any) -> int:
            if id(parent) not in self.numbers:
                start = parent.get("start")
                first = int(start) if start and str(start).isnumeric() else 1
                self.numbers[id(parent)] = {
                    id(child): first + n for n, child in enumerate(parent.find_all("li", recursive=False))
                }
            return self.numbers[id(parent)].get(id(item), 1)

        # A data table's parts (_prepare made any other table's <div>s): each cell's Markdown is
        # kept until the table, which lays them out; its rows and sections write nothing.
        def kept(self, el: Any, text: str) -> str:
            self.texts[id(el)] = text
            return ""

        def convert_td(self, el: Any, text: str, parent_tags: Any) -> str:
            if id(el) not in self.tables.parts:  # never, but then as a block: no words lost
                return str(self.convert_div(el, text, parent_tags))
            return self.kept(el, _cell_text(text))

        convert_th = convert_td

        def convert_caption(self, el: Any, text: str, parent_tags: Any) -> str:
            if id(el) not in self.tables.parts:
                return str(self.convert_div(el, text, parent_tags))
            return self.kept(el, text.strip())

        def convert_tr(self, el: Any, text: str, parent_tags: Any) -> str:
            return text if id(el) not in self.tables.parts else ""

        def convert_table(self, el: Any, text: str, parent_tags: Any) -> str:
            plan = self.tables.plans.get(id(el))
            if plan is None:
                return str(self.convert_div(el, text, parent_tags))
            captions = [self.texts.get(id(caption), "") for caption in plan.captions]
            blocks = [*captions, _table_markdown(plan, self.texts)]
            return "\n\n" + "\n\n".join(block for block in blocks if block) + "\n\n"

    return Converter
