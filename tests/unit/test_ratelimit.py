"""The DynamoDB token bucket shared by the per-user limiter and the outbound budget."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from sevdesk_common.ratelimit import TokenBucket
from tests.support.aws import create_state_table


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        yield create_state_table("buckets")


def test_capacity_then_wait_then_refill(table: Any) -> None:
    clock = Clock()
    bucket = TokenBucket(table, "t", capacity=20, refill_per_second=20 / 60, clock=clock)

    taken = [bucket.try_take() for _ in range(20)]
    wait = bucket.try_take()
    clock.now += 3.0
    after_refill = bucket.try_take()

    assert taken == [0.0] * 20
    assert wait == pytest.approx(3.0)
    assert after_refill == 0.0
    assert bucket.try_take() > 0


def test_two_processes_share_one_bucket(table: Any) -> None:
    clock = Clock()
    first = TokenBucket(table, "shared", capacity=3, refill_per_second=0.05, clock=clock)
    second = TokenBucket(table, "shared", capacity=3, refill_per_second=0.05, clock=clock)

    results = [first.try_take(), second.try_take(), first.try_take(), second.try_take()]

    assert results[:3] == [0.0, 0.0, 0.0]
    assert results[3] > 0


def test_buckets_with_different_names_are_independent(table: Any) -> None:
    clock = Clock()
    a = TokenBucket(table, "a", capacity=1, refill_per_second=0.01, clock=clock)
    b = TokenBucket(table, "b", capacity=1, refill_per_second=0.01, clock=clock)

    assert (a.try_take(), b.try_take()) == (0.0, 0.0)
    assert a.try_take() > 0 and b.try_take() > 0


def test_a_lost_race_is_retried_not_double_spent(table: Any) -> None:
    clock = Clock()
    bucket = TokenBucket(table, "race", capacity=1, refill_per_second=0.001, clock=clock)
    real_put = table.put_item
    raced = False

    def put_after_a_competitor(**kwargs: Any) -> Any:
        nonlocal raced
        if not raced:
            raced = True
            competitor = TokenBucket(table, "race", capacity=1, refill_per_second=0.001, clock=clock)
            table.put_item = real_put
            assert competitor.try_take() == 0.0
            table.put_item = put_after_a_competitor
        return real_put(**kwargs)

    table.put_item = put_after_a_competitor
    try:
        assert bucket.try_take() > 0
    finally:
        table.put_item = real_put
