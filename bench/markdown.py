"""Benchmark of message rendering on hostile input.

    .venv/bin/python bench/markdown.py        # prints a Markdown report

CPU seconds (time.process_time, best of 3) of `render_markdown`, the one function that
renders a message when it is written and a preview when it is asked for, on the inputs
that made Python-Markdown (used before markdown-it-py) quadratic or recursive, on deep
nesting, emphasis and backtick runs, and on an ordinary message at the 64 KB limit.
Parser construction and imports are paid once before measuring, as in a warm Lambda.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS = 3
DEEP = 10_000
LIMIT = 64 * 1024  # tickets.MAX_MESSAGE_BYTES


def ordinary_message() -> str:
    """A long but ordinary message: prose, lists, links, code, a table, a pasted log."""
    part = (
        "Hola,\n\nDesde **ayer a las 10:00** la web `ana.es` da *error 500*; adjunto el log y\n"
        "los pasos que seguí (ver [la guía](https://example.com/docs?a=1&b=2)).\n\n"
        "1. Entré al panel.\n2. Reinicié PHP-FPM.\n   - sin cambios\n   - mismo error\n\n"
        "> El servicio se reinició correctamente.\n> Ninguna alerta.\n\n"
        "| Servicio | Estado |\n|:--|--:|\n| web | caído |\n| correo | bien |\n\n"
        "```nginx\nserver {\n\tlisten 443 ssl;\n\troot /var/www/ana.es;\n}\n```\n\n"
        + "".join(f"    [{n:02d}:00] ERROR upstream timed out (110) while reading\n" for n in range(8))
        + "\nGracias, <Ana> & equipo.\n\n"
    )
    return (part * (LIMIT // len(part) + 1))[: LIMIT - 1]


INPUTS: list[tuple[str, str]] = [
    ("16 KB of `[`", "[" * 16 * 1024),
    ('`"[a](" * 4000`', "[a](" * 4000),
    ('`"![" * 8000`', "![" * 8000),
    ('`"[a " * 5000`', "[a " * 5000),
    ('`"<a " * 5333`', "<a " * 5333),
    ('`"+ " * 500` (RecursionError before)', "+ " * 500),
    ('`"1. " * 496` (RecursionError before)', "1. " * 496),
    ('`"- " * 10000` (a thematic break)', "- " * DEEP),
    ('`"+ " * 10000 + "fin"` (10k-deep list)', "+ " * DEEP + "fin"),
    ('`"1. " * 10000 + "fin"` (10k-deep list)', "1. " * DEEP + "fin"),
    ('`"> " * 10000 + "fin"` (10k-deep quote)', "> " * DEEP + "fin"),
    ('`"> - 1. " * 2500 + "fin"` (mixed)', "> - 1. " * (DEEP // 4) + "fin"),
    ("10k `[` + word + 10k `]`", "[" * DEEP + "fin" + "]" * DEEP),
    ("emphasis: 10k `*` + word + 10k `*`", "*" * DEEP + "a" + "*" * DEEP),
    ('emphasis: `"*a " * 10000`', "*a " * DEEP),
    ('emphasis: `"**_" * 10000`', "**_" * DEEP),
    ("backticks: 10k `` ` `` + word", "`" * DEEP + "a"),
    ("backticks: runs of 1 to 349", "".join("`" * n + "a" for n in range(1, 350))),
    ("64 KB of `[` (the message limit)", "[" * LIMIT),
    ('`"![" * 32768` (the message limit)', "![" * (LIMIT // 2)),
    ("64 KB ordinary message", ordinary_message()),
]


def main() -> None:
    sys.path.insert(0, str(REPO / "shared"))
    from supportdesk import markup

    markup.render_markdown("**warm** [up](https://example.com)\n\n| a |\n|---|\n| b |")
    print("## CPU seconds of `render_markdown` (best of 3)\n")
    print("| input | characters | CPU s | nesting limit reached (shown as plain text) |")
    print("|---|---|---|---|")
    for name, text in INPUTS:
        times = []
        for _ in range(RUNS):
            start = time.process_time()
            markup.render_markdown(text)
            times.append(time.process_time() - start)
        # The parse is repeated here only to tell which way the text was shown.
        deep = markup._nesting_limit_reached(markup._markdown().parse(text, {}))
        print(f"| {name} | {len(text):,} | {min(times):.3f} | {'yes' if deep else 'no'} |")


if __name__ == "__main__":
    main()
