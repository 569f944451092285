"""What every page handler needs: the session, the signed-in account, redirects."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal.rendering import is_htmx
from portal.session import Session
from supportdesk.accounts import Account
from supportdesk.auth import Identity


class LoginRequired(Exception):
    """The page needs a signed-in user; the handler answers with the way to the login."""


def session(request: Request) -> Session:
    result: Session = request.state.session
    return result


def require_identity(request: Request) -> Identity:
    """The signed-in caller, checked against the profile (one GetItem, shared with require_account)."""
    identity = session(request).identity()
    if identity is None:
        raise LoginRequired()
    return identity


def require_account(request: Request) -> Account:
    """The signed-in account's profile (the same GetItem as the identity check)."""
    require_identity(request)
    account = session(request).account()
    if account is None:
        # A login without a profile: the operator created it by hand in Cognito.
        raise HTTPException(403, "no-profile")
    return account


def go_to(request: Request, url: str, *, page: str | None = None) -> Response:
    """Send the browser to `url`: a 303 for plain forms, HX-Redirect for htmx.

    `page` is the static page that shows the same thing when the request came from htmx.
    """
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": page or url})
    return RedirectResponse(url, status_code=303)


def optional_identity(request: Request) -> Identity | None:
    """The signed-in caller if there is one (checked against the profile: one GetItem)."""
    return session(request).identity()


def client_key(request: Request) -> str:
    """Whom per-client limits count: the caller's address (edge.EdgeMiddleware)."""
    return str(getattr(request.state, "client", "unknown"))
