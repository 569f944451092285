"""Body text: format=flowed unwrapped, HTML as Markdown, and the new text of a reply.

* ``html_to_markdown``: markdownify with ATX headings, links kept, images reduced to their
  alt text so tracking pixels vanish, once <head>, <script> and <style> are gone.
* ``new_text`` drops "> " lines, then cuts at the first quote header (patterns here for what
  mail-parser-reply misses: Spanish "El ... escribió:", "On ... wrote:" wrapped over two
  lines, "-----Mensaje original-----", Outlook's "De: / Enviado el:"), then at what the
  library finds (headers, signatures). If nothing is left, the new text is all of the text.

Every function here takes time linear in its input, given the bounds it states.
"""

from __future__ import annotations

import re
import warnings
from functools import cache
from typing import Any

MAX_REPLY_SCAN = 100_000  # characters searched for quoted history
# mail-parser-reply's patterns take cubic time in the length of a line ("Am Am ... schrieb"):
# it sees lines cut to this length, long enough for any signature or header it finds.
_LIBRARY_LINE = 120
_REPLY_LANGUAGES = ("en", "es", "de", "fr")

_QUOTED_LINE = re.compile(r"^[ \t]*>.*(?:\n|\Z)", re.MULTILINE)
_HISTORY = re.compile(
    r"^[ \t]*(?:"
    r"(?:On|El|Le|Am)\s[^\n]*(?:\n[^\n]*)?"
    r"\b(?:wrote|escribi[óo]|a écrit|schrieb)\b[^\n]{0,80}:[ \t]*$"
    r"|(?i:-{2,}[ \t]*"
    r"(?:original message|mensaje original|message d'origine|ursprüngliche nachricht)[ \t]*-{2,})"
    r"|\**(?:From|De|Von)\**[ \t]?:[^\n]*\n(?:[^\n]*\n){0,2}?[ \t]*"
    r"\**(?:Sent|Date|Enviado(?: el)?|Fecha|Gesendet|Datum|Envoyé(?: le)?)\**[ \t]?:)",
    re.MULTILINE,
)
_RULE = re.compile(r"[ \t]*[-_=*]{3,}[ \t]*")
_BLANK_RUN = re.compile(r"\n(?:\s*\n)+")
_LINE_WITH_CONTENT = re.compile(r"^(.*)", re.MULTILINE)  # markdownify's, for its list items


def unflow(text: str, delsp: bool) -> str:
    """RFC 3676: join the soft-broken lines of format=flowed text. Each paragraph is
    collected as a list of pieces and joined once: adding every piece to a growing string
    took quadratic time (70 s for a 4.4 MB paragraph)."""
    paragraphs: list[tuple[int, list[str]]] = []
    joinable = False
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth + 1:] if line.startswith(" ", depth) else line[depth:]  # space-stuffing
        if joinable and paragraphs[-1][0] == depth:
            paragraphs[-1][1].append(body)
        else:
            paragraphs.append((depth, [body]))
        joinable = body.endswith(" ") and body != "-- "
        if joinable and delsp:
            paragraphs[-1][1][-1] = body[:-1]
    lines = []
    for depth, pieces in paragraphs:
        body = "".join(pieces)
        lines.append(">" * depth + (" " if depth and body else "") + body)
    return "\n".join(lines)


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


def new_text(full_text: str) -> str:
    """`full_text` without quoted history and signature; `full_text` itself if that is empty."""
    head = full_text[:MAX_REPLY_SCAN]
    try:
        unquoted = _QUOTED_LINE.sub("", head)
        history = _HISTORY.search(unquoted)
        new, cut = _library_reply(unquoted[: history.start()] if history else unquoted)
        lines = new.rstrip().split("\n")
        while lines and _RULE.fullmatch(lines[-1]):  # Outlook's "_____" above its header
            lines.pop()
        new = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n").rstrip()
    except Exception:  # a bug in a pattern or the library must not cost the mail
        return full_text
    # Past the scanned head, only a cut-off history proves the rest is not new.
    if not new.strip() or (len(full_text) > len(head) and not (cut or history)):
        return full_text
    return new


def _library_reply(text: str) -> tuple[str, bool]:
    """The reply before the first quote header or signature mail-parser-reply finds, and
    whether it found one. EmailMessage rather than EmailReplyParser.parse_reply: that
    keeps the signature, and takes "- item" lists for one."""
    from mailparser_reply import EmailMessage

    short = "\n".join(line[:_LIBRARY_LINE] for line in text.split("\n"))
    # Its signature patterns begin with "\s*^": from every point of a run of blank lines they
    # take in the whole run (7 minutes for 100,000 empty lines). It strips every line and
    # skips the empty ones itself; one empty line stands for a run of them.
    short = _BLANK_RUN.sub("\n\n", short)
    message = EmailMessage(text=short, languages=list(_REPLY_LANGUAGES), keep_hyphen_lists=True)
    replies = message.read().replies
    if not replies or replies[0].headers:  # a quote header at the very start: nothing new
        return "", True
    first, content = replies[0], replies[0].content
    if first.signatures and (at := content.find(first.signatures)) >= 0:
        content = content[:at]
    # The library strips every line; the original lines keep code and lists indented.
    lines, end = text.split("\n"), 0
    for wanted in filter(None, (line.strip() for line in content.split("\n"))):
        while end < len(lines) and lines[end][:_LIBRARY_LINE].strip() != wanted:
            end += 1
        if end == len(lines):  # lost track: better all of the text than part of it
            return text, False
        end += 1
    return "\n".join(lines[:end]), len(replies) > 1 or bool(first.signatures)
