"""The table's stream -> supportdesk.channels (every mail we send), and abandoned uploads' files away.

Thin on purpose. A new event item, stored with its change, goes to the channels that have
not had it yet. An upload item that DynamoDB's TTL removed was never claimed by a message:
its file is deleted (supportdesk.attachments). A record whose delivery failed is reported back
(ReportBatchItemFailures), so Lambda gives it, and the ones after it, again: a slow or
failing SES delays a mail, loses none, and never slowed or failed a web request.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

from supportdesk.attachments import abandoned_upload_key
from supportdesk.channels import Outlet, deliver_stored_event, worth_retrying
from supportdesk.config import Settings
from supportdesk.departments import list_departments
from supportdesk.events import is_event_key
from supportdesk.secrets import read_secrets
from supportdesk.store import Table, from_dynamodb

logger = Logger()


@cache
def outlet() -> Outlet:
    return _outlet()


def _refreshed() -> Outlet:
    outlet.cache_clear()
    return outlet()


def _outlet() -> Outlet:
    import boto3

    settings = Settings.from_environ()
    if not settings.public_url:
        # Every mail links to the portal: without its address the events wait (retried, then
        # the dead-letter queue) rather than go out with links that lead nowhere.
        raise RuntimeError("PUBLIC_URL is not set (template.yaml sets it from PublicUrl, PortalDomain or CloudFront)")

    def client(service: str) -> Any:
        return boto3.client(service, region_name=settings.region, endpoint_url=settings.endpoint_url)

    table = Table(client("dynamodb"), settings.table_name)
    secret = read_secrets(client("secretsmanager"), [settings.signing_secret_arn])[settings.signing_secret_arn]
    return Outlet(ses=client("ses"), table=table, public_url=settings.public_url, reply_secret=secret,
                  departments={d.slug: d for d in list_departments(table)},
                  notify_assignee=settings.notify_assignee, provider_name=settings.provider_name,
                  refresh=_refreshed)


@cache
def files() -> tuple[Any, str]:
    """The S3 client and the attachments bucket."""
    import boto3

    settings = Settings.from_environ()
    return (boto3.client("s3", region_name=settings.region, endpoint_url=settings.endpoint_url),
            settings.attachments_bucket)


def forget_upload(key: str) -> bool:
    """Delete an abandoned upload's file; False when that failed in a way worth another try."""
    s3, bucket = files()
    try:
        s3.delete_object(Bucket=bucket, Key=key)
    except Exception as error:
        if worth_retrying(error):
            return False
        logger.exception("abandoned upload %s not deleted", key)
    return True


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event.get("Records", []):
        abandoned = abandoned_upload_key(record)
        if abandoned is not None:
            done = forget_upload(abandoned)
        else:
            keys = from_dynamodb(record.get("dynamodb", {}).get("Keys", {}))
            if record.get("eventName") != "INSERT" or not is_event_key(keys):
                continue
            done = deliver_stored_event(keys, outlet())
        if not done:
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
    if failures:
        logger.warning("events not delivered; Lambda gives them again", extra={"failed": len(failures)})
    return {"batchItemFailures": failures}
