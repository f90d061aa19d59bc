"""The classification table (services/payment_classification.py), row by row, from sevDesk
invoices as the wire sends them, and how two runs' progress merges in the run state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from sevdesk_common.models.payment_sync import ChangesPass, SyncState
from sevdesk_common.services.payment_classification import (
    Bookings,
    NeedsBookings,
    NeedsCancellation,
    Unclear,
    Verdict,
    classify,
)
from sevdesk_common.services.payment_run_state import Progress, merge
from sevdesk_common.services.payment_settle import our_invoice_id
from sevdesk_common.sevdesk.models import Invoice

PAY_DATE = "2026-10-05T00:00:00+02:00"


def invoice(status: int, paid: Any, gross: str = "65.45", **fields: Any) -> Invoice:
    wire = {
        "id": "135000001",
        "invoiceType": "RE",
        "status": str(status),
        "paidAmount": paid,
        "sumGross": gross,
        "payDate": PAY_DATE if paid else None,
        "update": "2026-10-05T09:00:00+02:00",
        **fields,
    }
    return Invoice.model_validate(wire)


def sr_of(original: str = "135000001") -> Invoice:
    return Invoice.model_validate(
        {
            "id": "135000002",
            "invoiceNumber": "RE-1001",
            "invoiceType": "SR",
            "status": "1000",
            "paidAmount": 0,
            "sumGross": "-65.45",
            "origin": {"id": original, "objectName": "Invoice"},
        }
    )


def verdict(outcome: Any) -> Verdict:
    assert isinstance(outcome, Verdict), outcome
    return outcome


def test_an_sr_whose_origin_is_the_invoice_is_a_cancellation_whatever_the_status() -> None:
    # the measured cancelled original: 1000, paid 0, payDate null
    found = verdict(classify(invoice(1000, 0), cancellation=sr_of()))

    assert found.kind == "cancelled" and found.claim.claim_status == "cancelled"
    assert found.claim.cancellation is not None
    assert (found.claim.cancellation.external_id, found.claim.cancellation.external_invoice_number) == (
        "135000002",
        "RE-1001",
    )
    assert found.claim.paid_amount == 0 and found.claim.settlement is None
    assert found.evidence["cancellationId"] == "135000002"
    assert verdict(classify(None, cancellation=sr_of())).kind == "cancelled"  # the SR alone is enough


def test_1000_with_nothing_paid_is_never_paid() -> None:
    assert isinstance(classify(invoice(1000, 0)), NeedsCancellation)
    unclear = classify(invoice(1000, 0), cancellation_searched=True)
    assert isinstance(unclear, Unclear) and unclear.reason == "settled_without_payment"


def test_settled_needs_the_bookings_before_anything_is_said() -> None:
    assert isinstance(classify(invoice(1000, 65.45)), NeedsBookings)
    assert isinstance(classify(invoice(200, 65.45)), NeedsBookings)  # paid in full without 1000


def test_money_on_bank_and_cash_is_paid_with_the_pay_date() -> None:
    found = verdict(classify(invoice(1000, 65.45), bookings=Bookings(Decimal("65.45"), Decimal(0))))

    assert found.kind == "paid"
    assert (found.claim.claim_status, found.claim.settlement) == ("paid", "paid")
    assert found.claim.paid_amount == Decimal("65.45") and found.claim.written_off_amount is None
    assert found.claim.paid_at == datetime(2026, 10, 4, 22, 0, tzinfo=UTC)
    assert found.evidence["bookings"] == {"money": "65.45", "writtenOff": "0"}


def test_more_money_than_the_gross_is_an_over_payment() -> None:
    found = verdict(classify(invoice(1000, 70), bookings=Bookings(Decimal(70), Decimal(0))))

    assert found.kind == "overpaid" and found.claim.paid_amount == Decimal(70)
    assert found.claim.settlement == "paid"


def test_a_write_off_reports_only_the_money_that_came() -> None:
    found = verdict(classify(invoice(1000, 65.45), bookings=Bookings(Decimal(10), Decimal("55.45"))))

    assert found.kind == "written_off"
    assert (found.claim.claim_status, found.claim.settlement) == ("paid", "written_off")
    assert (found.claim.paid_amount, found.claim.written_off_amount) == (Decimal(10), Decimal("55.45"))
    nothing = verdict(classify(invoice(1000, 65.45), bookings=Bookings(Decimal(0), Decimal("65.45"))))
    assert nothing.claim.paid_amount == 0 and nothing.kind == "written_off"


def test_bookings_that_do_not_add_up_leave_it_alone() -> None:
    unclear = classify(invoice(1000, 65.45), bookings=Bookings(Decimal(60), Decimal(0)))

    assert isinstance(unclear, Unclear) and unclear.reason == "bookings_do_not_add_up"


@pytest.mark.parametrize(("status", "paid"), [(750, "20.00"), (200, "20")])
def test_part_of_the_gross_is_partially_paid(status: int, paid: str) -> None:
    found = verdict(classify(invoice(status, paid)))

    assert found.kind == "partially_paid"
    assert found.claim.claim_status == "partially_paid" and found.claim.paid_amount == Decimal(20)
    assert found.claim.paid_at is not None


def test_open_with_nothing_paid_is_open() -> None:
    found = verdict(classify(invoice(200, 0)))

    assert found.claim.claim_status == "open" and found.claim.paid_at is None
    assert found.kind == "reopened"  # the kind a change to it is logged with


@pytest.mark.parametrize(
    ("status", "fields"), [(100, {}), (500, {}), (200, {"invoiceType": "AR"}), (200, {"invoiceType": "SR"})]
)
def test_other_types_and_statuses_are_left_alone(status: int, fields: dict[str, Any]) -> None:
    unclear = classify(invoice(status, 0, **fields))

    assert isinstance(unclear, Unclear) and unclear.reason == "unexpected_status"


def test_our_marker_names_our_invoice() -> None:
    assert our_invoice_id("R1-INVOICE:R1-INV-2026-0001") == "R1-INV-2026-0001"
    assert our_invoice_id("R1-INVOICE:") is None
    assert our_invoice_id("R1-INVOICE:with space") is None
    assert our_invoice_id("SEED-1") is None and our_invoice_id(None) is None


# ------------------------------------------------------------------ the run state of two runs

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def pass_until(minutes: int, offset: int = 0) -> ChangesPass:
    return ChangesPass(window_from=T0, until=T0 + timedelta(minutes=minutes), offset=offset)


def test_the_later_watermark_and_reconciliation_win() -> None:
    stored = SyncState(watermark=T0 + timedelta(minutes=20), last_reconciled_at=T0, version=4)
    ours = Progress(watermark=T0 + timedelta(minutes=10), last_reconciled_at=T0 + timedelta(minutes=5))

    merged = merge(stored, ours)

    assert merged.watermark == T0 + timedelta(minutes=20)
    assert merged.last_reconciled_at == T0 + timedelta(minutes=5)
    assert merged.version == 4  # the write is conditioned on what is stored


def test_a_read_both_runs_continued_keeps_the_furthest_offset_until_one_finishes_it() -> None:
    stored = SyncState(watermark=T0, pending=pass_until(10, offset=3000), version=2)

    behind = merge(stored, Progress(pending=pass_until(10, offset=2000), worked_on=pass_until(10)))
    assert behind.pending == pass_until(10, offset=3000)
    finished = merge(stored, Progress(watermark=T0 + timedelta(minutes=10), worked_on=pass_until(10)))
    assert finished.pending is None and finished.watermark == T0 + timedelta(minutes=10)


def test_a_stopped_read_is_dropped_when_another_run_read_past_it() -> None:
    stored = SyncState(watermark=T0 + timedelta(minutes=30), version=3)

    merged = merge(stored, Progress(pending=pass_until(10, offset=1000), worked_on=pass_until(10)))

    assert merged.pending is None
