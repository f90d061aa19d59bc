"""PUT/GET /api/billing/invoices/{invoiceId} and its event log, through the real handlers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.support.invoke import EXTERNAL, STAFF, invoke, load_event

pytestmark = pytest.mark.usefixtures("aws")
INVOICE = {"invoiceId": "R1-INV-7"}


def handover_body() -> dict[str, Any]:
    import json

    return json.loads(load_event("billing_invoice_put")["body"])


def put(body: dict[str, Any], invoice: dict[str, str] = INVOICE, claims: dict[str, str] = STAFF) -> Any:
    return invoke("billing_invoice_put", claims=claims, body=body, path_parameters=invoice)


def events(invoice: dict[str, str] = INVOICE, **query: str) -> Any:
    return invoke("billing_invoice_events", claims=STAFF, path_parameters=invoice, query=query or None)


def test_hand_over_stores_the_invoice_with_sums_and_logs_it() -> None:
    created = put(handover_body())

    assert created.status == 201, created.body
    state = created.body
    assert state["invoiceId"] == "R1-INV-7"
    assert state["accountingProvider"] == "sevdesk"
    assert state["accountingSyncStatus"] == "pending"
    assert state["documentStatus"] == "handed_over"
    assert state["claimStatus"] == "open"
    assert state["externalId"] is None
    assert Decimal(state["netAmount"]) == Decimal("55.00")
    assert Decimal(state["taxAmount"]) == Decimal("10.45")
    assert Decimal(state["grossAmount"]) == Decimal("65.45")
    read = invoke("billing_invoice_get", claims=STAFF, path_parameters=INVOICE)
    assert read.status == 200
    assert read.body["invoice"]["positions"][0]["name"] == "Beratung"
    assert read.body["invoice"]["company"]["address"]["city"] == "Berlin"
    log = events().body["events"]
    assert [e["type"] for e in log] == ["handed_over"]
    assert log[0]["actor"] == STAFF["sub"]


def test_repeating_the_same_body_is_a_no_op() -> None:
    first = put(handover_body())

    again = put(handover_body())

    assert again.status == 200
    assert again.body["version"] == first.body["version"]
    assert len(events().body["events"]) == 1


def test_a_changed_body_before_publishing_updates_it() -> None:
    put(handover_body())
    changed = handover_body()
    changed["positions"].append({"name": "Extra", "quantity": "2", "unitPrice": "5", "taxRate": "7"})

    result = put(changed)

    assert result.status == 200
    assert Decimal(result.body["grossAmount"]) == Decimal("65.45") + Decimal("10.70")
    assert [e["type"] for e in events().body["events"]] == ["handover_updated", "handed_over"]


def test_a_changed_body_after_publishing_is_a_409_and_changes_nothing() -> None:
    from sevdesk_common import invoice_store

    put(handover_body())
    record = invoice_store.load("R1-INV-7")
    assert record is not None
    invoice_store.save(record.model_copy(update={"external_id": "135582100"}))
    changed = handover_body()
    changed["invoiceNumber"] = "RE-R1-CHANGED"

    result = put(changed)

    assert result.status == 409
    assert result.body["error"]["code"] == "invoice_already_published"
    read = invoke("billing_invoice_get", claims=STAFF, path_parameters=INVOICE).body
    assert read["invoiceNumber"] == "RE-R1-2026-0001"


def mutate(path: str, value: Any) -> dict[str, Any]:
    body = handover_body()
    target = body
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if value is DELETE:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return body


DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("positions", [], "positions"),
        ("positions.0.quantity", "-1", "positions.0.quantity"),
        ("positions.0.quantity", "0", "positions.0.quantity"),
        ("positions.0.unitPrice", "abc", "positions.0.unitPrice"),
        ("positions.0.taxRate", "16", "positions.0.taxRate"),
        ("positions.0.name", "", "positions.0.name"),
        ("currency", "EUX", "currency"),
        ("invoiceDate", "2026-13-01", "invoiceDate"),
        ("deliveryDate", "01.10.2026", "deliveryDate"),
        ("dealType", "XYZ", "dealType"),
        ("company.email", "not-an-email", "company.email"),
        ("company.address.country", "FR", "company.address.country"),
        ("invoiceNumber", DELETE, "invoiceNumber"),
        ("unknownField", 1, "unknownField"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(path: str, value: Any, field: str) -> None:
    result = put(mutate(path, value))

    assert result.status == 400, result.body
    assert any(detail["field"] == field for detail in result.body["error"]["details"]), result.body
    assert field in result.body["error"]["message"]
    assert invoke("billing_invoice_get", claims=STAFF, path_parameters=INVOICE).status == 404


def test_cross_field_rules_are_400() -> None:
    body = handover_body()
    body["deliveryDate"] = "2026-10-02"
    both = handover_body()
    both["contact"] = {
        "id": "p1",
        "firstName": "Erika",
        "lastName": "Muster",
        "address": {"street": "A 1", "zip": "1", "city": "B"},
    }
    none = handover_body()
    del none["company"]

    for bad in (body, both, none):
        result = put(bad)
        assert result.status == 400
        assert result.body["error"]["code"] == "validation_error"


def test_contact_id_alone_is_an_accepted_recipient() -> None:
    body = handover_body()
    del body["company"]
    body["contactId"] = "r1-contact-9"

    assert put(body).status == 201


def test_invalid_invoice_id_in_the_path_is_a_400() -> None:
    result = put(handover_body(), invoice={"invoiceId": "bad id!"})

    assert result.status == 400
    assert result.body["error"]["details"][0]["field"] == "invoiceId"


def test_unknown_invoice_is_a_404_for_state_and_events() -> None:
    unknown = {"invoiceId": "R1-NOPE"}

    assert invoke("billing_invoice_get", claims=STAFF, path_parameters=unknown).status == 404
    assert events(unknown).status == 404


def test_events_are_paged_newest_first() -> None:
    from sevdesk_common import invoice_store

    put(handover_body())
    for n in range(4):
        invoice_store.append_event("R1-INV-7", invoice_store.Event("pdf_downloaded", "t", {"n": n}))

    first = events(limit="2").body
    second = events(limit="2", cursor=first["nextCursor"]).body
    third = events(limit="2", cursor=second["nextCursor"]).body

    ordered = [e["details"].get("n") for e in first["events"] + second["events"] + third["events"]]
    assert ordered == [3, 2, 1, 0, None]
    assert third["nextCursor"] is None or events(limit="2", cursor=third["nextCursor"]).body["events"] == []
    assert events(cursor="garbage").status == 400


def test_billing_routes_are_for_internal_staff_only() -> None:
    assert put(handover_body(), claims=EXTERNAL).status == 403
    assert put(handover_body(), claims={}).status == 401
    assert invoke("billing_invoice_get", claims=EXTERNAL, path_parameters=INVOICE).status == 403


def test_a_hand_over_that_loses_the_race_to_an_identical_one_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The race, forced: our read finds nothing, the other caller inserts, then our insert fails."""
    from sevdesk_common import invoice_store

    real_load = invoice_store.load

    def stale_read(invoice_id: str) -> Any:
        monkeypatch.setattr(invoice_store, "load", real_load)  # only this first read is stale
        assert put(handover_body()).status == 201  # the other caller wins meanwhile
        return None

    monkeypatch.setattr(invoice_store, "load", stale_read)

    second = put(handover_body())

    assert second.status == 200, second.body
    assert second.body["version"] == 1
    assert [e["type"] for e in events().body["events"]] == ["handed_over"]
