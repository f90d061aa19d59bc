"""E-invoices through the real handlers against the emulator: the setting and the per-invoice
override, the check before anything is sent, sevDesk's 830 in words, the seller-data canary, the
XML archived once with its sha256 under its retention, and its EN 16931 validity."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import facturx
import pytest

from devtools.sevdesk_emulator import Fault
from tests.emulator.einvoice_rules import schematron_failures, xsd_valid
from tests.integration.test_publish import (
    INVOICE_ID,
    configure,
    event_log,
    hand_over,
    handover_body,
    ours,
    publish,
)
from tests.support.invoke import ADMIN, STAFF, ApiResult, invoke

pytestmark = pytest.mark.usefixtures("emulator", "token_configured")
BUCKET = "sevdesk-test-exports"
LEITWEG_ID = "04011000-1234512345-06"  # KoSIT's example; check digits per ISO/IEC 7064 MOD 97-10
PATH = {"invoiceId": INVOICE_ID}


def big_handover(**changes: Any) -> dict[str, Any]:
    """Above the 250 EUR small-amount limit: a domestic B2B e-invoice."""
    body = handover_body(**changes)
    body["positions"] = [{"name": "Beratung", "quantity": "10", "unitPrice": "100.00", "taxRate": "19"}]
    return body


def readiness(invoice_id: str = INVOICE_ID) -> ApiResult:
    return invoke("billing_einvoice_readiness", claims=STAFF, path_parameters={"invoiceId": invoice_id})


def xml_route(invoice_id: str = INVOICE_ID) -> ApiResult:
    return invoke("invoice_xml", claims=STAFF, path_parameters={"invoiceId": invoice_id})


def stored(invoice_id: str = INVOICE_ID) -> Any:
    from sevdesk_common import invoice_store

    return invoice_store.load(invoice_id)


def emulator_xml(emu: Any, external_id: str) -> str:
    from devtools.sevdesk_emulator.einvoice import e_invoice_xml

    return e_invoice_xml(emu, emu.state.invoices[external_id])


def sevdesk_writes(emu: Any) -> list[str]:
    return [f"{r.method} {r.path}" for r in emu.requests if r.method != "GET"]


def config() -> dict[str, Any]:
    body: dict[str, Any] = invoke("config_get", claims=ADMIN).body
    return body


# --------------------------------------------------------------------------- deciding


@pytest.mark.parametrize(
    ("mode", "changes", "e_invoice"),
    [
        ("domestic_b2b", {}, True),
        ("domestic_b2b", {"small": True}, False),  # 65.45 EUR: a small-amount invoice
        ("domestic_b2b", {"person": True}, False),  # B2C
        ("never", {}, False),
        ("never", {"eInvoice": True}, True),  # the hand-over overrides the setting
        ("always", {"eInvoice": False}, False),
        ("always", {"person": True}, True),
    ],
)
def test_the_setting_and_the_hand_over_decide(mode: str, changes: dict[str, Any], e_invoice: bool) -> None:
    configure(e_invoice_mode=mode)
    body = handover_body() if changes.pop("small", False) else big_handover()
    if changes.pop("person", False):
        company = body.pop("company")
        body["contact"] = {
            "id": "person-1",
            "firstName": "Erika",
            "lastName": "Muster",
            "email": "erika@example.com",
            "address": company["address"],
        }
    hand_over(body={**body, **changes})

    answer = readiness()

    assert answer.status == 200, answer.body
    assert answer.body["eInvoice"] is e_invoice
    assert answer.body["reason"]


# --------------------------------------------------------------------------- publishing one


def test_a_domestic_b2b_invoice_becomes_an_e_invoice_whose_xml_is_archived_once(emulator: Any) -> None:
    configure(e_invoice_mode="domestic_b2b")
    hand_over(body=big_handover(buyerReference="PO-4711", paymentMethod="sepa_transfer"))

    result = publish()

    assert result.status == 200, result.body
    state = result.body
    [invoice] = ours(emulator)
    assert invoice["propertyIsEInvoice"] == "1"
    assert invoice["paymentMethod"]["id"] == "21919"  # the account's SEPA credit transfer (code 58)
    assert emulator.state.contacts[invoice["contact"]["id"]]["buyerReference"] == "PO-4711"
    xml = emulator_xml(emulator, invoice["id"]).encode()
    sha = hashlib.sha256(xml).hexdigest()
    assert state["eInvoice"] is True and state["xmlSha256"] == sha and state["xmlStoredAt"]
    key = f"einvoices/{INVOICE_ID}/{invoice['id']}.xml"
    s3 = boto3.client("s3")
    obj = s3.get_object(Bucket=BUCKET, Key=key)
    assert obj["Body"].read() == xml and obj["Metadata"]["sha256"] == sha
    # the voucher's 8 years from the end of 2026, the year of issue, under Object Lock
    assert obj["ObjectLockMode"] == "GOVERNANCE"
    assert obj["ObjectLockRetainUntilDate"] == datetime(2035, 1, 1, tzinfo=UTC)
    archived = [e for e in event_log() if e["type"] == "einvoice_archived"]
    assert [e["details"]["sha256"] for e in archived] == [sha]

    served = xml_route()
    assert served.status == 200
    assert served.content == xml
    assert served.headers["content-type"] == "application/xml"
    assert served.headers["repr-digest"] == f"sha-256=:{base64.b64encode(bytes.fromhex(sha)).decode()}:"
    assert served.headers["content-disposition"] == 'attachment; filename="Rechnung-RE-1000.xml"'

    # the PDF route serves the ZUGFeRD PDF: its embedded XML is the archived one, byte for byte
    pdf = invoke("invoice_pdf", claims=STAFF, path_parameters=PATH)
    assert pdf.status == 200
    _, embedded = facturx.get_xml_from_pdf(pdf.content, check_xsd=False)
    assert embedded == xml

    # publishing again changes nothing, and storing again writes no second version
    assert publish().body["xmlSha256"] == sha
    from sevdesk_common import document_store
    from sevdesk_common.models.retention import retain_until

    document_store.put_once(
        key, xml, content_type="application/xml", retain_until=retain_until("voucher", datetime(2026, 1, 1))
    )
    assert len(s3.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]) == 1


def test_the_archived_xml_is_never_deleted_and_a_replaced_copy_is_not_served(emulator: Any) -> None:
    configure(e_invoice_mode="always")
    hand_over()
    assert publish().status == 200
    key = stored().xml_key
    s3 = boto3.client("s3")
    (version,) = s3.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]

    with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version["VersionId"])
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"<forged/>", ChecksumAlgorithm="SHA256")

    refused = xml_route()
    assert refused.status == 500
    assert refused.body["error"]["code"] == "document_integrity_error"


@pytest.mark.parametrize("public_authority", [False, True])
def test_the_archived_xml_passes_the_en16931_schema_and_business_rules(
    emulator: Any, public_authority: bool
) -> None:
    configure(e_invoice_mode="domestic_b2b")
    body = big_handover(buyerReference=LEITWEG_ID if public_authority else "PO-4711")
    body["company"]["publicAuthority"] = public_authority
    hand_over(body=body)
    assert publish().status == 200

    xml = xml_route().content.decode()

    assert xsd_valid(xml)
    assert schematron_failures(xml) == []
    contact = emulator.state.contacts[ours(emulator)[0]["contact"]["id"]]
    assert contact["governmentAgency"] == ("1" if public_authority else "0")
    assert contact["buyerReference"] in xml


def test_a_read_back_without_the_flag_is_settled_by_get_xml_not_assumed(emulator: Any) -> None:
    """The finalize's answer is lost, so its outcome is read back, and that read-back lacks
    propertyIsEInvoice (NOTES.md section 13): unknown, until getXml answers."""
    emulator.omit_e_invoice_flag = True
    emulator.faults.add(Fault(method="PUT", path=r"^/Invoice/\d+/sendBy", kind="lost_response"))
    configure(e_invoice_mode="always")
    hand_over()

    result = publish()

    assert result.status == 200, result.body
    assert result.body["eInvoice"] is True and result.body["xmlSha256"]
    [finalized] = [e for e in event_log() if e["type"] == "finalized"]
    assert finalized["details"]["propertyIsEInvoice"] == "omitted"  # unknown from the read-back
    assert any(r.path.endswith("/getXml") for r in emulator.requests)


def test_an_existing_customer_gets_the_public_buyers_leitweg_id_before_the_draft(emulator: Any) -> None:
    hand_over("R1-PLAIN-FIRST")  # the customer's first invoice: plain, its contact is created
    assert publish("R1-PLAIN-FIRST").status == 200
    configure(e_invoice_mode="domestic_b2b")
    body = big_handover(buyerReference=LEITWEG_ID)
    body["company"]["publicAuthority"] = True
    hand_over(body=body)

    assert publish().status == 200, stored().last_error

    contact = emulator.state.contacts[ours(emulator)[0]["contact"]["id"]]
    assert (contact["buyerReference"], contact["governmentAgency"]) == (LEITWEG_ID, "1")
    assert len(emulator.state.contacts) == 1


# --------------------------------------------------------------------------- refusals


def test_readiness_names_every_missing_or_invalid_piece_and_publish_sends_nothing(emulator: Any) -> None:
    configure(e_invoice_mode="always")
    body = big_handover(buyerReference="04011000-1234512345-07", paymentMethod="online")
    body["company"].update(publicAuthority=True, vatId="DE12345")
    del body["company"]["email"]
    emulator.state.payment_methods = [
        m for m in emulator.state.payment_methods if m["electronicInvoiceId"] != "68"
    ]
    hand_over(body=body)

    check = readiness()
    emulator.requests.clear()
    refused = publish()

    assert check.status == 200 and check.body["ready"] is False and check.body["eInvoice"] is True
    fields = {(p["field"], p["side"], p["problem"]) for p in check.body["missing"]}
    assert fields == {
        ("company.email", "buyer", "missing"),
        ("company.vatId", "buyer", "invalid"),
        ("buyerReference", "buyer", "invalid"),
        ("paymentMethod", "seller", "missing"),
    }
    assert refused.status == 422
    assert refused.body["error"]["code"] == "einvoice_not_ready"
    assert {(p["field"], p["side"], p["problem"]) for p in refused.body["error"]["details"]} == fields
    assert "check digits" in refused.body["error"]["message"]
    assert sevdesk_writes(emulator) == []  # nothing was sent
    record = stored()
    assert record.external_id is None and record.pending_write is None and record.lock_owner is None
    assert record.last_error["code"] == "einvoice_not_ready"
    assert event_log()[-1]["type"] == "publish_failed"


def test_missing_seller_data_is_830_in_words_then_refused_early_until_checked_again(emulator: Any) -> None:
    configure(e_invoice_mode="always")
    emulator.set_seller(bankIban=None, phone=None)
    hand_over()

    refused = publish()

    assert refused.status == 422, refused.body
    error = refused.body["error"]
    assert error["code"] == "einvoice_incomplete"
    assert [(p["field"], p["side"]) for p in error["details"]] == [
        ("sevClient_bankIban", "seller"),
        ("sevClient_phone", "seller"),
    ]
    assert "your company's IBAN is missing" in error["message"]
    [draft] = ours(emulator)
    assert draft["status"] == "100" and draft["propertyIsEInvoice"] == "1"  # never a plain fallback
    seller = config()["eInvoiceSeller"]
    assert seller["status"] == "incomplete" and seller["canaryInvoiceId"] == INVOICE_ID

    # the next e-invoice is refused before anything is sent, naming what to fix in sevDesk
    hand_over("R1-SECOND")
    emulator.requests.clear()
    early = publish("R1-SECOND")
    assert early.status == 422 and early.body["error"]["code"] == "einvoice_not_ready"
    assert {p["field"] for p in early.body["error"]["details"]} == {"sevClient_bankIban", "sevClient_phone"}
    assert sevdesk_writes(emulator) == []

    # fixed in sevDesk, the connection tested again: the waiting draft is finalized, once
    emulator.set_seller(bankIban="DE02120300000000202051", phone="+49 30 1234567")
    assert invoke("connection_test", claims=ADMIN).status == 200
    assert config()["eInvoiceSeller"]["status"] == "unknown"
    done = publish()
    assert done.status == 200, done.body
    assert done.body["xmlSha256"] and len(ours(emulator)) == 1
    assert config()["eInvoiceSeller"]["status"] == "ok"


def test_a_refused_finalize_for_buyer_data_names_it_and_keeps_the_draft(emulator: Any) -> None:
    hand_over("R1-PLAIN-FIRST", body=handover_body(company={**handover_body()["company"], "email": None}))
    assert publish("R1-PLAIN-FIRST").status == 200  # its contact is created without an e-mail
    configure(e_invoice_mode="always")
    hand_over()

    refused = publish()

    assert refused.status == 422
    assert [p["field"] for p in refused.body["error"]["details"]] == ["contact_email"]
    assert "the customer's e-mail address is missing" in refused.body["error"]["message"]
    assert config()["eInvoiceSeller"]["status"] == "unknown"  # the seller's side was not at fault


# --------------------------------------------------------------------------- the XML step


def test_the_xml_step_is_resumed_alone_after_a_failure(emulator: Any) -> None:
    configure(e_invoice_mode="always")
    hand_over()
    emulator.faults.add(Fault(method="GET", path=r"^/Invoice/\d+/getXml", kind="status", status=503, times=3))

    failed = publish()

    assert failed.status == 502, failed.body
    record = stored()
    assert record.document_status == "finalized" and record.external_invoice_number == "RE-1000"
    assert record.accounting_sync_status == "synced"
    assert record.xml_sha256 is None and record.last_error["step"] == "xml"
    assert xml_route().body["error"]["code"] == "einvoice_xml_missing"

    emulator.requests.clear()
    done = publish()

    assert done.status == 200, done.body
    assert done.body["xmlSha256"] and done.body["lastError"] is None
    assert [r.path for r in emulator.requests] == [f"/Invoice/{record.external_id}/getXml"]
    assert [e["type"] for e in event_log()][-2:] == ["publish_failed", "einvoice_archived"]


def test_a_plain_invoice_has_no_xml() -> None:
    hand_over()
    assert xml_route().body["error"]["code"] == "invoice_not_published"
    assert publish().status == 200

    refused = xml_route()

    assert refused.status == 409 and refused.body["error"]["code"] == "not_an_einvoice"
    assert stored().e_invoice is False
    assert Decimal(publish().body["grossAmount"]) == Decimal("65.45")


def test_the_auto_publish_worker_makes_e_invoices_the_same_way(emulator: Any) -> None:
    from tests.integration.test_publish_auto import run_worker

    hand_over()
    configure(auto_transfer_invoices=True, e_invoice_mode="always")

    result = run_worker()

    assert result["status"] == "published", result
    record = stored()
    assert record.e_invoice is True and record.xml_sha256
    assert ours(emulator)[0]["propertyIsEInvoice"] == "1"


def test_an_e_invoice_publish_makes_no_more_dynamodb_calls_than_a_plain_one(emulator: Any) -> None:
    from tests.integration.test_publish_lease import dynamodb_calls

    configure(e_invoice_mode="always")
    hand_over("R1-CANARY")
    with dynamodb_calls() as canary:  # the first one also records that the seller data passed
        assert publish("R1-CANARY").status == 200
    hand_over()
    with dynamodb_calls() as calls:
        assert publish().status == 200

    assert sum(calls.values()) <= 8, calls
    assert sum(canary.values()) <= 9, canary
    assert config()["eInvoiceSeller"]["status"] == "ok"
