"""Legacy charsets: labels read as the WHATWG Encoding Standard reads them, headers decoded word
by word and run by run, short undeclared text never guessed at: every word a customer writes
reaches the ticket as written, with no mojibake."""

from __future__ import annotations

import base64
import codecs
import time
from pathlib import Path

import pytest

from supportdesk.mail import charsets
from supportdesk.mail.charsets import codec_for, decode_bytes, decode_raw_header, decode_word
from supportdesk.mail.headers import decode_header
from supportdesk.mail.parsing import ParsedMail, parse_headers, parse_mail

FIXTURES = Path(__file__).parent / "fixtures" / "mail" / "charsets"


def parsed(name: str) -> ParsedMail:
    raw = (FIXTURES / name).read_bytes()
    mail = parse_mail(raw)
    headers = parse_headers(raw)  # the header fields read alone say the same
    assert (headers.subject, headers.from_name) == (mail.subject, mail.from_name)
    for value in (mail.subject, mail.from_name, mail.full_text):
        value.encode("utf-8")  # proper Unicode
    return mail


def b64_word(charset: str, data: bytes) -> str:
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


# -- Whole mails, as clients send them ------------------------------------------------------

# fixture -> (subject, From name, the text), each exactly as the sender wrote it
MAILS = {
    "gb2312-label-gbk-text.eml": (
        "关于朱镕基路仓库发票的问题（喆）", "王堃",
        "王经理您好：\n\n关于朱镕基路仓库的发票，金额有误，请核对。\n\n王堃"),
    "ks_c_5601-1987-label-windows-949-text.eml": (
        "주문 배송 문의 (똠방각하)", "김똠방",
        "안녕하세요.\n똠방각하 햏님의 주문 건으로 연락드립니다. 배송이 아직 안 왔어요.\n감사합니다."),
    "shift_jis-windows-31j.eml": (
        "①ご注文の件（㈱髙橋商事）", "髙橋 一郎",
        "お世話になっております。\n①注文番号：１２３４\n②請求先：㈱髙橋商事\n納期は３日～５日です。"),
    "iso-2022-jp-nec-row13.eml": (
        "①見積書と㈱サンプル", "山田 太郎",
        "いつもお世話になっております。\n㈱サンプルの山田です。\n①見積書\n②請求書\nをお送りします。№１２"),
    "koi8-r-declared.eml": (
        "Принтер не печатает", "Сергей Ёлкин",
        "Здравствуйте!\nПринтер не печатает с понедельника, ошибка 'E-05'.\nС уважением, Сергей"),
    "iso-8859-9-label-windows-1254-text.eml": (
        "İade “Şikâyet” – 45 €", "Gülşen Öztürk",
        "Merhaba,\n“Şikâyet” formunu doldurdum… İade tutarı 45 € olmalı.\nTeşekkürler, Gülşen"),
    "iso-8859-1-label-windows-1252-text.eml": (
        "Facture “erronée” – 120 € … œuvre", "Léa Cœur",
        "Bonjour,\nLa facture n° 42 indique 120 € au lieu de 100 €… « Vœux » : “merci”.\nCordialement, Cœur"),
    "iso-8859-2-label-windows-1250-quotes.eml": (
        "Zamówienie „pilne”", "Łukasz Żółć",
        "Dzień dobry,\nzamówienie „pilne” nie dotarło – proszę o informację.\nŁukasz"),
    "big5-label-cp950-hkscs.eml": ("退款 €50", "陳大文", "退款金額 €50，請處理。香港①"),
    "undeclared-latin-1-spanish.eml": ("Hola", "Pepe", "¿Qué tal? El año pasó."),
    "us-ascii-label-utf-8-text.eml": ("Información", "", "Información sobre el envío — ¿cuándo llega?"),
    "utf-8-label-windows-1252-text.eml": ("Envío “urgente”", "José Pérez", "El envío “urgente” no llegó… ¿Qué pasa?"),
    "raw-utf8-headers.eml": ("Re: Größe ändern – 日本語 José caf\ufffd", "Zoë Ünal-Çelik", "Größe ändern, bitte."),
    "raw-gbk-headers-gb2312-body.eml": ("回复：发票问题", "王堃", "收到，谢谢。"),
    "html-meta-charset-only.eml": ("order", "", "①注文の件、㈱髙橋商事です。"),
}


@pytest.mark.parametrize("name", sorted(MAILS))
def test_mail_reads_as_written(name: str) -> None:
    subject, from_name, text = MAILS[name]
    mail = parsed(name)
    assert (mail.subject, mail.from_name, mail.full_text) == (subject, from_name, text)
    assert mail.attachments == ()  # nothing was replaced, so nothing had to be kept as a file


def test_every_fixture_is_read_by_a_test() -> None:
    names = {path.name for path in FIXTURES.glob("*.eml")}
    assert names == set(MAILS) | {"mixed-encoded-words-one-broken.eml", "undeclared-short-koi8-r.eml"}


def test_one_broken_encoded_word_spoils_only_itself() -> None:
    mail = parsed("mixed-encoded-words-one-broken.eml")
    # UTF-8, then gb2312 with a byte GBK cannot read (U+FFFD in that word only), then a
    # UTF-8 word under iso-8859-1 beside a Latin-1 one, then windows-31j's ①.
    assert mail.subject == "Reunión你\ufffd好Zoëcafé①"
    # Two UTF-8 words, the second with a windows-1252 byte: that byte alone falls back.
    assert mail.from_name == "Zoë José"


def test_a_short_undeclared_body_is_not_guessed() -> None:
    """Four bytes of KOI8-R with no charset: too short to tell, so windows-1252, which keeps
    every byte, rather than a guess (charset-normalizer calls them Big5)."""
    mail = parsed("undeclared-short-koi8-r.eml")
    assert mail.full_text == "Тест".encode("koi8-r").decode("cp1252")


# -- Labels ------------------------------------------------------------------------------------

# WHATWG labels (encoding.spec.whatwg.org), bytes only the superset reads, and their text.
LABEL_GROUPS = [
    ("chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk GB2312",
     "关于朱镕基".encode("gbk") + b"\x80", "关于朱镕基€"),
    ("gb18030", "镕€".encode("gb18030"), "镕€"),
    ("ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 iso8859-1 iso88591 "
     "iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252 ISO-8859-1 Latin-1",
     b"\x93Caf\xe9\x94 \x80 \x9c\x85 \x81", "“Café” € œ… \x81"),
    ("cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9 iso_8859-9:1989 l5 latin5 "
     "windows-1254 x-cp1254", b"\x93\xdeik\xe2yet\x94 \x80", "“Şikâyet” €"),
    ("dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874", b"\x80\x85 \xa1\xd2", "€… กา"),
    ("cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 ksc5601 ksc_5601 "
     "windows-949", "똠방각하".encode("cp949"), "똠방각하"),
    ("csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis Shift_JIS",
     "①㈱髙～".encode("cp932"), "①㈱髙～"),
    ("big5 big5-hkscs cn-big5 csbig5 x-x-big5", "€".encode("cp950") + "香港①".encode("big5hkscs"), "€香港①"),
    ("cseucpkdfmtjapanese euc-jp x-euc-jp", b"\xa4\xa2\xad\xa1\xad\xea", "あ①㈱"),
    ("csiso2022jp iso-2022-jp ISO-2022-JP iso-2022-jp-2 iso-2022-jp-1",
     b"\x1b$B$\"-!-j\x1b(B ok", "あ①㈱ ok"),
    ("cskoi8r koi koi8 koi8-r koi8_r", "Ёлка".encode("koi8-r"), "Ёлка"),
    ("csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 iso_8859-2:1987 l2 latin2",
     b"\x84\xa3\xf3d\xbc\x94", "„Łódź”"),
    ("unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8", "Ñandú ✓".encode(), "Ñandú ✓"),
    ("utf-16be unicodefffe", "Ñandú".encode("utf-16-be"), "Ñandú"),
    ("utf-16le", "Ñandú".encode("utf-16-le"), "Ñandú"),
]


@pytest.mark.parametrize(("labels", "data", "text"), LABEL_GROUPS, ids=[g[0].split()[0] for g in LABEL_GROUPS])
def test_labels_read_as_their_whatwg_superset(labels: str, data: bytes, text: str) -> None:
    for label in labels.split():
        assert decode_word(data, label) == text, label
        assert decode_bytes(data, label) == (text, False), label


def test_python_aliases_reach_the_same_supersets() -> None:
    assert {codec_for(label) for label in ("cp936", "ms936", "euc-cn", "gb2312", "GBK")} == {"gb18030"}
    assert {codec_for(label) for label in ("latin_1", "iso_8859_1", "l1", "us_ascii")} == {"cp1252"}
    assert codec_for("iso_8859_9") == "cp1254" and codec_for("iso-2022-jp-3") == codec_for("iso-2022-jp")
    assert codec_for(" \"UTF-8\" ") == "utf-8" and codec_for("iso-8859-8-i") == codec_for("hebrew")


@pytest.mark.parametrize("label", [None, "", "x-unknown", "unknown-8bit", "base64", "rot13", "quoted-printable"])
def test_what_names_no_text_encoding_is_no_label(label: str | None) -> None:
    assert codec_for(label) is None
    assert decode_bytes("Caf\xe9".encode("latin-1"), label) == ("Café", False)


def test_utf8_under_a_cjk_label_only_when_it_reads_as_cjk() -> None:
    # GB2312's 一 and KS X 1001's 짜 are valid UTF-8 by chance (Cyrillic һ, Latin ¥).
    assert decode_word("一".encode("gb2312"), "gb2312") == "一"
    assert decode_word("짜".encode("cp949"), "ks_c_5601-1987") == "짜"
    assert decode_bytes("一业".encode("gbk"), "gbk") == ("一业", False)
    # Real UTF-8 under a CJK label holds CJK: it is read as UTF-8.
    assert decode_word("关于发票".encode(), "gb2312") == "关于发票"
    assert decode_bytes("お世話になります".encode(), "shift_jis") == ("お世話になります", False)


def test_utf8_under_a_single_byte_label_is_utf8() -> None:
    assert decode_bytes("Привет, Zoë".encode(), "koi8-r") == ("Привет, Zoë", False)
    assert decode_word("Zoë".encode(), "iso-8859-1") == "Zoë"


def test_iso_8859_c1_bytes_read_as_the_windows_code_page_of_their_script() -> None:
    assert decode_bytes(b"\x84\xbfo\xb3w\x94 \x96 \x85", "iso-8859-2") == ("„żołw” – …", False)
    assert decode_bytes(b"\x93\xc3\xe5\xe9\xe1\x94", "iso-8859-7") == ("“Γεια”", False)
    assert decode_bytes(b"\x84" + "Привет".encode("iso8859-5") + b"\x93", "iso-8859-5") == ("„Привет“", False)
    assert decode_bytes(b"\x80 \xa4", "iso-8859-15") == ("€ €", False)


def test_utf16_without_a_byte_order_mark_is_little_endian() -> None:
    assert decode_bytes("Ñandú ✓".encode("utf-16-le"), "utf-16") == ("Ñandú ✓", False)
    assert decode_word("Ñandú".encode("utf-16-le"), "ucs-2") == "Ñandú"


def test_a_utf16_label_on_utf8() -> None:
    assert decode_bytes("Ñandú".encode(), "utf-16") == ("Ñandú", False)  # 7 bytes: no UTF-16


@pytest.mark.parametrize("end", ["", " "])  # an even length reads as UTF-16 too, as nonsense
def test_a_utf16_meta_charset_means_utf8(end: str) -> None:
    html = f'<html><head><meta charset="utf-16"></head><body><p>Ñandú ✓</p></body></html>{end}'
    raw = b"Content-Type: text/html\r\n\r\n" + html.encode()
    assert parse_mail(raw).full_text == "Ñandú ✓"


def test_a_byte_order_mark_overrides_the_label() -> None:
    # UTF-16 CJK has no zero bytes: without its mark it reads as windows-1252 "þÿeåg,Šž".
    assert decode_bytes("\ufeff日本語".encode("utf-16-be"), "us-ascii") == ("日本語", False)
    assert decode_bytes(codecs.BOM_UTF8 + "Привет ".encode() + b"\xe9", "koi8-r") == ("\ufeffПривет é", False)
    assert decode_bytes("\ufeffÑandú".encode("utf-16-le"), "us-ascii") == ("Ñandú", False)
    assert decode_bytes("\ufeffÑandú".encode("utf-16-be"), None) == ("Ñandú", False)


def test_iso_2022_jp_variants() -> None:
    assert decode_bytes(b"\x1b(I\x31\x32\x33\x1b(B", "iso-2022-jp") == ("ｱｲｳ", False)  # CP50221 katakana
    assert decode_bytes(b"\x1b$(D\x30\x21\x1b(B", "iso-2022-jp") == ("丂", False)  # JIS X 0212
    assert decode_bytes(b"\x1b$A\x30\x21\x1b(B", "iso-2022-jp") == ("啊", False)  # -2: GB 2312
    # 8-bit bytes under the 7-bit label: what they are, UTF-8 or windows-31j.
    assert decode_bytes("お知らせ".encode(), "iso-2022-jp") == ("お知らせ", False)
    assert decode_word("①お知らせ".encode("cp932"), "iso-2022-jp") == "①お知らせ"
    # A broken escape: U+FFFD for it alone, and the part is kept (replaced).
    text, replaced = decode_bytes(b"\x1b$B$\"\x1b(B ok \x1b$B\x7f\x7f\x1b(B", "iso-2022-jp")
    assert (text, replaced) == ("あ ok \ufffd", True)


def test_no_lone_surrogates_from_codecs_that_make_them() -> None:
    assert codec_for("unicode-escape") is None and codec_for("raw_unicode_escape") is None
    assert decode_bytes(b"\\udc80 ok", "unicode-escape") == ("\\udc80 ok", False)
    # A lone surrogate in UTF-7: U+FFFD, and the part is kept as a file (replaced).
    assert decode_bytes(b"+2AA- ok", "utf-7") == ("\ufffd ok", True)
    assert decode_word(b"+2AA- ok", "utf-7") == "\ufffd ok"
    assert decode_word(b"Caf+AOk-", "utf-7") == "Café"


def test_a_cut_text_leaves_out_the_cut_character() -> None:
    data = "关于镕基".encode("gbk")
    assert decode_bytes(data[:-1], "gb2312", complete=False) == ("关于镕", False)
    assert decode_bytes(data[:-1], "gb2312") == ("关于镕\ufffd", True)  # whole, it is a broken byte


# -- Labels that lie ---------------------------------------------------------------------------

def test_a_legacy_label_on_utf8_with_stray_bytes() -> None:
    text = "請處理退款，謝謝。" * 5
    data = text.encode() + b" \xa3\xe1"  # UTF-8 with two Big5 bytes (€) at the end
    assert decode_bytes(data, "big5") == (text + " €", False)


def test_a_legacy_label_with_an_unreadable_byte_replaces_that_byte_only() -> None:
    data = "关于朱镕基路".encode("gbk") + b"\xff" + "仓库".encode("gbk")
    assert decode_bytes(data, "gb2312") == ("关于朱镕基路\ufffd仓库", True)


def test_declared_utf8_holding_windows_1252_reads_run_by_run() -> None:
    data = "Señal “débil” — ".encode() + "€ 5… ¿Qué?".encode("cp1252")
    assert decode_bytes(data, "utf-8") == ("Señal “débil” — € 5… ¿Qué?", False)


def test_many_stray_bytes_read_the_same_as_few() -> None:
    """Past _MANY_RUNS stray bytes they are mapped by a table, in one pass: same text."""
    unit = "ñandú ".encode() + b"\xe9 "
    few = decode_bytes(unit * 10, None)[0]
    many = decode_bytes(unit * (charsets._MANY_RUNS + 10), None)[0]
    assert few == "ñandú é " * 10 and many == "ñandú é " * (charsets._MANY_RUNS + 10)


# -- Undeclared text ---------------------------------------------------------------------------

SHORT = [("Тест", "koi8-r"), ("Привет, мир", "koi8-r"), ("Здравствуйте, помогите пожалуйста", "koi8-r"),
         ("Привет, мир", "cp1251"), ("Здравствуйте, помогите пожалуйста", "cp1251"), ("Γεια σας", "cp1253"),
         ("שלום", "cp1255"), ("Grüß Gott", "latin-1"), ("¿Qué tal? El año pasó.", "latin-1"),
         ("Şikâyet", "cp1254")]


@pytest.mark.parametrize(("text", "charset"), SHORT)
def test_short_undeclared_text_is_never_guessed(text: str, charset: str) -> None:
    """Too short for a guess to be right: windows-1252, which keeps every byte (never CJK)."""
    data = text.encode(charset)
    assert decode_bytes(data, None) == (data.decode("cp1252"), False)


LONG = {
    "ru": "Добрый день! Из трёх ноутбуков, купленных на прошлой неделе, один не включается: при нажатии "
          "кнопки питания индикатор мигает два раза и гаснет. Мы пробовали заменить блок питания.",
    "ja": "お世話になっております。先週購入したノートパソコン三台のうち一台が起動しません。電源ボタンを押すと"
          "ランプが二回点滅して消えてしまいます。ACアダプターとバッテリーを交換してみましたが、症状は"
          "変わりませんでした。",
    "zh": "您好！我们公司上周购买的三台笔记本电脑中有一台无法开机，按下电源键后指示灯闪烁两次就熄灭了。"
          "我们已经尝试更换电源适配器和电池，问题依旧存在。",
    "ko": "안녕하세요. 지난주에 구입한 노트북 세 대 중 한 대가 켜지지 않습니다. 전원 버튼을 누르면 표시등이 "
          "두 번 깜박이고 꺼집니다. 전원 어댑터와 배터리를 교체해 보았지만 증상은 그대로입니다.",
}


@pytest.mark.parametrize(("lang", "charset"), [("ru", "koi8-r"), ("ru", "cp1251"), ("ja", "cp932"),
                                               ("ja", "euc-jp"), ("zh", "gb18030"), ("ko", "cp949")])
def test_long_undeclared_text_is_guessed(lang: str, charset: str) -> None:
    assert decode_bytes(LONG[lang].encode(charset), None) == (LONG[lang], False)


def test_long_undeclared_latin_text_is_windows_1252() -> None:
    """charset-normalizer reads these as windows-1250 or -1257; they have too few bytes above
    0x7f for it to be asked."""
    text = ("Olá, a impressora não está funcionando desde ontem. Já reiniciei o computador, mas nada "
            "mudou. Góðan daginn, prentarinn minn virkar ekki síðan í gær. Ég endurræsti tölvuna. ") * 8
    assert decode_bytes(text.encode("cp1252"), None) == (text, False)


def test_undeclared_utf8_with_stray_bytes_is_not_guessed() -> None:
    """charset-normalizer reads this Russian as GB18030 for the two bytes of another charset."""
    text = LONG["ru"]
    assert decode_bytes(text.encode() + b" \xa3\xe1 " + text.encode(), None) == (f"{text} £á {text}", False)


# -- Header text -------------------------------------------------------------------------------

def test_raw_header_bytes_read_run_by_run() -> None:
    assert decode_raw_header("Zoë ".encode() + b"Jos\xe9 " + "Ñuñez".encode()) == "Zoë José Ñuñez"
    assert decode_raw_header(b"Jos\xe9 \xd1u\xf1ez") == "José Ñuñez"  # all windows-1252
    assert decode_raw_header(b"caf\xef\xbf\xbd") == "caf\ufffd"  # an already replaced character
    assert decode_header("Re: caf\udcef\udcbf\udcbd") == "Re: caf\ufffd"


def test_header_text_is_never_taken_for_binary_data() -> None:
    assert decode_raw_header("Größe\x1b".encode()) == "Größe\x1b"
    assert decode_header("Re: Gr\udcc3\udcb6\udcc3\udc9fe\x1b") == "Re: Größe"  # controls dropped after
    assert decode_word("Größe\x1b".encode(), "utf-8") == "Größe\x1b"


def test_raw_header_bytes_in_the_body_charset() -> None:
    assert decode_raw_header("王堃".encode("gbk"), "gb2312") == "王堃"
    assert decode_raw_header("髙橋".encode("cp932"), "shift_jis") == "髙橋"
    assert decode_raw_header("王堃".encode(), "gb2312") == "王堃"  # UTF-8 still wins where valid
    assert decode_raw_header(b"Jos\xe9", "utf-16") == "José"  # no 8-bit charset: windows-1252


def test_encoded_words_of_a_single_byte_charset_read_one_by_one() -> None:
    words = f"{b64_word('iso-8859-1', 'Zoë'.encode())} {b64_word('iso-8859-1', b'caf' + bytes([0xe9]))}"
    assert decode_header(words) == "Zoëcafé"


def test_encoded_words_of_a_multi_byte_charset_join() -> None:
    data = "朱镕基".encode("gbk")
    words = " ".join(b64_word("gb2312", data[n:n + 3]) for n in range(0, len(data), 3))  # splits 镕
    assert decode_header(words) == "朱镕基"


def test_a_byte_order_mark_in_an_encoded_word_is_dropped() -> None:
    assert decode_header(b64_word("utf-8", codecs.BOM_UTF8 + "Ñandú".encode())) == "Ñandú"


# -- Linear time -------------------------------------------------------------------------------

HOSTILE = {
    "GB18030 euro bytes": (b"\x80" * 2_000_000, "gb2312"),
    "ISO-2022-JP row 13": (b"\x1b$B" + b"-!" * 1_000_000 + b"\x1b(B", "iso-2022-jp"),
    "EUC-JP row 13": (b"\xad\xa1" * 1_000_000, "euc-jp"),
    "Big5 euro": (b"\xa3\xe1" * 1_000_000, "big5"),
    "UTF-8 and stray bytes": (("é".encode() + b"\xe9") * 1_300_000, "utf-8"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_extensions_and_runs_stay_linear(name: str) -> None:
    """Python calls the extension reader once a character: a text of millions of them is read
    with only _EXTENSIONS_READ of those calls; a million stray runs are mapped in one pass."""
    data, label = HOSTILE[name]
    start = time.process_time()
    decode_bytes(data, label)
    assert time.process_time() - start < 0.5


def test_extensions_are_read_up_to_their_limit() -> None:
    limit = charsets._EXTENSIONS_READ
    assert decode_bytes(b"\xad\xa1" * limit, "euc-jp") == ("①" * limit, False)
    text, replaced = decode_bytes(b"\xad\xa1" * (limit + 1), "euc-jp")
    assert replaced and "①" not in text
