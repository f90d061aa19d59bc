"""The tenant's outbound sevDesk budget, shared by every Lambda through DynamoDB token buckets.
sevDesk publishes no limit but blocks abusive tokens, so we stay well below what it tolerates.

An operation that knows how many requests it will make reserves them in one take (one
DynamoDB call); each request then draws from that reservation before it touches the table.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from sevdesk_common.ratelimit import TokenBucket
from sevdesk_common.sevdesk.errors import SevdeskRateLimited

if TYPE_CHECKING:
    from sevdesk_common.settings import Settings

BudgetClass = Literal["default", "pdf", "bulk"]


class OutboundBudget:
    def __init__(
        self,
        table: Any,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        per_minute: dict[BudgetClass, int] = {
            "default": settings.budget_default_per_minute,
            "pdf": settings.budget_pdf_per_minute,
            "bulk": settings.budget_bulk_per_minute,
        }
        self._buckets = {
            name: TokenBucket(
                table, f"sevdesk-{name}", capacity=limit, refill_per_second=limit / 60.0, clock=clock
            )
            for name, limit in per_minute.items()
        }
        self._reserved: dict[BudgetClass, int] = dict.fromkeys(per_minute, 0)
        self._max_wait = settings.budget_max_wait_seconds
        self._sleep = sleep

    def bucket(self, budget_class: BudgetClass) -> TokenBucket:
        return self._buckets[budget_class]

    def reserve(self, requests: int, budget_class: BudgetClass = "default") -> None:
        """Take `requests` at once for the calls an operation is about to make."""
        if requests > self._reserved[budget_class]:
            self._take(budget_class, requests - self._reserved[budget_class])
            self._reserved[budget_class] = requests

    def acquire(self, budget_class: BudgetClass = "default") -> None:
        """One request: from the reservation if any is left, else from the shared bucket."""
        if self._reserved[budget_class] > 0:
            self._reserved[budget_class] -= 1
            return
        self._take(budget_class, 1)

    def _take(self, budget_class: BudgetClass, tokens: int) -> None:
        """Wait up to budget_max_wait_seconds in total for `tokens`, else refuse."""
        bucket = self._buckets[budget_class]
        waited = 0.0
        while True:
            wait = bucket.try_take(tokens)
            if wait <= 0:
                return
            # Whole milliseconds, at least one: a float shortfall of 1e-9 s must not spin.
            pause = math.ceil(wait * 1000) / 1000 + 0.001
            if waited + pause > self._max_wait:
                raise SevdeskRateLimited(
                    f"The shared sevDesk budget ({budget_class}) is used up; try again shortly.",
                    retry_after=wait,
                )
            self._sleep(pause)
            waited += pause
