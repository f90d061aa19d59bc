"""A token bucket kept in DynamoDB, so every Lambda of the tenant draws from one budget.

Used twice: the inbound per-user limiter (20 requests / 60 s) and the outbound sevDesk budget
(classes default/pdf/bulk). The bucket is stored as one number, its "theoretical arrival time"
(GCRA): the moment the bucket would be full again. Taking n tokens moves it n intervals later,
which is allowed while it stays within `capacity` intervals of now. That is one conditional
`UpdateItem`, atomic in DynamoDB: concurrent takers never spend the same token, and a caller
under the limit is never refused because others raced it (there is no read-then-write).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from botocore.exceptions import ClientError

# Each lost race means the bucket moved; a handful of rounds settles any real contention.
_MAX_ROUNDS = 6


def _number(value: float) -> Decimal:
    return Decimal(repr(round(value, 6)))


class TokenBucket:
    def __init__(
        self,
        table: Any,
        name: str,
        *,
        capacity: float,
        refill_per_second: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table
        self._key = {"pk": f"BUCKET#{name}", "sk": "BUCKET"}
        self.capacity = float(capacity)
        self.interval = 1.0 / float(refill_per_second)
        self._clock = clock
        # The bucket's time after our last take: a warm caller that took a moment ago starts
        # with the update that fits a bucket in use, saving the failed first try.
        self._seen: float | None = None

    @property
    def key(self) -> dict[str, str]:
        return self._key

    def hint(self, item: dict[str, Any] | None) -> None:
        """What the bucket's item looked like when read elsewhere (e.g. in a batch read)."""
        if item and item.get("tat") is not None:
            self._seen = float(item["tat"])

    def try_take(self, tokens: float = 1.0) -> float:
        """Take `tokens` if the bucket holds them and return 0.0; otherwise take nothing and
        return the seconds until it will hold them."""
        tokens = min(float(tokens), self.capacity)
        now = self._clock()
        cost = tokens * self.interval
        latest = now + (self.capacity * self.interval) - cost  # the fullest the bucket may get
        # Idle buckets are full again by `latest`; TTL removes them an hour after that.
        expires = math.ceil(latest + cost) + 3600
        seen = self._seen
        for _ in range(_MAX_ROUNDS):
            if seen is None or seen <= now:
                # Full (or new): it restarts from now.
                update, condition = (
                    "SET tat = :start, expiresAt = :exp",
                    "attribute_not_exists(tat) OR tat <= :now",
                )
                values = {":start": _number(now + cost), ":now": _number(now), ":exp": expires}
            elif seen > latest:
                return seen - latest
            else:
                update, condition = "SET tat = tat + :cost, expiresAt = :exp", "tat > :now AND tat <= :latest"
                values = {
                    ":cost": _number(cost),
                    ":now": _number(now),
                    ":latest": _number(latest),
                    ":exp": expires,
                }
            try:
                self._table.update_item(
                    Key=self._key,
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                self._seen = now + cost if seen is None or seen <= now else seen + cost
                return 0.0
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                old = cast(dict[str, Any], error.response.get("Item") or {}).get("tat")
                seen = float(old["N"] if isinstance(old, dict) else old) if old is not None else None
        return self.interval  # extreme contention: report a short wait rather than spinning
