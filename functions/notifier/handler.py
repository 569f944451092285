"""The table's stream (new event items only) -> supportdesk.channels: every mail we send.

Thin on purpose: each record of the batch is an event stored with its change; it goes to
the channels that have not had it yet. A record whose delivery failed is reported back
(ReportBatchItemFailures), so Lambda gives it, and the ones after it, again: a slow or
failing SES delays a mail, loses none, and never slowed or failed a web request.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

from supportdesk.channels import Outlet, deliver_stored_event
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

    def client(service: str) -> Any:
        return boto3.client(service, region_name=settings.region, endpoint_url=settings.endpoint_url)

    table = Table(client("dynamodb"), settings.table_name)
    secret = read_secrets(client("secretsmanager"), [settings.signing_secret_arn])[settings.signing_secret_arn]
    return Outlet(ses=client("ses"), table=table, public_url=settings.public_url, reply_secret=secret,
                  departments={d.slug: d for d in list_departments(table)},
                  notify_assignee=settings.notify_assignee, refresh=_refreshed)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event.get("Records", []):
        keys = from_dynamodb(record.get("dynamodb", {}).get("Keys", {}))
        if record.get("eventName") != "INSERT" or not is_event_key(keys):
            continue
        if not deliver_stored_event(keys, outlet()):
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
    if failures:
        logger.warning("events not delivered; Lambda gives them again", extra={"failed": len(failures)})
    return {"batchItemFailures": failures}
