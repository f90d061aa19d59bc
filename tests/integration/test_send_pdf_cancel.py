"""send, pdf and cancel through their Lambda handlers (events/ fixtures) against the emulator."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

import pytest

from devtools.sevdesk_emulator import Fault
from devtools.sevdesk_emulator.store import TEMPLATE_CLASSIC, TEMPLATE_MODERN
from tests.support.invoke import EXTERNAL, STAFF, ApiResult, invoke, load_event

pytestmark = pytest.mark.usefixtures("aws", "token_configured")
INVOICE_ID = "R1-INV-2026-0001"
PATH = {"invoiceId": INVOICE_ID}
RECIPIENT = "buchhaltung@musterbau.example"


# --------------------------------------------------------------------------- helpers


def hand_over(invoice_id: str = INVOICE_ID, **changes: Any) -> None:
    body = json.loads(load_event("billing_invoice_put")["body"]) | changes
    result = invoke("billing_invoice_put", claims=STAFF, body=body, path_parameters={"invoiceId": invoice_id})
    assert result.status == 201, result.body


def publish(emulator: Any, invoice_id: str = INVOICE_ID, *, finalize: bool = True) -> str:
    """Publish through the publish route; without `finalize` sevDesk refuses the finalize step,
    which leaves the invoice a draft there. Returns the sevDesk id."""
    if not finalize:
        emulator.faults.add(Fault(method="PUT", path=r"^/Invoice/\d+/sendBy", kind="status", status=422))
    result = invoke("invoice_publish", claims=STAFF, path_parameters={"invoiceId": invoice_id})
    assert result.status == (200 if finalize else 422), result.body
    external_id = record(invoice_id).external_id
    assert external_id is not None
    return external_id


def published(emulator: Any, invoice_id: str = INVOICE_ID, *, finalize: bool = True) -> str:
    hand_over(invoice_id)
    external_id = publish(emulator, invoice_id, finalize=finalize)
    emulator.requests.clear()
    return external_id


def record(invoice_id: str = INVOICE_ID) -> Any:
    from sevdesk_common import invoice_store

    return invoice_store.load(invoice_id)


def events(invoice_id: str = INVOICE_ID) -> list[dict[str, Any]]:
    result = invoke("billing_invoice_events", claims=STAFF, path_parameters={"invoiceId": invoice_id})
    return result.body["events"]


def send(body: Any = None, invoice: dict[str, str] = PATH) -> ApiResult:
    return invoke("invoice_send", claims=STAFF, body=body, path_parameters=invoice)


def pdf(invoice: dict[str, str] = PATH) -> ApiResult:
    return invoke("invoice_pdf", claims=STAFF, path_parameters=invoice)


def cancel(invoice: dict[str, str] = PATH) -> ApiResult:
    return invoke("invoice_cancel", claims=STAFF, path_parameters=invoice)


def sent_mails(emulator: Any) -> list[dict[str, Any]]:
    return list(emulator.state.emails)


def cancellations(emulator: Any, external_id: str) -> list[dict[str, Any]]:
    return [
        i
        for i in emulator.state.invoices.values()
        if i["invoiceType"] == "SR" and (i.get("origin") or {}).get("id") == external_id
    ]


def set_sr_templates(eb: str | None = None, kop: str | None = None) -> None:
    from sevdesk_common.services.config import modify_config

    modify_config(lambda c: c.model_copy(update={"template_eb_sr": eb, "template_kop_sr": kop}))


def lose_response(emulator: Any, action: str, method: str = "POST") -> None:
    emulator.faults.add(Fault(method=method, path=rf"^/Invoice/\d+/{action}", kind="lost_response"))


# --------------------------------------------------------------------------- send


def test_send_mails_the_recipient_once_with_defaults_and_logs_it(emulator: Any) -> None:
    external_id = published(emulator)
    number = emulator.state.invoices[external_id]["invoiceNumber"]

    result = send({})

    assert result.status == 200, result.body
    assert result.body["documentStatus"] == "sent"
    assert result.body["sentTo"] == RECIPIENT and result.body["sentAt"]
    [mail] = sent_mails(emulator)
    assert mail["to"] == RECIPIENT
    assert mail["subject"] == f"Rechnung {number}"
    assert number in mail["text"] and "Guten Tag" in mail["text"]
    assert emulator.state.invoices[external_id]["sendType"] == "VM"
    sent = events()[0]
    assert sent["type"] == "sent" and sent["actor"] == STAFF["sub"]
    assert sent["details"]["to"] == RECIPIENT and sent["details"]["sevdeskEmailId"] == mail["id"]
    assert record().pending_write is None


def test_send_with_the_fixture_body_and_a_given_address(emulator: Any) -> None:
    published(emulator)
    body = json.loads(load_event("invoice_send")["body"])

    result = send({**body, "email": "other@example.com", "cc": ["cc@example.com"]})

    assert result.status == 200, result.body
    [mail] = sent_mails(emulator)
    assert (mail["to"], mail["cc"]) == ("other@example.com", "cc@example.com")
    assert mail["subject"] == body["subject"] and mail["text"] == body["text"].strip()


def test_a_repeated_send_does_not_mail_again_but_resend_does(emulator: Any) -> None:
    published(emulator)
    first = send({})

    again = send({})
    resent = send({"resend": True, "subject": "Erinnerung"})

    assert again.status == 200 and again.body["version"] == first.body["version"]
    assert resent.status == 200
    assert [m["subject"] for m in sent_mails(emulator)][1:] == ["Erinnerung"]
    assert len(sent_mails(emulator)) == 2
    assert [e["type"] for e in events()][:2] == ["sent", "sent"]


def test_lost_send_response_is_reconciled_as_sent_and_never_mails_twice(emulator: Any) -> None:
    published(emulator)
    lose_response(emulator, "sendViaEmail")

    result = send({})
    retry = send({})

    assert result.status == 200, result.body  # the invoice shows sendType VM since the attempt
    assert result.body["documentStatus"] == "sent"
    assert retry.status == 200
    assert len(sent_mails(emulator)) == 1
    assert events()[0]["details"]["reconciled"] is True
    assert record().pending_write is None


def test_undecidable_send_outcome_blocks_an_automatic_resend(emulator: Any) -> None:
    external_id = published(emulator)
    lose_response(emulator, "sendViaEmail")
    # The read-back fails too: nothing tells whether the mail went out.
    emulator.faults.add(
        Fault(method="GET", path=f"/Invoice/{external_id}", kind="status", status=500, times=None)
    )

    first = send({})
    retry = send({})

    assert first.status == 409 and first.body["error"]["code"] == "send_outcome_unknown"
    assert retry.status == 409 and retry.body["error"]["code"] == "send_outcome_unknown"
    assert "resend" in retry.body["error"]["message"]
    assert len(sent_mails(emulator)) == 1
    failed = events()[0]
    assert failed["type"] == "send_failed" and failed["details"]["outcome"] == "unknown"
    assert record().pending_write.operation == "sendViaEmail"

    emulator.faults.clear()
    confirmed = send({"resend": True})

    assert confirmed.status == 200 and len(sent_mails(emulator)) == 2
    assert record().pending_write is None


def test_send_refused_by_sevdesk_is_logged_with_its_code(emulator: Any) -> None:
    published(emulator)
    emulator.faults.add(Fault(method="POST", path=r"^/Invoice/\d+/sendViaEmail", kind="status", status=400))

    result = send({})

    assert result.status == 422 and result.body["error"]["code"] == "sevdesk_refused"
    failed = events()[0]
    assert failed["type"] == "send_failed" and failed["details"]["sevdeskHttpStatus"] == 400
    assert record().last_error is not None and record().pending_write is None
    assert send({}).status == 200  # nothing pending: a plain retry sends
    assert len(sent_mails(emulator)) == 1


def test_send_needs_a_published_invoice_and_a_recipient(emulator: Any) -> None:
    hand_over()
    assert send({}).status == 409
    assert send({}).body["error"]["code"] == "invoice_not_published"
    assert send({}, {"invoiceId": "nope"}).status == 404

    company = json.loads(load_event("billing_invoice_put")["body"])["company"]
    hand_over("R1-NOMAIL", company={k: v for k, v in company.items() if k != "email"})
    publish(emulator, "R1-NOMAIL")
    missing = send({}, {"invoiceId": "R1-NOMAIL"})
    assert missing.status == 422 and missing.body["error"]["details"][0]["field"] == "email"
    assert send({"email": "x@example.com"}, {"invoiceId": "R1-NOMAIL"}).status == 200


def test_send_validates_the_body_and_the_role(emulator: Any) -> None:
    published(emulator)
    bad = send({"email": "not-an-address", "unknown": 1})
    assert bad.status == 400
    assert {d["field"] for d in bad.body["error"]["details"]} == {"email", "unknown"}
    assert invoke("invoice_send", claims=EXTERNAL, body={}, path_parameters=PATH).status == 403
    assert invoke("invoice_send", claims=STAFF, raw_body="", path_parameters=PATH).status == 200
    assert sent_mails(emulator)


def test_a_cancelled_invoice_is_not_sent(emulator: Any) -> None:
    published(emulator)
    assert cancel().status == 200
    result = send({})
    assert result.status == 409 and result.body["error"]["code"] == "invoice_cancelled"
    assert not sent_mails(emulator)


# --------------------------------------------------------------------------- pdf


@pytest.mark.parametrize("mode", ["json", "raw"])
def test_pdf_is_returned_as_binary_with_a_filename_and_logged(emulator: Any, mode: str) -> None:
    external_id = published(emulator)
    emulator.pdf_mode = mode
    before = dict(emulator.state.invoices[external_id])
    number = before["invoiceNumber"]

    result = pdf()

    assert result.status == 200, result.raw.get("body", "")[:200]
    assert result.raw["isBase64Encoded"] is True
    assert result.headers["content-type"] == "application/pdf"
    assert result.headers["content-disposition"] == f'attachment; filename="Rechnung-{number}.pdf"'
    assert result.content.startswith(b"%PDF")
    logged = events()[0]
    assert logged["type"] == "pdf_downloaded" and logged["actor"] == STAFF["sub"]
    assert logged["details"]["sha256"] == hashlib.sha256(result.content).hexdigest()
    assert logged["details"]["size"] == len(result.content)
    assert emulator.state.invoices[external_id] == before  # preventSendBy: nothing changed there
    [request] = [r for r in emulator.requests if r.path.endswith("/getPdf")]
    assert request.query.get("preventSendBy") == "true"
    assert record().document_status == "finalized"


def test_pdf_of_an_unpublished_or_unknown_invoice(emulator: Any) -> None:
    hand_over()
    unpublished = pdf()
    assert unpublished.status == 409 and "publish" in unpublished.body["error"]["message"]
    assert pdf({"invoiceId": "nope"}).status == 404
    hand_over("R1-DRAFT")
    publish(emulator, "R1-DRAFT", finalize=False)
    assert pdf({"invoiceId": "R1-DRAFT"}).status == 409  # a draft has no number yet


def test_pdf_filename_is_sanitised() -> None:
    from sevdesk_common.services.pdf import pdf_filename

    assert pdf_filename('RE 1000/"x"') == "Rechnung-RE_1000_x.pdf"
    assert pdf_filename("RE-1000") == "Rechnung-RE-1000.pdf"


# --------------------------------------------------------------------------- cancel


def test_cancel_creates_one_cancellation_invoice_with_the_sr_template(emulator: Any) -> None:
    external_id = published(emulator)
    set_sr_templates(eb=TEMPLATE_MODERN, kop=TEMPLATE_CLASSIC)
    original = emulator.state.invoices[external_id]

    result = cancel()

    assert result.status == 200, result.body
    [sr] = cancellations(emulator, external_id)
    assert Decimal(sr["sumGross"]) == -Decimal(original["sumGross"]) < 0
    assert int(sr["invoiceNumber"].split("-")[1]) == int(original["invoiceNumber"].split("-")[1]) + 1
    assert sr["_template"] == TEMPLATE_MODERN  # deal type EB
    state = result.body
    assert state["claimStatus"] == "cancelled" and state["documentStatus"] == "cancelled"
    assert state["cancellation"] == {
        "externalId": sr["id"],
        "externalInvoiceNumber": sr["invoiceNumber"],
        "templateId": TEMPLATE_MODERN,
    }
    logged = events()[0]
    assert logged["type"] == "cancelled"
    assert logged["details"]["cancellationId"] == sr["id"]
    assert logged["details"]["cancellationNumber"] == sr["invoiceNumber"]
    assert logged["details"]["template"] == TEMPLATE_MODERN

    again = cancel()
    assert again.status == 409 and again.body["error"]["code"] == "already_cancelled"
    assert len(cancellations(emulator, external_id)) == 1


def test_cancel_without_sr_template_keeps_sevdesk_default_and_a_refused_template_is_logged(
    emulator: Any,
) -> None:
    external_id = published(emulator)
    set_sr_templates(eb=TEMPLATE_MODERN)
    emulator.faults.add(Fault(method="PUT", path=r"^/Invoice/\d+/changeParameter", kind="status", status=422))

    result = cancel()

    assert result.status == 200, result.body
    assert result.body["cancellation"]["templateId"] is None
    assert events()[0]["details"]["templateError"]["sevdeskHttpStatus"] == 422
    assert len(cancellations(emulator, external_id)) == 1


def test_cancel_of_a_draft_deletes_it_in_sevdesk(emulator: Any) -> None:
    external_id = published(emulator, finalize=False)

    result = cancel()

    assert result.status == 200, result.body
    assert external_id not in emulator.state.invoices
    assert not cancellations(emulator, external_id)
    assert result.body["claimStatus"] == "cancelled" and result.body["cancellation"] is None
    assert events()[0]["details"]["draftDeleted"] is True
    assert cancel().status == 409


@pytest.mark.parametrize(
    ("prepare", "status", "code", "sevdesk_code"),
    [
        ("cancel_in_sevdesk", 409, "already_cancelled_in_sevdesk", 421),
        ("credit_note", 409, "credit_note_exists", 170),
        ("partial_payment", 409, "partially_paid", 390),
    ],
)
def test_sevdesk_refusals_are_clear_and_change_nothing(
    emulator: Any, prepare: str, status: int, code: str, sevdesk_code: int
) -> None:
    external_id = published(emulator)
    if prepare == "cancel_in_sevdesk":
        emulator.state.invoices[external_id]["_cancelledBy"] = "elsewhere"
    elif prepare == "credit_note":
        emulator.add_credit_note(external_id)
    else:
        emulator.book_payment(external_id, "1.00")
    before = record().public().model_dump(exclude={"version", "updated_at"})

    result = cancel()

    assert result.status == status, result.body
    assert result.body["error"]["code"] == code
    assert result.body["error"]["details"]["sevdeskCode"] == sevdesk_code
    assert record().public().model_dump(exclude={"version", "updated_at"}) == before
    failed = events()[0]
    assert failed["type"] == "cancel_failed" and failed["details"]["sevdeskCode"] == sevdesk_code
    assert not cancellations(emulator, external_id) or prepare == "cancel_in_sevdesk"


def test_lost_cancel_response_is_reconciled_to_exactly_one_sr(emulator: Any) -> None:
    external_id = published(emulator)
    lose_response(emulator, "cancelInvoice")

    result = cancel()

    assert result.status == 200, result.body
    [sr] = cancellations(emulator, external_id)
    assert result.body["cancellation"]["externalId"] == sr["id"]
    assert cancel().status == 409
    assert len(cancellations(emulator, external_id)) == 1


def test_cancel_whose_outcome_stays_unknown_is_settled_by_the_next_call(emulator: Any) -> None:
    external_id = published(emulator)
    lose_response(emulator, "cancelInvoice")
    emulator.faults.add(Fault(method="GET", path="/Invoice", kind="status", status=500, times=None))

    first = cancel()

    assert first.status == 503 and first.body["error"]["code"] == "sevdesk_outcome_unknown"
    assert int(first.headers["retry-after"]) >= 1
    assert record().pending_write.operation == "cancelInvoice"
    assert record().claim_status == "open"
    emulator.faults.clear()

    second = cancel()

    assert second.status == 200, second.body
    [sr] = cancellations(emulator, external_id)
    assert second.body["cancellation"]["externalId"] == sr["id"]
    cancel_calls = [r for r in emulator.requests if r.path.endswith("/cancelInvoice")]
    assert len(cancel_calls) == 1  # found by the marker, not cancelled again


def test_cancel_of_unknown_or_unpublished_invoices(emulator: Any) -> None:
    assert cancel({"invoiceId": "nope"}).status == 404
    hand_over()
    result = cancel()
    assert result.status == 409 and result.body["error"]["code"] == "invoice_not_published"
    assert invoke("invoice_cancel", claims=EXTERNAL, path_parameters=PATH).status == 403
