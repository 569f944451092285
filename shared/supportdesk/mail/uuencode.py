"""Files uuencoded into the text of a mail, as old clients send them (and Outlook still does
when told to send plain text with UUENCODE): "begin 644 name" lines, lines of encoded data,
an "end" line; also the base64 form of the same ("begin-base64 644 name" ... "====").

``split`` cuts each block that decodes out of the text and returns it as a file; a block
that does not decode stays in the text as it came. The work is linear in the text: a run
of encoded lines is matched at C speed and stops at any line with a character encoded data
never has (a "begin" line has lower-case letters, which uuencoded lines never do; a run of
base64 lines stops at the spaces of one), so no byte is looked at by two blocks.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

# Starting with a literal, the engine skips ahead at C speed (a "^" first costs ten times
# more); that it starts a line is checked after.
_BEGIN = re.compile(rb"begin(?P<base64>-base64)?[ \t]+[0-7]{3,4}[ \t]+(?P<name>[^\r\n]*?)[ \t]*(?:\r\n|\r|\n)")
_BEGIN_TEXT = re.compile(_BEGIN.pattern.decode("ascii"))
# uuencoded lines: characters from " " to "`", each line at most a little over 61 of them
# (some encoders add a check character, which is cut off below); a line of spaces may have
# lost them on the way.
_UU_LINES = re.compile(rb"(?:[ -`]{0,90}[ \t]*(?:\r\n|\r|\n))*")
_UU_END = re.compile(rb"end[ \t]*(?:\r\n|\r|\n|\Z)")
_BASE64_LINES = re.compile(rb"(?:[A-Za-z0-9+/]{1,100}=*[ \t]*(?:\r\n|\r|\n))*")
_BASE64_END = re.compile(rb"====[ \t]*(?:\r\n|\r|\n|\Z)")
_LINE = re.compile(rb"[^\r\n]+")
_EOL = re.compile(rb"\r\n|\r|\n")
_ENDS_IN_EMPTY_LINE = re.compile(rb"(?:\A|\r\n|\r|\n)(?:\r\n|\r|\n)\Z")
_BEGINS_LOOKED_AT = 1_000  # "begin" lines looked at in one text, blocks or not


@dataclass(frozen=True)
class EncodedFile:
    name: bytes  # as the begin line gives it, in the charset of the text
    data: bytes


@dataclass(frozen=True)
class Split:
    text: bytes  # the text without the blocks that decoded
    files: tuple[EncodedFile, ...]
    complete: bool  # false: there were more blocks than `max_files`, the rest is still text


def has_blocks(text: bytes | str) -> bool:
    """Whether a text (or bytes read as ASCII with surrogate escapes) may hold a block: a
    cheap look, at C speed."""
    found = _BEGIN_TEXT.search(text) if isinstance(text, str) else _BEGIN.search(text)
    return found is not None


def split(data: bytes, max_files: int) -> Split:
    """The text without its encoded files, and the files, at most `max_files` of them."""
    kept: list[bytes] = []
    files: list[EncodedFile] = []
    position = 0  # the text up to here is handled
    for looked_at, begin in enumerate(_BEGIN.finditer(data)):
        if looked_at >= _BEGINS_LOOKED_AT or len(files) >= max_files:
            return Split(b"".join([*kept, data[position:]]), tuple(files), False)
        if begin.start() < position or (begin.start() > 0 and data[begin.start() - 1] not in b"\r\n"):
            continue  # inside a block taken (base64 lines may spell "begin"), or not a line start
        found = _block(data, begin)
        if found is None:
            continue
        decoded, end = found
        kept.append(data[position:begin.start()])
        files.append(EncodedFile(begin.group("name"), decoded))
        # The empty line around a block is one, not two, once it is gone.
        if (after := _EOL.match(data, end)) is not None and _ENDS_IN_EMPTY_LINE.search(kept[-1]):
            end = after.end()
        position = end
    kept.append(data[position:])
    return Split(b"".join(kept), tuple(files), True)


def _block(data: bytes, begin: re.Match[bytes]) -> tuple[bytes, int] | None:
    """The decoded file of the block that `begin` opens, and where the block ends; None if it
    does not end properly or does not decode."""
    if not begin.group("name").strip():
        return None
    base64 = begin.group("base64") is not None
    run = (_BASE64_LINES if base64 else _UU_LINES).match(data, begin.end())
    assert run is not None  # the patterns match the empty string
    end = (_BASE64_END if base64 else _UU_END).match(data, run.end())
    if end is None:
        return None
    lines = run.group()
    try:
        decoded = binascii.a2b_base64(lines) if base64 else b"".join(map(_uu_line, _LINE.findall(lines)))
    except (binascii.Error, ValueError):
        return None
    return decoded, end.end()


def _uu_line(line: bytes) -> bytes:
    try:
        return binascii.a2b_uu(line)
    except binascii.Error:
        # Some encoders add a character after the data: cut the line to the length its
        # first character declares (as the stdlib's uu module did).
        length = ((line[0] - 32) & 63) * 4 + 5
        return binascii.a2b_uu(line[:length // 3])
