"""The invoice's lease with the races forced, not hoped for: another holder that stays, one that
crashed (expired lease), one that finishes while we wait; and what a publish costs in DynamoDB."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.client
import pytest

from tests.integration.test_publish import event_log, hand_over, ours, publish
from tests.integration.test_publish_faults import stored

pytestmark = pytest.mark.usefixtures("emulator", "token_configured")


def held_by_another(*, expires_in: float, action: str = "send") -> None:
    from sevdesk_common import invoice_store

    record = stored()
    invoice_store.save(
        record.changed(
            lock_owner=f"{action}:someone-else",
            lock_action=action,
            lock_expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
        )
    )


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    from sevdesk_common.services import lease

    monkeypatch.setattr(lease, "WAIT_FOR_LEASE_SECONDS", 0.5)


@contextmanager
def dynamodb_calls() -> Iterator[Counter[str]]:
    """Every DynamoDB operation made meanwhile, by name."""
    counted: Counter[str] = Counter()
    real = botocore.client.BaseClient._make_api_call

    def counting(client: Any, operation: str, params: Any) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            counted[operation] += 1
            print("DDB", operation, params.get("Key"), params.get("ConditionExpression"))
        return real(client, operation, params)

    botocore.client.BaseClient._make_api_call = counting  # type: ignore[method-assign]
    try:
        yield counted
    finally:
        botocore.client.BaseClient._make_api_call = real  # type: ignore[method-assign]


def test_a_lease_that_stays_held_is_a_retryable_409_and_nothing_is_sent(
    emulator: Any, short_wait: None
) -> None:
    hand_over()
    held_by_another(expires_in=60)

    result = publish()

    assert result.status == 409
    assert result.body["error"]["code"] == "invoice_busy"
    assert 1 <= int(result.headers["retry-after"]) <= 5
    assert not emulator.requests
    assert stored().lock_owner == "send:someone-else"  # untouched


def test_an_expired_lease_of_a_crashed_action_is_taken_over(emulator: Any, short_wait: None) -> None:
    hand_over()
    held_by_another(expires_in=-1)

    result = publish()

    assert result.status == 200, result.body
    assert len(ours(emulator)) == 1
    assert stored().lock_owner is None


def test_a_lease_released_while_waiting_is_taken(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from sevdesk_common import invoice_store
    from sevdesk_common.services import lease

    hand_over()
    held_by_another(expires_in=60)
    real_sleep = lease.time.sleep
    waits: list[float] = []

    def the_other_finishes(seconds: float) -> None:
        if not waits:  # the other holder releases during our first wait
            record = stored()
            invoice_store.save(record.changed(lock_owner=None, lock_action=None, lock_expires_at=None))
        waits.append(seconds)
        real_sleep(0)

    monkeypatch.setattr(lease.time, "sleep", the_other_finishes)

    result = publish()

    assert result.status == 200, result.body
    assert len(waits) == 1
    assert [e["type"] for e in event_log()] == ["handed_over", "published", "finalized"]


def test_a_publish_makes_at_most_eight_dynamodb_calls(emulator: Any) -> None:
    hand_over()  # a new customer: its contact is created too
    with dynamodb_calls() as first:
        assert publish().status == 200
    hand_over("R1-SECOND")  # the same customer again: linked already
    with dynamodb_calls() as second:
        assert publish("R1-SECOND").status == 200

    assert sum(first.values()) <= 8, first
    assert sum(second.values()) <= 8, second
    assert "Scan" not in first and "Scan" not in second
