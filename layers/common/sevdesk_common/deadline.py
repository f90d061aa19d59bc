"""How long the current invocation may still work before it must answer.

API Gateway gives up on an integration after 30 s (a 504 nobody can act on), so a route answers
within `route_budget_seconds` (and within the Lambda's own remaining time): waiting for an
invoice's lease and every sevDesk request draw from that one budget. When it is spent, the
answer is a 503 with Retry-After; nothing half-written is left that the next call cannot finish.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Protocol

# Time kept back for the last DynamoDB write and the answer itself.
ANSWER_RESERVE_SECONDS = 2.0

_deadline: ContextVar[float | None] = ContextVar("deadline", default=None)


class HasRemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


def start(budget_seconds: float, context: HasRemainingTime | None = None) -> None:
    """Begin an invocation's budget: `budget_seconds`, or less when Lambda's timeout is nearer."""
    budget = budget_seconds
    if context is not None:
        budget = min(budget, context.get_remaining_time_in_millis() / 1000 - ANSWER_RESERVE_SECONDS)
    _deadline.set(time.monotonic() + max(0.0, budget))


def clear() -> None:
    _deadline.set(None)


def remaining() -> float | None:
    """Seconds left, or None outside a budgeted invocation (no limit)."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def within(seconds: float) -> float:
    """`seconds`, shortened to what the budget still allows (never below zero)."""
    left = remaining()
    return max(0.0, seconds if left is None else min(seconds, left))
