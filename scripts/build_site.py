"""Write the static pages of site/ from one shell: `make site` (a test checks they are current).

Each page is the same shell that loads its screen's fragment from the API with htmx; the
<head> is templates/_head.html, shared with the whole pages the API renders.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# page file -> (the fragment it loads, where a browser without JavaScript goes instead)
PAGES = {
    "index.html": ("/api/login", "/api/login"),
    "home.html": ("/api/home", "/api/home"),
    "password.html": ("/api/password/forgot", "/api/password/forgot"),
    "departments.html": ("/api/departments", "/api/departments"),
    "new.html": ("/api/tickets/new", "/api/departments"),
    "tickets.html": ("/api/tickets", "/api/tickets"),
    "ticket.html": ("/api/tickets/{id}", "/api/tickets"),
}

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
    head = "\n".join(line for line in (REPO / "templates/_head.html").read_text().splitlines()
                     if not line.startswith("{#"))
    return {
        file: SHELL.format(fallback=fallback, head=head, fragment=fragment, name=file[:-5])
        for file, (fragment, fallback) in PAGES.items()
    }


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
