"""What every page handler needs: the session, the signed-in account, redirects."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal import resources
from portal.rendering import is_htmx
from portal.session import Session
from supportdesk.accounts import Account, get_account
from supportdesk.auth import Identity


class LoginRequired(Exception):
    """The page needs a signed-in user; the handler answers with the way to the login."""


def session(request: Request) -> Session:
    result: Session = request.state.session
    return result


def require_identity(request: Request) -> Identity:
    identity = session(request).identity()
    if identity is None:
        raise LoginRequired()
    return identity


def require_account(request: Request) -> Account:
    """The signed-in account's profile (one GetItem)."""
    identity = require_identity(request)
    account = get_account(resources.table(), identity.account_id)
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
    return session(request).identity()


def public_url(request: Request) -> str:
    """Where customers reach the portal, for links in mails."""
    configured = resources.settings().public_url
    if configured:
        return configured
    # Behind CloudFront the viewer's host arrives as X-Forwarded-Host (template.yaml's
    # viewer function); locally the request's own address is the portal's.
    host = request.headers.get("x-forwarded-host")
    if host:
        return f"https://{host}"
    return f"{request.url.scheme}://{request.url.netloc}"
