"""Settings, read from the environment in this one place.

Lambda gets them from template.yaml (Globals/Environment); ``make dev`` and the tests set
the same variables for the local stack, plus ``AWS_ENDPOINT_URL`` pointing at moto.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class Settings:
    table_name: str
    user_pool_id: str
    user_pool_client_id: str
    attachments_bucket: str = ""
    inbound_bucket: str = ""
    region: str = "us-east-1"
    mail_domain: str = "example.com"
    # Where customers reach the portal, for links in mails (template.yaml: the PublicUrl
    # parameter, or the stack's own CloudFront address). Never taken from a request.
    public_url: str = ""
    attachment_max_megabytes: int = 10
    attachment_max_files: int = 10
    # Empty: the default list of supportdesk.attachments.
    attachment_extensions: tuple[str, ...] = ()
    # Secrets Manager: the secret that signs reply addresses, CSRF tokens and sessions, and
    # the one CloudFront sends in X-Origin-Verify (web function only; empty: not checked).
    signing_secret_arn: str = ""
    origin_secret_arn: str = ""
    # Where the SES receipt rule's S3 action stores raw mail (template.yaml).
    inbound_prefix: str = "inbound/"
    # Set only locally: every AWS call goes to moto's server there.
    endpoint_url: str | None = None
    # How long a ticket of each priority may wait for an agent before the queue marks it
    # (template.yaml: QueueTargetHours*), in hours.
    queue_target_hours: tuple[tuple[str, float], ...] = (("high", 4.0), ("normal", 24.0), ("low", 72.0))
    # Whether the assigned agent gets a mail when the customer answers (NotifyAssignee).
    notify_assignee: bool = False
    # Whose client area this is (ProviderName, ProviderLogoUrl): the portal's header, footer
    # and page titles show it. The logo is a path of the site (the CSP loads images from it).
    provider_name: str = "Demo Hosting"
    provider_logo_url: str = "/static/logo.svg"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            table_name=env["TABLE_NAME"],
            user_pool_id=env["USER_POOL_ID"],
            user_pool_client_id=env["USER_POOL_CLIENT_ID"],
            attachments_bucket=env.get("ATTACHMENTS_BUCKET", ""),
            inbound_bucket=env.get("INBOUND_BUCKET", ""),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            mail_domain=env.get("MAIL_DOMAIN", "example.com"),
            public_url=env.get("PUBLIC_URL", "").rstrip("/"),
            inbound_prefix=env.get("INBOUND_PREFIX", "inbound/"),
            signing_secret_arn=env.get("SIGNING_SECRET_ARN", ""),
            origin_secret_arn=env.get("ORIGIN_SECRET_ARN", ""),
            attachment_max_megabytes=int(env.get("ATTACHMENT_MAX_MB") or 10),
            attachment_max_files=int(env.get("ATTACHMENT_MAX_FILES") or 10),
            attachment_extensions=tuple(
                e.strip().lower().lstrip(".") for e in env.get("ATTACHMENT_EXTENSIONS", "").split(",")
                if e.strip()
            ),
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            queue_target_hours=_targets(env.get("QUEUE_TARGET_HOURS", "")) or cls.queue_target_hours,
            notify_assignee=env.get("NOTIFY_ASSIGNEE", "false").lower() == "true",
            provider_name=env.get("PROVIDER_NAME", "").strip() or cls.provider_name,
            provider_logo_url=env.get("PROVIDER_LOGO_URL", "").strip() or cls.provider_logo_url,
        )

    def target_minutes(self, priority: str) -> int:
        return int(dict(self.queue_target_hours).get(priority, 24.0) * 60)

    @property
    def token_issuer(self) -> str:
        # Cognito (and moto) put this in the `iss` claim of every token of the pool.
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        base = self.endpoint_url.rstrip("/") if self.endpoint_url else (
            f"https://cognito-idp.{self.region}.amazonaws.com"
        )
        return f"{base}/{self.user_pool_id}/.well-known/jwks.json"


def _targets(text: str) -> tuple[tuple[str, float], ...]:
    """"high=4,normal=24,low=72" -> (("high", 4.0), ...); a malformed entry is left out."""
    pairs = []
    for entry in text.split(","):
        name, _, hours = entry.partition("=")
        try:
            pairs.append((name.strip(), float(hours)))
        except ValueError:
            continue
    return tuple(pairs)
