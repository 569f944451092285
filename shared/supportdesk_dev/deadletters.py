"""Re-drive the dead-letter queues: what failed for good is given to its function again.

The two queues hold different things (see template.yaml):

- the mail intake's (InboundDeadLetterQueue) is the function's asynchronous-invocation
  dead-letter queue: each message's body is the original event (SES's, or the held-mail
  schedule's), so re-driving is invoking the function with that body;
- the notifier's (NotifierDeadLetterQueue) is its stream's on-failure destination: each
  message describes a batch of the table's stream (DDBStreamBatchInfo: shard and sequence
  numbers), not its records. Re-driving reads those records from the stream and invokes
  the function with them, as Lambda's event source mapping did. The stream keeps records
  for 24 hours; a batch older than that cannot be read again, and its message is kept.

A message is deleted only after the function has taken it without error (and, for the
notifier, reported no record as failed); any other outcome leaves it in the queue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

# The function, invoked synchronously with a payload: True when it took it without error.
Invoke = Callable[[dict[str, Any]], bool]

# A failed message stays invisible this long, so one run does not take it twice.
VISIBILITY_SECONDS = 300


class CannotRedrive(Exception):
    """A message whose event cannot be rebuilt (its stream records are gone, or it is not
    a message this queue holds)."""


@dataclass
class Outcome:
    redriven: int = 0
    kept: list[str] = field(default_factory=list)  # why each kept message was kept

    @property
    def seen(self) -> int:
        return self.redriven + len(self.kept)


def lambda_invoker(lambda_client: Any, function_name: str) -> Invoke:
    """Invoke `function_name` and wait for its answer (RequestResponse)."""

    def invoke(payload: dict[str, Any]) -> bool:
        response = lambda_client.invoke(FunctionName=function_name, InvocationType="RequestResponse",
                                        Payload=json.dumps(payload).encode())
        if response.get("FunctionError"):
            return False
        answer = response["Payload"].read()
        result = json.loads(answer) if answer else None
        # The notifier names the records it could not deliver (ReportBatchItemFailures).
        return not (isinstance(result, dict) and result.get("batchItemFailures"))

    return invoke


def inbound_event(body: dict[str, Any], streams: Any) -> dict[str, Any]:
    """The mail intake's dead letter is its event, as it was."""
    return body


def notifier_event(body: dict[str, Any], streams: Any) -> dict[str, Any]:
    """The stream records of the failed batch, read again from the table's stream."""
    batch = body.get("DDBStreamBatchInfo")
    if not isinstance(batch, dict):
        raise CannotRedrive("not a stream batch (no DDBStreamBatchInfo)")
    arn, shard = batch["streamArn"], batch["shardId"]
    first, last = int(batch["startSequenceNumber"]), int(batch["endSequenceNumber"])
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=batch["startSequenceNumber"])["ShardIterator"]
    except Exception as error:  # TrimmedDataAccessException, ResourceNotFoundException
        raise CannotRedrive(f"its stream records are gone ({type(error).__name__})") from error
    records: list[dict[str, Any]] = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        batch_records = page.get("Records", [])
        if not batch_records:
            break
        for record in batch_records:
            if int(record["dynamodb"]["SequenceNumber"]) > last:
                iterator = None
                break
            if int(record["dynamodb"]["SequenceNumber"]) >= first:
                records.append({**record, "eventSourceARN": arn})
        else:
            iterator = page.get("NextShardIterator")
    if not records:
        raise CannotRedrive("its stream records are gone (the stream keeps them 24 hours)")
    return {"Records": records}


EVENTS: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]] = {
    "inbound": inbound_event,
    "notifier": notifier_event,
}


def redrive(sqs: Any, queue_url: str, invoke: Invoke, *, queue: str, streams: Any = None,
            limit: int | None = None, visibility_seconds: int = VISIBILITY_SECONDS) -> Outcome:
    """Give up to `limit` messages of `queue_url` (all of them: None) to the function."""
    to_event = EVENTS[queue]
    outcome = Outcome()
    taken: set[str] = set()
    while limit is None or outcome.seen < limit:
        wanted = 10 if limit is None else min(10, limit - outcome.seen)
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=wanted,
                                       VisibilityTimeout=visibility_seconds,
                                       WaitTimeSeconds=1).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in taken]
        if not fresh:
            break
        for message in fresh:
            taken.add(message["MessageId"])
            why = _give(message, invoke, to_event, streams)
            if why is None:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                outcome.redriven += 1
            else:
                outcome.kept.append(f"{message['MessageId']}: {why}")
    return outcome


def _give(message: dict[str, Any], invoke: Invoke, to_event: Callable[[dict[str, Any], Any], dict[str, Any]],
          streams: Any) -> str | None:
    """None when the function took the message's event; otherwise why not."""
    try:
        body = json.loads(message["Body"])
    except ValueError:
        return "its body is not JSON"
    if not isinstance(body, dict):
        return "its body is not a JSON object"
    try:
        event = to_event(body, streams)
    except CannotRedrive as error:
        return str(error)
    try:
        taken = invoke(event)
    except Exception as error:  # the invocation itself failed: keep the message
        return f"the function could not be invoked ({type(error).__name__}: {error})"
    return None if taken else "the function failed on it again"
