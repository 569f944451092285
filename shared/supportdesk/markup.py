r"""Messages are Markdown, rendered to safe HTML.

Customers and agents write Markdown; everyone who opens the ticket sees the HTML. The text
is untrusted, so the rendering is built to stay safe even if one layer fails, to take
time in proportion to the text whatever it holds, and never to lose a word of it:

* The parser is markdown-it-py (CommonMark, plus tables). Python-Markdown, used before,
  is quadratic or recursive on small hostile inputs (16 KB of "[" took 54 s, and a
  1,000-character "+ + + …" raised RecursionError, so one reply made its ticket page
  fail on every view). markdown-it recurses no deeper than its nesting limit
  (MAX_NESTING), and its time grows linearly with the text: under 0.2 s of CPU for each
  of those inputs, at most 0.7 s for 64 KB of the worst (bench/markdown.py).
* Raw HTML is not Markdown here (html=False): whatever the user typed in angle brackets
  is escaped and shown as the text they typed ("&lt;b&gt;hi&lt;/b&gt;"), never turned
  into elements.
* The HTML Markdown produces then goes through nh3 (ammonia) with an allow-list of the
  tags Markdown itself makes and almost no attributes: `href`/`title` on links and a
  `language-…` class on code. No `id`, `style`, `on*`, `data-*` and above all no `hx-*`:
  the page runs htmx, and an `hx-get`/`hx-post`/`hx-trigger` in a message would let its
  author make every reader's browser send requests with the reader's session.
* Links keep only http, https and mailto URLs (relative ones are dropped too: a message is
  also read outside the portal, and its links should not aim at our own endpoints), and
  get rel="nofollow noopener noreferrer". nh3 alone judges URLs: markdown-it is told to
  accept every link, so that `[click](javascript:…)` still reads "click" (a link without
  a target) instead of showing its source.
* `![alt](url)` renders as a link to the image, named by its alt text, not an <img>:
  images are attachments, never inline, so a message cannot load remote content
  (tracking pixels) into the page.
* Single newlines are line breaks (breaks=True): help-desk users write e-mail, where a
  single newline is a new line. Code keeps its whitespace, tabs included.
* Nothing is lost. markdown-it stops parsing a block silently once it is nested
  MAX_NESTING deep, dropping the rest of it; such a message (a reply of "+ + + …",
  "1. 1. 1. …" or "> > > …") is shown whole as plain text, escaped, in paragraphs and
  lines. So is any text on which rendering fails: `render_markdown` never raises, as
  every message is rendered when the portal or the mail intake stores it. A table row
  with more cells than its header (which GFM drops) widens the table: the new columns get
  empty header cells; only a table so ragged that widening would mostly add empty cells
  keeps a row's extra cells in its last one instead. (A link's address is its target, not text; an image inside a link or
  inside another image's description keeps only its description.)
* Hosting text stays as typed (globs, cron lines, products, snake_case, dunder names, shell
  comments). Emphasis: a run of `*` or `_` opens only between a space or punctuation
  outside (not punctuation joining words, as in "/tmp/" or ".py") and a letter, digit or
  opening punctuation inside, and closes the same way mirrored; so never inside a word
  ("mi_variable", "2*3", "{{ 7*7 }}") nor from a glob ("*.php", "*/5 * * * *"), and
  "__init__" is never bold. Headings: a "#" line is a heading only if its text starts with
  a capital letter or a digit (maybe after "¿", "¡", quotes or "("), is at most
  MAX_TITLE_CHARS long, is followed by a blank line, the end, a list, a quote or a fence,
  and does not come right under a line of text; otherwise it is a line of text as typed
  ("# comentario", "#!/bin/bash", "# Forzar HTTPS" over a config line, "# A\n# B").
  Setext headings ("Title\n=====") are unchanged. A backslash is text, shown as typed: hosting
  text is full of them (C:\inetpub\logs\*.log, \\server\share, RewriteRule ^index\.php$,
  grep 'jpg\|png'), and nobody writing to a help desk means one as Markdown's escape; only
  "\|" in a table's row is a pipe in its cell (GFM's way to write one; the table rule reads it).
* Control characters other than whitespace are removed first: HTML cannot carry NUL, and
  none of them is visible.
* Text longer than any message can be (MAX_MARKDOWN_CHARS: only the preview receives
  such text, and a message that long is refused) is shown as plain text, so the
  anonymous preview cannot be made to parse megabytes.

`markdown_it` and `nh3` are imported on first use, not with this module: the web Lambda's
cold start imports the whole app, and most requests never render a message.
"""

from __future__ import annotations

import logging
import re
from functools import cache
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import nh3
    from markdown_it import MarkdownIt
    from markdown_it.rules_block import StateBlock
    from markdown_it.rules_inline import StateInline
    from markdown_it.token import Token

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "strong", "em", "b", "i",
    "h1", "h2", "h3", "h4", "h5", "h6",
    "ul", "ol", "li", "blockquote", "pre", "code", "a",
    "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "code": frozenset({"class"}),
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"
# How deep blocks (and link labels) may nest: markdown-it's own limit for CommonMark. Ten
# levels of lists or nineteen of quotes is more than any message needs, and the parser's
# cost on hostile brackets grows with this number (0.11 s of CPU for 16 KB of "[" here).
MAX_NESTING = 20
# Stored messages are at most 64 KB (tickets.MAX_MESSAGE_BYTES), so never more characters.
MAX_MARKDOWN_CHARS = 64 * 1024

# What a fenced block's language becomes (```python -> class="language-python"); any
# other class could hook into the page's CSS or scripts.
LANGUAGE_CLASS = r"language-[\w+-]+"
# C0 controls but tab, newline, form feed and carriage return, and DEL: invisible, and NUL
# cannot be carried by HTML at all.
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
# A blank line, as plain text separates paragraphs.
_BLANK_LINES = re.compile(r"\n(?:[ \t\f\v]*\n)+")
# A fence's info string in braces ("{.python #id}", as Pandoc writes it): its first class.
_BRACED_LANGUAGE = re.compile(r"\{\s*\.([^\s.#}]+)")
_ELLIPSIS = "…"
# Emphasis: what may follow an opening run and precede a closing one, besides letters and
# digits ("*(opcional)*", "**[enlace](…)**", "**¡Hecho!**", "*`código`*").
_OPENS_INSIDE = frozenset("([\"'`¿¡«")
_CLOSES_INSIDE = frozenset(")]\"'`.!?:»…")
# "__init__", "__name__": a Python name, never bold.
_DUNDER = re.compile(r"__[^\W_](?:\w*[^\W_])?__(?![\w*])")
# A "#" line: its markers and the text after them.
_ATX_TITLE = re.compile(r"#{1,6}(?:[ \t]+(.*))?")
# Opening punctuation a heading's text may start with, before its capital letter or digit.
_TITLE_OPENING = "¿¡\"'«("
MAX_TITLE_CHARS = 80
# What a heading may have right under it (else it needs a blank line): a list, a quote, code.
_AFTER_A_TITLE = re.compile(r"$|[-+*>][ \t]|[-+*>]$|\d{1,9}[.)](?:[ \t]|$)|```|~~~")
# Elements inside a line of text; any other one separates words in an excerpt.
_INLINE_TAGS = frozenset({"a", "b", "code", "em", "i", "strong"})

logger = logging.getLogger(__name__)


def render_markdown(text: str) -> str:
    """The HTML of a message: sanitized, for the caller to mark safe (Markup). Never raises."""
    text = _CONTROL_CHARACTERS.sub("", text)
    if len(text) > MAX_MARKDOWN_CHARS:
        return render_plain_text(text)
    try:
        return _render(text)
    except Exception:
        # Whatever failed, the message must still be readable: its page shows every message.
        logger.exception("Markdown rendering failed; the message is shown as plain text")
        return render_plain_text(text)


def render_plain_text(text: str) -> str:
    """Text as HTML, every character shown as typed: paragraphs at blank lines, lines kept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = (p.strip("\n") for p in _BLANK_LINES.split(text))
    return "\n".join(
        "<p>" + "<br>\n".join(escape(line, quote=False) for line in p.split("\n")) + "</p>"
        for p in paragraphs if p.strip()
    )


def excerpt_of_html(html: str, limit: int = 160) -> str:
    """The start of a rendered message as plain text, for ticket lists.

    What a reader sees of the message (markup gone, HTML the user typed kept as the text it
    is shown as), whitespace collapsed, at most `limit` characters: when cut, at a word
    boundary if one is near, and ending in "…". Plain text, not HTML: the template escapes
    it like any other string.
    """
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    plain = " ".join(_text_of(html).split())
    if len(plain) <= limit:
        return plain
    cut = plain[: limit - 1]
    if plain[limit - 1] != " ":
        # Half a word reads as a typo; but a long URL, or a language written without
        # spaces, should not shrink the excerpt to a few characters.
        space = cut.rfind(" ")
        if space >= limit // 2:
            cut = cut[:space]
    return cut.rstrip() + _ELLIPSIS


def _render(text: str) -> str:
    markdown = _markdown()
    env: dict[str, Any] = {}
    tokens = markdown.parse(text, env)
    if _nesting_limit_reached(tokens):
        return render_plain_text(text)
    rendered = markdown.renderer.render(tokens, markdown.options, env)
    return _cleaner().clean(rendered.rstrip("\n"))


def _nesting_limit_reached(tokens: Sequence[Token]) -> bool:
    # A block opened at the last level has its content parsed only if it is a leaf (a
    # paragraph, a heading); a list item or a quote there loses it. Either way the message
    # is far deeper than any written by hand, so the check need not tell them apart.
    return any(token.nesting == 1 and token.level >= MAX_NESTING - 1 for token in tokens)


@cache
def _markdown() -> MarkdownIt:
    """The parser, built on first use (its classes live in `markdown_it`).

    One instance serves every thread: parse() keeps its state in a new object per call.
    """
    from markdown_it import MarkdownIt
    from markdown_it.common.utils import escapeHtml, mdTrim, unescapeAll
    from markdown_it.renderer import RendererHTML
    from markdown_it.rules_block.heading import heading
    from markdown_it.rules_block.table import escapedSplit, getLine, table
    from markdown_it.rules_inline.state_inline import Delimiter
    from markdown_it.token import Token

    class Markdown(MarkdownIt):
        def validateLink(self, url: str) -> bool:  # noqa: N802 (markdown-it's name)
            return True  # nh3 judges URLs, and a refused link should still show its words

    def table_keeping_every_cell(state: StateBlock, start: int, end: int, silent: bool) -> bool:
        first = len(state.tokens)
        if not table(state, start, end, silent):
            return False
        if not silent:
            state.tokens[first:] = keep_every_cell(state, state.tokens[first:])
        return True

    def cells_of(state: StateBlock, line: int) -> list[str]:
        # The cells of a table's line, as markdown-it's table rule splits them.
        columns = escapedSplit(mdTrim(getLine(state, line)))
        if columns and columns[0] == "":
            columns.pop(0)
        if columns and columns[-1] == "":
            columns.pop()
        return [mdTrim(column) for column in columns]

    def keep_every_cell(state: StateBlock, tokens: list[Token]) -> list[Token]:
        # A GFM table drops the cells of a row beyond its header's count. Here the table
        # widens to its longest row, with empty header cells over the new columns; but if
        # that would pad it with more empty cells than it has cells (one row of a thousand
        # cells over a thousand rows of one), a row's extra cells join its last cell
        # instead, with the pipes between them: either way in time linear in the table.
        first, end = tokens[0].map or (0, 0)
        header = len(cells_of(state, first))
        rows = {line: cells_of(state, line) for line in range(first + 2, end)}  # the body's
        width = max((len(cells) for cells in rows.values()), default=header)
        if width <= header:
            return tokens
        written = header + sum(len(cells) for cells in rows.values())
        padded_before = sum(max(header - len(cells), 0) for cells in rows.values())
        join = (len(rows) + 1) * width - written - padded_before > written
        kept: list[Token] = []
        line, last_inline = first, None
        for token in tokens:
            if token.type == "tr_open" and token.map:
                line = token.map[0]
            elif token.type == "inline":
                last_inline = token
            elif token.type == "tr_close":
                cells = rows.get(line, [])
                if join and len(cells) > header and last_inline is not None:
                    last_inline.content = " | ".join(cells[header - 1:])
                elif not join:
                    kind = "td" if line in rows else "th"
                    level = token.level + 1
                    for n in range(header, width):
                        kept += [
                            Token(f"{kind}_open", kind, 1, level=level, block=True),
                            Token("inline", "", 0, map=[line, line + 1], level=level + 1, block=True,
                                  content=cells[n] if n < len(cells) else "", children=[]),
                            Token(f"{kind}_close", kind, -1, level=level, block=True),
                        ]
            kept.append(token)
        return kept

    def fence(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: Any,
              env: dict[str, Any]) -> str:
        # Only the language is kept of the info string (nh3 checks it is a plain name).
        token = tokens[idx]
        language = _language_of(unescapeAll(token.info))
        attributes = f' class="language-{escapeHtml(language)}"' if language else ""
        return f"<pre><code{attributes}>{escapeHtml(token.content)}</code></pre>\n"

    def image(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: Any,
              env: dict[str, Any]) -> str:
        token = tokens[idx]
        alt = escapeHtml(renderer.renderInlineAsText(token.children, options, env))
        if env.get("open_links"):
            return alt  # a link cannot hold a link: the image's words only
        title = token.attrGet("title")
        title_attribute = f' title="{escapeHtml(str(title))}"' if title else ""
        return f'<a href="{escapeHtml(str(token.attrGet("src") or ""))}"{title_attribute}>{alt}</a>'

    def link_open(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: Any,
                  env: dict[str, Any]) -> str:
        env["open_links"] = env.get("open_links", 0) + 1
        return renderer.renderToken(tokens, idx, options, env)

    def link_close(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: Any,
                   env: dict[str, Any]) -> str:
        env["open_links"] = env.get("open_links", 0) - 1
        return renderer.renderToken(tokens, idx, options, env)

    def emphasis(state: StateInline, silent: bool) -> bool:
        # markdown-it's emphasis rule with _hosting_delimiters deciding what a run can do.
        marker = state.src[state.pos]
        if silent or marker not in "*_":
            return False
        length, can_open, can_close = _hosting_delimiters(state.src, state.pos, state.posMax)
        for _ in range(length):
            token = state.push("text", "", 0)
            token.content = marker
            state.delimiters.append(Delimiter(
                marker=ord(marker), length=length, token=len(state.tokens) - 1, end=-1,
                open=can_open, close=can_close,
            ))
        state.pos += length
        return True

    def heading_like_a_title(state: StateBlock, start: int, end: int, silent: bool) -> bool:
        if not _is_title(state, start, end):
            return False
        return heading(state, start, end, silent)

    markdown = Markdown("commonmark", {
        "html": False,
        "breaks": True,
        "linkify": False,
        "typographer": False,
        "xhtmlOut": False,
        "maxNesting": MAX_NESTING,
    }).enable("table")
    markdown.block.ruler.at("table", table_keeping_every_cell, {"alt": ["paragraph", "reference"]})
    # Not "paragraph": a "#" line right under a line of text is that text's next line (a
    # comment in pasted config), as it is on every other line of a paragraph.
    markdown.block.ruler.at("heading", heading_like_a_title, {"alt": ["reference", "blockquote"]})
    markdown.inline.ruler.at("emphasis", emphasis)
    markdown.disable("escape")  # a backslash is text (see the module docstring)
    for name, rule in (("fence", fence), ("image", image), ("link_open", link_open),
                       ("link_close", link_close)):
        markdown.add_render_rule(name, rule)
    return markdown


def _hosting_delimiters(src: str, start: int, end: int) -> tuple[int, bool, bool]:
    """The length of the run of `*` or `_` at `start`, and whether it can open and close.

    Emphasis as a person writing prose means it, not as hosting text uses these characters
    (see "Emphasis" in the module's docstring). Looks at most two characters either side,
    and a dunder name's length ahead, so parsing stays linear.
    """
    marker = src[start]
    pos = start
    while pos < end and src[pos] == marker:
        pos += 1
    length = pos - start
    before = src[start - 1] if start > 0 else " "
    before_that = src[start - 2] if start > 1 else " "
    after = src[pos] if pos < end else " "
    after_that = src[pos + 1] if pos + 1 < end else " "
    dunder = marker == "_" and length == 2
    can_open = (
        _outside_a_word(before, before_that)
        and (after.isalnum() or after in _OPENS_INSIDE)
        and not (dunder and _DUNDER.match(src, start, end))
    )
    can_close = (
        _outside_a_word(after, after_that)
        and (before.isalnum() or before in _CLOSES_INSIDE)
        and not (dunder and _ends_a_dunder(src, start, pos))
    )
    return length, can_open, can_close


def _ends_a_dunder(src: str, start: int, pos: int) -> bool:
    # Whether the "__" at start..pos closes a name like "__DIR__": back over its word only.
    first = start
    while first > 0 and (src[first - 1].isalnum() or src[first - 1] == "_"):
        first -= 1
    return _DUNDER.fullmatch(src, first, pos) is not None


def _outside_a_word(char: str, next_char: str) -> bool:
    # Space, or punctuation not joining two words ("(nota", "fin." but not "/tmp/", ".py").
    return char.isspace() or (not char.isalnum() and not next_char.isalnum())


def _is_title(state: StateBlock, start: int, end: int) -> bool:
    """Whether the "#" line at `start` is a heading: see "Headings" in the docstring."""
    line = state.src[state.bMarks[start] + state.tShift[start]:state.eMarks[start]]
    title = _ATX_TITLE.fullmatch(line)
    if title is None:
        return True  # not a "#" line: markdown-it's rule says no
    text = title.group(1).rstrip(" \t#").strip() if title.group(1) else ""
    first = text.lstrip(_TITLE_OPENING)[:1]
    if not (first.isupper() or first.isdigit()) or len(text) > MAX_TITLE_CHARS:
        return False
    following = start + 1
    if following < end and state.sCount[following] - state.blkIndent < 4:
        next_line = state.src[state.bMarks[following] + state.tShift[following]:state.eMarks[following]]
        if not _AFTER_A_TITLE.match(next_line):
            return False  # a comment over its config line, or one of a block of comments
    return True


def _language_of(info: str) -> str:
    """A fenced block's language: the info string's first word, or first class in braces."""
    info = info.strip()
    if info.startswith("{"):
        braced = _BRACED_LANGUAGE.match(info)
        return braced.group(1) if braced else ""
    return info.split(maxsplit=1)[0] if info else ""


@cache
def _cleaner() -> nh3.Cleaner:
    import nh3

    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        # Never produced by Markdown here; should one slip through, its body goes too.
        clean_content_tags={"script", "style"},
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_attribute_filter(),
        url_schemes=set(URL_SCHEMES),
        url_relative="deny",
        link_rel=LINK_REL,
        strip_comments=True,
    )


def _attribute_filter() -> Callable[[str, str, str], str | None]:
    language = re.compile(LANGUAGE_CLASS)

    def keep(element: str, attribute: str, value: str) -> str | None:
        # nh3 reports an exception raised here as unraisable and drops the attribute; this
        # only compares strings, so it cannot raise.
        if element == "code" and attribute == "class":
            return " ".join(name for name in value.split() if language.fullmatch(name)) or None
        return value

    return keep


def _text_of(html: str) -> str:
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.chunks: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag not in _INLINE_TAGS:  # "<p>a</p><p>b</p>" reads "a b", not "ab"
                self.chunks.append(" ")

        def handle_endtag(self, tag: str) -> None:
            if tag not in _INLINE_TAGS:
                self.chunks.append(" ")

        def handle_data(self, data: str) -> None:
            self.chunks.append(data)

    parser = Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.chunks)
