"""Errors become pages in one place: localized, with the right status, never a trace."""

from __future__ import annotations

from aws_lambda_powertools import Logger
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.pages import LoginRequired, go_to_screen
from portal.rendering import here, is_htmx, render, safe_next, url_for
from supportdesk.i18n import DEFAULT_LANGUAGE, LANGUAGES

logger = Logger()

REASONS = {400: "bad-request", 403: "forbidden", 404: "not-found", 405: "not-allowed",
           413: "too-large"}
# Reasons a handler may give (HTTPException's detail), each with its text in _messages.html.
DETAILS = frozenset({"no-profile", "bad-cursor", "unknown-filter", "unknown-status", "unknown-agent",
                     "unknown-department", "department-disabled", "unknown-priority", "ticket-login"})


def _ensure_state(request: Request) -> None:
    # An error raised before the middleware ran still needs a language and a token.
    if not hasattr(request.state, "language"):
        request.state.language = DEFAULT_LANGUAGE
    if not hasattr(request.state, "csrf_token"):
        request.state.csrf_token = ""


def return_to(request: Request) -> str | None:
    """Where the login should bring the user back: the page they see (a form posted without
    JavaScript has no page to return to but its own address, which is not one to GET)."""
    if request.method != "GET" and not is_htmx(request):
        return None
    return safe_next(here(request), request.app.router)


async def login_required(request: Request, exc: Exception) -> Response:
    return go_to_screen(request, "login", next=return_to(request))


def _page_load(request: Request) -> bool:
    """The request that fills a static page's #page: its error is the page, not a notice
    above a page that would otherwise stay "…" for ever."""
    return request.headers.get("hx-target") == "page" and request.method == "GET"


def _unechoed(request: Request) -> dict[str, object]:
    """The agents' side is not there for anyone else: its 404 page repeats nothing of the
    address asked for (no return-to, language links to the start page)."""
    if not request.url.path.startswith(url_for(request.app.router, "agent_queue").rsplit("/", 1)[0] + "/"):
        return {}
    return {"here": None, "language_links": {code: f"/?lang={code}" for code in LANGUAGES}}


async def not_found_page(request: Request) -> Response:
    """The site's 404.html: the not-found page, with the header and the ways on."""
    raise HTTPException(404)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    _ensure_state(request)
    reason = exc.detail if exc.detail in DETAILS else REASONS.get(exc.status_code, "bad-request")
    if not is_htmx(request) or _page_load(request):
        # The header (who is signed in, the ways on) needs the session: one GetItem.
        if hasattr(request.state, "session"):
            try:
                request.state.session.identity()
            except Exception:  # the header then shows nobody; the error page still comes
                logger.exception("no identity for the error page")
        return render(request, "error_page.html", {"reason": reason, **_unechoed(request)},
                      status_code=exc.status_code)
    response = render(request, "error.html", {"reason": reason}, status_code=exc.status_code)
    if is_htmx(request):
        # Show it above the page instead of in place of it: nothing on screen is lost.
        response.headers["HX-Retarget"] = "#notice"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error", extra={"path": request.url.path, "method": request.method})
    _ensure_state(request)
    whole = _page_load(request) or not is_htmx(request)
    response = render(request, "error_page.html" if whole else "error.html", {"reason": "server"}, status_code=500)
    if is_htmx(request) and whole:
        # A 5xx goes to #notice (htmx-config); a page that failed to load shows it in its place.
        response.headers["HX-Retarget"] = "#page"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


HANDLERS = {LoginRequired: login_required, HTTPException: http_error, Exception: server_error}
