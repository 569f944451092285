"""What Lambda's event source mapping does with the table's stream, for the local stack.

moto keeps the stream (DynamoDB Streams' API over HTTP) but runs no function on it. This
reads the stream's new records, keeps those the template's filter keeps (new event items),
hands them in batches to the real notifier handler, and retries a batch from its first
failed record (ReportBatchItemFailures) after a pause, as the event source mapping does.
`make dev` runs it in a thread; tests call `drain()` to deliver everything pending now.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from supportdesk.attachments import abandoned_upload_key
from supportdesk_dev.background import Every

log = logging.getLogger("supportdesk_dev")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def keeps(record: dict[str, Any]) -> bool:
    """The NotifierFunction's FilterCriteria in template.yaml: new items whose PK starts
    with OUTBOX# (event items), and upload items DynamoDB's TTL removed (moto has no TTL:
    locally, abandoned uploads stay)."""
    key = record.get("dynamodb", {}).get("Keys", {}).get("PK", {}).get("S", "")
    return (record.get("eventName") == "INSERT" and key.startswith("OUTBOX#")) or (
        abandoned_upload_key(record) is not None)


class StreamPump:
    def __init__(self, client: Callable[[str], Any], table_name: str, handler: Callable[[], Handler],
                 *, batch_size: int = 10, retry_pause: float = 1.0, max_retries: int = 10,
                 forget: Callable[[str], None] = lambda sequence: None) -> None:
        self._streams = client("dynamodbstreams")
        arn = client("dynamodb").describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        self._arn = arn
        self._handler = handler
        # Told the last sequence number read, after each read (the local stack drops what
        # was read: moto would keep it forever).
        self._forget = forget
        self._batch_size = batch_size
        self._retry_pause = retry_pause
        self._max_retries = max_retries
        self._lock = threading.Lock()
        self._rounds: Every | None = None
        # Per shard: the records read and not yet handed over, and the last one read. A fresh
        # iterator is asked for each round, after that one: moto replaces a table's objects
        # (its stream included) when it rolls back a cancelled transaction, and an old
        # iterator would keep reading the replaced stream.
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._read_up_to: dict[str, str | None] = {}
        self._attempts = 0
        self._not_before = 0.0
        for shard in self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            self._pending[shard["ShardId"]] = []
            self._read_up_to[shard["ShardId"]] = None
            self._read(shard["ShardId"], keep=False)  # start after what is there (LATEST)

    def drain(self, *, wait_retries: bool = False) -> int:
        """Deliver every record there is now; returns how many were handed over. A batch that
        fails stays pending until its pause is over (`wait_retries`: wait for it)."""
        from supportdesk_dev.events import LambdaContext

        delivered = 0
        with self._lock:
            while True:
                for shard in self._pending:
                    self._read(shard)
                batch_shard = next((s for s, records in self._pending.items() if records), None)
                if batch_shard is None:
                    return delivered
                now = time.monotonic()
                if now < self._not_before:
                    if not wait_retries:
                        return delivered
                    time.sleep(self._not_before - now)
                records = self._pending[batch_shard][: self._batch_size]
                result = self._handler()({"Records": records}, LambdaContext()) or {}
                failed = [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]
                if not failed:
                    self._pending[batch_shard] = self._pending[batch_shard][len(records):]
                    delivered += len(records)
                    self._attempts = 0
                    continue
                first = next(i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] in failed)
                self._pending[batch_shard] = self._pending[batch_shard][first:]
                delivered += first
                self._attempts += 1
                if self._attempts > self._max_retries:  # the template sends it to the DLQ
                    log.error("notifier: record %s given up after %d tries", failed[0], self._attempts)
                    self._pending[batch_shard] = self._pending[batch_shard][1:]
                    self._attempts = 0
                    continue
                self._not_before = time.monotonic() + self._retry_pause

    def _read(self, shard: str, *, keep: bool = True) -> None:
        last = self._read_up_to[shard]
        position: dict[str, Any] = ({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}
                                    if last else {"ShardIteratorType": "TRIM_HORIZON"})
        iterator = self._streams.get_shard_iterator(StreamArn=self._arn, ShardId=shard, **position)["ShardIterator"]
        while iterator:
            records = self._streams.get_records(ShardIterator=iterator, Limit=1000).get("Records", [])
            if not records:
                return
            if keep:
                self._pending[shard].extend(r for r in records if keeps(r))
            last = records[-1]["dynamodb"]["SequenceNumber"]
            self._read_up_to[shard] = last
            self._forget(last)
            iterator = self._streams.get_shard_iterator(
                StreamArn=self._arn, ShardId=shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                SequenceNumber=last)["ShardIterator"]

    def start(self, interval: float = 0.3) -> None:
        self._rounds = Every(interval, self.drain, "stream-pump")

    def stop(self) -> None:
        if self._rounds:
            self._rounds.stop()
