"""After a create whose outcome is unknown and that a read did not find, publish waits out a
grace period before creating again: sevDesk may still apply the first attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devtools.sevdesk_emulator import Fault
from tests.conftest import SEVDESK_TOKEN, clear_process_caches
from tests.integration.test_publish import hand_over, ours, publish
from tests.integration.test_publish_faults import SAVE, calls, stored

pytestmark = pytest.mark.usefixtures("emulator", "token_configured")


@pytest.fixture(autouse=True)
def grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMBIGUOUS_WRITE_GRACE_SECONDS", "60")
    clear_process_caches()


def test_a_retry_within_the_grace_period_reads_but_does_not_create(emulator: Any) -> None:
    hand_over()
    emulator.faults.add(Fault(method="POST", path=SAVE, kind="status", status=503))
    assert publish().status == 503

    early = publish()

    assert early.status == 503
    assert early.body["error"]["code"] == "sevdesk_outcome_unknown"
    assert 1 <= int(early.headers["retry-after"]) <= 60
    assert calls(emulator, "POST", SAVE) == 1
    assert calls(emulator, "GET", "/Invoice") >= 2  # looked up both times
    assert stored().pending_write is not None


def test_retries_within_the_grace_period_log_the_incident_once(emulator: Any) -> None:
    from tests.integration.test_publish import event_log

    hand_over()
    emulator.faults.add(Fault(method="POST", path=SAVE, kind="status", status=503))
    answers = [publish() for _ in range(5)]

    assert [a.status for a in answers] == [503] * 5
    assert all(a.body["error"]["code"] == "sevdesk_outcome_unknown" for a in answers)
    assert all(int(a.headers["retry-after"]) >= 1 for a in answers)
    assert [e["type"] for e in event_log()] == ["handed_over", "publish_failed"]  # one per real change


def test_the_late_applied_first_attempt_is_adopted_not_duplicated(emulator: Any) -> None:
    from sevdesk_common.clients import client_for
    from sevdesk_common.sevdesk.markers import invoice_marker as marker
    from sevdesk_common.sevdesk.payloads import InvoicePositionPayload, InvoiceSavePayload

    hand_over()
    emulator.faults.add(Fault(method="POST", path=SAVE, kind="status", status=503))
    assert publish().status == 503
    emulator.faults.clear()
    record = stored()
    # sevDesk applies the first attempt after all: an invoice with our marker appears.
    client_for(SEVDESK_TOKEN).save_invoice(
        InvoiceSavePayload(
            contact_id=record.sevdesk_contact_id,
            contact_person_id=client_for(SEVDESK_TOKEN).list_sev_users()[0].id,
            invoice_date=record.invoice.invoice_date,
            customer_internal_note=marker(record.invoice_id),
            positions=[InvoicePositionPayload(name="Beratung", quantity=3, price=10, tax_rate=19)],
        )
    )
    emulator.requests.clear()

    result = publish()

    assert result.status == 200, result.body
    assert len(ours(emulator)) == 1
    assert calls(emulator, "POST", SAVE) == 0
    assert result.body["externalInvoiceNumber"] == "RE-1000"


def test_after_the_grace_period_it_creates_exactly_one(emulator: Any) -> None:
    hand_over()
    emulator.faults.add(Fault(method="POST", path=SAVE, kind="status", status=503))
    assert publish().status == 503
    from sevdesk_common import invoice_store

    record = stored()
    long_ago = datetime.now(UTC) - timedelta(seconds=61)
    invoice_store.save(record.changed(pending_write=record.pending_write.model_copy(update={"at": long_ago})))

    result = publish()

    assert result.status == 200, result.body
    assert len(ours(emulator)) == 1
    assert calls(emulator, "POST", SAVE) == 2
