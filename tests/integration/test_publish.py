"""POST /api/sevdesk/invoices/{invoiceId}/publish through its Lambda, against the emulator."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.support.invoke import EXTERNAL, STAFF, ApiResult, invoke, load_event

pytestmark = pytest.mark.usefixtures("emulator", "token_configured")
INVOICE_ID = "R1-INV-2026-0001"  # the id in events/invoice_publish.json
MARKER = f"R1-INVOICE:{INVOICE_ID}"
TEMPLATE_MODERN = "5a1d3f7b8c9e0a1b2c3d4e5f"
TEMPLATE_CLASSIC = "64b0c1d2e3f4a5b6c7d8e9f0"


def handover_body(**changes: Any) -> dict[str, Any]:
    body = json.loads(load_event("billing_invoice_put")["body"])
    body.update(changes)
    return body


def hand_over(invoice_id: str = INVOICE_ID, body: dict[str, Any] | None = None) -> None:
    result = invoke(
        "billing_invoice_put",
        claims=STAFF,
        body=body or handover_body(),
        path_parameters={"invoiceId": invoice_id},
    )
    assert result.status in (200, 201), result.body


def publish(invoice_id: str | None = None, claims: dict[str, str] = STAFF) -> ApiResult:
    params = {"invoiceId": invoice_id} if invoice_id else None
    return invoke("invoice_publish", claims=claims, path_parameters=params)


def event_log(invoice_id: str = INVOICE_ID) -> list[dict[str, Any]]:
    result = invoke("billing_invoice_events", claims=STAFF, path_parameters={"invoiceId": invoice_id})
    return list(reversed(result.body["events"]))  # oldest first


def configure(**changes: Any) -> None:
    from sevdesk_common.services.config import modify_config

    modify_config(lambda config: config.model_copy(update=changes))


def ours(emu: Any, marker: str = MARKER) -> list[dict[str, Any]]:
    return [i for i in emu.state.invoices.values() if i.get("customerInternalNote") == marker]


def test_publish_creates_one_finalized_invoice_with_all_positions(emulator: Any) -> None:
    configure(template_eb_ar=TEMPLATE_CLASSIC)
    hand_over()

    result = publish()

    assert result.status == 200, result.body
    state = result.body
    [invoice] = ours(emulator)
    assert state["externalId"] == invoice["id"]
    assert state["externalInvoiceNumber"] == invoice["invoiceNumber"] == "RE-1000"
    assert state["accountingSyncStatus"] == "synced"
    assert state["accountingSyncedAt"]
    assert state["documentStatus"] == "finalized"
    assert state["claimStatus"] == "open"
    assert state["templateId"] == TEMPLATE_CLASSIC
    assert state["lastError"] is None
    assert invoice["status"] == "200"
    assert invoice["invoiceType"] == "RE"
    assert invoice["_template"] == TEMPLATE_CLASSIC
    assert (Decimal(invoice["sumNet"]), Decimal(invoice["sumTax"]), Decimal(invoice["sumGross"])) == (
        Decimal("55"),
        Decimal("10.45"),
        Decimal("65.45"),
    )
    assert invoice["header"] == "Rechnung RE-R1-2026-0001"
    assert (invoice["addressStreet"], invoice["addressZip"], invoice["addressCity"]) == (
        "Hauptstraße 1",
        "10115",
        "Berlin",
    )
    assert invoice["addressCountry"]["id"] in ("1", 1)
    positions = [p for p in emulator.state.positions.values() if p["invoice"]["id"] == invoice["id"]]
    assert sorted((p["name"], Decimal(str(p["quantity"])), Decimal(p["price"])) for p in positions) == [
        ("Beratung", Decimal(3), Decimal(10)),
        ("Lizenz", Decimal(1), Decimal(25)),
    ]
    assert {Decimal(p["taxRate"]) for p in positions} == {Decimal(19)}
    [contact] = emulator.state.contacts.values()
    assert contact["customerNumber"] == "R1-CO-company-4711"
    assert contact["name"] == "Musterbau GmbH"
    assert invoice["contact"]["id"] == contact["id"] == state["sevdeskContactId"]
    assert [a["city"] for a in emulator.state.contact_addresses.values()] == ["Berlin"]
    assert [c["value"] for c in emulator.state.communication_ways.values()] == [
        "buchhaltung@musterbau.example"
    ]
    saves = [r for r in emulator.requests if r.path == "/Invoice/Factory/saveInvoice"]
    assert len(saves) == 1 and len(saves[0].json["invoicePosSave"]) == 2
    log = event_log()
    assert [e["type"] for e in log] == ["handed_over", "published", "finalized"]
    assert log[1]["actor"] == STAFF["sub"]
    assert log[1]["details"]["externalId"] == invoice["id"]
    assert Decimal(str(log[1]["details"]["sumGross"])) == Decimal("65.45")
    assert log[1]["details"]["positions"] == 2
    assert log[2]["details"]["externalInvoiceNumber"] == "RE-1000"
    assert log[2]["details"]["templateId"] == TEMPLATE_CLASSIC


def test_publishing_again_is_idempotent_and_calls_sevdesk_no_more(emulator: Any) -> None:
    hand_over()
    first = publish()
    calls = len(emulator.requests)

    again = publish()

    assert again.status == 200
    assert again.body == first.body
    assert len(emulator.requests) == calls
    assert len(ours(emulator)) == 1


def test_document_template_mapping_beats_deal_type_mapping(emulator: Any) -> None:
    configure(template_eb_ar=TEMPLATE_CLASSIC, document_templates={"r1-template-standard": TEMPLATE_MODERN})
    hand_over()

    assert publish().body["templateId"] == TEMPLATE_MODERN

    assert ours(emulator)[0]["_template"] == TEMPLATE_MODERN


def test_without_a_mapping_sevdesks_default_template_stays(emulator: Any) -> None:
    configure(template_eb_ar=TEMPLATE_CLASSIC)  # EB only; this invoice is KOP
    hand_over(body=handover_body(dealType="KOP", documentTemplateId=None))

    state = publish().body

    assert state["templateId"] is None
    assert "_template" not in ours(emulator)[0]
    assert not [r for r in emulator.requests if r.path.endswith("/changeParameter")]


def test_a_person_recipient_and_one_contact_for_two_invoices_of_a_customer(emulator: Any) -> None:
    person = {
        "id": "p-1",
        "firstName": "Erika",
        "lastName": "Muster",
        "email": "erika@example.org",
        "address": {"street": "Weg 2", "zip": "80331", "city": "München"},
    }
    body = handover_body(company=None, contact=person)
    hand_over("R1-A", body)
    hand_over("R1-B", {**body, "invoiceNumber": "RE-R1-2"})

    first, second = publish("R1-A"), publish("R1-B")

    assert first.status == second.status == 200
    [contact] = emulator.state.contacts.values()
    assert (contact["surename"], contact["familyname"], contact["customerNumber"]) == (
        "Erika",
        "Muster",
        "R1-CT-p-1",
    )
    assert first.body["sevdeskContactId"] == second.body["sevdeskContactId"] == contact["id"]
    assert {first.body["externalInvoiceNumber"], second.body["externalInvoiceNumber"]} == {
        "RE-1000",
        "RE-1001",
    }
    assert len([r for r in emulator.requests if r.method == "POST" and r.path == "/Contact"]) == 1


def test_an_existing_sevdesk_contact_is_found_by_customer_number(emulator: Any) -> None:
    hand_over()
    publish()
    from sevdesk_common import contact_store
    from sevdesk_common.repository import get_table

    get_table().delete_item(Key={"pk": "CONTACTLINK#R1-CO-company-4711", "sk": "CONTACTLINK"})
    hand_over("R1-C", handover_body(invoiceNumber="RE-R1-3"))

    assert publish("R1-C").status == 200

    assert len(emulator.state.contacts) == 1
    assert contact_store.get_contact_link("R1-CO-company-4711") == next(iter(emulator.state.contacts))


def test_a_contact_id_without_link_is_422_naming_it(emulator: Any) -> None:
    hand_over(body=handover_body(company=None, contactId="ct-9"))

    result = publish()

    assert result.status == 422
    assert result.body["error"]["code"] == "contact_not_linked"
    assert "ct-9" in result.body["error"]["message"]
    assert not emulator.state.invoices
    failed = event_log()[-1]
    assert failed["type"] == "publish_failed" and failed["details"]["code"] == "contact_not_linked"
    # A refusal leaves nothing behind: no claim or link item, no pending write, no lease.
    from sevdesk_common import contact_store
    from sevdesk_common.repository import get_table

    assert "Item" not in get_table().get_item(Key={"pk": "CONTACTLINK#R1-CT-ct-9", "sk": "CONTACTLINK"})
    assert contact_store.load("R1-CT-ct-9").version == 0
    stored = invoke("billing_invoice_get", claims=STAFF, path_parameters={"invoiceId": INVOICE_ID}).body
    assert stored["accountingSyncStatus"] == "failed"


def test_a_linked_contact_id_publishes_to_that_contact(emulator: Any) -> None:
    from sevdesk_common import contact_store

    hand_over("R1-FIRST")
    contact_id = publish("R1-FIRST").body["sevdeskContactId"]
    contact_store.put_contact_link("R1-CT-ct-9", contact_id)
    hand_over(body=handover_body(company=None, contactId="ct-9", invoiceNumber="RE-R1-9"))

    result = publish()

    assert result.status == 200, result.body
    assert result.body["sevdeskContactId"] == contact_id
    assert len(emulator.state.contacts) == 1


def test_unknown_invoice_is_404(emulator: Any) -> None:
    result = publish("R1-NOPE")

    assert result.status == 404
    assert result.body["error"]["code"] == "invoice_not_found"
    assert not emulator.requests


def test_a_non_internal_caller_is_403(emulator: Any) -> None:
    hand_over()

    result = publish(claims=EXTERNAL)

    assert result.status == 403
    assert not emulator.state.invoices


def test_without_a_token_publish_is_409_and_logged(emulator: Any) -> None:
    import boto3

    from tests.conftest import SECRET_ID, clear_process_caches

    hand_over()
    boto3.client("secretsmanager").put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps({}))
    clear_process_caches()

    result = publish()

    assert result.status == 409
    assert result.body["error"]["code"] == "sevdesk_token_not_configured"
    assert event_log()[-1]["type"] == "publish_failed"
