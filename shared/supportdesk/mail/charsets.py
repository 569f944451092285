"""Bytes to text when the charset label may lie.

A label is read as the WHATWG Encoding Standard reads it (its label table is below): a label
names the superset its senders' software really writes. "gb2312" is GBK (read as GB18030, its
superset), "iso-8859-1", "latin1" and "us-ascii" are windows-1252, "iso-8859-9" windows-1254,
"tis-620" windows-874, "ks_c_5601-1987" and "euc-kr" windows-949, "shift_jis" windows-31j
(with the NEC and IBM characters such as ① and ㈱), "big5" Big5 with HKSCS (and windows-950's
euro sign). ISO-2022-JP and EUC-JP read JIS X 0208 as windows-31j does, so the ① and ㈱ that
Windows clients put in them come through. Two departures, both for mail, which wants the text:
the labels the Standard reads as "replacement" (iso-2022-kr, hz-gb-2312) are decoded when
Python can, and where an ISO-8859 charset has C1 control characters (bytes 0x80-0x9f, which
nobody means) the Windows code page of its script is read (“quotes”, dashes, €).

Labels also lie outright:

* Valid UTF-8 is UTF-8 whatever the label ("us-ascii" and "iso-8859-1" are often UTF-8, and
  text in a legacy charset is rarely valid UTF-8). Under a CJK label it must also hold a
  character from U+0800 up, as text under such a label does: a word or two of GBK or EUC-KR
  can be valid UTF-8 by chance, reading as a Latin, Greek or Cyrillic letter.
* A legacy label that does not fit the bytes: if they are mostly UTF-8 (see _mostly_utf8),
  UTF-8 where they are and the label's charset for the stray runs, else the label's charset
  with U+FFFD for what it cannot read (and "replaced" says so).
* "utf-8" on bytes that are not, and no label at all (or one nobody knows): UTF-8 where the
  bytes are valid UTF-8, windows-1252 (which maps every byte, so nothing is lost) for each run
  where they are not. Where nothing is declared and the bytes are no UTF-8, charset-normalizer
  is asked first, but its answer is taken only where it can be trusted (see _GUESS_BYTES).

A byte order mark overrides the label, as the Standard says. Header text (``decode_word``,
``decode_raw_header``) is read the same way but never guessed at: it is too short for that.
"""

from __future__ import annotations

import codecs
import re
from contextvars import ContextVar
from functools import cache

# -- Labels ----------------------------------------------------------------------------------

# The WHATWG Encoding Standard's labels (encoding.spec.whatwg.org, "Names and labels"), each
# encoding as the Python codec that reads it here. "utf-16" keeps Python's reading (the byte
# order mark decides, else little-endian, as the Standard's UTF-16LE).
_UNICODE_LABELS: tuple[tuple[str, str], ...] = (
    ("utf-8", "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8"),
    ("utf-16-be", "unicodefffe utf-16be"),
    ("utf-16", "csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16"),
    ("utf-16-le", "utf-16le"),
)
_SINGLE_BYTE_LABELS: tuple[tuple[str, str], ...] = (
    ("cp866", "866 cp866 csibm866 ibm866"),
    ("iso8859-2", "csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 iso_8859-2:1987 l2 latin2"),
    ("iso8859-3", "csisolatin3 iso-8859-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 iso_8859-3:1988 l3 latin3"),
    ("iso8859-4", "csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 iso_8859-4:1988 l4 latin4"),
    ("iso8859-5", "csisolatincyrillic cyrillic iso-8859-5 iso-ir-144 iso8859-5 iso88595 iso_8859-5 iso_8859-5:1988"),
    ("iso8859-6", "arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114 iso-8859-6 iso-8859-6-e "
                  "iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6 iso_8859-6:1987"),
    ("iso8859-7", "csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126 iso8859-7 iso88597 "
                  "iso_8859-7 iso_8859-7:1987 sun_eu_greek"),
    ("iso8859-8", "csiso88598e csisolatinhebrew hebrew iso-8859-8 iso-8859-8-e iso-ir-138 iso8859-8 iso88598 "
                  "iso_8859-8 iso_8859-8:1988 visual csiso88598i iso-8859-8-i logical"),
    ("iso8859-10", "csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6"),
    ("iso8859-13", "iso-8859-13 iso8859-13 iso885913"),
    ("iso8859-14", "iso-8859-14 iso8859-14 iso885914"),
    ("iso8859-15", "csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9"),
    ("iso8859-16", "iso-8859-16"),
    ("koi8-r", "cskoi8r koi koi8 koi8-r koi8_r"),
    ("koi8-u", "koi8-ru koi8-u"),
    ("mac-roman", "csmacintosh mac macintosh x-mac-roman"),
    ("cp874", "dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874"),
    ("cp1250", "cp1250 windows-1250 x-cp1250"),
    ("cp1251", "cp1251 windows-1251 x-cp1251"),
    ("cp1252", "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 iso8859-1 iso88591 "
               "iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252"),
    ("cp1253", "cp1253 windows-1253 x-cp1253"),
    ("cp1254", "cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9 iso_8859-9:1989 l5 "
               "latin5 windows-1254 x-cp1254"),
    ("cp1255", "cp1255 windows-1255 x-cp1255"),
    ("cp1256", "cp1256 windows-1256 x-cp1256"),
    ("cp1257", "cp1257 windows-1257 x-cp1257"),
    ("cp1258", "cp1258 windows-1258 x-cp1258"),
    ("mac-cyrillic", "x-mac-cyrillic x-mac-ukrainian"),
)
_MULTI_BYTE_LABELS: tuple[tuple[str, str], ...] = (
    ("gb18030", "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk gb18030"),
    ("big5hkscs", "big5 big5-hkscs cn-big5 csbig5 x-x-big5"),
    ("euc_jp", "cseucpkdfmtjapanese euc-jp x-euc-jp"),
    ("iso2022_jp", "csiso2022jp iso-2022-jp"),
    ("cp932", "csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis"),
    ("cp949", "cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 ksc5601 ksc_5601 "
              "windows-949"),
)
# Python's own names for the charsets above, where they differ (a label Python knows by
# another alias comes to the same codec: "cp936" is "gbk" to Python, and so GB18030 here).
_PYTHON_NAMES = {
    "ascii": "cp1252", "latin-1": "cp1252", "gb2312": "gb18030", "gbk": "gb18030", "big5": "big5hkscs",
    "cp950": "big5hkscs", "euc_kr": "cp949", "shift_jis": "cp932", "tis-620": "cp874",
    "iso8859-11": "cp874", "iso8859-9": "cp1254", "iso2022_jp_1": "iso2022_jp", "iso2022_jp_2": "iso2022_jp",
    "iso2022_jp_3": "iso2022_jp", "iso2022_jp_2004": "iso2022_jp", "iso2022_jp_ext": "iso2022_jp",
}
_CODEC_OF = {label: codec for codec, labels in _UNICODE_LABELS + _SINGLE_BYTE_LABELS + _MULTI_BYTE_LABELS
             for label in labels.split()} | _PYTHON_NAMES
# Python codecs that turn bytes into text but are no charset of text: they read Python's or
# DNS's notation, and may give lone surrogates ("\\udc80" in unicode-escape).
_NOT_CHARSETS = frozenset({"unicode-escape", "raw-unicode-escape", "punycode", "idna", "undefined"})

# Single-byte charsets read by a table of their 256 bytes (see _table). In the C1 range
# (0x80-0x9f) ISO-8859 charsets have control characters nobody means: there, the Windows code
# page of the same script is read, as its writers' software fills it with punctuation.
_SINGLE_BYTE = frozenset(codec for codec, _ in _SINGLE_BYTE_LABELS)
_C1_FROM = {"iso8859-2": "cp1250", "iso8859-4": "cp1257", "iso8859-5": "cp1251", "iso8859-6": "cp1256",
            "iso8859-7": "cp1253", "iso8859-8": "cp1255", "iso8859-13": "cp1257", "iso8859-15": "cp1252",
            "iso8859-16": "cp1250"}
# ISO-2022-JP as its variants, tried in turn: -2 (JIS X 0212, GB 2312, KS C 5601, Latin-1 and
# Greek), the half-width katakana of CP50221, JIS X 0213. Each also reads JIS X 0208 as
# windows-31j does (see _extension).
_ISO2022JP = ("iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_2004")
# 8-bit bytes under a 7-bit label are in the 8-bit charset of the same language, or UTF-8.
_EIGHT_BIT_OF = {"iso2022_jp": "cp932", "iso2022_kr": "cp949", "hz": "gb18030"}
_FALLBACK = "cp1252"  # for bytes no label explains: it maps every byte, so nothing is lost
# Codecs that _extension completes, and how many characters it reads in one text: Python calls
# it for each, so that a hostile text of a million of them would take seconds. Real mail has
# a few (①, ㈱, €); past the limit the text is read with U+FFFD for them (and kept as a file).
_EXTENDED = ("iso2022_jp", "euc_jp", "big5hkscs", "gb18030")
_EXTENSIONS_READ = 10_000
_extensions_left: ContextVar[int] = ContextVar("_extensions_left", default=0)

# -- Guessing --------------------------------------------------------------------------------

# charset-normalizer is asked only where nothing is declared and the bytes are no UTF-8, and
# its answer is taken only for a sample with at least _GUESS_BYTES bytes above 0x7f making at
# least _GUESS_SHARE of it. Measured on sliding windows of Chinese, Japanese, Korean, Russian
# and Greek support mail: with 48 to 96 such bytes it still read one window in five as another
# script (hiragana as hangul, KOI8-R as windows-874, Big5 as Shift_JIS); from 128 on it read
# them all right. Latin-script text has few such bytes (2-15 %), and the guesser takes it for
# the wrong Windows code page even at 400 characters (Portuguese as windows-1250, French as
# windows-1257), while windows-1252 reads it right: the share keeps it away from the guesser.
_GUESS_BYTES = 128
_GUESS_SHARE = 0.3
_GUESS_SAMPLE = 65_536  # bytes given to the guesser; the guess then reads the whole text
_GUESSABLE = ["cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp874",
              "koi8_r", "koi8_u", "cp866", "mac_cyrillic", "iso8859_2", "iso8859_5", "iso8859_7", "iso8859_8",
              "gb18030", "big5hkscs", "cp932", "euc_jp", "cp949", "utf_16", "utf_32"]

# -- Text or not -----------------------------------------------------------------------------

# In decoded text these mean binary data or a wrong charset, in more than 5 % of it: control
# characters, or U+FFFD for bytes the charset could not read, but for a few of them (a short
# text with one broken byte is text, shown with U+FFFD and kept as a file as well).
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")
_FEW_REPLACED = 16
_SAMPLE = 65_536  # characters looked at to tell text from binary data
_ESCAPED = re.compile("[\udc80-\udcff]+")  # bytes UTF-8 could not read, as surrogate escapes
_FROM_U0800 = re.compile("[\u0800-\U0010ffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")  # UTF-7 can encode a lone one: no text
_HIGH = bytes(range(0x80, 0x100))
_MANY_RUNS = 10_000  # past this, stray runs are mapped by a table, not one by one


def looks_binary(text: str) -> bool:
    sample = text[:_SAMPLE]
    found = _NOT_TEXT.findall(sample)
    replaced = found.count("\ufffd")
    return len(found) - (replaced if replaced <= _FEW_REPLACED else 0) > len(sample) * 0.05


# -- Reading ---------------------------------------------------------------------------------

def codec_for(label: str | None) -> str | None:
    """The codec that reads a charset label (its WHATWG superset); None for no label, or for
    one that names no text encoding."""
    key = (label or "").strip(" \t\r\n\f\"'").lower()
    if not key:
        return None
    if key in _CODEC_OF:
        return _CODEC_OF[key]
    try:
        info = codecs.lookup(key)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:  # "base64", "rot13"...
        return None
    return _CODEC_OF.get(info.name, info.name)


def decode_bytes(data: bytes, charset: str | None, *, guess: bool = True,
                 complete: bool = True) -> tuple[str, bool]:
    """The text of a body part, and whether bytes nothing could read were replaced (by
    U+FFFD). `complete=False` says the data was cut: a character cut in two at its end is
    left out, not taken for an error. `guess=False`: never ask charset-normalizer."""
    data = bytes(data)
    reading = _Reading(data, complete=complete, guess=guess, check=True)
    text, replaced = reading.read(_bom(data) or codec_for(charset))
    if text is not None:
        return text, replaced
    # Nothing gave text: a guess of any confidence (it tells UTF-16 without a label), or the
    # bytes as windows-1252 (which the caller will find to be no text).
    guessed = reading.guess()
    if guessed is not None and not looks_binary(guessed):
        return guessed, False
    return _strict(data, _FALLBACK, complete) or "", False


def decode_word(data: bytes, charset: str | None) -> str:
    """The text of an RFC 2047 encoded word (or of adjacent words of one charset, joined)."""
    text, _ = _Reading(bytes(data)).read(codec_for(charset))
    return text or ""


def decode_raw_header(data: bytes, body_charset: str | None = None) -> str:
    """Raw 8-bit header bytes (no encoded words): UTF-8 where valid, else, as mail clients
    read them, the charset of the body if it declares a legacy 8-bit one, else windows-1252,
    run by run."""
    codec = codec_for(body_charset)
    text, _ = _Reading(bytes(data)).read(codec if codec and _kind(codec) == "8bit" else None)
    return text or ""


def joins_words(charset: str | None) -> bool:
    """Whether adjacent encoded words of `charset` are read joined, as one character may be
    split over two; words of a single-byte charset are read one by one, so that one of them
    in another charset (UTF-8 under "iso-8859-1") does not change how the others read."""
    return codec_for(charset) not in _SINGLE_BYTE


class _Reading:
    """One text read as the module docstring says. `check`: a reading that looks like binary
    data is no reading (body parts; header text is short and taken as it comes). `guess`:
    charset-normalizer may be asked, once."""

    def __init__(self, data: bytes, *, complete: bool = True, guess: bool = False, check: bool = False) -> None:
        self.data, self.complete, self.may_guess, self.check = data, complete, guess, check
        self.guessed: list[str | None] = []

    def usable(self, text: str | None) -> bool:
        return text is not None and not (self.check and looks_binary(text))

    def read(self, codec: str | None) -> tuple[str | None, bool]:
        """(text, replaced); text None if every reading looked like binary data."""
        data, complete = self.data, self.complete
        if codec in ("utf-16", "utf-32") and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            codec += "-le"  # as the Standard reads "utf-16" without a mark (Python wants one)
        if codec is not None and _kind(codec) != "8bit":
            # UTF-16 and the 7-bit charsets (ISO-2022, UTF-7, HZ): nothing else reads so.
            text = _strict(data, codec, complete)
            if self.usable(text):
                return text, False
            utf8 = _strict(data, "utf-8", complete) if _kind(codec) == "wide" else None
            if self.usable(utf8):  # a UTF-16 label on UTF-8
                return utf8, False
            if data.isascii() or _kind(codec) == "wide":
                text = _replacing(data, codec, complete)
                if self.usable(text):
                    return text, True
            # 8-bit bytes under a 7-bit label: the 8-bit charset of the same senders, if any.
            codec = _EIGHT_BIT_OF.get(codec)
        utf8 = _strict(data, "utf-8", complete)
        if self.usable(utf8) and (codec is None or utf8 is None or utf8.isascii() or not _multibyte(codec)
                                  or _FROM_U0800.search(utf8)):
            return utf8, False
        if codec is not None and codec != "utf-8":
            text = _strict(data, codec, complete)
            if self.usable(text):
                return text, False
            text, replaced = _mixed(data, codec, complete)
            return (text, replaced) if self.usable(text) else (None, False)
        if codec is None and self.may_guess:
            guessed = self.confident()
            if self.usable(guessed):
                return guessed, False
        if self.check and looks_binary(_strict(data[:_SAMPLE], _FALLBACK) or ""):
            return None, False  # not worth reading run by run
        text, _ = _runs(data, _FALLBACK, complete)
        return (text, False) if self.usable(text) else (None, False)

    def confident(self) -> str | None:
        """charset-normalizer's reading of undeclared bytes where it can be trusted (see
        _GUESS_BYTES), if it reads all of them; None otherwise."""
        sample = _sample(self.data)
        high = len(sample) - len(sample.translate(None, _HIGH))
        if high < _GUESS_BYTES or high < _GUESS_SHARE * len(sample):
            return None
        if _mostly_utf8(self.data):  # UTF-8 with stray bytes: read run by run, not guessed
            return None
        return self.guess()

    def guess(self) -> str | None:
        """charset-normalizer's reading, whatever its confidence (asked once)."""
        if not self.guessed:
            self.guessed.append(_guess(self.data, self.complete) if self.may_guess else None)
        return self.guessed[0]


def _kind(codec: str) -> str:
    """"wide" (UTF-16, UTF-32), "7bit" (ISO-2022, UTF-7, HZ) or "8bit" (ASCII and more)."""
    if codec.startswith(("utf-16", "utf-32", "utf_16", "utf_32")):
        return "wide"
    return "7bit" if codec.startswith(("iso2022", "utf-7", "utf_7", "hz")) else "8bit"


@cache
def _multibyte(codec: str) -> bool:
    """Whether a (legacy, 8-bit) codec reads two or more bytes as one character: CJK."""
    probe = bytes(range(0x81, 0xff))
    try:
        return len(probe.decode(codec, "replace")) < len(probe)
    except (LookupError, ValueError, TypeError):
        return False


def _bom(data: bytes) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8"
    return "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else None


def _strict(data: bytes, codec: str, complete: bool = True) -> str | None:
    """`data` read as `codec` (with the extensions of _extension); None if it cannot be."""
    if codec == "iso2022_jp":
        return next((text for variant in _ISO2022JP if (text := _strict(data, variant, complete)) is not None), None)
    extended = codec.startswith(_EXTENDED)
    limit = _extensions_left.set(_EXTENSIONS_READ)
    try:
        if codec in _SINGLE_BYTE:
            return _charmap(data, "strict", codec)
        decoder = codecs.getincrementaldecoder(codec)("supportdesk-strict" if extended else "strict")
        text = str(decoder.decode(data, final=complete))
        return None if codec == "utf-7" and _SURROGATE.search(text) else text
    except (LookupError, UnicodeError, ValueError, TypeError, _TooMany):  # LookupError: no such codec
        return None
    finally:
        _extensions_left.reset(limit)


def _replacing(data: bytes, codec: str, complete: bool = True) -> str:
    """`data` read as `codec`, U+FFFD for what it cannot read."""
    codec = _ISO2022JP[0] if codec == "iso2022_jp" else codec
    limit = _extensions_left.set(_EXTENSIONS_READ)
    try:
        if codec in _SINGLE_BYTE:
            return _charmap(data, "replace", codec)
        try:
            errors = "supportdesk-replace" if codec.startswith(_EXTENDED) else "replace"
            text = str(codecs.getincrementaldecoder(codec)(errors).decode(data, final=complete))
            return _SURROGATE.sub("\ufffd", text) if codec == "utf-7" else text
        except _TooMany:  # a hostile text: Python's own reading, without one call a character
            return str(codecs.getincrementaldecoder(codec)("replace").decode(data, final=complete))
    except (LookupError, UnicodeError, ValueError, TypeError):
        return _strict(data, _FALLBACK, complete) or ""
    finally:
        _extensions_left.reset(limit)


def _runs(data: bytes, codec: str, complete: bool) -> tuple[str, bool]:
    """UTF-8 where `data` is valid UTF-8, `codec` for each run of bytes where it is not; and
    whether `codec` had to replace some."""
    text = codecs.getincrementaldecoder("utf-8")("surrogateescape").decode(data, final=complete)
    clean = text.encode("utf-8", "ignore")
    if len(clean) == len(text.encode("utf-8", "surrogateescape")):
        return text, False
    if clean.isascii():  # no valid UTF-8 beyond ASCII: run by run is the whole read as `codec`
        whole = _strict(data, codec, complete)
        return (whole, False) if whole is not None else (_replacing(data, codec, complete), True)
    if len(text) - len(clean.decode("utf-8")) > _MANY_RUNS:  # bytes, one by one or in runs
        if codec not in _SINGLE_BYTE:
            return _replacing(data, codec, complete), True
        mapped = text.translate(_escapes(codec))  # linear, where one call a run would not be
        return mapped, mapped.count("\ufffd") > text.count("\ufffd")
    replaced = False

    def run(match: re.Match[str]) -> str:
        nonlocal replaced
        raw = match.group().encode("utf-8", "surrogateescape")
        read = _strict(raw, codec)
        if read is None:
            replaced, read = True, _replacing(raw, codec)
        return read

    return _ESCAPED.sub(run, text), replaced


def _mixed(data: bytes, codec: str, complete: bool) -> tuple[str, bool]:
    """Bytes a legacy label does not fit: UTF-8 with runs of `codec` if they are mostly UTF-8,
    else `codec` with U+FFFD for what it cannot read."""
    if _mostly_utf8(data):
        return _runs(data, codec, complete)
    return _replacing(data, codec, complete), True


def _mostly_utf8(data: bytes) -> bool:
    """Whether at most a tenth of the bytes above 0x7f are no valid UTF-8: UTF-8 with stray
    bytes. Text in a legacy charset has far more (CJK text has valid UTF-8 by chance in
    between: EUC-JP's hiragana make two-byte sequences with the next character's first byte)."""
    high = len(data) - len(data.translate(None, _HIGH))
    text = data.decode("utf-8", "surrogateescape")
    stray = len(text) - len(text.encode("utf-8", "ignore").decode("utf-8"))
    return high > stray and stray * 10 <= high


# -- Tables and extensions -------------------------------------------------------------------

@cache
def _table(codec: str) -> str:
    """The 256 characters of a single-byte codec for codecs.charmap_decode ("\\ufffe": none).
    C1 bytes are read from _C1_FROM's code page where it has a character, else as the C1
    control, as the Standard reads the holes of windows-1252."""
    def char(name: str, byte: int) -> str | None:
        try:
            return bytes([byte]).decode(name)
        except (LookupError, UnicodeError):
            return None

    chars = []
    for byte in range(256):
        found = char(codec, byte)
        if 0x80 <= byte <= 0x9f and (found is None or "\x80" <= found <= "\x9f"):
            found = char(_C1_FROM.get(codec, "latin-1"), byte) or chr(byte)
        chars.append(found or "\ufffe")
    return "".join(chars)


def _charmap(data: bytes, errors: str, codec: str) -> str:
    # A string of 256 characters is a decoding table, as in the stdlib's own single-byte
    # codecs (its type stubs know only the dict form).
    return codecs.charmap_decode(data, errors, _table(codec))[0]  # type: ignore[arg-type]


@cache
def _escapes(codec: str) -> dict[int, str]:
    """str.translate's table from the surrogate escapes of bytes 0x80-0xff to `codec`."""
    table = _table(codec)
    return {0xdc00 + byte: table[byte].replace("\ufffe", "\ufffd") for byte in range(0x80, 0x100)}


@cache
def _jis(pair: bytes) -> str | None:
    """A JIS X 0208 character (two bytes 0x21-0x7e) as windows-31j reads it, NEC's row 13 (①,
    ㈱, №) and the IBM extensions (rows 89-92) included; None if it has none."""
    row, cell = pair[0], pair[1]
    lead = (row + 1) // 2 + (0x70 if row <= 0x5e else 0xb0)
    trail = cell + (0x1f + (cell >= 0x60) if row % 2 else 0x7e)
    try:
        return bytes([lead, trail]).decode("cp932")
    except UnicodeError:
        return None


def _extension(error: UnicodeDecodeError) -> tuple[str, int] | None:
    """What the WHATWG decoders read where Python's codecs stop: JIS X 0208 as windows-31j in
    ISO-2022-JP and EUC-JP, windows-950's characters in Big5, 0x80 (the euro) in GB18030."""
    left = _extensions_left.get()
    if left <= 0:
        raise _TooMany
    _extensions_left.set(left - 1)
    start, encoding = error.start, error.encoding
    pair = bytes(error.object[start:start + 2])
    found: str | None = None
    if len(pair) < 2:
        found = "\u20ac" if encoding == "gb18030" and pair == b"\x80" else None
        return (found, start + 1) if found else None
    first, second = pair
    if encoding.startswith("iso2022_jp") and 0x21 <= first <= 0x7e and 0x21 <= second <= 0x7e:
        found = _jis(pair)
    elif encoding == "euc_jp" and 0xa1 <= first <= 0xfe and 0xa1 <= second <= 0xfe:
        found = _jis(bytes([first & 0x7f, second & 0x7f]))
    elif encoding == "big5hkscs":
        found = _cp950(pair)
    elif encoding == "gb18030" and first == 0x80:
        return "\u20ac", start + 1
    return (found, start + 2) if found is not None else None


@cache
def _cp950(pair: bytes) -> str | None:
    try:
        return pair.decode("cp950")
    except UnicodeError:
        return None


class _TooMany(Exception):
    """More than _EXTENSIONS_READ characters for _extension in one text."""


def _strict_extended(error: UnicodeError) -> tuple[str, int]:
    if isinstance(error, UnicodeDecodeError) and (found := _extension(error)) is not None:
        return found
    raise error


def _replace_extended(error: UnicodeError) -> tuple[str, int]:
    if isinstance(error, UnicodeDecodeError):
        return _extension(error) or ("\ufffd", error.end)
    raise error


codecs.register_error("supportdesk-strict", _strict_extended)
codecs.register_error("supportdesk-replace", _replace_extended)


# -- The guess -------------------------------------------------------------------------------

def _sample(data: bytes) -> bytes:
    """The first _GUESS_SAMPLE bytes, ended at a line end (so no character is cut)."""
    if len(data) <= _GUESS_SAMPLE:
        return data
    end = data.rfind(b"\n", 0, _GUESS_SAMPLE) + 1 or _GUESS_SAMPLE
    return data[:end + (data[end:end + 1] == b"\x00")]


def _guess(data: bytes, complete: bool) -> str | None:
    from charset_normalizer import from_bytes

    try:
        best = from_bytes(_sample(data), cp_isolation=_GUESSABLE).best()
    except Exception:  # the guesser's own failure is no reason to lose the mail
        return None
    # It calls short Latin-1 snippets UTF-16, which real UTF-16 text (full of NULs) is not.
    if best is None or (best.encoding.startswith(("utf_16", "utf_32")) and b"\0" not in data):
        return None
    codec = codec_for(best.encoding)
    return _strict(data, codec, complete) if codec else None
