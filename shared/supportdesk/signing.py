"""Values the server signs so that a client can neither forge nor choose them.

Each use gets its own key, derived from the stack's signing secret with a label, so a
value signed for one purpose (a CSRF cookie) is worthless for another (a session start).
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def derive_key(secret: str, purpose: str) -> bytes:
    if not secret:
        raise ValueError("the signing secret is empty")
    return hmac.new(secret.encode(), f"supportdesk key: {purpose}".encode(), hashlib.sha256).digest()


def signature(key: bytes, value: str) -> str:
    digest = hmac.new(key, value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(key: bytes, value: str) -> str:
    """`value.signature`: `value` must not contain a dot."""
    return f"{value}.{signature(key, value)}"


def unsign(key: bytes, signed: str) -> str | None:
    """The value if `signed` was made by sign() with this key, else None."""
    value, dot, given = signed.rpartition(".")
    if not dot or not value:
        return None
    return value if hmac.compare_digest(given, signature(key, value)) else None
