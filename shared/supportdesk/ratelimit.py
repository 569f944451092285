"""Fixed-window rate limits kept in the table (guest submissions, mail senders).

One conditional UpdateItem per attempt: the counter of the current window goes up only
while it is under the limit, and the window's item expires by itself (TTL).
"""

from __future__ import annotations

import time

from supportdesk.store import ConditionFailed, Table


def allow(table: Table, scope: str, key: str, *, limit: int, window_seconds: int,
          now: float | None = None) -> bool:
    """Count one attempt for `key`; False when the window's limit is already reached."""
    window = int((time.time() if now is None else now) // window_seconds)
    try:
        table.update(
            f"RATE#{scope}#{key}", str(window),
            "ADD hits :one SET expires_at = :expires",
            {":one": 1, ":limit": limit, ":expires": (window + 2) * window_seconds},
            condition="attribute_not_exists(hits) OR hits < :limit",
        )
    except ConditionFailed:
        return False
    return True
