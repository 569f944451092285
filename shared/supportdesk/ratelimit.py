"""Fixed-window rate limits kept in the table (per address, per client, per account).

One conditional write per attempt: the counter of the current window goes up only while it
is under the limit, and the window's item expires by itself (TTL). Several limits that
guard one action (a guest's address and the client it comes from) are checked in one
transaction: all counted, or none when one is reached. `claim` is a limit of one per
window that the same claimant can pass again (a retried delivery of the same mail).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from supportdesk.store import ConditionFailed, Table


@dataclass(frozen=True)
class Limit:
    """At most `limit` attempts per `window_seconds` for one `key` in `scope`."""

    scope: str
    key: str
    limit: int
    window_seconds: int


def _counter(table: Table, limit: Limit, now: float | None) -> dict[str, Any]:
    window = int((time.time() if now is None else now) // limit.window_seconds)
    return table.update_action(
        f"RATE#{limit.scope}#{limit.key}", str(window),
        "ADD hits :one SET expires_at = :expires",
        {":one": 1, ":limit": limit.limit, ":expires": (window + 2) * limit.window_seconds},
        condition="attribute_not_exists(hits) OR hits < :limit",
    )


def first_reached(table: Table, *limits: Limit, now: float | None = None) -> Limit | None:
    """Count one attempt against every limit (one call); the first one already reached, if any."""
    actions = [_counter(table, limit, now) for limit in limits]
    try:
        if len(actions) == 1:
            table.update_from_action(actions[0])
        else:
            table.transact(actions)
    except ConditionFailed as failure:
        reached = [limit for limit, reason in zip(limits, failure.reasons or ["ConditionalCheckFailed"])
                   if reason == "ConditionalCheckFailed"]
        return reached[0] if reached else limits[0]
    return None


def allow(table: Table, scope: str, key: str, *, limit: int, window_seconds: int,
          now: float | None = None) -> bool:
    """Count one attempt for `key`; False when the window's limit is already reached."""
    return first_reached(table, Limit(scope, key, limit, window_seconds), now=now) is None


def claim(table: Table, scope: str, key: str, claimant: str, *, window_seconds: int,
          now: float | None = None) -> bool:
    """Whether `claimant` is the one of the current window for `key` in `scope`: the first to
    ask, or the same one again (one conditional write)."""
    window = int((time.time() if now is None else now) // window_seconds)
    action = table.update_action(
        f"RATE#{scope}#{key}", str(window), "SET claimant = :claimant, expires_at = :expires",
        {":claimant": claimant, ":expires": (window + 2) * window_seconds},
        condition="attribute_not_exists(claimant) OR claimant = :claimant",
    )
    try:
        table.update_from_action(action)
    except ConditionFailed:
        return False
    return True
