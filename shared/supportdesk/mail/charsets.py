"""Bytes to text when the charset label may lie.

Labels lie: "us-ascii" and "iso-8859-1" are often UTF-8 (and valid UTF-8 is rarely anything
else), "iso-8859-1" is often windows-1252 (smart quotes in 0x80-0x9f), and the five bytes
windows-1252 leaves undefined ISO-8859-1 still reads. Unlabelled 8-bit text is mostly Western
European.
"""

from __future__ import annotations

import codecs
import re

from supportdesk.mail.safe import attempt

_WESTERN = frozenset({"ascii", "iso8859-1", "cp1252"})
# In decoded text these mean binary data or a wrong charset.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")
_SAMPLE = 65_536  # characters looked at to tell text from binary data


def decode_bytes(data: bytes, charset: str | None, *, guess: bool = True,
                 complete: bool = True) -> tuple[str, bool]:
    """The text, and whether undecodable bytes had to be replaced. `complete=False` says the
    data was cut: a character cut in two at its end is left out, not taken for an error."""
    name = attempt(lambda: codecs.lookup(charset).name if charset else None, None)
    for codec in _candidates(name):
        text = _decoded(data, codec, complete)
        if text is not None and not looks_binary(text):
            return text, False
    guessed = _guess(data) if guess else None
    if guessed is not None and not looks_binary(guessed):
        return guessed, False
    try:
        return data.decode("cp1252"), False
    except UnicodeError:
        return data.decode("utf-8", "replace"), True


def _candidates(name: str | None) -> list[str]:
    """The codecs to try, in order, for a label (its codec's name)."""
    if name in _WESTERN:
        return ["utf-8", "cp1252", "latin-1"]
    return [name, "utf-8"] if name else ["utf-8"]


def _decoded(data: bytes, codec: str, complete: bool) -> str | None:
    try:
        return (data.decode(codec) if complete
                else codecs.getincrementaldecoder(codec)().decode(data, final=False))
    except (LookupError, UnicodeError):  # LookupError: "base64" and such are no text codecs
        return None


def _guess(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = attempt(lambda: from_bytes(data).best(), None)
    # It calls short Latin-1 snippets UTF-16, which real UTF-16 text (full of NULs) is not.
    if best is None or (best.encoding.startswith(("utf_16", "utf_32")) and b"\0" not in data):
        return None
    return attempt(lambda: str(best), None)


def looks_binary(text: str) -> bool:
    sample = text[:_SAMPLE]
    return len(_NOT_TEXT.findall(sample)) > len(sample) * 0.05
