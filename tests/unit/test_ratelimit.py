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


def test_a_lost_race_is_decided_again_and_never_double_spent(table: Any) -> None:
    """A competitor takes the last token between our decision and our write: our conditional
    update fails, and we are told to wait, not handed the same token."""
    clock = Clock()
    bucket = TokenBucket(table, "race", capacity=2, refill_per_second=0.001, clock=clock)
    assert bucket.try_take() == 0.0
    real_update = table.update_item
    raced = False

    def update_after_a_competitor(**kwargs: Any) -> Any:
        nonlocal raced
        if not raced:
            raced = True
            table.update_item = real_update
            competitor = TokenBucket(table, "race", capacity=2, refill_per_second=0.001, clock=clock)
            assert competitor.try_take() == 0.0
            table.update_item = update_after_a_competitor
        return real_update(**kwargs)

    table.update_item = update_after_a_competitor
    try:
        assert bucket.try_take() > 0
    finally:
        table.update_item = real_update


def test_a_caller_under_the_limit_is_never_refused_by_racers(table: Any) -> None:
    """Every one of fifteen takes under a limit of twenty loses one race to another taker
    first (the interleaving forced), and none of them is refused."""
    clock = Clock()
    takers = [
        TokenBucket(table, "user#u", capacity=20, refill_per_second=20 / 60, clock=clock) for _ in range(15)
    ]
    real_update = table.update_item
    pending = list(takers[1:])
    results: list[float] = []

    def interleaved(**kwargs: Any) -> Any:
        if pending:  # before this write lands, the next taker runs completely
            table.update_item = interleaved
            results.append(pending.pop(0).try_take())
        return real_update(**kwargs)

    table.update_item = interleaved
    try:
        results.append(takers[0].try_take())
    finally:
        table.update_item = real_update
    assert results == [0.0] * 15
    clock.now += 0.0
    assert TokenBucket(table, "user#u", capacity=20, refill_per_second=20 / 60, clock=clock).try_take(6) > 0


def test_taking_is_one_update_item_call(table: Any) -> None:
    clock = Clock()
    bucket = TokenBucket(table, "one", capacity=5, refill_per_second=1, clock=clock)
    real_update, real_get, real_put = table.update_item, table.get_item, table.put_item
    calls: list[str] = []
    table.update_item = lambda **kw: calls.append("update") or real_update(**kw)
    table.get_item = lambda **kw: calls.append("get") or real_get(**kw)
    table.put_item = lambda **kw: calls.append("put") or real_put(**kw)
    try:
        assert bucket.try_take() == 0.0
        assert bucket.try_take() == 0.0
    finally:
        table.update_item, table.get_item, table.put_item = real_update, real_get, real_put
    assert calls == ["update", "update"]
