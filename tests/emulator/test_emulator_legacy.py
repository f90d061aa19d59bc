"""POST /Invoice + POST /InvoicePos: the undocumented create-then-add-positions writes of seed 000,
kept only so the benchmark can compare them with one saveInvoice."""

from __future__ import annotations

import httpx

from devtools.sevdesk_emulator import SevdeskEmulator
from devtools.sevdesk_emulator.invoices import positions_of
from tests.emulator.helpers import create_contact, finalize, invoice_body, objects, position


def _draft(client: httpx.Client) -> dict[str, object]:
    contact = create_contact(client)
    return objects(client.post("/Invoice", json=invoice_body(contact["id"])["invoice"]), 201)


def test_create_then_add_positions_gives_the_same_sums_as_save_invoice(
    client: httpx.Client, emu: SevdeskEmulator
) -> None:
    invoice = _draft(client)
    assert invoice["status"] == "100" and invoice["sumGross"] == "0" and invoice["invoiceNumber"] is None
    assert isinstance(invoice["id"], str)

    ref = {"id": int(invoice["id"]), "objectName": "Invoice"}
    first = objects(client.post("/InvoicePos", json={**position(), "invoice": ref}), 201)
    objects(client.post("/InvoicePos", json={**position(1, "25.00"), "invoice": ref}), 201)

    # the generic CRUD shape: string-encoded values, not saveInvoice's JSON numbers
    assert (first["quantity"], first["sumNet"], first["taxRate"]) == ("3", "30", "19.00")
    assert first["invoice"] == {"id": invoice["id"], "objectName": "Invoice"}
    stored = emu.state.invoices[invoice["id"]]
    assert (stored["sumNet"], stored["sumTax"], stored["sumGross"]) == ("55", "10.45", "65.45")
    assert len(positions_of(emu.state, invoice["id"])) == 2
    assert objects(client.get(f"/Invoice/{invoice['id']}"))[0]["sumGross"] == "65.45"


def test_create_is_validated_like_save_invoice(client: httpx.Client, emu: SevdeskEmulator) -> None:
    contact = create_contact(client)
    body = invoice_body(contact["id"])["invoice"]
    assert client.post("/Invoice", json={**body, "status": 200}).status_code == 422
    assert client.post("/Invoice", json={**body, "contactPerson": None}).status_code == 400
    unknown = {**body, "contact": {"id": 1, "objectName": "Contact"}}
    assert client.post("/Invoice", json=unknown).json()["error"]["code"] == 151
    assert emu.state.invoices == {}


def test_positions_only_on_existing_drafts(client: httpx.Client, emu: SevdeskEmulator) -> None:
    missing = client.post("/InvoicePos", json={**position(), "invoice": {"id": 1, "objectName": "Invoice"}})
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, 151)

    invoice = _draft(client)
    finalize(client, str(invoice["id"]))
    ref = {"id": invoice["id"], "objectName": "Invoice"}
    assert client.post("/InvoicePos", json={**position(), "invoice": ref}).status_code == 400
    assert emu.state.positions == {}
