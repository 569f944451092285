"""The web function: routes, middleware, and the Lambda entry point."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from aws_lambda_powertools import Logger
from mangum import Mangum
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal import console, desk, errors, home, login, opening, thread, tickets, uploads
from portal.csrf import CsrfMiddleware
from portal.edge import EdgeMiddleware
from portal.language import LanguageMiddleware
from portal.session import SessionMiddleware

logger = Logger()

Handler = Callable[[Request], Awaitable[Response]]


def path(address: str, name: str, **handlers: Handler) -> list[Route]:
    """The routes of one address, under one name: a handler per HTTP method (GET, POST)."""
    return [Route(address, handler, methods=[method], name=name) for method, handler in handlers.items()]


# Starlette tries them in order: /api/tickets/new and /similar before /api/tickets/{id}.
routes = [
    *path("/api/login", "login", GET=login.login_form, POST=login.log_in),
    *path("/api/logout", "logout", POST=login.log_out),
    *path("/api/password/forgot", "forgot", GET=login.forgot_form, POST=login.send_reset_code),
    *path("/api/password/reset", "reset", POST=login.reset_password),
    *path("/api/home", "home", GET=home.home_page),
    *path("/api/not-found", "not_found", GET=errors.not_found_page),
    *path("/api/departments", "departments", GET=opening.departments_page),
    *path("/api/tickets/new", "new_ticket", GET=opening.new_ticket_form),
    *path("/api/tickets/similar", "subject_advice", GET=opening.subject_advice),
    *path("/api/tickets", "tickets", GET=tickets.my_tickets, POST=opening.submit_ticket),
    *path("/api/preview", "preview", POST=opening.preview),
    *path("/api/tickets/{id}", "ticket", GET=thread.ticket_page),
    *path("/api/tickets/{id}/replies", "reply", GET=thread.back_to_ticket, POST=thread.reply_to_ticket),
    *path("/api/tickets/{id}/earlier", "earlier", GET=thread.earlier),
    *path("/api/tickets/{id}/close", "close", GET=thread.back_to_ticket, POST=thread.close),
    *path("/api/tickets/{id}/confirm", "confirm", POST=thread.confirm),
    *path("/api/tickets/{id}/waiting", "guest_waiting", GET=opening.guest_waiting),
    *path("/api/tickets/{id}/attachments/{attachment_id}", "attachment", GET=thread.download),
    *path("/api/tickets/{id}/messages/{sequence:int}/original", "original_mail", GET=thread.original_mail),
    *path("/api/uploads", "uploads", POST=uploads.new_upload),
    *path("/api/uploads/checked", "uploaded", POST=uploads.uploaded),
    # The agents' side: 404 for anyone who is not an agent (pages.require_agent).
    *path("/api/agent/queue", "agent_queue", GET=console.queue),
    *path("/api/agent/search", "agent_search", GET=console.search),
    *path("/api/agent/saved", "agent_saved", GET=console.saved_list, POST=console.save),
    *path("/api/agent/saved/picker", "agent_saved_picker", GET=console.saved_picker),
    *path("/api/agent/saved/{department}/{reply_id}/remove", "agent_unsave", POST=console.unsave),
    *path("/api/agent/tickets/{id}", "agent_ticket", GET=desk.view),
    *path("/api/agent/tickets/{id}/messages", "agent_write", POST=desk.write),
    *path("/api/agent/tickets/{id}/earlier", "agent_earlier", GET=desk.earlier),
    *path("/api/agent/tickets/{id}/changes", "agent_change", POST=desk.change),
    *path("/api/agent/tickets/{id}/presence", "agent_presence", POST=desk.presence),
    *path("/api/agent/tickets/{id}/related", "agent_related", GET=desk.related),
    *path("/api/agent/tickets/{id}/attachments/{attachment_id}", "agent_attachment", GET=desk.download),
    *path("/api/agent/tickets/{id}/messages/{sequence:int}/original", "agent_original_mail",
          GET=desk.original_mail),
]

app = Starlette(
    routes=routes,
    middleware=[
        Middleware(EdgeMiddleware),
        Middleware(LanguageMiddleware),
        Middleware(CsrfMiddleware),
        Middleware(SessionMiddleware),
    ],
    exception_handlers=errors.HANDLERS,
)

_mangum = Mangum(app, lifespan="off")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _mangum(event, context)
