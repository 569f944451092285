"""`make dev`: the whole system on one machine, no Docker and no cloud account.

moto's server runs in this process with the resources of template.yaml; the web function's
Starlette app and the static site are served on one origin, as CloudFront serves them.
State is kept under .dev/ so a restart loses nothing; mail the system sends lands in
.dev/outbox/ as .eml files. Ctrl-C stops everything.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from supportdesk.store import Table
from supportdesk_dev import REPO_ROOT
from supportdesk_dev.demo import DEMO_AGENT, DEMO_CUSTOMER, seed_demo
from supportdesk_dev.stack import (
    LocalStack,
    apply_environment,
    start_local_stack,
    write_stack_file,
)


def dev_dir() -> Path:
    """Where `make dev` keeps its state (SUPPORTDESK_DEV_DIR moves it, for tests)."""
    return Path(os.environ.get("SUPPORTDESK_DEV_DIR") or REPO_ROOT / ".dev")


def origin_secret(stack: LocalStack) -> str | None:
    """The value CloudFront would send as X-Origin-Verify to this stack's API."""
    arn = stack.environment.get("ORIGIN_SECRET_ARN")
    if not arn:
        return None
    return str(stack.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


def behind_cloudfront(api: Any, secret: str | None) -> Any:
    """What CloudFront's /api/* behaviour does to each request before the API sees it: it
    adds the origin secret and the viewer's address, and a viewer cannot set either."""
    _functions_on_path()
    from portal.edge import ORIGIN_HEADER, VIEWER_ADDRESS_HEADER

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            host, port = scope.get("client") or ("127.0.0.1", 0)
            headers = [(k, v) for k, v in scope["headers"] if k not in (ORIGIN_HEADER, VIEWER_ADDRESS_HEADER)]
            headers.append((VIEWER_ADDRESS_HEADER, f"{host}:{port}".encode()))
            if secret:
                headers.append((ORIGIN_HEADER, secret.encode()))
            scope = {**scope, "headers": headers}
        await api(scope, receive, send)

    return app


def site_and_api(api: Any, site_dir: Path, *, origin: str | None = None, local_endpoint: str | None = None) -> Any:
    """/api/* to the web function's app, everything else from site/ (CloudFront's two
    behaviours), with CloudFront's response headers policy on the site's pages."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    _functions_on_path()
    from portal.edge import security_headers, with_headers

    site = Starlette(routes=[Mount("/", StaticFiles(directory=site_dir, html=True))])
    api = behind_cloudfront(api, origin)
    headers = security_headers(local_endpoint)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await api(scope, receive, send)
        else:
            await site(scope, receive, with_headers(send, headers))

    return app


def _functions_on_path() -> None:
    functions = str(REPO_ROOT / "functions")
    if functions not in sys.path:
        sys.path.insert(0, functions)


def load_portal() -> Any:
    _functions_on_path()
    from portal.app import app

    return app


def start_mail_intake(stack: LocalStack, stack_name: str, port: int) -> Any:
    """SMTP on `port`, doing what the template's receipt rules do, into the real handler."""
    _functions_on_path()
    from inbound.handler import handler
    from supportdesk_dev.background import Every
    from supportdesk_dev.events import LambdaContext
    from supportdesk_dev.smtp import receipt_rules, start_smtp

    rules = receipt_rules(stack.client("ses"), f"{stack_name}-inbound")
    smtp = start_smtp("127.0.0.1", port, rules, stack.client("s3"), lambda event: handler(event, LambdaContext()))
    # What the template's HeldMail schedule does: mail held back over a sender's hourly
    # allowance is let in when it is due, though no other mail arrives.
    held = Every(60, lambda: handler({"let_in_held_mail": True}, LambdaContext()), "held-mail")
    return _Both(smtp, held)


class _Both:
    """Stops the SMTP port and the held mail's round together."""

    def __init__(self, *parts: Any) -> None:
        self._parts = parts

    def stop(self) -> None:
        for part in self._parts:
            part.stop()


def main() -> None:
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    moto_port = int(os.environ.get("MOTO_PORT", "4566"))
    smtp_port = int(os.environ.get("SMTP_PORT", "2525"))
    stack_name = "supportdesk-dev"
    mail_domain = os.environ.get("MAIL_DOMAIN", "example.com")
    state = dev_dir()
    state.mkdir(parents=True, exist_ok=True)
    stack_file = state / "stack.json"
    stack = start_local_stack(
        port=moto_port,
        state_file=state / "state.pickle",
        outbox=state / "outbox",
        stack_name=stack_name,
        mail_domain=mail_domain,
        # The signing secret is generated once and kept with the rest of the state.
        public_url=f"http://127.0.0.1:{port}",
    )
    try:
        apply_environment(stack.environment)
        write_stack_file(stack_file, stack)
        env = stack.environment
        seed_demo(stack.client("cognito-idp"), Table(stack.client("dynamodb"), env["TABLE_NAME"]),
                  env["USER_POOL_ID"], mail_domain)
        app = site_and_api(load_portal(), REPO_ROOT / "site", origin=origin_secret(stack),
                           local_endpoint=stack.endpoint_url)
        smtp = start_mail_intake(stack, stack_name, smtp_port)
        print(banner(port, stack.endpoint_url, mail_domain, smtp_port), flush=True)
        try:
            uvicorn.run(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
        finally:
            smtp.stop()
    finally:
        stack.stop()
        stack_file.unlink(missing_ok=True)
        print(f"supportdesk: stopped; state saved in {state}", flush=True)


def banner(port: int, endpoint: str, mail_domain: str, smtp_port: int) -> str:
    return "\n".join([
        "",
        "  supportdesk is running",
        f"    portal        http://127.0.0.1:{port}",
        f"    agents        http://127.0.0.1:{port}/agent/queue.html",
        f"    AWS (moto)    {endpoint}",
        f"    mail in       smtp://127.0.0.1:{smtp_port}  (support@, billing@, sales@{mail_domain})",
        "    mail out      .dev/outbox/*.eml  (the notifier, from the table's stream)",
        "",
        "  demo logins",
        f"    customer      {DEMO_CUSTOMER['email']} / {DEMO_CUSTOMER['password']}",
        f"    agent         {DEMO_AGENT['email']} / {DEMO_AGENT['password']}",
        "",
        "  CLI            .venv/bin/supportdesk customer add EMAIL --name NAME --password PW",
        "  Ctrl-C stops everything; data stays in .dev/",
        "",
    ])


if __name__ == "__main__":
    main()
