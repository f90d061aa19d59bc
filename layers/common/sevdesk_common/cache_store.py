"""Cached sevDesk reads in DynamoDB, and the markers that invalidate them: persistence only.

A cached value expires by its TTL (`expiresAt`; DynamoDB deletes lazily, so readers check it).
A marker says "changed at": a value fetched before its marker's time is stale. Reading a value
and its marker is one strongly consistent BatchGetItem, and invalidating every cached value of
a kind is one PutItem of the marker, whatever their number. (The contact list needs no marker:
contact_store.linked_since answers from the links themselves.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sevdesk_common.repository import get_table, plain, to_dynamo

# The marker of the cached revenue figures; written when this bundle creates a voucher.
KPIS_MARKER = "kpis"
# A marker outlives every value it can make stale (store() refuses longer TTLs), then goes.
MARKER_SECONDS = 3600


@dataclass(frozen=True)
class Cached:
    value: dict[str, Any]
    fetched_at: float  # epoch seconds of the sevDesk read the value comes from


def _key(name: str) -> dict[str, str]:
    return {"pk": f"CACHE#{name}", "sk": "CACHE"}


def _marker_key(marker: str) -> dict[str, str]:
    return {"pk": f"CACHEMARK#{marker}", "sk": "CACHEMARK"}


def load(name: str, *, marker: str | None = None) -> Cached | None:
    """The value cached under `name`, unless it expired or `marker` changed after it was read."""
    table = get_table()
    if marker is None:
        item = table.get_item(Key=_key(name)).get("Item")
        mark = None
    else:
        keys = [_key(name), _marker_key(marker)]
        answer = table.meta.client.batch_get_item(
            RequestItems={table.name: {"Keys": keys, "ConsistentRead": True}}
        )
        if answer.get("UnprocessedKeys"):  # throttled: the cache is only worth one round trip
            return None
        found = {found["pk"]: found for found in answer.get("Responses", {}).get(table.name, [])}
        item, mark = found.get(keys[0]["pk"]), found.get(keys[1]["pk"])
    if item is None or int(item.get("expiresAt", 0)) <= time.time():
        return None
    fetched_at = float(item["fetchedAt"])
    if mark is not None and float(mark["changedAt"]) >= fetched_at:
        return None
    return Cached(plain(item["value"]), fetched_at)


def store(name: str, value: dict[str, Any], *, fetched_at: float, ttl_seconds: int) -> None:
    if ttl_seconds > MARKER_SECONDS:
        raise ValueError("a cached value must not outlive its marker")
    get_table().put_item(
        Item={
            **_key(name),
            "value": to_dynamo(value),
            "fetchedAt": Decimal(str(round(fetched_at, 3))),
            "expiresAt": int(time.time()) + ttl_seconds,
        }
    )


def invalidate(marker: str) -> None:
    """Every value read before now under `marker` is stale."""
    now = time.time()
    get_table().put_item(
        Item={
            **_marker_key(marker),
            "changedAt": Decimal(str(round(now, 3))),
            "expiresAt": int(now) + MARKER_SECONDS,
        }
    )
