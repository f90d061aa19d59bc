"""A token bucket kept in DynamoDB, so every Lambda of the tenant draws from one budget.

Used twice: the inbound per-user limiter (20 requests / 60 s) and the outbound sevDesk budget
(classes default/pdf/bulk). Each take is a read plus a write conditioned on the version read,
so concurrent takers never spend the same token twice; a lost race is simply retried.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

_MAX_RACES = 8


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
        self.refill_per_second = float(refill_per_second)
        self._clock = clock

    def try_take(self, tokens: float = 1.0) -> float:
        """Take `tokens` if available and return 0.0; otherwise take nothing and return the
        seconds until they will be."""
        for _ in range(_MAX_RACES):
            now = self._clock()
            item = self._table.get_item(Key=self._key, ConsistentRead=True).get("Item")
            if item:
                elapsed = max(0.0, now - float(item["updatedAt"]))
                available = min(self.capacity, float(item["tokens"]) + elapsed * self.refill_per_second)
                version = int(item["version"])
            else:
                available, version = self.capacity, 0
            if available < tokens:
                return (tokens - available) / self.refill_per_second
            if self._write(available - tokens, now, version):
                return 0.0
        # Heavy contention: report a short wait rather than spinning.
        return 1.0 / self.refill_per_second

    def _write(self, tokens: float, now: float, version: int) -> bool:
        # Idle buckets are full again after capacity/refill seconds; let TTL drop them later.
        expires_at = math.ceil(now + self.capacity / self.refill_per_second) + 3600
        try:
            self._table.put_item(
                Item={
                    **self._key,
                    "tokens": Decimal(repr(round(tokens, 6))),
                    "updatedAt": Decimal(repr(round(now, 6))),
                    "version": version + 1,
                    "expiresAt": expires_at,
                },
                ConditionExpression="attribute_not_exists(pk) OR version = :v",
                ExpressionAttributeValues={":v": version},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
