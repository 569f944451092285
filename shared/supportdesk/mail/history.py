"""Split history: the new text of a mail, and what was trimmed from it as quoted history or
signature. Text is cut only at a delimiter we trust (a quote header of a reply, "-- ", our
own marker); a closing phrase is none. Nothing is lost: every line of the text is in the new
text or in the trimmed text, in order.

Trimmed:

* "> " lines, each on its own (answers written between them stay);
* from the first quote header of a reply on, all the rest: "On … wrote:" and its kin in
  English, Spanish, German, French, Portuguese, Italian and Dutch (also wrapped over two
  lines, and "Ana <ana@…> wrote:" over quoted lines), "-----Original Message-----" and its
  kin, Outlook's header block (From / Sent / To / Subject lines in those languages, bold in
  HTML mail, with the "_____" rule above it). Outlook writes a forward just as it writes a
  reply: the mail's subject tells them apart (Fwd:, FW:, RV:, WG:, TR:, Enc:, ... forward);
* our own "##- … -##" line and all that follows it (our mail, quoted without "> ");
* a signature: from a "-- " line to the end of its text part or, where the parts are not
  known, to the next blank line: the text of a later part is new again;
* at the end of the new text (before a cut, a signature, a forward or a later part, or at
  the end): "Sent from my iPhone" and its kin, and a closing ("Best regards,", "Saludos,",
  "Mit freundlichen Grüßen") when only a name follows it, at most three lines of one. A
  closing followed by anything else is text.

Never trimmed:

* a forwarded mail: from a forward marker ("---------- Forwarded message ---------",
  "-------- Forwarded Message --------", "Begin forwarded message:", their translations, an
  Outlook header under a forward's subject) on, all is new text, its quoted lines, quote
  headers and signature too; only our own marker still cuts. For a help desk the forwarded
  mail is the request;
* a quote header with nothing new above it: it cannot be the history of this mail, so what
  follows it is read as text; and if nothing new is found at all, all of the text is new.

The work is linear in the text: only the lines that begin in its first ``MAX_REPLY_SCAN``
characters are read, and of each only its first ``_LINE`` characters. Past them, only a
history that was cut off proves the rest is not new.
"""

from __future__ import annotations

import re
from collections.abc import Collection

MAX_REPLY_SCAN = 100_000  # characters searched for quoted history
_LINE = 300  # characters of a line that the patterns read
_HEADER_LOOKAHEAD = 12  # lines of an Outlook header block, continuation lines included

_QUOTED = re.compile(r"[ \t]*>")
# Our own "##- reply above this line -##" (notifications.REPLY_MARKER), in any language, as
# typed or as Markdown escaped it; quoted with "> " it is a quoted line like the others.
_MARKER = re.compile(r"[ \t]*[^>\n]{0,40}?\\?#\\?#-[^\n]{1,120}-\\?#\\?#")
_RULE = re.compile(r"[ \t]*(?:\\?[-_=*][ \t]*){3,}")

# Quote headers of a reply: "On <date>, <name> wrote:", the date holding a digit.
_OPENER = re.compile(r"[ \t]*(?:On|El|Le|Am|Em|Il|Op)\s")
_VERB = r"\b(?:wrote|escribi[óo]|a\s+[ée]crit|schrieb|escreveu|ha\s+scritto|schreef)\b"
_WROTE_END = re.compile(_VERB + r"[^\n]{0,80}:[ \t]*$")
_WROTE_LINE = re.compile(r"[^>\n][^\n]{0,200}?" + _VERB + r"[^\n]{0,80}:[ \t]*$")
_ORIGINAL = re.compile(
    r"[ \t]*-{2,}[ \t]*(?:original message|mensaje original|message d'origine|ursprüngliche nachricht"
    r"|originalnachricht|messaggio originale|mensagem original|oorspronkelijk bericht)[ \t]*-{2,}[ \t]*",
    re.IGNORECASE)

# Forward markers of Gmail, Thunderbird, KMail, Yahoo, Lotus Notes, Apple Mail, in their
# languages: between dashes, or ending in a colon. Quoted too (Apple's HTML quotes a forward).
_FORWARDED = (r"forwarded message|forwarded e-?mail|mensaje reenviado|correo reenviado|weitergeleitete nachricht"
              r"|message transf[ée]r[ée]|message r[ée]exp[ée]di[ée]|messaggio inoltrato|mensagem encaminhada"
              r"|mensagem reencaminhada|doorgestuurd bericht")
_BEGIN_FORWARDED = (r"begin forwarded message|inicio del mensaje reenviado|anfang der weitergeleiteten nachricht"
                    r"|d[ée]but du message r[ée]exp[ée]di[ée]|inizio messaggio inoltrato"
                    r"|in[íi]cio da mensagem (?:re)?encaminhada|begin doorgestuurd bericht|" + _FORWARDED)
_FORWARD = re.compile(
    r"[ \t]*(?:>[ \t]?)*[ \t]*(?:\*\*|__)?[ \t]*(?:"
    rf"-{{2,}}[ \t]*(?:{_FORWARDED})[ \t]*-{{2,}}[^\n]*"  # Yahoo's goes on with the header
    rf"|(?:{_BEGIN_FORWARDED})[ \t]*:"
    r"|-{2,}[ \t]*forwarded by\b[^\n]{1,150}?-{2,}"
    r")[ \t]*(?:\*\*|__)?[ \t]*",
    re.IGNORECASE)

# The fields of a quoted header block, by role. "a" and "à" are Spanish, Italian, French "to".
_ROLES = {
    "from": "from|de|von|van|da|od|från|fra|expéditeur|remitente",
    "date": "sent|date|enviado|enviado el|fecha|gesendet|datum|envoyé|envoyé le|data|inviato|enviada|enviada em"
            "|verzonden|sendt|skickat",
    "to": "to|cc|bcc|para|cco|an|kopie|à|a|aan|destinatario|destinataire|per|til|till|kopia",
    "subject": "subject|asunto|betreff|objet|oggetto|assunto|onderwerp|emne|ämne",
    "other": "reply-to|importance|importancia|wichtigkeit|attachments|adjuntos|anlagen|organization|organización",
}
_ROLE = {name: role for role, names in _ROLES.items() for name in names.split("|")}
_FIELD = re.compile(r"[ \t*_]*([^\W\d_][^\W\d_'-]{0,20}(?: [^\W\d_]{1,12})?)[ \t*_]*:(?:[ \t*_]+|$)(.*)")

# Subject prefixes (after any "[tag]"): a forward's, and a reply's.
_SUBJECT_PREFIX = re.compile(r"[ \t]*(?:\[[^\]\n]{0,100}\][ \t]*)*([^\W\d_]{1,8})[ \t]*(?:\[\d+\]|\(\d+\))?[ \t]*:")
_FORWARD_PREFIXES = frozenset("fwd fw rv wg tr trs enc doorst vs vb vl i pd".split())
_REPLY_PREFIXES = frozenset("re aw sv antw antwort res r rif odp ynt".split())

# The end of the new text: a phone's line, a closing, a name.
_SENT_FROM = re.compile(
    r"[ \t]*(?:sent from my|sent from (?:outlook|mail for|yahoo|gmail|samsung)|get outlook for"
    r"|enviado desde mi|enviado desde (?:outlook|correo para|yahoo)|obtener outlook para|gesendet von meinem"
    r"|von meinem [^\n]{1,40} gesendet|envoyé de mon|envoyé depuis mon|inviato da|enviado do meu)\b[^\n]{0,60}",
    re.IGNORECASE)
_CLOSING = re.compile(
    r"[ \t]*(?:best(?: regards| wishes)?|kind(?:est)? regards|warm(?:est)? regards|regards|cheers"
    r"|thanks(?: a lot| in advance)?|thank you(?: in advance)?|many thanks|all the best|(?:yours )?sincerely"
    r"|yours truly|saludos(?: cordiales)?|un saludo|(?:reciba )?un cordial saludo|atentamente|cordialmente"
    r"|(?:muchas )?gracias(?: de antemano| por adelantado)?|un abrazo|mit freundlichen gr(?:ü|ue)(?:ß|ss)en"
    r"|(?:viele|beste|liebe|herzliche) gr(?:ü|ue)(?:ß|ss)e|gr(?:ü|ue)(?:ß|ss)e|gru(?:ß|ss)|mfg|lg|vg"
    r"|(?:bien )?cordialement|salutations(?: distinguées)?|bien à vous|merci(?: d'avance| beaucoup)?"
    r"|cordiali saluti|atenciosamente|met vriendelijke groet)[ \t]*[,.!]?[ \t]*", re.IGNORECASE)
_NAME_JOINERS = frozenset("de del la las los y e i da das do dos van von der den di du le el of and the & | / - –"
                          .split())
_MAX_NAME_LINES = 3


def split_history(full_text: str, *, subject: str = "", part_starts: Collection[int] = ()) -> tuple[str, str]:
    """(new text, trimmed text) of `full_text`: together they hold each of its lines, in
    order; trimmed is "" when nothing was. `subject` is the mail's (it tells a forward from a
    reply); `part_starts` the offsets in `full_text` where a text part of the mail begins,
    where known (a signature ends with its part)."""
    try:
        trimmed = _Reader(full_text, subject, part_starts).trimmed()
    except Exception:  # a bug in a pattern must not cost the mail
        return full_text, ""
    if trimmed is None:
        return full_text, ""
    lines = full_text.split("\n")
    return (_joined([line for line, cut in zip(lines, trimmed) if not cut]),
            _joined(_trimmed_lines(lines, trimmed)))


def strip_history(full_text: str, *, subject: str = "", part_starts: Collection[int] = ()) -> str:
    """`full_text` without quoted history and signature (see `split_history`); `full_text`
    itself if nothing new is left."""
    return split_history(full_text, subject=subject, part_starts=part_starts)[0]


def _trimmed_lines(lines: list[str], trimmed: list[bool]) -> list[str]:
    """The trimmed lines, with an empty line between those trimmed from different places."""
    found: list[str] = []
    previous = None
    for index, line in enumerate(lines):
        if trimmed[index]:
            if previous is not None and previous != index - 1:
                found.append("")
            found.append(line)
            previous = index
    return found


def _joined(lines: list[str]) -> str:
    """The lines as one text: no blank line of spaces, no run of blank lines, no blank ends."""
    text = "\n".join("" if not line.strip() else line for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n").rstrip()


class _Reader:
    """Reads the lines of one text once, top down, marking those to trim."""

    def __init__(self, text: str, subject: str, part_starts: Collection[int]) -> None:
        self.lines = text.split("\n")
        self.subject_kind = _subject_kind(subject)
        self.scanned = 0  # the lines that begin within MAX_REPLY_SCAN characters
        self.part_starts: set[int] = set()  # the lines that begin a text part
        offsets = set(part_starts)
        offset = 0
        for index, line in enumerate(self.lines):
            if offset >= MAX_REPLY_SCAN:
                break
            self.scanned = index + 1
            if offset in offsets and index:
                self.part_starts.add(index)
            offset += len(line) + 1
        self.parts_known = bool(offsets)
        self.cut = [False] * len(self.lines)
        self.ends: list[int] = []  # where runs of new text end, that may close with a name
        self.headers: set[int] = set()  # lines of quote headers with nothing new above them

    def trimmed(self) -> list[bool] | None:
        """For each line, whether it is trimmed; None: all of the text is new."""
        lines, cut = self.lines, self.cut
        content = False  # a line of new text was read
        history = False  # in a history that was cut off: to the end of its part, if known
        signature = False  # in a signature: to the end of its part, or else to a blank line
        index = 0
        while index < self.scanned:
            if index in self.part_starts:
                self.ends.append(index)
                signature = history = False
            line = lines[index][:_LINE]
            if history:
                cut[index] = True
            elif _MARKER.match(line):  # our own mail
                self.ends.append(index)
                cut[index] = history = True
            elif _FORWARD.fullmatch(line):
                return self._forward(index)
            elif header := self._quote_header(index):
                kind, end = header
                if kind == "forward":
                    return self._forward(index)
                if not content:  # nothing new above it: not this mail's history
                    self.headers.update(range(index, end))
                    index = end
                    continue
                self.ends.append(index)
                cut[index] = history = True
            elif _QUOTED.match(line):
                cut[index] = True
            elif line.strip() == "--":  # "-- ", the signature delimiter
                self.ends.append(index)
                cut[index] = signature = True
            elif signature and (line.strip() or self.parts_known):
                cut[index] = True
            else:
                signature = False
                content = content or bool(line.strip() and not _RULE.fullmatch(line))
            index += 1
        if len(lines) > self.scanned:
            if not history:
                return None  # text past what was read, and no history cut off before it
            cut[self.scanned:] = [True] * (len(lines) - self.scanned)
        self.ends.append(self.scanned)
        return self._finished()

    def _forward(self, index: int) -> list[bool] | None:
        """A forwarded mail begins at line `index`: the rest is new text, up to our marker."""
        self._close_runs(forward=index)
        for at in range(index, self.scanned):
            if _MARKER.match(self.lines[at][:_LINE]):
                self.cut[at:] = [True] * (len(self.lines) - at)
                break
        return self._finished()

    def _finished(self) -> list[bool] | None:
        self._close_runs()
        if any(not cut and line.strip() and not _RULE.fullmatch(line[:_LINE]) and index not in self.headers
               for index, (line, cut) in enumerate(zip(self.lines, self.cut))):
            return self.cut
        return None  # nothing new: all of it is

    def _quote_header(self, index: int) -> tuple[str, int] | None:
        """("reply" or "forward", the index past it) if a quote header begins at `index`."""
        lines, line = self.lines, self.lines[index][:_LINE]
        if _QUOTED.match(line) or not line.strip():
            return None
        if _OPENER.match(line):  # with a date, or over quoted lines
            following = lines[index + 1][:_LINE] if index + 1 < len(lines) else ""
            for end, header in ((index + 1, line), (index + 2, line + following)):
                if (_WROTE_END.search(header) and (_has_digit(header) or self._quoted_next(end))
                        and (end == index + 1 or following.strip())):
                    return "reply", end
        # "Ana <ana@example.com> wrote:" over quoted lines.
        if _WROTE_LINE.match(line) and ("@" in line or _has_digit(line)) and self._quoted_next(index + 1):
            return "reply", index + 1
        if _ORIGINAL.fullmatch(line):
            return self._outlook_kind(index + 1), index + 1
        block_end = self._header_block(index)
        if block_end is not None:
            return self._outlook_kind(index), block_end
        return None

    def _quoted_next(self, index: int) -> bool:
        """Whether the next line with text, from `index` on, is quoted."""
        for line in self.lines[index:index + 3]:
            if line.strip():
                return bool(_QUOTED.match(line))
        return False

    def _header_block(self, index: int) -> int | None:
        """The index past an Outlook header block beginning at `index`: From, Sent or Date,
        and To or Subject lines, with no blank line between them."""
        roles: set[str] = set()
        wrapped = 0  # lines of a long To or Cc list, wrapped
        last = ""
        end = index
        for end in range(index, min(index + _HEADER_LOOKAHEAD, len(self.lines))):
            line = self.lines[end][:_LINE]
            role = _field_role(line)
            if role:
                roles.add(role)
                last, wrapped = role, 0
            elif last == "to" and wrapped < 3 and ("@" in line or ";" in line) and not _QUOTED.match(line):
                wrapped += 1
            else:
                break
        else:
            end += 1
        if {"from", "date"} <= roles and roles & {"to", "subject"}:
            return end
        return None

    def _outlook_kind(self, index: int) -> str:
        """A reply's header or a forward's: the mail's subject says; where it says neither,
        the Subject line of the header block at `index` may."""
        if self.subject_kind:
            return self.subject_kind
        for line in self.lines[index:index + _HEADER_LOOKAHEAD]:
            if not line.strip():
                break
            match = _FIELD.match(line[:_LINE])
            if match and _ROLE.get(match.group(1).lower()) == "subject":
                return "forward" if _subject_kind(match.group(2)) == "forward" else "reply"
        return "reply"

    def _close_runs(self, forward: int | None = None) -> None:
        """Trim what ends a run of new text: a phone's line, a closing followed by names
        only, a rule (but the rule above a forwarded mail, which is the forward's)."""
        lines, cut = self.lines, self.cut
        if forward is not None:
            self.ends.append(forward)
        for end in self.ends:
            at = end
            while True:
                last = at - 1
                while last >= 0 and not cut[last] and not lines[last].strip():
                    last -= 1
                if last < 0 or cut[last]:
                    break
                line = lines[last][:_LINE]
                start: int | None = last
                if not _SENT_FROM.fullmatch(line.strip()) and not (_RULE.fullmatch(line) and end != forward):
                    start = self._closing(last)
                if start is None:
                    break
                cut[start:at] = [True] * (at - start)
                at = start
        self.ends = []

    def _closing(self, last: int) -> int | None:
        """Where a closing begins that only names follow, up to line `last`."""
        names = 0
        at = last
        while at >= 0 and not self.cut[at]:
            line = self.lines[at][:_LINE]
            if not line.strip():
                at -= 1
                continue
            if _CLOSING.fullmatch(line):
                return at if names else None
            if names == _MAX_NAME_LINES or not _looks_like_name(line):
                return None
            names += 1
            at -= 1
        return None


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def _looks_like_name(line: str) -> bool:
    """A line of a name or a company: a few words, each capitalised or a joiner, and no
    sentence's end (but an abbreviation's: "S.L.", "Inc.")."""
    words = line.strip().strip("*_").split()
    if not 1 <= len(words) <= 4 or len(line.strip()) > 40 or line.rstrip()[-1] in "!?:;":
        return False
    if line.rstrip().endswith(".") and len(words[-1].replace(".", "")) > 3:
        return False
    for word in words:
        bare = word.strip("-–—,()*_")
        if not bare:
            continue
        if any(c.isdigit() or c in "@:/" for c in bare):
            return False
        if not bare[0].isupper() and bare.lower() not in _NAME_JOINERS:
            return False
    return True


def _field_role(line: str) -> str | None:
    match = _FIELD.match(line)
    return _ROLE.get(match.group(1).lower()) if match else None


def _subject_kind(subject: str) -> str:
    """"forward", "reply" or "" by the first prefix of `subject`."""
    match = _SUBJECT_PREFIX.match(subject[:_LINE])
    if not match:
        return ""
    prefix = match.group(1).lower()
    return "forward" if prefix in _FORWARD_PREFIXES else "reply" if prefix in _REPLY_PREFIXES else ""
