"""Lambda events shaped as AWS sends them, for the tests and the benchmarks."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def http_api_event(method: str, url: str, *, cookies: list[str] | None = None,
                   headers: dict[str, str] | None = None, body: str = "",
                   origin_secret: str | None = None) -> dict[str, Any]:
    """An API Gateway HTTP API event (payload format 2.0) for `method url`, as it arrives
    through CloudFront (X-Origin-Verify with `origin_secret`, the viewer's address)."""
    parts = urlsplit(url)
    edge = {"cloudfront-viewer-address": "203.0.113.9:46532"}
    if origin_secret:
        edge["x-origin-verify"] = origin_secret
    return {
        "version": "2.0",
        "routeKey": "ANY /api/{proxy+}",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "cookies": cookies or [],
        "headers": {"host": "d111111abcdef8.cloudfront.net", "x-forwarded-proto": "https",
                    "x-forwarded-port": "443", "accept-language": "es-ES,es;q=0.9",
                    **edge, **(headers or {})},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api-id",
            "domainName": "api-id.execute-api.us-east-1.amazonaws.com", "domainPrefix": "api-id",
            "requestId": "request-id", "routeKey": "ANY /api/{proxy+}", "stage": "$default",
            "time": "25/Nov/2026:20:00:00 +0000", "timeEpoch": 1795636800000,
            "http": {"method": method, "path": parts.path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.9", "userAgent": "Mozilla/5.0"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


class LambdaContext:
    """The context object the Lambda runtime passes to a handler."""

    function_name = "supportdesk-WebFunction"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:supportdesk-WebFunction"
    memory_limit_in_mb = 256
    aws_request_id = "request-id"
    log_group_name = "/aws/lambda/supportdesk-WebFunction"
    log_stream_name = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 15_000


def ses_receipt_event(message_id: str, *, sender: str, recipients: list[str],
                      verdicts: dict[str, str] | None = None,
                      function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:InboundFunction",
                      ) -> dict[str, Any]:
    """The event an SES receipt rule's Lambda action (Event) sends: headers, no body.

    `verdicts` sets spf/dkim/dmarc/spam/virus (PASS unless told otherwise, DMARC GRAY).
    """
    given = {"spf": "PASS", "dkim": "PASS", "dmarc": "GRAY", "spam": "PASS", "virus": "PASS",
             **(verdicts or {})}
    timestamp = "2026-11-25T20:00:00.000Z"
    return {"Records": [{
        "eventSource": "aws:ses",
        "eventVersion": "1.0",
        "ses": {
            "mail": {
                "timestamp": timestamp, "source": sender, "messageId": message_id,
                "destination": recipients, "headersTruncated": False, "headers": [],
                "commonHeaders": {"returnPath": sender, "from": [sender], "to": recipients},
            },
            "receipt": {
                "timestamp": timestamp, "processingTimeMillis": 100, "recipients": recipients,
                "spamVerdict": {"status": given["spam"]}, "virusVerdict": {"status": given["virus"]},
                "spfVerdict": {"status": given["spf"]}, "dkimVerdict": {"status": given["dkim"]},
                "dmarcVerdict": {"status": given["dmarc"]},
                "action": {"type": "Lambda", "functionArn": function_arn, "invocationType": "Event"},
            },
        },
    }]}
