"""Payment sync through its scheduled function (events/payment_sync.json) and its route, against
the emulator: what R1 sees after a payment, a partial one, too much, a write-off, a cancellation
in sevDesk, and our own cancellation; one `payment_synced` event per real change."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from devtools.sevdesk_emulator import Fault
from devtools.sevdesk_emulator.store import touch
from tests.integration.payment_sync_support import (
    GROSS,
    baseline,
    cancel_in_sevdesk,
    published,
    refresh,
    scheduled,
    state,
    synced_events,
)
from tests.support.invoke import ADMIN, STAFF, invoke

pytestmark = pytest.mark.usefixtures("emulator", "token_configured")


def candidates() -> list[str]:
    from sevdesk_common import invoice_store

    return sorted(r.invoice_id for r in invoice_store.query_payment_sync_candidates())


def test_a_full_payment_shows_paid_with_its_pay_date_and_one_event(emulator: Any) -> None:
    external_id = published("R1-PAID")
    baseline()
    emulator.book_payment(external_id, GROSS)
    pay_date = emulator.state.invoices[external_id]["payDate"]

    run = scheduled()

    assert run["status"] == "completed" and run["changed"]["paid"] == 1, run
    paid = state("R1-PAID")
    assert (paid["claimStatus"], paid["settlement"], paid["paidAmount"]) == ("paid", "paid", GROSS)
    assert paid["paidAt"] is not None and paid["writtenOffAmount"] is None
    [event] = synced_events("R1-PAID")
    assert event["actor"] == "system:payment-sync"
    details = event["details"]
    assert details["kind"] == "paid"
    assert (details["from"]["claimStatus"], details["to"]["claimStatus"]) == ("open", "paid")
    assert details["sevdesk"]["status"] == 1000 and details["sevdesk"]["payDate"] == pay_date
    assert details["sevdesk"]["bookings"] == {"money": GROSS, "writtenOff": "0"}
    assert candidates() == []  # it left the sparse index


def test_a_run_that_finds_nothing_new_writes_nothing(emulator: Any) -> None:
    external_id = published("R1-QUIET")
    baseline()
    emulator.book_payment(external_id, GROSS)
    scheduled()
    version = state("R1-QUIET")["version"]

    again = refresh()

    assert again.status == 200 and again.body["changed"] == dict.fromkeys(again.body["changed"], 0)
    assert again.body["unchanged"] == 1 and again.body["failedCount"] == 0
    assert state("R1-QUIET")["version"] == version and len(synced_events("R1-QUIET")) == 1


def test_a_partial_payment_then_the_rest(emulator: Any) -> None:
    external_id = published("R1-PART")
    baseline()
    emulator.book_payment(external_id, "20.00", account="cash")

    first = scheduled()

    assert first["changed"]["partiallyPaid"] == 1
    part = state("R1-PART")
    assert (part["claimStatus"], part["paidAmount"], part["settlement"]) == ("partially_paid", "20.00", None)
    assert candidates() == ["R1-PART"]  # still open

    emulator.book_payment(external_id, "45.45")
    second = refresh()

    assert second.body["changed"]["paid"] == 1, second.body
    paid = state("R1-PART")
    assert (paid["claimStatus"], paid["paidAmount"], paid["settlement"]) == ("paid", GROSS, "paid")
    assert [e["details"]["kind"] for e in synced_events("R1-PART")] == ["partially_paid", "paid"]
    assert synced_events("R1-PART")[1]["actor"] == ADMIN["sub"]


def test_an_over_payment_is_paid_above_the_gross_amount(emulator: Any) -> None:
    external_id = published("R1-OVER")
    baseline()
    emulator.book_payment(external_id, "70.00")

    run = scheduled()

    assert run["changed"]["overpaid"] == 1
    over = state("R1-OVER")
    assert (over["claimStatus"], over["settlement"]) == ("paid", "paid")
    assert Decimal(over["paidAmount"]) == Decimal(70) > Decimal(over["grossAmount"])


def test_a_write_off_is_never_reported_as_money(emulator: Any) -> None:
    partly = published("R1-WO-PART")
    nothing = published("R1-WO-ALL")
    baseline()
    emulator.book_payment(partly, "10.00")
    emulator.write_off(partly)
    emulator.write_off(nothing)
    assert emulator.state.invoices[partly]["status"] == "1000"  # sevDesk reads "paid" in full
    assert Decimal(str(emulator.state.invoices[nothing]["paidAmount"])) == Decimal(GROSS)

    run = scheduled()

    assert run["changed"]["writtenOff"] == 2 and run["changed"]["paid"] == 0, run
    some = state("R1-WO-PART")
    assert (some["claimStatus"], some["settlement"]) == ("paid", "written_off")
    assert (some["paidAmount"], some["writtenOffAmount"]) == ("10.00", "55.45")
    none = state("R1-WO-ALL")
    assert (none["paidAmount"], none["writtenOffAmount"], none["settlement"]) == (
        "0.00",
        GROSS,
        "written_off",
    )
    [event] = synced_events("R1-WO-PART")
    assert event["details"]["sevdesk"]["bookings"] == {"money": "10", "writtenOff": "55.45"}  # as read
    assert candidates() == []


def test_a_cancellation_in_sevdesk_is_cancelled_with_its_cancellation_invoice(emulator: Any) -> None:
    external_id = published("R1-SEVCANCEL")
    baseline()
    sr = cancel_in_sevdesk(emulator, external_id)
    original = emulator.state.invoices[external_id]
    assert (original["status"], original["paidAmount"], original["payDate"]) == ("1000", 0, None)

    run = scheduled()

    assert run["changed"]["cancelled"] == 1 and run["changed"]["paid"] == 0, run
    cancelled = state("R1-SEVCANCEL")
    assert (cancelled["claimStatus"], cancelled["documentStatus"]) == ("cancelled", "cancelled")
    assert cancelled["cancellation"]["externalId"] == sr["id"]
    assert cancelled["cancellation"]["externalInvoiceNumber"] == sr["invoiceNumber"]
    assert cancelled["paidAmount"] == "0.00" and cancelled["settlement"] is None
    [event] = synced_events("R1-SEVCANCEL")
    assert event["details"]["sevdesk"]["cancellationId"] == sr["id"]
    assert candidates() == []
    again = refresh({"reconcile": True})
    assert again.body["checked"] <= 1 and again.body["changed"]["cancelled"] == 0


def test_one_invoice_is_read_directly_and_its_sr_found_by_our_marker(emulator: Any) -> None:
    external_id = published("R1-ONE")
    cancel_in_sevdesk(emulator, external_id)
    emulator.requests.clear()

    result = refresh({"invoiceId": "R1-ONE"})

    assert result.status == 200, result.body
    assert result.body["trigger"] == "invoice" and result.body["changed"]["cancelled"] == 1
    assert state("R1-ONE")["claimStatus"] == "cancelled"
    paths = [r.path for r in emulator.requests]
    assert paths == [f"/Invoice/{external_id}", "/Invoice"]  # the invoice, then its SR by marker
    assert result.body["sevdeskRequests"] == 2


def test_our_own_cancellation_gives_no_second_event_and_no_other_state(emulator: Any) -> None:
    published("R1-OWNCANCEL")
    baseline()
    cancelled = invoke("invoice_cancel", claims=STAFF, path_parameters={"invoiceId": "R1-OWNCANCEL"})
    assert cancelled.status == 200, cancelled.body
    before = state("R1-OWNCANCEL")

    run = scheduled()
    again = refresh({"reconcile": True})

    assert run["changed"]["cancelled"] == 0 and again.body["changed"]["cancelled"] == 0
    assert state("R1-OWNCANCEL") == before
    assert synced_events("R1-OWNCANCEL") == []


def test_a_cancellation_of_ours_still_unconfirmed_is_left_to_the_cancel_route(emulator: Any) -> None:
    published("R1-PENDING")
    baseline()
    emulator.faults.add(Fault(method="POST", path=r"^/Invoice/\d+/cancelInvoice", kind="lost_response"))
    emulator.faults.add(Fault(method="GET", path="/Invoice", status=500, times=3))  # nor found by its marker
    lost = invoke("invoice_cancel", claims=STAFF, path_parameters={"invoiceId": "R1-PENDING"})
    assert lost.status == 503, lost.body  # applied in sevDesk, unconfirmed here

    run = scheduled()

    assert [f["reason"] for f in run["failed"]] == ["write_pending"]
    assert state("R1-PENDING")["claimStatus"] == "open" and synced_events("R1-PENDING") == []
    settled = invoke("invoice_cancel", claims=STAFF, path_parameters={"invoiceId": "R1-PENDING"})
    assert settled.status == 200 and settled.body["claimStatus"] == "cancelled"
    assert refresh({"reconcile": True}).body["failedCount"] == 0
    assert synced_events("R1-PENDING") == []


def test_an_invoice_sevdesk_shows_open_again_is_reopened(emulator: Any) -> None:
    external_id = published("R1-REOPEN")
    baseline()
    emulator.book_payment(external_id, GROSS)
    scheduled()
    invoice = emulator.state.invoices[external_id]
    invoice |= {"status": "200", "paidAmount": 0, "payDate": None}  # bookings undone in sevDesk
    touch(invoice, emulator.now())

    result = refresh()

    assert result.body["changed"]["reopened"] == 1, result.body
    reopened = state("R1-REOPEN")
    assert (reopened["claimStatus"], reopened["paidAmount"], reopened["paidAt"]) == ("open", "0.00", None)
    assert candidates() == ["R1-REOPEN"]


def test_the_route_is_for_admins_and_checks_its_body(emulator: Any) -> None:
    published("R1-ROUTE")

    assert refresh(claims=STAFF).status == 403
    unknown = refresh({"invoiceId": "R1-NOT-THERE"})
    assert unknown.status == 404 and unknown.body["error"]["code"] == "invoice_not_found"
    bad = refresh({"invoiceId": "no spaces", "extra": 1})
    assert bad.status == 400
    assert {d["field"] for d in bad.body["error"]["details"]} == {"invoiceId", "extra"}
    handed = invoke(
        "billing_invoice_put",
        claims=STAFF,
        body={**_handover_body(), "invoiceNumber": "RE-DRAFT"},
        path_parameters={"invoiceId": "R1-NOT-PUBLISHED"},
    )
    assert handed.status == 201
    draft = refresh({"invoiceId": "R1-NOT-PUBLISHED"})
    assert draft.status == 409 and draft.body["error"]["code"] == "invoice_not_published"


def _handover_body() -> dict[str, Any]:
    import json

    from tests.support.invoke import load_event

    body: dict[str, Any] = json.loads(load_event("billing_invoice_put")["body"])
    return body
