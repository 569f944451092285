"""Write the static pages of site/ from one shell: `make site` (a test checks they are current).

Each page is the same shell that loads its screen's fragment from the API with htmx; the
<head> is functions/portal/templates/_head.html, shared with the whole pages the API renders.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "functions"))

from portal.rendering import SCREENS, TEMPLATES  # noqa: E402  (the screens the portal links to)

SHELL = """<!doctype html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Soporte · supportdesk</title>
<noscript><meta http-equiv="refresh" content="0; url={fallback}"></noscript>
{head}
</head>
<body>
<div id="notice" role="alert" aria-live="assertive"></div>
<div id="page" hx-get="{fragment}" hx-trigger="load" data-page="{name}"><p class="loading" aria-busy="true">…</p></div>
</body>
</html>
"""


def pages() -> dict[str, str]:
    head = "\n".join(line for line in (TEMPLATES / "_head.html").read_text().splitlines()
                     if not line.startswith("{#"))
    pages = {}
    for static, api, fallback in SCREENS.values():
        file = "index.html" if static == "/" else static.lstrip("/")
        # where a browser without JavaScript goes instead
        without_js = SCREENS[fallback][1] if fallback else api
        pages[file] = SHELL.format(fallback=without_js, head=head, fragment=api, name=file[:-5])
    return pages


def main() -> int:
    check = "--check" in sys.argv
    stale = []
    for file, text in pages().items():
        path = REPO / "site" / file
        if not path.exists() or path.read_text() != text:
            stale.append(file)
            if not check:
                path.write_text(text)
    if check and stale:
        print(f"site/ is out of date ({', '.join(stale)}): run `make site`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
