"""Write the static pages of site/ from one shell, the minified assets every page loads, and
the edge's list of the site's files with its not-found page (template.yaml's
SitePagesFunction): `make site` (a test checks they are current).

Each page is the same shell that loads its screen's fragment from the API with htmx; the
<head> is templates/_head.html, shared with the whole pages the API renders. The pages load
static/app.min.js and static/app.min.css, made from app.js and app.css (which are the ones
to edit) by rjsmin and rcssmin: the comments that explain the code stay out of what every
customer downloads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "functions"))

from portal.app import app  # noqa: E402  (its routes name the fragments)
from portal.rendering import SCREENS, TEMPLATES  # noqa: E402  (the screens the portal links to)

SHELL = """<!doctype html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Soporte</title>
<noscript><meta http-equiv="refresh" content="0; url={fallback}"></noscript>
{head}
</head>
<body>
<a class="skip" href="#main"><span lang="es">Saltar al contenido</span><span lang="en">Skip to content</span></a>
<div id="notice" role="alert" aria-live="assertive"></div>
<div id="page" hx-get="{fragment}" hx-trigger="load" data-page="{name}"><main id="main" tabindex="-1" aria-busy="true"><h1 class="loading"><span lang="es">Soporte</span><span lang="en">Support</span> …</h1></main></div>
</body>
</html>
"""


def pages() -> dict[str, str]:
    head = "\n".join(line for line in (TEMPLATES / "_head.html").read_text().splitlines()
                     if not line.startswith("{#"))
    pages = {}
    for static, route, fallback in SCREENS.values():
        file = "index.html" if static == "/" else static.lstrip("/")
        # where a browser without JavaScript goes instead
        without_js = fragment(SCREENS[fallback][1]) if fallback else fragment(route)
        pages[file] = SHELL.format(fallback=without_js, head=head, fragment=fragment(route), name=file[:-5])
    return pages


def assets() -> dict[str, str]:
    import rcssmin
    import rjsmin

    static = REPO / "site" / "static"
    note = "/* Made by `make site` from {source}: edit that file, not this one. */\n"
    return {
        "static/app.min.js": note.format(source="app.js") + rjsmin.jsmin((static / "app.js").read_text()) + "\n",
        "static/app.min.css": note.format(source="app.css") + rcssmin.cssmin((static / "app.css").read_text()) + "\n",
    }


def edge_function(template: str, files: dict[str, str]) -> str:
    """template.yaml with its CloudFront Function (SitePagesFunction) current: the addresses
    the site has (`files`, every file of site/, and "/") and the not-found page it answers
    every other address with, status 404 (a function cannot fetch it from the bucket)."""
    served = sorted({"/", *("/" + name for name in files)})
    lines = {"var FILES = ": json.dumps(served), "var NOT_FOUND = ": json.dumps(files["404.html"])}
    out = []
    for line in template.splitlines(keepends=True):
        start = line.lstrip()
        for prefix, value in lines.items():
            if start.startswith(prefix):
                line = line[: len(line) - len(start)] + prefix + value + ";\n"
        out.append(line)
    return "".join(out)


def fragment(route: str) -> str:
    """The route's path, with each path parameter as {name}: app.js fills it in from the
    static page's query (ticket.html?id=… loads /api/tickets/{id})."""
    (parameters,) = {tuple(r.param_convertors) for r in app.routes if getattr(r, "name", None) == route}
    return app.url_path_for(route, **{p: "{" + p + "}" for p in parameters})


def main() -> int:
    check = "--check" in sys.argv
    stale = []
    site = {**pages(), **assets()}
    others = {path.relative_to(REPO / "site").as_posix(): "" for path in (REPO / "site").rglob("*")
              if path.is_file() and path.relative_to(REPO / "site").as_posix() not in site}
    template = REPO / "template.yaml"
    written = {**{REPO / "site" / file: text for file, text in site.items()},
               template: edge_function(template.read_text(), {**others, **site})}
    for path, text in written.items():
        if not path.exists() or path.read_text() != text:
            stale.append(path.relative_to(REPO).as_posix())
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    if check and stale:
        print(f"out of date ({', '.join(stale)}): run `make site`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
