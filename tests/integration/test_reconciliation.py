"""The drift report through its handlers: each kind of drift injected through the emulator is
named with its action, the report makes list reads only and says how many, and the nightly run
archives it."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

import boto3
import httpx
import pytest

from devtools.sevdesk_emulator import Fault
from tests.conftest import SEVDESK_TOKEN
from tests.integration.test_einvoice import big_handover
from tests.integration.test_publish import configure, hand_over, handover_body, publish
from tests.support.invoke import ADMIN, STAFF, invoke, load_event, running_as
from tests.support.lambda_context import FakeLambdaContext

pytestmark = pytest.mark.usefixtures("emulator", "token_configured")


def sevdesk() -> httpx.Client:
    return httpx.Client(base_url=os.environ["SEVDESK_BASE_URL"], headers={"Authorization": SEVDESK_TOKEN})


def published(invoice_id: str, **changes: Any) -> str:
    hand_over(invoice_id, handover_body(**changes))
    result = publish(invoice_id)
    assert result.status == 200, result.body
    external_id: str = result.body["externalId"]
    return external_id


def report() -> dict[str, Any]:
    result = invoke("reconciliation_get", claims=ADMIN)
    assert result.status == 200, result.body
    body: dict[str, Any] = result.body
    return body


def kinds(body: dict[str, Any]) -> dict[str | None, set[str]]:
    found: dict[str | None, set[str]] = {}
    for item in body["items"]:
        found.setdefault(item["invoiceId"], set()).add(item["kind"])
    return found


def test_in_step_the_report_is_empty_and_costs_two_list_reads(emulator: Any) -> None:
    for n in range(3):
        published(f"R1-OK-{n}")
    emulator.requests.clear()

    body = report()

    assert body["items"] == [] and body["counts"] == {}
    assert (body["bundleInvoices"], body["sevdeskInvoices"], body["contactsChecked"]) == (3, 3, 1)
    assert body["sevdeskRequests"] == {"total": 2, "byOperation": {"list_contacts": 1, "list_invoices": 1}}
    assert [(r.method, r.path) for r in emulator.requests] == [("GET", "/Invoice"), ("GET", "/Contact")]


def test_every_kind_of_drift_is_named_with_its_action(emulator: Any) -> None:
    paid = published("R1-PAID")
    cancelled = published("R1-CANCELLED")
    resummed = published("R1-SUMS")
    renumbered = published("R1-NUMBER")
    gone = published("R1-GONE")
    hand_over("R1-DRAFT")
    emulator.faults.add(Fault(method="PUT", path=r"^/Invoice/\d+/sendBy", kind="status", status=422))
    assert publish("R1-DRAFT").status == 422  # a draft in sevDesk, for the bundle
    draft = emulator.requests.snapshot()[-1].path.split("/")[2]
    with sevdesk() as api:
        emulator.book_payment(paid, "30.00")
        assert api.post(f"/Invoice/{cancelled}/cancelInvoice").status_code == 201
        assert api.put(f"/Invoice/{draft}/sendBy", json={"sendType": "VPDF", "sendDraft": False}).is_success
        ghost = api.post("/Invoice/Factory/saveInvoice", json=_ghost_body(emulator)).json()["objects"]
        contact_id = emulator.state.invoices[paid]["contact"]["id"]
        assert api.put(f"/Contact/{contact_id}", json={"name": "Musterbau AG"}).is_success
    emulator.state.invoices[resummed]["sumGross"] = "70.00"
    emulator.state.invoices[renumbered]["invoiceNumber"] = "RE-9999"
    del emulator.state.invoices[gone]

    body = report()

    # the customer's contact is compared with its latest hand-over (R1-DRAFT's)
    assert kinds(body) == {
        "R1-PAID": {"payment_unseen"},
        "R1-CANCELLED": {"cancellation_unseen"},
        "R1-SUMS": {"sums_differ"},
        "R1-NUMBER": {"number_differs"},
        "R1-GONE": {"missing_in_sevdesk"},
        "R1-DRAFT": {"status_differs", "contact_differs"},
        "R1-GHOST": {"missing_in_bundle"},
    }
    items = {(i["invoiceId"], i["kind"]): i for i in body["items"]}
    payment = items[("R1-PAID", "payment_unseen")]
    assert Decimal(payment["sevdesk"]["paidAmount"]) == Decimal("30") and payment["action"].startswith(
        "sevDesk has"
    )
    assert items[("R1-SUMS", "sums_differ")]["sevdesk"]["gross"] == "70.00"
    assert items[("R1-GHOST", "missing_in_bundle")]["externalId"] == ghost["invoice"]["id"]
    renamed = items[("R1-DRAFT", "contact_differs")]
    assert renamed["contactId"] == contact_id
    assert (renamed["ours"], renamed["sevdesk"]) == ({"name": "Musterbau GmbH"}, {"name": "Musterbau AG"})
    assert all(item["action"] for item in body["items"])
    assert body["counts"]["payment_unseen"] == 1
    assert set(body["sevdeskRequests"]["byOperation"]) == {"list_invoices", "list_contacts"}


def _ghost_body(emulator: Any) -> dict[str, Any]:
    """A sevDesk draft carrying the marker of an R1 invoice the bundle never saw."""
    contact = next(iter(emulator.state.contacts))
    return {
        "invoice": {
            "objectName": "Invoice",
            "mapAll": True,
            "contact": {"id": contact, "objectName": "Contact"},
            "contactPerson": {"id": emulator.state.sev_users[0]["id"], "objectName": "SevUser"},
            "invoiceDate": "01.10.2026",
            "status": 100,
            "invoiceType": "RE",
            "currency": "EUR",
            "discount": 0,
            "taxRate": 0,
            "taxRule": {"id": 1, "objectName": "TaxRule"},
            "taxText": "Umsatzsteuer 19%",
            "addressCountry": {"id": 1, "objectName": "StaticCountry"},
            "customerInternalNote": "R1-INVOICE:R1-GHOST",
        },
        "invoicePosSave": [
            {
                "objectName": "InvoicePos",
                "mapAll": True,
                "quantity": 1,
                "price": "10.00",
                "name": "x",
                "unity": {"id": 1, "objectName": "Unity"},
                "taxRate": "19",
            }
        ],
    }


def test_an_e_invoice_that_sevdesk_reads_as_plain_is_named_and_a_missing_flag_is_not(emulator: Any) -> None:
    configure(e_invoice_mode="domestic_b2b")
    external = {}
    for invoice_id in ("R1-EINVOICE", "R1-PLAIN-NOW", "R1-FLAGLESS"):
        hand_over(invoice_id, big_handover())
        result = publish(invoice_id)
        assert result.status == 200 and result.body["eInvoice"] is True, result.body
        external[invoice_id] = result.body["externalId"]
    emulator.state.invoices[external["R1-PLAIN-NOW"]]["propertyIsEInvoice"] = "0"
    del emulator.state.invoices[external["R1-FLAGLESS"]]["propertyIsEInvoice"]  # proves nothing (§13)

    body = report()

    assert kinds(body) == {"R1-PLAIN-NOW": {"einvoice_differs"}}
    [item] = body["items"]
    assert (item["ours"], item["sevdesk"]) == ({"eInvoice": True}, {"eInvoice": False})
    assert item["externalId"] == external["R1-PLAIN-NOW"] and item["action"]


def test_the_nightly_run_archives_its_report(emulator: Any) -> None:
    from functions.reconciliation_nightly.app import lambda_handler

    paid = published("R1-PAID")
    emulator.book_payment(paid, "65.45")

    with running_as("reconciliation_nightly"):
        result = lambda_handler(
            load_event("reconciliation_nightly"), FakeLambdaContext("reconciliation_nightly")
        )

    assert result["items"] == 1 and result["counts"] == {"payment_unseen": 1}
    stored = boto3.client("s3").get_object(Bucket="sevdesk-test-exports", Key=result["storedAs"])
    archived = json.loads(stored["Body"].read())
    assert archived["trigger"] == "schedule"
    assert [i["kind"] for i in archived["items"]] == ["payment_unseen"]
    assert stored["ObjectLockMode"] == "GOVERNANCE"  # the bucket's default retention


def test_only_admins_see_the_report() -> None:
    assert invoke("reconciliation_get", claims=STAFF).status == 403
