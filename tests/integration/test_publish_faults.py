"""Publish under injected faults: every ambiguous write ends with exactly one sevDesk invoice
(one contact, one number), and a failed step is finished by publishing again."""

from __future__ import annotations

import re
from typing import Any

import pytest

from devtools.sevdesk_emulator import Fault
from tests.integration.test_publish import (
    INVOICE_ID,
    TEMPLATE_CLASSIC,
    configure,
    event_log,
    hand_over,
    ours,
    publish,
)

pytestmark = pytest.mark.usefixtures("emulator", "token_configured")
SAVE = "/Invoice/Factory/saveInvoice"


def calls(emu: Any, method: str, path: str) -> int:
    """Requests to `path` (a regex when it starts with ^, like the emulator's faults)."""
    return len(
        [
            r
            for r in emu.requests
            if r.method == method and (re.match(path, r.path) if path[0] == "^" else r.path == path)
        ]
    )


def stored() -> Any:
    from sevdesk_common import invoice_store

    record = invoice_store.load(INVOICE_ID)
    assert record is not None
    return record


def assert_published_once(emu: Any, state: dict[str, Any]) -> None:
    [invoice] = ours(emu)
    assert invoice["status"] == "200"
    assert state["externalId"] == invoice["id"]
    assert state["externalInvoiceNumber"] == invoice["invoiceNumber"] == "RE-1000"
    assert state["documentStatus"] == "finalized"
    assert state["accountingSyncStatus"] == "synced"
    assert emu.state.next_invoice_number == 1001  # one number drawn
    assert stored().pending_write is None


@pytest.mark.parametrize(
    "fault",
    [
        Fault(method="POST", path=SAVE, kind="lost_response"),
        Fault(method="POST", path=SAVE, kind="timeout", apply=True, delay=3),
        Fault(method="POST", path=SAVE, kind="status", status=500, apply=True),
    ],
    ids=["lost_response", "timeout", "500_applied"],
)
def test_an_applied_save_with_unknown_outcome_is_adopted_by_its_marker(emulator: Any, fault: Fault) -> None:
    hand_over()
    emulator.faults.add(fault)

    result = publish()

    assert result.status == 200, result.body
    assert_published_once(emulator, result.body)
    assert calls(emulator, "POST", SAVE) == 1
    published = [e for e in event_log() if e["type"] == "published"]
    assert len(published) == 1 and published[0]["details"]["reconciled"] is True


def test_a_503_not_applied_fails_clearly_then_publish_creates_exactly_one(emulator: Any) -> None:
    hand_over()
    emulator.faults.add(Fault(method="POST", path=SAVE, kind="status", status=503))

    failed = publish()

    assert failed.status == 503
    assert failed.body["error"]["code"] == "sevdesk_outcome_unknown"
    assert not ours(emulator)
    record = stored()
    assert record.accounting_sync_status == "outcome_unknown"
    assert record.pending_write and record.pending_write.operation == "saveInvoice"  # read first next time
    assert record.last_error and record.last_error["code"] == "sevdesk_outcome_unknown"
    last = event_log()[-1]
    assert last["type"] == "publish_failed" and last["details"]["step"] == "create"

    again = publish()

    assert again.status == 200, again.body
    assert_published_once(emulator, again.body)
    assert calls(emulator, "POST", SAVE) == 2
    assert again.body["lastError"] is None


def test_a_refusal_with_a_sevdesk_code_is_logged_and_not_left_pending(emulator: Any) -> None:
    from sevdesk_common import contact_store

    contact_store.put_contact_link("R1-CO-company-4711", "999999")  # a contact deleted in sevDesk
    hand_over()

    result = publish()

    assert result.status == 404
    assert result.body["error"]["code"] == "sevdesk_not_found"
    record = stored()
    assert record.accounting_sync_status == "failed"
    assert record.pending_write is None
    failed = event_log()[-1]
    assert failed["type"] == "publish_failed"
    assert failed["details"]["sevdeskCode"] == 151
    assert failed["details"]["message"]


def test_a_lost_send_by_is_reconciled_and_the_number_assigned_once(emulator: Any) -> None:
    hand_over()
    emulator.faults.add(Fault(method="PUT", path="^/Invoice/\\d+/sendBy", kind="lost_response"))

    result = publish()

    assert result.status == 200, result.body
    assert_published_once(emulator, result.body)
    assert calls(emulator, "PUT", r"^/Invoice/\d+/sendBy") == 1


def test_a_send_by_that_did_not_apply_is_finished_by_publishing_again(emulator: Any) -> None:
    hand_over()
    emulator.faults.add(Fault(method="PUT", path="^/Invoice/\\d+/sendBy", kind="status", status=503))

    failed = publish()

    assert failed.status == 503
    record = stored()
    assert record.external_id and record.document_status == "draft"
    assert record.accounting_sync_status == "outcome_unknown"
    assert event_log()[-1]["details"]["step"] == "finalize"

    again = publish()

    assert again.status == 200, again.body
    assert_published_once(emulator, again.body)
    assert calls(emulator, "POST", SAVE) == 1  # finalize resumed; nothing created again
    assert [e["type"] for e in event_log()] == ["handed_over", "published", "publish_failed", "finalized"]


def test_a_refused_finalize_is_finished_by_publishing_again(emulator: Any) -> None:
    hand_over()
    emulator.faults.add(Fault(method="PUT", path="^/Invoice/\\d+/sendBy", kind="status", status=422))

    assert publish().status == 422
    assert stored().accounting_sync_status == "failed"
    assert stored().pending_write is None

    again = publish()

    assert again.status == 200, again.body
    assert_published_once(emulator, again.body)
    assert calls(emulator, "POST", SAVE) == 1


def test_a_change_parameter_500_is_retried_by_the_client(emulator: Any) -> None:
    configure(template_eb_ar=TEMPLATE_CLASSIC)
    hand_over()
    emulator.faults.add(Fault(method="PUT", path="^/Invoice/\\d+/changeParameter", kind="status", status=500))

    result = publish()

    assert result.status == 200, result.body
    assert ours(emulator)[0]["_template"] == TEMPLATE_CLASSIC
    assert calls(emulator, "PUT", r"^/Invoice/\d+/changeParameter") == 2


def test_a_change_parameter_that_keeps_failing_is_resumable(emulator: Any) -> None:
    configure(template_eb_ar=TEMPLATE_CLASSIC)
    hand_over()
    emulator.faults.add(
        Fault(method="PUT", path="^/Invoice/\\d+/changeParameter", kind="status", status=500, times=None)
    )

    failed = publish()

    assert failed.status == 502
    assert stored().document_status == "draft"
    assert event_log()[-1]["details"]["step"] == "template"
    emulator.faults.clear()

    again = publish()

    assert again.status == 200, again.body
    assert_published_once(emulator, again.body)
    assert ours(emulator)[0]["_template"] == TEMPLATE_CLASSIC


def test_a_lost_contact_create_is_reconciled_by_customer_number(emulator: Any) -> None:
    hand_over()
    emulator.faults.add(Fault(method="POST", path="/Contact", kind="lost_response"))

    result = publish()

    assert result.status == 200, result.body
    [contact] = emulator.state.contacts.values()
    assert result.body["sevdeskContactId"] == contact["id"]
    assert calls(emulator, "POST", "/Contact") == 1
    assert_published_once(emulator, result.body)


def test_a_contact_create_that_did_not_apply_is_created_once_on_the_next_publish(emulator: Any) -> None:
    hand_over()
    emulator.faults.add(Fault(method="POST", path="/Contact", kind="status", status=503))

    assert publish().status == 503
    assert not emulator.state.contacts

    again = publish()

    assert again.status == 200, again.body
    assert len(emulator.state.contacts) == 1
    assert_published_once(emulator, again.body)
