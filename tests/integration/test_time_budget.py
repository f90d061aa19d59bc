"""Every route answers inside its time budget (API Gateway ends a request at 30 s): a slow
sevDesk gives a 503 with Retry-After in time, and the next call finishes the job."""

from __future__ import annotations

import time
from typing import Any

import pytest

from devtools.sevdesk_emulator import Fault
from tests.conftest import clear_process_caches
from tests.integration.test_publish import hand_over, ours, publish
from tests.integration.test_publish_faults import assert_published_once

pytestmark = pytest.mark.usefixtures("emulator", "token_configured")
BUDGET = 3.0


@pytest.fixture
def short_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTE_BUDGET_SECONDS", str(BUDGET))
    clear_process_caches()


def test_a_slow_sevdesk_is_a_timely_503_and_the_next_call_finishes(emulator: Any, short_budget: None) -> None:
    hand_over()
    emulator.faults.add(Fault(kind="latency", delay=1.2, times=None))  # every request is slow

    started = time.monotonic()
    slow = publish()
    elapsed = time.monotonic() - started

    assert slow.status == 503, slow.body
    assert slow.body["error"]["code"] in {"time_budget_exceeded", "sevdesk_outcome_unknown"}
    assert int(slow.headers["retry-after"]) >= 1
    assert elapsed < BUDGET + 1.5  # the answer came inside the budget (plus the last write)
    emulator.faults.clear()

    done = publish()

    assert done.status == 200, done.body
    assert len(ours(emulator)) == 1
    assert_published_once(emulator, done.body)


def test_a_lease_wait_never_eats_the_whole_budget(emulator: Any, short_budget: None) -> None:
    from tests.integration.test_publish_lease import held_by_another

    hand_over()
    held_by_another(expires_in=60)

    started = time.monotonic()
    busy = publish()

    assert busy.status == 409 and busy.body["error"]["code"] == "invoice_busy"
    assert "retry-after" in busy.headers
    assert time.monotonic() - started < BUDGET
