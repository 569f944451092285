"""Messages are Markdown, rendered to safe HTML.

Customers and agents write Markdown; everyone who opens the ticket sees the HTML. The text
is untrusted, so the rendering is built to stay safe even if one layer fails:

* Raw HTML is not Markdown here. Python-Markdown would pass `<b>`, `<script>` or
  `<div hx-get=...>` straight through; its raw-HTML preprocessor and inline pattern are
  removed, so whatever the user typed in angle brackets is escaped and shown as the text
  they typed ("&lt;b&gt;hi&lt;/b&gt;"), never turned into elements.
* The HTML Markdown produces then goes through nh3 (ammonia) with an allow-list of the
  tags Markdown itself makes and almost no attributes: `href`/`title` on links and a
  `language-…` class on code. No `id`, `style`, `on*`, `data-*` and above all no `hx-*`:
  the page runs htmx, and an `hx-get`/`hx-post`/`hx-trigger` in a message would let its
  author make every reader's browser send requests with the reader's session.
* Links keep only http, https and mailto URLs (relative ones are dropped too: a message is
  also read outside the portal, and its links should not aim at our own endpoints), and
  get rel="nofollow noopener noreferrer".
* `![alt](url)` renders as a link to the image, not an <img>: images are attachments,
  never inline, so a message cannot load remote content (tracking pixels) into the page.
* Code keeps its whitespace: tabs inside fenced blocks and `code spans` survive, where
  Markdown would expand them to spaces.

`markdown` and `nh3` are imported on first use, not with this module: the web Lambda's
cold start imports the whole app, and most requests never render a message.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    import nh3
    from markdown import Markdown
    from markdown.extensions import Extension

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
# nl2br: help-desk users write e-mail, where a single newline is a new line.
EXTENSIONS = ("fenced_code", "sane_lists", "nl2br", "tables")

# What a fenced block's language becomes (```python -> class="language-python"); any
# other class could hook into the page's CSS or scripts.
LANGUAGE_CLASS = r"language-[\w+-]+"
# Stands in for a tab inside code while Markdown expands every other tab to spaces: a
# control character nobody types, and removed from the input anyway.
_TAB = "\x1a"
# A code span on one line, as Markdown reads it: `a`, ``a ` b``, not an escaped \`.
_CODE_SPAN = r"(?<![\\`])(`+)(?!`)(.+?)(?<!`)\1(?!`)"
_ELLIPSIS = "…"
# Elements inside a line of text; any other one separates words in an excerpt.
_INLINE_TAGS = frozenset({"a", "b", "code", "em", "i", "strong"})
# An excerpt renders only the start of a long message (a pasted log can be 100 KB, and a
# ticket list shows many excerpts); this many source characters per visible one is ample.
_EXCERPT_SOURCE_PER_CHAR = 10
_EXCERPT_SOURCE_MIN = 2_000


def render_markdown(text: str) -> str:
    """The HTML of a message: sanitized, for the caller to mark safe (Markup)."""
    import markdown

    # A new Markdown per call costs about 0.1 ms (of some 2 ms for a 2 KB message); a
    # shared one would need reset() and a lock, as convert() keeps its state on it.
    md = markdown.Markdown(extensions=[*EXTENSIONS, _extension()()], output_format="html")
    # The tabs are back before nh3 runs, so that it judges URLs exactly as a browser will
    # read them ("java\tscript:" is javascript: to both).
    return _cleaner().clean(md.convert(text).replace(_TAB, "\t"))


def render_markdown_excerpt(text: str, limit: int = 160) -> str:
    """The start of a message as plain text, for ticket lists.

    What a reader sees of the rendered message (markup gone, HTML the user typed kept as
    the text it is shown as), whitespace collapsed, at most `limit` characters: when
    cut, at a word boundary if one is near, and ending in "…". Plain text, not HTML: the
    template escapes it like any other string.
    """
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    source = _head(text, max(_EXCERPT_SOURCE_MIN, limit * _EXCERPT_SOURCE_PER_CHAR))
    plain = " ".join(_text_of(render_markdown(source)).split())
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


@cache
def _extension() -> type[Extension]:
    """The Markdown extension that makes raw HTML plain text and keeps tabs in code.

    Built on first use, as its base classes live in `markdown`.
    """
    import re

    from markdown.extensions import Extension
    from markdown.extensions.fenced_code import FencedBlockPreprocessor
    from markdown.inlinepatterns import (
        LinkInlineProcessor,
        ReferenceInlineProcessor,
        ShortReferenceInlineProcessor,
    )
    from markdown.preprocessors import NormalizeWhitespace

    fenced_block = FencedBlockPreprocessor.FENCED_BLOCK_RE
    code_span = re.compile(_CODE_SPAN)

    def protected(code: re.Match[str]) -> str:
        return code.group(0).replace("\t", _TAB)

    def protect_tabs(source: str) -> str:
        # Markdown expands tabs before parsing, as indentation is structure; inside code a
        # tab is content (a Makefile, a TSV log line) and must come out as it went in.
        parts: list[str] = []
        done = 0
        for block in fenced_block.finditer(source):
            parts.append(code_span.sub(protected, source[done:block.start()]))
            parts.append(protected(block))
            done = block.end()
        parts.append(code_span.sub(protected, source[done:]))
        return "".join(parts)

    class KeepTabsInCode(NormalizeWhitespace):
        def run(self, lines: list[str]) -> list[str]:
            source = "\n".join(lines).replace(_TAB, "")
            source = source.replace("\r\n", "\n").replace("\r", "\n")
            return super().run(protect_tabs(source).split("\n"))

    class PlainTextHtml(Extension):
        def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Markdown's name)
            # Raw HTML, block and inline, becomes text, which Markdown escapes.
            md.preprocessors.deregister("html_block")
            md.inlinePatterns.deregister("html")
            md.preprocessors.register(KeepTabsInCode(md), "normalize_whitespace", 30)
            # ![alt](url) becomes a link to the image, named by its alt text, instead of
            # an <img> that nh3 would remove, taking the user's words with it.
            image = r"\!\["
            md.inlinePatterns.register(LinkInlineProcessor(image, md), "image_link", 150)
            md.inlinePatterns.register(
                ReferenceInlineProcessor(image, md), "image_reference", 140)
            md.inlinePatterns.register(
                ShortReferenceInlineProcessor(image, md), "short_image_ref", 125)

    return PlainTextHtml


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
    import re

    language = re.compile(LANGUAGE_CLASS)

    def keep(element: str, attribute: str, value: str) -> str | None:
        # nh3 reports an exception raised here as unraisable and drops the attribute; this
        # only compares strings, so it cannot raise.
        if element == "code" and attribute == "class":
            return " ".join(name for name in value.split() if language.fullmatch(name)) or None
        return value

    return keep


def _head(text: str, chars: int) -> str:
    """The first whole lines of `text` within about `chars`, a code fence left open closed."""
    if len(text) <= chars:
        return text
    head = text[:chars]
    if "\n" in head:
        head = head[: head.rindex("\n")]
    # An unclosed fence would render as text: "```python" would open the excerpt.
    fence = ""
    for line in head.splitlines():
        stripped = line.rstrip(" ")
        if not fence:
            if stripped.startswith(("```", "~~~")):
                fence = stripped[: len(stripped) - len(stripped.lstrip(stripped[0]))]
        elif stripped == fence:
            fence = ""
    return f"{head}\n{fence}" if fence else head


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
