"""HTML as Markdown: markdownify with ATX headings, links kept, images reduced to their alt
text so tracking pixels vanish, once <head>, <script> and <style> are gone.

The work is linear in the HTML, given the bounds stated here: markdownify's own is not.
"""

from __future__ import annotations

import re
import warnings
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
    _prepare(soup)
    converter = _converter_class()(heading_style=_ATX, bullets="-")
    return str(converter.convert_soup(soup)).strip("\n")


class NestedTooDeeply(Exception):
    """The HTML is too deep for markdownify to convert in reasonable time."""


_INDENTING = frozenset({"blockquote", "li"})
_MAX_INDENTS = 8
# markdownify looks through all the ancestors of every tag (for a <pre>): 30,000 <br> in 100
# nested lists take 2 s. Real mail needs a tenth of this many steps.
_MAX_ANCESTOR_STEPS = 400_000


def _prepare(soup: Any) -> None:
    """Bound markdownify's work, in one pass over the tree (iterative: it may be deep)."""
    from bs4 import Tag

    # Each level of quote or list item indents all the text inside it once more: past
    # _MAX_INDENTS levels that is quadratic work (3 s for 100 nested lists) for no reader.
    steps = 0
    stack: list[tuple[Any, int, int]] = [(soup, 0, 0)]
    while stack:
        node, depth, indents = stack.pop()
        for child in node.children:
            if isinstance(child, Tag):
                steps += depth
                inside = indents
                if child.name in _INDENTING:
                    if indents >= _MAX_INDENTS:
                        child.name = "div"
                    else:
                        inside += 1
                stack.append((child, depth + 1, inside))
        if steps > _MAX_ANCESTOR_STEPS:
            raise NestedTooDeeply
_ATX = "atx"


@cache
def _converter_class() -> Any:
    from markdownify import MarkdownConverter

    class Converter(MarkdownConverter):
        """markdownify's, with images as their alt text and list items numbered in linear
        time: it counts every item's previous siblings (8 s for 15,000 items)."""

        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            self.numbers: dict[int, dict[int, int]] = {}  # id(list) -> id(item) -> its number

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

    return Converter
