"""What every page handler needs: the session, the signed-in account, redirects."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal import resources
from portal.rendering import is_htmx, screen_url, url_for
from portal.session import Session
from supportdesk.accounts import Account
from supportdesk.advice import MIN_MESSAGE_CHARS, MIN_MESSAGE_WORDS
from supportdesk.attachments import AttachmentRefused
from supportdesk.auth import Identity
from supportdesk.store import Item
from supportdesk.tickets import Agent


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


def go_to(request: Request, url: str) -> Response:
    """Send the browser to `url`: a 303 for plain forms, HX-Redirect for htmx."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def go_to_screen(request: Request, name: str, **params: str | None) -> Response:
    """Send the browser to a screen: its static page under htmx, else its whole page."""
    return go_to(request, screen_url(request.app.router, name, not is_htmx(request), **params))


def url(request: Request, name: str, **params: str | None) -> str:
    return url_for(request.app.router, name, **params)


def optional_identity(request: Request) -> Identity | None:
    """The signed-in caller if there is one (checked against the profile: one GetItem)."""
    return session(request).identity()


def client_key(request: Request) -> str:
    """Whom per-client limits count: the caller's address (edge.EdgeMiddleware)."""
    return str(getattr(request.state, "client", "unknown"))


def form_text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def editor_context(pending: list[dict[str, Any]] | None = None,
                   attachment_error: AttachmentRefused | None = None) -> dict[str, Any]:
    """What the message editor and the Attachments field need, on any page that has them."""
    return {
        "policy": resources.attachment_policy(),
        "uploads": pending or [],
        "attachment_error": attachment_error,
        "coach": {"chars": MIN_MESSAGE_CHARS, "words": MIN_MESSAGE_WORDS},
    }


def require_agent(request: Request, also: list[tuple[str, str]] | None = None) -> tuple[Account, list[Item]]:
    """The signed-in agent's profile (and the items of `also`, in the same call). Anyone
    else, signed in or not, is told the page does not exist: the agents' side is not there
    for customers and guests."""
    identity = session(request).token_identity()
    if identity is None or not identity.is_agent:
        raise HTTPException(404)
    account, items = session(request).account_with(also or [])
    if account is None or not account.is_agent:
        raise HTTPException(404)
    return account, items


def writing_agent(request: Request) -> Agent:
    """The agent making a change, from the verified token and the agents' directory (no
    call); the change carries Session.write_check, so an ended session writes nothing."""
    identity = session(request).token_identity()
    agent = resources.agents().get(identity.account_id) if identity and identity.is_agent else None
    if agent is None:
        raise HTTPException(404)
    return agent
