"""The text of one part chosen as body, as Markdown, within the mail's budgets.

text/plain is taken as typed (format=flowed unwrapped), text/html becomes Markdown. Text past
what will be kept is neither transfer-decoded nor charset-decoded, and HTML past ``MAX_HTML``
characters or ``MAX_HTML_TAGS`` tags (of the whole mail) is not converted.

The charset is the part's label; HTML without one declares it in a <meta> tag, looked for in
its first ``META_PRESCAN`` bytes as browsers look for it (a UTF-16 one means UTF-8 there: a
tag that could be read that way was not written in UTF-16).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from html import unescape

from supportdesk.mail.charsets import codec_for, decode_bytes, looks_binary
from supportdesk.mail.flowed import unflow
from supportdesk.mail.markdown import html_to_markdown
from supportdesk.mail.parts import charset, param, payload_prefix

# HTML converted per mail: html.parser and markdownify take about 25 µs a tag (2.5 s for a
# megabyte of dense markup). Real mail has a tag per 30 characters or more.
MAX_HTML = 150_000  # characters
MAX_HTML_TAGS = 10_000
META_PRESCAN = 1024  # bytes of HTML looked through for a <meta> charset, as the HTML Standard does
_META_CHARSET = re.compile(rb"<meta\s[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:+-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class PartText:
    """What became of one text part."""

    text: str
    # Content types the part is (also) to be kept under as a file: it is no readable text, had
    # undecodable bytes, or its HTML could not be converted.
    files: tuple[str, ...] = ()
    whole: bool = True  # false: not all of it was read


@dataclass
class TextReader:
    """Reads the text parts of one mail, in order, within its budgets."""

    max_bytes: int
    used: int = 0  # bytes of text taken so far
    html_read: int = 0  # characters of HTML converted so far
    html_tags: int = 0

    def read(self, part: Message, ctype: str) -> PartText:
        """The text of `part`, read as `ctype` (text/plain or text/html)."""
        wanted = self._room(ctype)
        if wanted is None:  # the mail's text budget is spent
            return PartText("", whole=False)
        # Text past what will be kept is not worth decoding: no charset takes more than four
        # bytes per character, and every character is at least one byte of UTF-8.
        data, cut = payload_prefix(part, 4 * wanted)
        label = charset(part) or (_meta_charset(data) if ctype == "text/html" else None)
        text, replaced = decode_bytes(data, label, complete=not cut)
        if looks_binary(text):
            return PartText("", files=(ctype,))
        files: tuple[str, ...] = (ctype,) if replaced else ()
        text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
        if ctype == "text/html":
            wanted = min(wanted, _tags_end(text, MAX_HTML_TAGS - self.html_tags))
        whole = not cut and len(text) <= wanted
        text = text[:wanted]
        if ctype == "text/html":
            text, converted = self._markdown(text)
            files += () if converted else ("text/html",)
        elif param(part, "format").lower() == "flowed":
            text = unflow(text, param(part, "delsp").lower() == "yes")
        return PartText(text, files, whole)

    def take(self, text: str) -> str:
        """`text` with its line ends made "\\n" and its NULs gone, counted as taken."""
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
        self.used += len(text.encode("utf-8"))
        return text

    def _room(self, ctype: str) -> int | None:
        """Characters of a part of `ctype` that can be used; None when no text can."""
        room = self.max_bytes - self.used
        if room <= 0:
            return None
        return min(room, max(MAX_HTML - self.html_read, 0)) if ctype == "text/html" else room

    def _markdown(self, html: str) -> tuple[str, bool]:
        """The HTML as Markdown, and whether it could be converted: if not, its text is taken
        without markup."""
        self.html_read += len(html)
        self.html_tags += html.count("<")
        try:
            return html_to_markdown(html), True
        except Exception:  # e.g. RecursionError on absurdly nested tags
            return unescape(re.sub(r"<[^<>]*>", " ", html)), False


def _meta_charset(html: bytes) -> str | None:
    """The charset a <meta> tag in the first META_PRESCAN bytes of HTML declares, if any."""
    found = _META_CHARSET.search(html[:META_PRESCAN])
    if found is None:
        return None
    label = found.group(1).decode("ascii")
    return "utf-8" if (codec_for(label) or "").startswith("utf-16") else label


def _tags_end(html: str, tags: int) -> int:
    """Where the first `tags` tags of html end (its length if it has no more)."""
    position = -1
    for _ in range(max(tags, 0) + 1):
        position = html.find("<", position + 1)
        if position < 0:
            return len(html)
    return position
