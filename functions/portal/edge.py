"""What stands between the Internet and the app: CloudFront, and the app's own checks of it.

* The API answers only requests that came through our CloudFront distribution: CloudFront
  adds X-Origin-Verify with the stack's origin secret (template.yaml), and a request to the
  public execute-api endpoint without it is refused before anything else runs.
* Behind CloudFront the caller's address is CloudFront-Viewer-Address (CloudFront sets it;
  API Gateway only sees CloudFront's own address). It keys the per-client rate limits.
* Every response carries the security headers, the same ones CloudFront's response headers
  policy sets (a test compares them with template.yaml), so `make dev` shows them too.
"""

from __future__ import annotations

import hmac

from starlette.types import Message, Send

from portal import resources
from portal.middleware import Exchange, HttpMiddleware

ORIGIN_HEADER = b"x-origin-verify"
VIEWER_ADDRESS_HEADER = b"cloudfront-viewer-address"

# Scripts and styles only from our own files (no inline script, no eval); uploads go from
# the browser straight to S3 (connect-src); nothing may frame the portal.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' https://*.amazonaws.com; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    # A guest's ticket address holds its key: never hand it to another site.
    "referrer-policy": "no-referrer",
}


def security_headers(local_endpoint: str | None = None) -> list[tuple[bytes, bytes]]:
    """The headers for every response; locally S3 is moto's endpoint, so uploads may go there."""
    values = dict(SECURITY_HEADERS)
    if local_endpoint:
        values["content-security-policy"] = CONTENT_SECURITY_POLICY.replace(
            "connect-src 'self'", f"connect-src 'self' {local_endpoint.rstrip('/')}")
    return [(name.encode(), value.encode()) for name, value in values.items()]


def with_headers(send: Send, headers: list[tuple[bytes, bytes]]) -> Send:
    """`send`, with `headers` replacing any of the same name (as CloudFront's Override does)."""
    names = {name for name, _ in headers}

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
            message = {**message, "headers": [*kept, *headers]}
        await send(message)

    return wrapped


def viewer_address(value: bytes) -> str:
    """"203.0.113.9:46532" or "2001:db8::1:46532" -> the address without its port."""
    text = value.decode("latin-1").strip()
    return text.rpartition(":")[0] if ":" in text else text


async def _forbidden(send: Send) -> None:
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": b"Forbidden / Prohibido\n"})


class EdgeMiddleware(HttpMiddleware):
    async def handle(self, exchange: Exchange) -> None:
        exchange.send = with_headers(exchange.send, security_headers(resources.settings().endpoint_url))
        secret = resources.origin_secret()
        headers = exchange.headers
        if secret is None:
            client = exchange.scope.get("client")
            exchange.state["client"] = client[0] if client else "unknown"
        else:
            if not hmac.compare_digest(headers.get(ORIGIN_HEADER, b""), secret.encode()):
                await _forbidden(exchange.send)
                return
            exchange.state["client"] = viewer_address(headers.get(VIEWER_ADDRESS_HEADER, b"")) or "unknown"
        await self.forward(exchange)
