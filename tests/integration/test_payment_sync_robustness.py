"""Payment sync when things go wrong or race, with the races forced (never hoped for): a
booking that did not move `update`, a failing page, an invoice sevDesk sends unreadable, two
runs at once, a run out of time; and what a run costs (sevDesk requests, DynamoDB reads)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devtools.sevdesk_emulator import Fault
from tests.integration.payment_sync_support import (
    GROSS,
    age,
    backdate_last_sync,
    baseline,
    published,
    refresh,
    scheduled,
    state,
    sync_state,
    synced_events,
    use_page_size,
)

pytestmark = pytest.mark.usefixtures("emulator", "token_configured")


def reconciliation_due() -> None:
    """As if the last reconciliation was more than an hour ago."""
    from datetime import timedelta

    from sevdesk_common import payment_sync_store

    current = payment_sync_store.load_state()
    assert current.last_reconciled_at is not None
    earlier = current.model_copy(
        update={"last_reconciled_at": current.last_reconciled_at - timedelta(hours=2)}
    )
    assert payment_sync_store.save_state(earlier)


def test_a_booking_that_did_not_move_update_is_found_by_the_reconciliation(emulator: Any) -> None:
    paid, part = published("R1-QUIET-PAID"), published("R1-QUIET-PART")
    age(emulator, paid)
    age(emulator, part)
    baseline()
    emulator.booking_moves_update = False
    emulator.book_payment(paid, GROSS)
    emulator.book_payment(part, "30.00")

    missed = refresh()  # reads changes since the watermark only
    assert missed.body["checked"] == 0 and state("R1-QUIET-PAID")["claimStatus"] == "open"

    reconciliation_due()
    backdate_last_sync(11)  # the manual run set lastSyncAt
    emulator.requests.clear()
    found = scheduled()

    assert found["reconciliation"] == "complete", found
    assert (found["changed"]["paid"], found["changed"]["partiallyPaid"]) == (1, 1)
    assert found["candidates"] == 2
    assert state("R1-QUIET-PAID")["claimStatus"] == "paid"
    assert (state("R1-QUIET-PART")["claimStatus"], state("R1-QUIET-PART")["paidAmount"]) == (
        "partially_paid",
        "30.00",
    )
    # lists by status, then only the one no longer open is read by id (and its bookings)
    listed = [(r.path, r.query.get("status")) for r in emulator.requests if r.path == "/Invoice"]
    assert ("/Invoice", "200") in listed and ("/Invoice", "750") in listed
    assert [r.path for r in emulator.requests if r.path.startswith("/Invoice/")] == [
        f"/Invoice/{paid}",
        f"/Invoice/{paid}/getCheckAccountTransactionLogs",
    ]
    assert sync_state().last_reconciled_at is not None


def test_a_failing_page_does_not_stop_the_rest_and_is_read_again(emulator: Any, monkeypatch: Any) -> None:
    use_page_size(monkeypatch, 2)
    ids = {f"R1-PAGE-{n}": published(f"R1-PAGE-{n}") for n in range(5)}
    baseline()
    watermark = sync_state().watermark
    for external_id in ids.values():
        emulator.book_payment(external_id, GROSS, account="cash")
    emulator.faults.add(Fault(method="GET", path="/Invoice", query={"offset": "2"}, status=503, times=3))

    broken = scheduled()

    assert broken["status"] == "incomplete" and not broken["complete"]
    assert [f["reason"] for f in broken["failed"]] == ["page_failed"]
    assert broken["changed"]["paid"] == 3  # pages 0-1 and 4 (and 5, the end)
    assert sync_state().watermark == watermark  # not past what was not read
    unpaid = [i for i in ids if state(i)["claimStatus"] == "open"]
    assert len(unpaid) == 2

    mended = refresh()

    assert mended.body["complete"] and mended.body["changed"]["paid"] == 2, mended.body
    assert all(state(i)["claimStatus"] == "paid" for i in ids)
    assert all(len(synced_events(i)) == 1 for i in ids)
    assert sync_state().watermark > watermark


def test_one_unreadable_invoice_does_not_stop_the_others(emulator: Any) -> None:
    bad, good = published("R1-BAD"), published("R1-GOOD")
    baseline()
    emulator.book_payment(bad, GROSS)
    emulator.book_payment(good, GROSS)
    emulator.state.invoices[bad]["paidAmount"] = "a lot"  # sevDesk sends something we cannot read

    run = scheduled()

    assert run["changed"]["paid"] == 1 and state("R1-GOOD")["claimStatus"] == "paid"
    [failure] = run["failed"]
    assert (failure["reason"], failure["invoiceId"], failure["externalId"]) == (
        "unreadable_invoice",
        "R1-BAD",
        bad,
    )
    assert state("R1-BAD")["claimStatus"] == "open"


def test_bookings_that_do_not_add_up_are_reported_not_guessed(emulator: Any) -> None:
    odd, fine = published("R1-ODD"), published("R1-FINE")
    baseline()
    emulator.book_payment(odd, GROSS)
    emulator.book_payment(fine, GROSS)
    emulator.state.logs_by_object.pop(f"Invoice/{odd}")  # its booking log is gone

    run = scheduled()

    assert [(f["reason"], f["invoiceId"]) for f in run["failed"]] == [("bookings_do_not_add_up", "R1-ODD")]
    assert state("R1-ODD")["claimStatus"] == "open" and state("R1-FINE")["claimStatus"] == "paid"


def test_many_newly_settled_invoices_cost_one_request_per_thousand_bookings(emulator: Any) -> None:
    ids = [published(f"R1-BULK-{n}") for n in range(4)]
    baseline()
    for n, external_id in enumerate(ids):
        if n == 3:
            emulator.book_payment(external_id, "5.00")
            emulator.write_off(external_id)
        else:
            emulator.book_payment(external_id, GROSS)
    emulator.requests.clear()

    run = scheduled()

    assert (run["changed"]["paid"], run["changed"]["writtenOff"]) == (3, 1), run
    assert [r.path for r in emulator.requests] == ["/Invoice", "/CheckAccountTransactionLog"]
    assert run["sevdeskRequests"] == 2
    assert state("R1-BULK-3")["paidAmount"] == "5.00"


def test_two_runs_at_once_log_one_event(emulator: Any, monkeypatch: Any) -> None:
    """The manual run stores between the scheduled run's read and its write."""
    from sevdesk_common import invoice_store

    external_id = published("R1-TWICE")
    baseline()
    emulator.book_payment(external_id, GROSS)
    manual: list[Any] = []
    between = _once_before_the_first_save(monkeypatch, lambda: manual.append(refresh()))

    run = scheduled()

    assert between.fired and manual[0].body["changed"]["paid"] == 1
    assert run["changed"]["paid"] == 0 and run["unchanged"] == 1
    assert len(synced_events("R1-TWICE")) == 1
    assert invoice_store.load("R1-TWICE") is not None and state("R1-TWICE")["claimStatus"] == "paid"


def test_an_earlier_read_never_overwrites_a_later_one(emulator: Any, monkeypatch: Any) -> None:
    """The scheduled run read a partial payment; before it stores, the rest is paid and the
    manual run stores that. The scheduled run's older read must not win."""
    external_id = published("R1-ORDER")
    baseline()
    emulator.book_payment(external_id, "20.00", account="cash")

    def pay_the_rest_and_sync() -> None:
        emulator.book_payment(external_id, "45.45")
        assert refresh().body["changed"]["paid"] == 1

    between = _once_before_the_first_save(monkeypatch, pay_the_rest_and_sync)

    run = scheduled()

    assert between.fired and run["changed"]["partiallyPaid"] == 0
    final = state("R1-ORDER")
    assert (final["claimStatus"], final["paidAmount"]) == ("paid", GROSS)
    assert [e["details"]["kind"] for e in synced_events("R1-ORDER")] == ["paid"]


class _Between:
    fired = False


def _once_before_the_first_save(monkeypatch: Any, action: Callable[[], None]) -> _Between:
    """Run `action` (another run) just before the next invoice write, once."""
    from sevdesk_common import invoice_store

    real = invoice_store.save
    between = _Between()

    def save(*args: Any, **kwargs: Any) -> Any:
        if not between.fired:
            between.fired = True
            monkeypatch.setattr(invoice_store, "save", real)  # the other run writes normally
            action()
        return real(*args, **kwargs)

    monkeypatch.setattr(invoice_store, "save", save)
    return between


def test_a_run_stops_inside_its_budget_and_the_next_goes_on(emulator: Any, monkeypatch: Any) -> None:
    from sevdesk_common import deadline

    use_page_size(monkeypatch, 2)
    ids = [published(f"R1-SLOW-{n}") for n in range(6)]
    baseline()
    for external_id in ids:
        emulator.book_payment(external_id, GROSS, account="cash")
    emulator.requests.clear()
    # The budget runs out after the second list page (each page: one list and one booking read).
    listed = lambda: sum(1 for r in emulator.requests if r.path == "/Invoice")  # noqa: E731
    real_remaining = deadline.remaining
    monkeypatch.setattr(deadline, "remaining", lambda: 100.0 if listed() < 2 else 1.0)

    stopped = scheduled()

    assert (stopped["status"], stopped["stoppedBy"]) == ("incomplete", "time"), stopped
    assert stopped["changed"]["paid"] == 2
    assert sync_state().pending is not None and sync_state().pending.offset == 2
    monkeypatch.setattr(deadline, "remaining", real_remaining)
    emulator.requests.clear()

    resumed = scheduled()  # not skipped: the stopped run set no lastSyncAt

    assert resumed["status"] == "completed" and resumed["changed"]["paid"] == 4, resumed
    offsets = [r.query["offset"] for r in emulator.requests if r.path == "/Invoice"]
    assert offsets[0] == "2"  # went on where it stopped
    assert sync_state().pending is None
    assert all(len(synced_events(f"R1-SLOW-{n}")) == 1 for n in range(6))


def test_the_summary_counts_requests_and_reads(emulator: Any) -> None:
    external_id = published("R1-COUNT")
    baseline()
    emulator.book_payment(external_id, GROSS)
    emulator.requests.clear()

    run = refresh()

    assert run.body["sevdeskRequests"] == len(emulator.requests) == 2
    # the run state, the changed invoice (one batch), the settings for lastSyncAt
    assert 2 <= run.body["dynamodbReads"] <= 4, run.body


def test_an_invoice_another_action_holds_is_left_to_it_and_read_again(emulator: Any) -> None:
    """Our own cancel is under way (its lease held) when sevDesk already shows the SR."""
    from datetime import UTC, datetime, timedelta

    from sevdesk_common import invoice_store
    from tests.integration.payment_sync_support import cancel_in_sevdesk

    external_id = published("R1-HELD")
    baseline()
    record = invoice_store.load("R1-HELD")
    assert record is not None
    lease = {"lock_owner": "cancel:another", "lock_action": "cancel"}
    held = invoice_store.save(
        record.changed(**lease, lock_expires_at=datetime.now(UTC) + timedelta(seconds=60))
    )
    sr = cancel_in_sevdesk(emulator, external_id)
    watermark = sync_state().watermark

    busy = scheduled()

    assert (busy["deferred"], busy["changed"]["cancelled"]) == (1, 0), busy
    assert synced_events("R1-HELD") == []
    # the watermark stays before it (not at the run's start), so the next run reads it again
    assert sync_state().watermark < datetime.fromisoformat(busy["startedAt"])
    assert sync_state().watermark <= max(datetime.fromisoformat(sr["update"]), watermark)
    invoice_store.save(held.changed(lock_owner=None, lock_action=None, lock_expires_at=None))

    free = refresh()

    assert free.body["changed"]["cancelled"] == 1 and state("R1-HELD")["claimStatus"] == "cancelled"


def test_sevdesks_rate_limit_is_waited_out_or_ends_the_run_for_the_next(emulator: Any) -> None:
    external_id = published("R1-LIMITED")
    baseline()
    emulator.book_payment(external_id, GROSS)
    emulator.faults.add(Fault(method="GET", path="/Invoice", kind="rate_limit", retry_after=1, times=None))

    limited = scheduled()

    assert (limited["status"], limited["stoppedBy"]) == ("incomplete", "rate_limit"), limited
    assert state("R1-LIMITED")["claimStatus"] == "open" and sync_state().pending is not None
    emulator.faults.clear()
    # one 429 whose Retry-After fits the client's longest pause (the suite sets it to 0 s)
    emulator.faults.add(Fault(method="GET", path="/Invoice", kind="rate_limit", retry_after=0, times=1))

    waited = scheduled()  # the client waits Retry-After and repeats

    assert waited["status"] == "completed" and waited["changed"]["paid"] == 1, waited
