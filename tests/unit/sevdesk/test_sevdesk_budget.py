"""The shared outbound budget on DynamoDB (moto): per-class buckets, waiting, sharing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sevdesk_common.sevdesk.budget import OutboundBudget
from sevdesk_common.sevdesk.errors import SevdeskRateLimited
from tests.unit.sevdesk.sevdesk_helpers import objects, settings


class FakeTime:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _budget(table: Any, time: FakeTime, **overrides: Any) -> OutboundBudget:
    return OutboundBudget(table, settings(**overrides), sleep=time.sleep, clock=time.clock)


def test_the_request_after_the_minute_figure_waits(table: Any) -> None:
    time = FakeTime()
    budget = _budget(table, time, budget_default_per_minute=100)
    for _ in range(100):
        budget.acquire("default")
    assert time.slept == []
    budget.acquire("default")
    assert time.slept == [pytest.approx(0.6, abs=0.01)]  # one token refills in 60/100 s


def test_exhausted_budget_raises_with_retry_after(table: Any) -> None:
    time = FakeTime()
    budget = _budget(table, time, budget_pdf_per_minute=30, budget_max_wait_seconds=1.0)
    for _ in range(30):
        budget.acquire("pdf")
    with pytest.raises(SevdeskRateLimited) as info:
        budget.acquire("pdf")  # needs 2 s, may wait 1 s
    assert info.value.retry_after == 2 and info.value.status == 503
    assert time.slept == []


def test_classes_are_separate(table: Any) -> None:
    time = FakeTime()
    budget = _budget(table, time, budget_bulk_per_minute=20, budget_max_wait_seconds=0)
    for _ in range(20):
        budget.acquire("bulk")
    with pytest.raises(SevdeskRateLimited):
        budget.acquire("bulk")
    budget.acquire("default")
    budget.acquire("pdf")


def test_two_budgets_on_one_table_share_the_bucket(table: Any) -> None:
    time = FakeTime()
    first = _budget(table, time, budget_bulk_per_minute=20, budget_max_wait_seconds=0)
    second = _budget(table, time, budget_bulk_per_minute=20, budget_max_wait_seconds=0)
    for _ in range(10):
        first.acquire("bulk")
        second.acquire("bulk")
    with pytest.raises(SevdeskRateLimited):
        second.acquire("bulk")
    third = _budget(table, time, budget_bulk_per_minute=20, budget_max_wait_seconds=0)
    with pytest.raises(SevdeskRateLimited):
        third.acquire("bulk")  # a fresh process sees the same empty bucket


def test_a_reservation_takes_the_budget_once_and_is_spent_locally(table: Any) -> None:
    time = FakeTime()
    budget = _budget(table, time, budget_default_per_minute=10, budget_max_wait_seconds=0)
    calls: list[str] = []
    real_update = table.update_item

    def counted(**kwargs: Any) -> Any:
        calls.append(kwargs["Key"]["pk"])
        return real_update(**kwargs)

    table.update_item = counted
    try:
        budget.reserve(4)
        for _ in range(4):
            budget.acquire("default")
        assert calls == ["BUCKET#sevdesk-default"]  # one DynamoDB call for four requests
        budget.acquire("default")  # beyond the reservation: from the bucket again
        assert len(calls) == 2
        other = _budget(table, time, budget_default_per_minute=10, budget_max_wait_seconds=0)
        for _ in range(5):
            other.acquire("default")
        with pytest.raises(SevdeskRateLimited):
            other.acquire("default")  # 4 reserved + 1 + 5 = the 10 of the minute
    finally:
        table.update_item = real_update


def test_client_draws_from_the_class_of_the_call(table: Any, make_client) -> None:
    time = FakeTime()
    budget = _budget(table, time, budget_pdf_per_minute=1, budget_max_wait_seconds=0)
    pdf = {"base64Encoded": False, "content": "%PDF-1.4 x", "filename": "RE-1.pdf"}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/getPdf"):
            return objects(pdf)
        return objects({"version": "2.0"})

    client, seen = make_client(handler, budget=budget)
    client.get_pdf("1")
    with pytest.raises(SevdeskRateLimited):
        client.get_pdf("1")
    assert client.bookkeeping_system_version() == "2.0"  # default class untouched
    assert len(seen) == 2  # the refused PDF call never went out, and was not retried


def test_list_invoices_can_use_the_bulk_class(table: Any, make_client) -> None:
    time = FakeTime()
    budget = _budget(table, time, budget_bulk_per_minute=1, budget_max_wait_seconds=0)
    client, _ = make_client(lambda _: objects([]), budget=budget)
    client.list_invoices(budget_class="bulk")
    with pytest.raises(SevdeskRateLimited):
        client.list_invoices(budget_class="bulk")
    client.list_invoices()
