"""Login, logout and password reset pages."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from portal import resources
from portal.home import home_page
from portal.pages import client_key, go_to, go_to_screen, session
from portal.rendering import render, safe_next, screen_url
from supportdesk import auth
from supportdesk.accounts import end_sessions, normalize_email
from supportdesk.limits import PASSWORD_MIN_CHARS
from supportdesk.ratelimit import Limit, first_reached

# Per client (its address), beyond Cognito's own limits per user: guessing passwords of
# many accounts from one place, or mailing reset codes to many addresses, stops here.
LOGINS_PER_CLIENT = Limit("login-client", "", 30, 15 * 60)
RESETS_PER_CLIENT = Limit("reset-client", "", 10, 60 * 60)
RESETS_PER_ADDRESS = Limit("reset-address", "", 5, 60 * 60)


def _for(limit: Limit, key: str) -> Limit:
    return Limit(limit.scope, key, limit.limit, limit.window_seconds)


def _status(error: auth.AuthError) -> int:
    return 429 if isinstance(error, auth.TooManyAttempts) else 400


async def login_form(request: Request) -> Response:
    # Where the user was going (a link followed while signed out): only a path of this site.
    next_page = safe_next(request.query_params.get("next"), request.app.router)
    if session(request).identity():
        return go_to(request, next_page) if next_page else go_to_screen(request, "home")
    notice = "password-changed" if request.query_params.get("reset") == "done" else None
    # A guest's start page: the departments below the login (not when a page sent them here).
    start = {} if next_page else {"departments": list(resources.departments().values())}
    return render(request, "login.html", {"email": "", "error": None, "notice": notice, "next": next_page,
                                          **start})


async def log_in(request: Request) -> Response:
    form = await request.form()
    email = str(form.get("email", ""))
    password = str(form.get("password", ""))
    next_page = safe_next(str(form.get("next", "")), request.app.router)
    try:
        if first_reached(resources.table(), _for(LOGINS_PER_CLIENT, client_key(request))):
            raise auth.TooManyAttempts()
        tokens = auth.log_in(
            resources.cognito(), resources.settings().user_pool_client_id, email, password
        )
    except auth.AuthError as error:
        return render(
            request, "login.html", {"email": email, "error": error.reason, "notice": None, "next": next_page},
            status_code=_status(error),
        )
    session(request).start(tokens)
    if next_page:
        # Back where the user was going: the whole page there (a form's draft comes back too).
        return go_to(request, next_page)
    # htmx swaps the home page in at once (one round trip); a plain form is redirected.
    if request.headers.get("hx-request") == "true":
        response = await home_page(request)
        response.headers["HX-Push-Url"] = screen_url(request.app.router, "home", False)
        return response
    return go_to_screen(request, "home")


async def log_out(request: Request) -> Response:
    session(request).end()
    return go_to_screen(request, "login")


async def forgot_form(request: Request) -> Response:
    return render(request, "password_forgot.html", {"email": "", "error": None})


async def send_reset_code(request: Request) -> Response:
    form = await request.form()
    email = str(form.get("email", "")).strip()
    if "@" not in email:
        return render(request, "password_forgot.html", {"email": email, "error": "invalid-email"},
                      status_code=400)
    try:
        if first_reached(resources.table(), _for(RESETS_PER_CLIENT, client_key(request)),
                         _for(RESETS_PER_ADDRESS, normalize_email(email))):
            raise auth.TooManyAttempts()
        auth.start_password_reset(
            resources.cognito(), resources.settings().user_pool_client_id, email
        )
    except auth.AuthError as error:
        return render(request, "password_forgot.html", {"email": email, "error": error.reason},
                      status_code=_status(error))
    return render(request, "password_reset.html", {"email": email, "code": "", "error": None})


async def reset_password(request: Request) -> Response:
    form = await request.form()
    email = str(form.get("email", "")).strip()
    code = str(form.get("code", "")).strip()
    password = str(form.get("password", ""))
    error_reason = None
    if not code:
        error_reason = "invalid-code"
    elif len(password) < PASSWORD_MIN_CHARS:
        error_reason = "invalid-password"
    else:
        try:
            auth.finish_password_reset(
                resources.cognito(), resources.settings().user_pool_client_id,
                email, code, password,
            )
            # Whoever knew the old password is out now, in every browser.
            end_sessions(resources.cognito(), resources.table(), resources.settings().user_pool_id,
                         email, now_ms=time.time_ns() // 1_000_000)
        except auth.AuthError as error:
            error_reason = error.reason
            if isinstance(error, auth.TooManyAttempts):
                return render(request, "password_reset.html",
                              {"email": email, "code": code, "error": error_reason},
                              status_code=429)
    if error_reason:
        return render(request, "password_reset.html",
                      {"email": email, "code": code, "error": error_reason}, status_code=400)
    return go_to_screen(request, "login", reset="done")
