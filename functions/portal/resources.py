"""Settings and AWS clients of the web function, created on first use and kept.

A Lambda container serves many requests: each client is made once, and only when a
request needs it, so a cold start pays only for what it uses.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any, Callable

from supportdesk.agents import list_agents
from supportdesk.attachments import DEFAULT_EXTENSIONS, AttachmentPolicy
from supportdesk.auth import TokenVerifier
from supportdesk.config import Settings
from supportdesk.departments import Department, list_departments
from supportdesk.secrets import MissingSecret, read_secrets
from supportdesk.signing import derive_key
from supportdesk.store import Table
from supportdesk.tickets import Agent, GuestKeys


@cache
def settings() -> Settings:
    return Settings.from_environ()


@cache
def _client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    s = settings()
    # Presigned POSTs need Signature Version 4.
    config = Config(signature_version="s3v4") if service == "s3" else None
    return boto3.client(service, region_name=s.region, endpoint_url=s.endpoint_url, config=config)


def s3() -> Any:
    return _client("s3")


@cache
def attachment_policy() -> AttachmentPolicy:
    s = settings()
    return AttachmentPolicy(
        max_bytes=s.attachment_max_megabytes * 1024 * 1024,
        max_files=s.attachment_max_files,
        extensions=frozenset(s.attachment_extensions) or DEFAULT_EXTENSIONS,
    )


def cognito() -> Any:
    return _client("cognito-idp")


@cache
def table() -> Table:
    return Table(_client("dynamodb"), settings().table_name)


@cache
def token_verifier() -> TokenVerifier:
    s = settings()
    return TokenVerifier(s.jwks_url, s.token_issuer, s.user_pool_client_id)


@cache
def _secrets() -> dict[str, str]:
    # Both secrets in one call, once per container.
    s = settings()
    return read_secrets(_client("secretsmanager"), [s.signing_secret_arn, s.origin_secret_arn])


def signing_secret() -> str:
    """Signs reply addresses, CSRF cookies and session starts."""
    arn = settings().signing_secret_arn
    if not arn:
        raise MissingSecret("SIGNING_SECRET_ARN is not set")
    return _secrets()[arn]


def origin_secret() -> str | None:
    """What CloudFront sends in X-Origin-Verify; None where nothing stands in front (no check)."""
    arn = settings().origin_secret_arn
    return _secrets()[arn] if arn else None


@cache
def csrf_key() -> bytes:
    return derive_key(signing_secret(), "csrf")


@cache
def session_key() -> bytes:
    return derive_key(signing_secret(), "session")


def guest_keys() -> GuestKeys:
    """The keys of guests' private links (derived from the signing secret)."""
    return GuestKeys(signing_secret())


def reset() -> None:
    """Forget settings and clients (tests point the app at a new local stack)."""
    for cached in (settings, _client, table, token_verifier, attachment_policy, _secrets, csrf_key,
                   session_key):
        cached.cache_clear()
    _kept.clear()


KEPT_SECONDS = 60.0  # an operator's change (a department, an agent) shows within a minute
_kept: dict[str, tuple[float, Any]] = {}


def _kept_for_a_while(name: str, load: Callable[[], Any]) -> Any:
    """What `load` returns, kept for KEPT_SECONDS: it changes rarely and many pages need it."""
    now = time.monotonic()
    if name not in _kept or _kept[name][0] < now:
        _kept[name] = (now + KEPT_SECONDS, load())
    return _kept[name][1]


def departments() -> dict[str, Department]:
    """Departments by slug."""
    result: dict[str, Department] = _kept_for_a_while(
        "departments", lambda: {d.slug: d for d in list_departments(table())})
    return result


def agents() -> dict[str, Agent]:
    """The agents (the assignee menu), by account id."""
    result: dict[str, Agent] = _kept_for_a_while("agents", lambda: {a.id: a for a in list_agents(table())})
    return result
