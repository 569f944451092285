"""The `Custom::Departments` resource: the departments template.yaml declares, into the table.

CloudFormation calls it on Create, Update and Delete, and waits for the answer PUT to the
event's ResponseURL. Create and Update store the declared departments as declared and
disable the ones an update no longer declares (supportdesk.departments.apply_declared);
Delete does nothing: tickets point at their departments, and the table is retained.

It always answers, FAILED with the reason when something went wrong, so a stack never
waits an hour for a resource that will not answer. The answer is a plain PUT of a small
JSON document (CloudFormation's custom resource response); no helper library is needed.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from aws_lambda_powertools import Logger

from supportdesk.config import Settings
from supportdesk.departments import InvalidDepartment, apply_declared, declared_departments
from supportdesk.store import Table

logger = Logger()

PHYSICAL_ID = "supportdesk-departments"
# CloudFormation refuses an answer over 4 KB; a reason is one line.
REASON_CHARS = 1000


def _table() -> Table:
    import boto3

    settings = Settings.from_environ()
    client = boto3.client("dynamodb", region_name=settings.region, endpoint_url=settings.endpoint_url)
    return Table(client, settings.table_name)


def apply(event: dict[str, Any], table: Table) -> dict[str, Any]:
    """What the event asks, done; the answer's Data."""
    kind = event["RequestType"]
    if kind == "Delete":
        return {}
    declared = declared_departments(event.get("ResourceProperties") or {})
    previously: list[str] = []
    if kind == "Update":
        old = event.get("OldResourceProperties") or {}
        previously = [str(entry.get("Key")) for entry in old.get("Departments") or [] if isinstance(entry, dict)]
    applied = apply_declared(table, declared, previously=previously)
    logger.info("departments applied", extra={"written": applied.written, "disabled": applied.disabled})
    return {"Written": ",".join(applied.written), "Disabled": ",".join(applied.disabled)}


def answer(event: dict[str, Any], status: str, reason: str, data: dict[str, Any]) -> None:
    body = json.dumps({
        "Status": status,
        "Reason": reason[:REASON_CHARS],
        "PhysicalResourceId": event.get("PhysicalResourceId") or PHYSICAL_ID,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": False,
        "Data": data,
    }).encode()
    # The URL is a presigned S3 PUT: no content type, or the signature does not match.
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(body))})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def handler(event: dict[str, Any], context: Any) -> None:
    status, reason, data = "SUCCESS", "", {}
    try:
        data = apply(event, _table())
    except InvalidDepartment as error:
        status, reason = "FAILED", f"Departments: {error}"
    except Exception as error:  # anything else: the stack must still hear of it
        logger.exception("departments failed")
        log_stream = getattr(context, "log_stream_name", "")
        status, reason = "FAILED", f"Departments: {type(error).__name__}: {error} (log stream {log_stream})"
    answer(event, status, reason, data)
