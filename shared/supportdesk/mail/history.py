"""Strip history: the new text of a reply, without the quoted mail and the signature.

``strip_history`` drops "> " lines, then cuts at the first quote header (patterns here for what
mail-parser-reply misses: Spanish "El ... escribió:", "On ... wrote:" wrapped over two lines,
"-----Mensaje original-----", Outlook's "De: / Enviado el:"), then at what the library finds
(headers, signatures). Our own mails' "##- ... -##" line cuts too. If nothing is left, the new text is all of the text.

The work is linear in the text: only its first ``MAX_REPLY_SCAN`` characters are searched.
"""

from __future__ import annotations

import re

MAX_REPLY_SCAN = 100_000  # characters searched for quoted history
# mail-parser-reply's patterns take cubic time in the length of a line ("Am Am ... schrieb"):
# it sees lines cut to this length, long enough for any signature or header it finds.
_LIBRARY_LINE = 120
_REPLY_LANGUAGES = ("en", "es", "de", "fr")

_QUOTED_LINE = re.compile(r"^[ \t]*>.*(?:\n|\Z)", re.MULTILINE)
_HISTORY = re.compile(
    r"^[ \t]*(?:"
    # Our own "##- reply above this line -##" (notifications.REPLY_MARKER), in any language.
    r"[^\n]{0,40}\#\#-[^\n]{1,120}-\#\#"
    r"|(?:On|El|Le|Am)\s[^\n]*(?:\n[^\n]*)?"
    r"\b(?:wrote|escribi[óo]|a écrit|schrieb)\b[^\n]{0,80}:[ \t]*$"
    r"|(?i:-{2,}[ \t]*"
    r"(?:original message|mensaje original|message d'origine|ursprüngliche nachricht)[ \t]*-{2,})"
    r"|\**(?:From|De|Von)\**[ \t]?:[^\n]*\n(?:[^\n]*\n){0,2}?[ \t]*"
    r"\**(?:Sent|Date|Enviado(?: el)?|Fecha|Gesendet|Datum|Envoyé(?: le)?)\**[ \t]?:)",
    re.MULTILINE,
)
_RULE = re.compile(r"[ \t]*[-_=*]{3,}[ \t]*")
_BLANK_RUN = re.compile(r"\n(?:\s*\n)+")


def strip_history(full_text: str) -> str:
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
    lines = text.split("\n")
    end = _lines_holding(lines, content)
    if end is None:  # lost track: better all of the text than part of it
        return text, False
    return "\n".join(lines[:end]), len(replies) > 1 or bool(first.signatures)


def _lines_holding(lines: list[str], content: str) -> int | None:
    """How many of `lines` it takes to hold the non-empty lines of `content` (as the library
    gives them: stripped, cut to _LIBRARY_LINE), in order; None if they do not."""
    end = 0
    for wanted in filter(None, (line.strip() for line in content.split("\n"))):
        while end < len(lines) and lines[end][:_LIBRARY_LINE].strip() != wanted:
            end += 1
        if end == len(lines):
            return None
        end += 1
    return end
