"""A thin layer over the DynamoDB client for the single table.

It only converts between Python values and DynamoDB's typed JSON and names the few
operations the domain uses; the key design lives in template.yaml's comment block and in
the modules that own each item type. The low-level client is used (not boto3.resource)
because it is cheaper to import and create, which matters on a cold start.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import time
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

Item = dict[str, Any]

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_dynamodb(item: Item) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in item.items() if value is not None}


def from_dynamodb(raw: dict[str, Any]) -> Item:
    return {key: _deserializer.deserialize(value) for key, value in raw.items()}


class ConditionFailed(Exception):
    """A conditional write found the item in a state it did not expect."""

    def __init__(self, reasons: list[str] | None = None) -> None:
        super().__init__(", ".join(reasons or []) or "condition failed")
        self.reasons = reasons or []


class BadCursor(ValueError):
    """A page cursor that this table did not hand out for this list (forged or stale)."""


@dataclass(frozen=True)
class Page:
    """One bounded page of a list, and the cursor of the next one (None: the list ends here)."""

    items: list[Item]
    cursor: str | None


def _encode_cursor(key: dict[str, Any]) -> str:
    plain = {name: value["S"] for name, value in key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, names: set[str], partition: tuple[str, str]) -> dict[str, Any]:
    """The start key a cursor stands for, if it is one of this list's keys (else BadCursor)."""
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise BadCursor(cursor) from error
    if (not isinstance(plain, dict) or set(plain) != names
            or not all(isinstance(v, str) for v in plain.values())
            or plain.get(partition[0]) != partition[1]):
        raise BadCursor(cursor)
    return {name: {"S": value} for name, value in plain.items()}


# A transaction that meets another one on the same item is cancelled (TransactionConflict)
# and may simply be tried again; these are the pauses before each new try.
CONFLICT_PAUSES = (0.02, 0.05, 0.1, 0.2)


class Table:
    """The single table, bound to a DynamoDB client and its name."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def get(self, pk: str, sk: str, *, consistent: bool = False) -> Item | None:
        response = self.client.get_item(
            TableName=self.name, Key=to_dynamodb({"PK": pk, "SK": sk}), ConsistentRead=consistent
        )
        raw = response.get("Item")
        return from_dynamodb(raw) if raw else None

    def put(self, item: Item, *, condition: str | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": to_dynamodb(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
        try:
            self.client.put_item(**kwargs)
        except self.client.exceptions.ConditionalCheckFailedException as error:
            raise ConditionFailed(["ConditionalCheckFailed"]) from error

    def query(
        self,
        key: str,
        value: str,
        *,
        index: str | None = None,
        sort_key: str | None = None,
        begins_with: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[Item]:
        """Items whose partition key `key` equals `value`, optionally filtered by a sort-key prefix."""
        names = {"#pk": key}
        values: dict[str, Any] = {":pk": value}
        expression = "#pk = :pk"
        if begins_with is not None:
            if sort_key is None:
                raise ValueError("begins_with needs the sort key's name")
            names["#sk"] = sort_key
            values[":prefix"] = begins_with
            expression += " AND begins_with(#sk, :prefix)"
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_dynamodb(values),
            "ScanIndexForward": not newest_first,
        }
        if index:
            kwargs["IndexName"] = index
        if limit:
            kwargs["Limit"] = limit
        items: list[Item] = []
        while True:
            response = self.client.query(**kwargs)
            items.extend(from_dynamodb(raw) for raw in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last or (limit and len(items) >= limit):
                return items
            kwargs["ExclusiveStartKey"] = last

    def page(
        self,
        key: str,
        value: str,
        *,
        index: str | None,
        sort_key: str,
        cursor: str | None = None,
        size: int = 25,
        newest_first: bool = False,
        filters: dict[str, str] | None = None,
        evaluate: int | None = None,
    ) -> Page:
        """One page of at most `size` items of a partition, in sort-key order, in one Query.

        `filters`: attribute -> required value, applied by DynamoDB to at most `evaluate`
        items read (so a page costs the same however long the list is); a page may then hold
        fewer than `size` items and still have a cursor. The cursor is the key of the page's
        last item, refused (BadCursor) unless it belongs to this very partition.
        """
        names = {"#pk": key}
        values: dict[str, Any] = {":pk": value}
        kwargs: dict[str, Any] = {
            "TableName": self.name, "KeyConditionExpression": "#pk = :pk", "ScanIndexForward": not newest_first,
        }
        if index:
            kwargs["IndexName"] = index
        conditions = []
        for n, (attribute, wanted) in enumerate(sorted((filters or {}).items())):
            names[f"#f{n}"] = attribute
            values[f":f{n}"] = wanted
            conditions.append(f"#f{n} = :f{n}")
        if conditions:
            kwargs["FilterExpression"] = " AND ".join(conditions)
        kwargs["Limit"] = max(size, evaluate or size) if conditions else size + 1
        kwargs["ExpressionAttributeNames"] = names
        kwargs["ExpressionAttributeValues"] = to_dynamodb(values)
        key_names = {"PK", "SK", key, sort_key}
        if cursor:
            kwargs["ExclusiveStartKey"] = _decode_cursor(cursor, key_names, (key, value))
        response = self.client.query(**kwargs)
        raw = response.get("Items", [])
        more = bool(response.get("LastEvaluatedKey"))
        if len(raw) > size:
            raw, more = raw[:size], True
        if not more:
            return Page([from_dynamodb(r) for r in raw], None)
        last = raw[-1] if raw else None
        start = {name: last[name] for name in key_names} if last else response["LastEvaluatedKey"]
        return Page([from_dynamodb(r) for r in raw], _encode_cursor(start))

    def batch_put(self, items: list[Item]) -> None:
        """Write items 25 to a BatchWriteItem (what it takes), what is left unprocessed again."""
        for start in range(0, len(items), 25):
            request: dict[str, Any] = {self.name: [{"PutRequest": {"Item": to_dynamodb(item)}}
                                                   for item in items[start:start + 25]]}
            while request:
                request = self.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    def batch_get(self, keys: list[tuple[str, str]]) -> list[Item]:
        """Several items by key in one BatchGetItem (up to 100); missing ones are left out."""
        wanted = [to_dynamodb({"PK": pk, "SK": sk}) for pk, sk in dict.fromkeys(keys)]
        found: list[Item] = []
        request: dict[str, Any] = {self.name: {"Keys": wanted}}
        while request:
            response = self.client.batch_get_item(RequestItems=request)
            found.extend(from_dynamodb(raw) for raw in response.get("Responses", {}).get(self.name, []))
            request = response.get("UnprocessedKeys") or {}
        return found

    def update(
        self,
        pk: str,
        sk: str,
        expression: str,
        values: Item,
        *,
        names: dict[str, str] | None = None,
        condition: str | None = None,
    ) -> Item:
        """UpdateItem; returns the item as it is after the update."""
        kwargs = self._update_kwargs(pk, sk, expression, values, names, condition)
        try:
            response = self.client.update_item(**kwargs, ReturnValues="ALL_NEW")
        except self.client.exceptions.ConditionalCheckFailedException as error:
            raise ConditionFailed(["ConditionalCheckFailed"]) from error
        return from_dynamodb(response.get("Attributes", {}))

    def _update_kwargs(
        self, pk: str, sk: str, expression: str, values: Item,
        names: dict[str, str] | None, condition: str | None,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": to_dynamodb({"PK": pk, "SK": sk}),
            "UpdateExpression": expression,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = {
                k: _serializer.serialize(v) for k, v in values.items()
            }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if condition:
            kwargs["ConditionExpression"] = condition
        return kwargs

    def put_action(self, item: Item, condition: str | None = None,
                   values: Item | None = None) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self.name, "Item": to_dynamodb(item)}
        if condition:
            put["ConditionExpression"] = condition
        if values:
            put["ExpressionAttributeValues"] = {k: _serializer.serialize(v) for k, v in values.items()}
        return {"Put": put}

    def update_action(
        self, pk: str, sk: str, expression: str, values: Item, *,
        names: dict[str, str] | None = None, condition: str | None = None,
    ) -> dict[str, Any]:
        return {"Update": self._update_kwargs(pk, sk, expression, values, names, condition)}

    def update_from_action(self, action: dict[str, Any]) -> None:
        """Run one update_action() alone: an UpdateItem instead of a one-item transaction."""
        try:
            self.client.update_item(**action["Update"])
        except self.client.exceptions.ConditionalCheckFailedException as error:
            raise ConditionFailed(["ConditionalCheckFailed"]) from error

    def delete_action(self, pk: str, sk: str, condition: str, values: Item, *,
                      names: dict[str, str] | None = None) -> dict[str, Any]:
        """A transaction action that deletes an item, on `condition` (which fails if it is gone)."""
        delete: dict[str, Any] = {
            "TableName": self.name, "Key": to_dynamodb({"PK": pk, "SK": sk}),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {k: _serializer.serialize(v) for k, v in values.items()},
        }
        if names:
            delete["ExpressionAttributeNames"] = names
        return {"Delete": delete}

    def condition_check_action(self, pk: str, sk: str, condition: str, values: Item) -> dict[str, Any]:
        """A transaction action that writes nothing: the transaction needs `condition` to hold."""
        return {"ConditionCheck": {
            "TableName": self.name, "Key": to_dynamodb({"PK": pk, "SK": sk}),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {k: _serializer.serialize(v) for k, v in values.items()},
        }}

    def transact(self, actions: list[dict[str, Any]]) -> None:
        """Write several items in one transaction: all of them or none.

        A failed condition raises ConditionFailed with one reason per action
        ("None" for the actions that were fine). A transaction cancelled only because it met
        another one on the same item (a department's queue count) is tried again.
        """
        for pause in (*CONFLICT_PAUSES, None):
            try:
                self.client.transact_write_items(TransactItems=actions)
                return
            except self.client.exceptions.TransactionCanceledException as error:
                reasons = [
                    reason.get("Code", "None")
                    for reason in error.response.get("CancellationReasons", [])
                ]
                if pause is None or "ConditionalCheckFailed" in reasons or "TransactionConflict" not in reasons:
                    raise ConditionFailed(reasons) from error
            time.sleep(pause * (1 + random.random()))
