"""The web function: routes, middleware, and the Lambda entry point."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from mangum import Mangum
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from portal import errors, home, login, tickets, uploads
from portal.csrf import CsrfMiddleware
from portal.edge import EdgeMiddleware
from portal.language import LanguageMiddleware
from portal.session import SessionMiddleware

logger = Logger()

routes = [
    Route("/api/login", login.login_form, methods=["GET"], name="login"),
    Route("/api/login", login.log_in, methods=["POST"]),
    Route("/api/logout", login.log_out, methods=["POST"], name="logout"),
    Route("/api/password/forgot", login.forgot_form, methods=["GET"], name="forgot"),
    Route("/api/password/forgot", login.send_reset_code, methods=["POST"]),
    Route("/api/password/reset", login.reset_password, methods=["POST"], name="reset"),
    Route("/api/home", home.home_page, methods=["GET"], name="home"),
    Route("/api/departments", tickets.departments_page, methods=["GET"], name="departments"),
    Route("/api/tickets/new", tickets.new_ticket_form, methods=["GET"], name="new_ticket"),
    Route("/api/tickets/similar", tickets.subject_advice, methods=["GET"], name="subject_advice"),
    Route("/api/tickets", tickets.my_tickets, methods=["GET"], name="tickets"),
    Route("/api/tickets", tickets.submit_ticket, methods=["POST"]),
    Route("/api/preview", tickets.preview, methods=["POST"], name="preview"),
    Route("/api/tickets/{ticket_id}", tickets.ticket_page, methods=["GET"], name="ticket"),
    Route("/api/tickets/{ticket_id}/replies", tickets.reply_to_ticket, methods=["POST"], name="reply"),
    Route("/api/tickets/{ticket_id}/close", tickets.close, methods=["POST"], name="close"),
    Route("/api/tickets/{ticket_id}/confirm", tickets.confirm, methods=["POST"], name="confirm"),
    Route("/api/tickets/{ticket_id}/waiting", tickets.guest_waiting, methods=["GET"], name="guest_waiting"),
    Route("/api/tickets/{ticket_id}/attachments/{attachment_id}", tickets.download,
          methods=["GET"], name="attachment"),
    Route("/api/tickets/{ticket_id}/messages/{sequence:int}/original", tickets.original_mail,
          methods=["GET"], name="original_mail"),
    Route("/api/uploads", uploads.new_upload, methods=["POST"], name="uploads"),
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
