"""The EventBridge PurchaseCompleted event through its Lambda, against moto (SQS dead-letter
queue) and the emulator: the invoice is created once per purchase, published and e-mailed with
autoTransferInvoices; a replay creates nothing new; a malformed, conflicting or refused event is
in the dead-letter queue with its reason, and replaying the queue after the fix finishes it."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest

from devtools import dlq
from devtools.sevdesk_emulator import Fault
from sevdesk_common.errors import AppError
from tests.conftest import DEAD_LETTER_QUEUE_URL
from tests.integration.test_publish import configure
from tests.support.invoke import load_event, running_as
from tests.support.lambda_context import FakeLambdaContext

pytestmark = pytest.mark.usefixtures("emulator", "token_configured")
INVOICE_ID = "PURCHASE-P-2026-0042"  # the purchase of events/purchase_completed.json
MARKER = f"R1-INVOICE:{INVOICE_ID}"
ARN = "arn:aws:lambda:eu-central-1:123456789012:function:PurchaseCompletedFunction"


def event(**detail: Any) -> dict[str, Any]:
    fixture = load_event("purchase_completed")
    fixture["detail"].update(detail)
    return fixture


def deliver(payload: Any) -> dict[str, Any]:
    from functions.purchase_completed.app import lambda_handler

    context = FakeLambdaContext("purchase_completed", invoked_function_arn=ARN)
    with running_as("purchase_completed"):
        result: dict[str, Any] = lambda_handler(payload, context)
    return result


def dead_letters() -> list[dict[str, Any]]:
    """Everything in the queue, left in it."""
    sqs = boto3.client("sqs")
    found = sqs.receive_message(
        QueueUrl=DEAD_LETTER_QUEUE_URL,
        MaxNumberOfMessages=10,
        VisibilityTimeout=0,
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    return [json.loads(m["Body"]) | {"attributes": m.get("MessageAttributes", {})} for m in found]


def invoices(emu: Any) -> list[dict[str, Any]]:
    return [i for i in emu.state.invoices.values() if i.get("customerInternalNote") == MARKER]


def log_types() -> list[str]:
    from sevdesk_common.services import billing

    return [e.type for e in reversed(billing.list_events(INVOICE_ID, limit=100, cursor=None).events)]


def writes(emu: Any) -> list[str]:
    return [f"{r.method} {r.path}" for r in emu.requests if r.method != "GET"]


def in_process(function: str, payload: Any) -> tuple[bool, Any]:
    """dlq's invoker for these tests: the handler in this process, like Lambda's RequestResponse."""
    assert function == ARN
    try:
        return True, deliver(payload)
    except AppError as error:
        return False, {"errorType": type(error).__name__, "errorMessage": error.message}


def test_with_auto_transfer_off_the_purchase_becomes_a_handed_over_invoice(emulator: Any) -> None:
    from sevdesk_common import invoice_store

    result = deliver(load_event("purchase_completed"))

    assert result == {
        "purchaseId": "P-2026-0042",
        "invoiceId": INVOICE_ID,
        "status": "handed_over",
        "autoTransfer": False,
    }
    record = invoice_store.load(INVOICE_ID)
    assert record is not None
    assert record.invoice.invoice_number == "RE-R1-2026-0042"
    assert str(record.invoice.invoice_date) == "2026-11-30"  # Berlin day of purchasedAt
    assert [p.name for p in record.invoice.positions] == ["MORELO Palace 90G - Anzahlung", "Überführung"]
    assert str(record.gross_amount) == "60559.10"
    assert record.handed_over_by == "system:purchase-events"
    assert log_types() == ["handed_over"]
    assert list(emulator.requests) == [] and dead_letters() == []


def test_with_auto_transfer_on_it_is_published_and_emailed_once_and_a_replay_adds_nothing(
    emulator: Any,
) -> None:
    configure(auto_transfer_invoices=True)

    first = deliver(load_event("purchase_completed"))
    emulator.requests.clear()
    again = deliver(load_event("purchase_completed"))

    assert first["status"] == again["status"] == "sent"
    [invoice] = invoices(emulator)
    assert first["externalId"] == again["externalId"] == invoice["id"]
    assert invoice["status"] == "200" and invoice["sendType"] == "VM"
    assert len([m for m in emulator.state.emails if m.get("to") == "buchhaltung@musterbau.example"]) == 1
    assert log_types() == ["handed_over", "published", "finalized", "sent"]
    assert writes(emulator) == []  # the replay wrote nothing to sevDesk
    assert dead_letters() == []


def test_without_send_email_it_is_published_only(emulator: Any) -> None:
    configure(auto_transfer_invoices=True)

    result = deliver(event(sendEmail=False))

    assert result["status"] == "published"
    assert log_types() == ["handed_over", "published", "finalized"]
    assert emulator.state.emails == [] or all(
        m.get("to") != "buchhaltung@musterbau.example" for m in emulator.state.emails
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (event(purchaseId=None), "detail.purchaseId"),
        (event(items=[]), "detail.items"),
        (event(discount="10%"), "detail.discount"),
        (event(purchasedAt="2026-11-30T11:15:00"), "detail.purchasedAt"),  # no offset: which day?
        (event(purchasedAt="0001-01-01T00:00:00+01:00"), "detail.purchasedAt"),
        (event(contact={"id": "x"}), "detail"),  # a buyer twice (and an incomplete one)
        ({**load_event("purchase_completed"), "detail-type": "PurchaseCancelled"}, "detail-type"),
        ({"detail": "not an object"}, "source"),
        ([1, 2, 3], "event"),
    ],
)
def test_a_malformed_event_goes_to_the_dead_letter_queue_with_the_reason(
    payload: Any, field: str, emulator: Any
) -> None:
    from sevdesk_common import invoice_store

    if isinstance(payload, dict) and payload.get("detail", {}) and isinstance(payload["detail"], dict):
        payload["detail"] = {k: v for k, v in payload["detail"].items() if v is not None}

    result = deliver(payload)

    assert result["status"] == "rejected" and result["reason"] == "malformed_event"
    [letter] = dead_letters()
    assert letter["requestPayload"] == payload
    assert letter["requestContext"]["condition"] == "RejectedByFunction"
    assert letter["requestContext"]["functionArn"] == ARN
    assert letter["responsePayload"]["errorType"] == "malformed_event"
    assert any(d["field"].startswith(field) for d in letter["responsePayload"]["details"]), letter
    assert letter["attributes"]["reason"]["StringValue"] == "malformed_event"
    assert invoice_store.load(INVOICE_ID) is None
    assert list(emulator.requests) == []


def test_other_content_for_a_stored_purchase_is_not_applied_but_dead_lettered(emulator: Any) -> None:
    from sevdesk_common import invoice_store

    deliver(load_event("purchase_completed"))
    changed = event(items=[{"name": "Anderes", "quantity": "1", "unitPrice": "1.00", "taxRate": "19"}])

    result = deliver(changed)

    assert result["status"] == "rejected" and result["reason"] == "purchase_conflict"
    [letter] = dead_letters()
    assert letter["responsePayload"]["errorType"] == "purchase_conflict"
    assert "P-2026-0042" in letter["responsePayload"]["errorMessage"]
    record = invoice_store.load(INVOICE_ID)
    assert record is not None and record.invoice.positions[0].name == "MORELO Palace 90G - Anzahlung"


def test_a_failure_that_may_pass_is_raised_for_lambdas_retries(emulator: Any) -> None:
    configure(auto_transfer_invoices=True)
    emulator.faults.add(Fault(method="POST", path="/Invoice/Factory/saveInvoice", kind="status", status=503))

    with pytest.raises(AppError) as raised:
        deliver(load_event("purchase_completed"))

    assert raised.value.status == 503
    assert dead_letters() == []  # Lambda's OnFailure destination takes it after the retries
    assert deliver(load_event("purchase_completed"))["status"] == "sent"  # a retry finishes it
    assert len(invoices(emulator)) == 1


def test_a_refused_publish_is_dead_lettered_and_replaying_the_queue_after_the_fix_finishes_it(
    emulator: Any,
) -> None:
    from sevdesk_common import invoice_store

    configure(auto_transfer_invoices=True)
    emulator.faults.add(Fault(method="POST", path="/Contact", kind="status", status=422, times=None))

    refused = deliver(load_event("purchase_completed"))

    assert refused["status"] == "failed" and refused["deadLettered"] is True
    [letter] = dead_letters()
    assert letter["responsePayload"]["errorType"] == "sevdesk_refused"
    assert invoices(emulator) == []

    # Replaying before the cause is fixed: refused again, one dead letter stays (the new one).
    sqs = boto3.client("sqs")
    early = dlq.redrive(sqs, DEAD_LETTER_QUEUE_URL, in_process, say=lambda _: None)
    assert (len(early.refused_again), len(early.replayed)) == (1, 0)
    assert len(dead_letters()) == 1

    emulator.faults.clear()  # the cause is fixed
    report = dlq.redrive(sqs, DEAD_LETTER_QUEUE_URL, in_process, say=lambda _: None)

    assert (len(report.replayed), len(report.refused_again), len(report.kept)) == (1, 0, 0)
    assert dead_letters() == []
    [invoice] = invoices(emulator)
    record = invoice_store.load(INVOICE_ID)
    assert record is not None and record.external_id == invoice["id"] and record.sent_at is not None


def test_a_replay_that_fails_again_keeps_the_message(emulator: Any) -> None:
    configure(auto_transfer_invoices=True)
    sqs = boto3.client("sqs")
    record = {  # what Lambda's OnFailure destination writes after the retries
        "version": "1.0",
        "timestamp": "2026-11-30T10:16:00Z",
        "requestContext": {
            "requestId": "r-1",
            "functionArn": ARN,
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": load_event("purchase_completed"),
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "OutcomeUnknown", "errorMessage": "sevDesk did not confirm"},
    }
    sqs.send_message(QueueUrl=DEAD_LETTER_QUEUE_URL, MessageBody=json.dumps(record))
    emulator.faults.add(
        Fault(method="POST", path="/Invoice/Factory/saveInvoice", kind="status", status=503, times=None)
    )

    failing = dlq.redrive(sqs, DEAD_LETTER_QUEUE_URL, in_process, say=lambda _: None)

    assert len(failing.kept) == 1 and not failing.ok
    assert len(dead_letters()) == 1
    emulator.faults.clear()
    assert dlq.redrive(sqs, DEAD_LETTER_QUEUE_URL, in_process, say=lambda _: None).ok
    assert dead_letters() == [] and len(invoices(emulator)) == 1


def test_an_eventbridge_dead_letter_is_replayed_to_the_function_it_names(emulator: Any) -> None:
    sqs = boto3.client("sqs")
    sqs.send_message(  # what EventBridge writes when it could not deliver: the event itself
        QueueUrl=DEAD_LETTER_QUEUE_URL,
        MessageBody=json.dumps(load_event("purchase_completed")),
        MessageAttributes={
            "ERROR_CODE": {"DataType": "String", "StringValue": "SDK_CLIENT_ERROR"},
            "TARGET_ARN": {"DataType": "String", "StringValue": ARN},
        },
    )

    report = dlq.redrive(sqs, DEAD_LETTER_QUEUE_URL, in_process, say=lambda _: None)

    assert len(report.replayed) == 1 and dead_letters() == []
    assert log_types() == ["handed_over"]


def test_a_dry_run_changes_nothing(emulator: Any) -> None:
    deliver(copy.deepcopy([1]))
    report = dlq.redrive(
        boto3.client("sqs"), DEAD_LETTER_QUEUE_URL, in_process, dry_run=True, say=lambda _: None
    )

    assert len(report.kept) == 1
    assert len(dead_letters()) == 1


def test_without_a_queue_a_refusal_fails_the_invocation(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import clear_process_caches

    monkeypatch.delenv("DEAD_LETTER_QUEUE_URL")
    clear_process_caches()

    with pytest.raises(RuntimeError, match="no DEAD_LETTER_QUEUE_URL"):
        deliver({"not": "an event"})
