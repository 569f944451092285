"""What a ticket must keep of a mail, read by the standard library rather than by our parser:
the words of every text a person wrote, and every file. Used by tests/test_mail_fidelity.py
and bench/mail.py to count lost text and files dropped without a word.

- Text: each text/plain or text/html leaf that is not sent as an attachment (of a
  multipart/alternative, only the plain one, or the richest when there is no plain one, as
  a reader sees one of them), attached mails included; HTML read as text (no head, script
  or style). Its words: runs of three or more letters (digits and "_" split them, so a
  Markdown escape cannot hide a word), compared case-folded and in NFC.
- Files: every other leaf, by its decoded bytes.

Our side keeps them when they are in the message text, in its trimmed text (quoted history
and signatures, shown folded), in a file stored with it (a text file or an attached mail is
read for its words), or, for a file, in the list of files not imported.
"""

from __future__ import annotations

import base64
import email
import quopri
import re
import unicodedata
from dataclasses import dataclass
from email.message import Message
from email.policy import compat32
from html.parser import HTMLParser
from typing import Iterable, Sequence

WORD = re.compile(r"[^\W\d_]{3,}")
_TEXT_TYPES = ("text/plain", "text/html")


def words(text: str) -> set[str]:
    return {unicodedata.normalize("NFC", word).casefold() for word in WORD.findall(text)}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag in ("br", "p", "div", "td", "th", "li", "tr"):
            self.chunks.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # the reference must not be stricter than a browser
        return html
    return "".join(parser.chunks)


# Labels senders write for more than they name (the WHATWG Encoding Standard's reading).
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "euc-kr": "cp949", "ks_c_5601-1987": "cp949",
              "big5": "big5hkscs", "shift_jis": "cp932", "iso-8859-1": "cp1252", "us-ascii": "cp1252"}


_MULTIBYTE = frozenset(("gb2312", "gbk", "gb18030", "euc-kr", "ks_c_5601-1987", "big5", "shift_jis", "euc-jp",
                        "iso-2022-jp", "utf-16", "utf-16le", "utf-16be"))


def _decoded(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    label = (part.get_content_charset() or "").strip().lower()
    # Valid UTF-8 under a one-byte label is UTF-8 (a client that labels what it did not write).
    first = () if label in _MULTIBYTE else ("utf-8",)
    for codec in (*first, _SUPERSETS.get(label, label), label, "utf-8"):
        try:
            return data.decode(codec) if codec else ""
        except (LookupError, UnicodeDecodeError):
            continue
    try:  # a label that does not fit: its words with a replacement character are not counted
        return data.decode(_SUPERSETS.get(label, label) or "utf-8", "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _is_text(part: Message) -> bool:
    return part.get_content_type() in _TEXT_TYPES and part.get_content_disposition() != "attachment"


def _has_words(part: Message) -> bool:
    return bool(_decoded(part).strip())


_UUENCODED = re.compile(r"^begin(?:-base64)? [0-7]{3,4} [^\n]+\n.*?^(?:end|====)[ \t]*$", re.M | re.S)
_DELIMITER = re.compile(r"^--([^\s]{1,70})[ \t]*\r?$", re.M)


def _reread(part: Message) -> Message | None:
    """What the standard library reads in two shapes it does not: an attached mail sent in
    base64 (as Exchange sends it), and a multipart whose declared boundary is not the one its
    body uses (the first "--X" line is taken for it)."""
    if part.get_content_type() in ("message/rfc822", "message/global") and str(
            part.get("Content-Transfer-Encoding", "")).strip().lower() in ("base64", "quoted-printable"):
        inner = part.get_payload(0)
        encoded = inner.get_payload() if isinstance(inner, Message) and not inner.keys() else str(inner)
        try:
            data = (base64.b64decode("".join(str(encoded).split())) if "base64" in str(part["Content-Transfer-Encoding"]).lower()
                    else quopri.decodestring(str(encoded).encode("latin-1", "replace")))
        except ValueError:
            return None
        return email.message_from_bytes(data, policy=compat32)
    if part.get_content_maintype() == "multipart" and not part.is_multipart():
        body = str(part.get_payload())
        found = _DELIMITER.search(body)
        if found:
            again = email.message_from_string(
                f'Content-Type: {part.get_content_type()}; boundary="{found.group(1)}"\n\n{body}', policy=compat32)
            return again if again.is_multipart() else None
    return None


def _read(part: Message, texts: list[str], files: list[bytes],
          either: list[tuple[bytes, frozenset[str]]]) -> None:
    again = _reread(part)
    if again is not None:
        _read(again, texts, files, either)
        return
    if part.is_multipart():
        children = [c for c in part.get_payload() if isinstance(c, Message)]
        if part.get_content_type() == "multipart/alternative" and children:
            plain = next((c for c in children if c.get_content_type() == "text/plain" and _is_text(c)
                          and _has_words(c)), None)
            children = [plain or children[-1]]
        for child in children:
            _read(child, texts, files, either)
        return
    if _is_text(part):
        text = _decoded(part)
        if part.get_content_type() == "text/html":
            text = html_text(text)
        texts.append(_UUENCODED.sub("", text.replace("\r\n", "\n")))  # files, not words
        return
    data = part.get_payload(decode=True)
    data = data if isinstance(data, bytes) else str(part.get_payload()).encode("utf-8", "replace")
    if part.get_content_disposition() != "attachment" and part.get_content_maintype() in ("text", "multipart"):
        either.append((data, frozenset(words(_decoded(part)))))  # other text, or a multipart with no parts
    else:
        files.append(data)


@dataclass(frozen=True)
class Expected:
    words: frozenset[str]
    files: tuple[bytes, ...]
    # Other inline text (text/enriched, text/rfc822-headers…) and multiparts whose parts were
    # not found: kept as a file or as text, either will do.
    either: tuple[tuple[bytes, frozenset[str]], ...] = ()


def expected(raw: bytes) -> Expected:
    """What a ticket must keep of `raw`, as the standard library's compat32 parser reads it."""
    root = email.message_from_bytes(raw, policy=compat32)
    texts: list[str] = []
    files: list[bytes] = []
    either: list[tuple[bytes, frozenset[str]]] = []
    _read(root, texts, files, either)
    # A word with a replacement character is the reference's own misreading: not counted.
    found = set().union(*(_readable_words(t) for t in texts)) if texts else set()
    return Expected(frozenset(found), tuple(f for f in files if f),
                    tuple((data, w) for data, w in either if data.strip()))


def _readable_words(text: str) -> set[str]:
    return words(" ".join(w for w in re.findall(r"(?:[^\W\d_]|\ufffd)+", text) if "\ufffd" not in w))


def words_of_file(data: bytes, content_type: str = "", name: str = "") -> set[str]:
    """The words a stored file holds for a reader: its text, or an attached mail's texts."""
    if content_type in ("message/rfc822", "message/global") or name.lower().endswith(".eml"):
        inner = expected(data)
        return set(inner.words) | set().union(*(words_of_file(f) for f in inner.files))
    for codec in ("utf-8", "windows-1252", "latin-1"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        return words(html_text(text) if "<" in text and ">" in text else text)
    return set()


@dataclass(frozen=True)
class Kept:
    """What a ticket (or a parsed mail) lost of a mail: words in no text or file it keeps,
    and files neither stored (by their bytes) nor listed as not imported."""

    lost_words: frozenset[str]
    dropped_files: int
    expected_words: int
    expected_files: int


def compare(raw: bytes, *, texts: Iterable[str], files: Sequence[tuple[str, str, bytes]],
            listed: int = 0) -> Kept:
    """`texts`: the message's text and trimmed text; `files`: (name, content type, bytes) of
    each file kept with it; `listed`: files named as not imported."""
    want = expected(raw)
    stored: list[bytes] = []
    for name, content_type, data in files:
        stored.append(data)
        if content_type in ("message/rfc822", "message/global") or name.lower().endswith(".eml"):
            stored += expected(data).files  # the files of an attached mail, kept inside it
    dropped = 0
    for data in want.files:
        if data in stored:
            stored.remove(data)
        else:
            dropped += 1
    wanted = set(want.words)
    for data, its_words in want.either:
        if data in stored:
            stored.remove(data)
        else:
            wanted |= {w for w in its_words if "\ufffd" not in w}
    missing = wanted - set().union(*(words(t) for t in texts))
    for name, content_type, data in files:
        if not missing:
            break
        missing -= words_of_file(data, content_type, name)
    return Kept(frozenset(missing), max(0, dropped - listed), len(wanted), len(want.files))
