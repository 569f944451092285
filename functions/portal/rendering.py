"""HTML responses: one URL, two renderings.

A request from htmx (HX-Request) gets the page's fragment, which goes inside #page;
any other request (a browser without JavaScript, a bookmark of an /api/ URL) gets the same
fragment inside the whole page. Templates auto-escape; texts come from the catalogs.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route, Router

from portal import resources
from supportdesk.i18n import LANGUAGES, translations
from supportdesk.limits import LIMITS
from supportdesk.tickets import Priority

if TYPE_CHECKING:
    from supportdesk.tickets import Message


# The templates are found beside the code that renders them, in the repository (a link to
# the top-level templates/) and in the built bundle (a copy): one place to look.
TEMPLATES = Path(__file__).parent / "templates"


@cache
def environment(language: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    # The rules the forms show come from the domain, never written in a template.
    env.globals.update(limits=LIMITS, priorities=tuple(Priority))
    env.filters["markdown"] = _markdown
    env.filters["message_html"] = _message_html
    env.filters["when"] = lambda iso: _when(iso, language)
    env.filters["duration"] = lambda minutes: _duration(minutes, language)
    env.globals["department_name"] = lambda slug: _department_name(slug, language)
    return env


def _markdown(text: str) -> Markup:
    """Markdown not stored yet (the preview): the very rendering a message is stored with."""
    from supportdesk.markup import render_markdown

    return Markup(render_markdown(text))


def _message_html(message: Message) -> Markup:
    """A stored message as everyone sees it: the HTML rendered once, when it was written.

    A message stored before messages kept their HTML (or whose HTML was too large to keep)
    is rendered now, by the same function, which never raises.
    """
    return Markup(message.html) if message.html else _markdown(message.body)


def _when(iso: str, language: str) -> str:
    """A stored UTC time in the reader's language (the browser then shows it in its zone)."""
    from babel.dates import format_datetime

    moment = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return str(format_datetime(moment, "medium", tzinfo=timezone.utc, locale=language)) + " UTC"


def _department_name(slug: str, language: str) -> str:
    """A department's name in the reader's language (the list is kept a minute: no call)."""
    department = resources.departments().get(slug)
    return department.name(language) if department else slug


def _duration(minutes: int, language: str) -> str:
    """How long, in the reader's words: "5 minutes", "3 hours", "2 days"."""
    from datetime import timedelta

    from babel.dates import format_timedelta

    return str(format_timedelta(timedelta(minutes=minutes), threshold=1.5, locale=language))


def is_htmx(request: Request) -> bool:
    # A history restore wants the whole page, not a fragment.
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


def safe_next(value: str | None, router: Router) -> str | None:
    """A return-to address (`next`) if it stays on this site: a relative path only. Never an
    absolute URL, a scheme, `//host` or a backslash (browsers read `/\\host` as `//host`)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    # The login page is no place to return to, and the home page is where it leads anyway.
    ends = {"/index.html", *(p for name in ("login", "home") for p in (SCREENS[name][0], url_for(router, name)))}
    if parts.path in ends:
        return None
    return value


def here(request: Request) -> str:
    """The address the user sees (path and query): under htmx the static page
    (HX-Current-URL), else this request's own. A path only, never a host."""
    current = request.headers.get("hx-current-url") if is_htmx(request) else None
    parts = urlsplit(current or str(request.url))
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def language_links(request: Request) -> dict[str, str]:
    """The current address in each language, for the switcher.

    Under htmx the address the user sees is the static page (HX-Current-URL), not the
    fragment's; only its path and query are used, never its host.
    """
    current = request.headers.get("hx-current-url") if is_htmx(request) else None
    parts = urlsplit(current or str(request.url))
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "lang"]
    return {
        language: f"{parts.path or '/'}?{urlencode([*query, ('lang', language)])}"
        for language in LANGUAGES
    }


# Each screen has a static page (which loads its fragment with htmx) and the route that
# renders it whole, for browsers without JavaScript. A static page's parameters do not
# survive its no-JavaScript redirect, so a screen that needs them names the screen such a
# browser lands on instead. scripts/build_site.py writes site/ from this table.
SCREENS: dict[str, tuple[str, str, str | None]] = {
    "login": ("/", "login", None),
    "home": ("/home.html", "home", None),
    "password": ("/password.html", "forgot", None),
    "departments": ("/departments.html", "departments", None),
    "new": ("/new.html", "new_ticket", "departments"),
    "tickets": ("/tickets.html", "tickets", None),
    "ticket": ("/ticket.html", "ticket", "tickets"),
    "agent_queue": ("/agent/queue.html", "agent_queue", None),
    "agent_ticket": ("/agent/ticket.html", "agent_ticket", "agent_queue"),
    "agent_search": ("/agent/search.html", "agent_search", None),
    "agent_saved": ("/agent/saved.html", "agent_saved", None),
    # What the site answers for an address it does not have (the local server serves it
    # with a 404 status, as StaticFiles does with a 404.html).
    "not_found": ("/404.html", "not_found", None),
}


def url_for(router: Router, name: str, /, **params: str | None) -> str:
    """The path of route `name`: its path parameters by name, the others as the query (an
    empty one left out). A path only: a link never takes its host from a request."""
    # An unknown name finds no parameters, and url_path_for says NoMatchFound with the name.
    route = next((r for r in router.routes if isinstance(r, Route) and r.name == name), None)
    names = route.param_convertors if route else {}
    path = {k: str(v) for k, v in params.items() if k in names}
    query = {k: v for k, v in params.items() if k not in path and v}
    return str(router.url_path_for(name, **path)) + (f"?{urlencode(query)}" if query else "")


def screen_url(router: Router, name: str, whole_page: bool, **params: str | None) -> str:
    """The address of a screen: its static page, or its route when there is no JavaScript."""
    static, route, _ = SCREENS[name]
    if whole_page:
        return url_for(router, route, **params)
    query = urlencode({k: v for k, v in params.items() if v})
    return static + (f"?{query}" if query else "")


def _viewer(request: Request) -> Any:
    session = getattr(request.state, "session", None)
    return session.viewer() if session is not None else None


def _provider() -> dict[str, Any]:
    """Whose client area this is, from the settings (template.yaml: ProviderName, ProviderLogoUrl)."""
    current = resources.settings()
    return {"name": current.provider_name, "logo": current.provider_logo_url,
            "year": datetime.now(timezone.utc).year}


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    language = request.state.language
    env = environment(language)
    whole_page = not is_htmx(request)
    router = request.app.router
    values = {
        "screen": lambda name, **params: screen_url(router, name, whole_page, **params),
        "url": lambda name, **params: url_for(router, name, **params),
        "lang": language,
        "csrf_token": request.state.csrf_token,
        "language_links": language_links(request),
        "here": safe_next(here(request), router),
        "viewer": _viewer(request),
        "provider": _provider(),
        **(context or {}),
    }
    body = env.get_template(template).render(values)
    if whole_page:
        body = env.get_template("page.html").render({**values, "content": Markup(body)})
    response = HTMLResponse(body, status_code=status_code, headers=dict(headers or {}))
    response.headers["Vary"] = "HX-Request, Accept-Language, Cookie"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = language
    return response
