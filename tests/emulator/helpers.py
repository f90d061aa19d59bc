"""Request builders shared by the emulator tests (bodies shaped like the recorded ones)."""

from __future__ import annotations

from typing import Any

import httpx

from devtools.sevdesk_emulator.store import CASH_ACCOUNT_ID, SEV_USER_ID

TOKEN = "0123456789abcdef0123456789abcdef"
# the seeded register (cash) account: books without a bank transaction
CASH = {"id": int(CASH_ACCOUNT_ID), "objectName": "CheckAccount"}


def objects(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["objects"]


def create_contact(client: httpx.Client, customer_number: str = "K-1", **extra: Any) -> dict[str, Any]:
    body = {"name": f"ACME {customer_number}", "category": {"id": 3, "objectName": "Category"}}
    body |= {"customerNumber": customer_number, **extra}
    return objects(client.post("/Contact", json=body), 201)


def position(
    quantity: Any = 3, price: str = "10.00", tax_rate: str = "19.00", **extra: Any
) -> dict[str, Any]:
    return {
        "objectName": "InvoicePos",
        "mapAll": True,
        "quantity": quantity,
        "price": price,
        "name": "Beratung",
        "unity": {"id": 1, "objectName": "Unity"},
        "taxRate": tax_rate,
        **extra,
    }


def invoice_body(
    contact_id: str, positions: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    invoice = {
        "objectName": "Invoice",
        "mapAll": True,
        "contact": {"id": int(contact_id), "objectName": "Contact"},
        "contactPerson": {"id": int(SEV_USER_ID), "objectName": "SevUser"},
        "invoiceDate": "01.10.2026",
        "status": 100,
        "invoiceType": "RE",
        "currency": "EUR",
        "discount": 0,
        "taxRate": 0,
        "taxRule": {"id": 1, "objectName": "TaxRule"},
        "taxText": "Umsatzsteuer 19%",
        "showNet": True,
        "timeToPay": 14,
        "customerInternalNote": "ORDER-1",
        **extra,
    }
    return {
        "invoice": invoice,
        "invoicePosSave": positions if positions is not None else [position(), position(1, "25.00")],
        "invoicePosDelete": None,
    }


def create_invoice(client: httpx.Client, contact_id: str | None = None, **extra: Any) -> dict[str, Any]:
    contact_id = contact_id or create_contact(client, f"K-{len(extra)}-{id(extra)}")["id"]
    saved = objects(client.post("/Invoice/Factory/saveInvoice", json=invoice_body(contact_id, **extra)), 201)
    return saved["invoice"]


E_INVOICE_FIELDS = {
    "propertyIsEInvoice": True,
    "addressName": "ACME GmbH",
    "addressStreet": "Teststrasse 1",
    "addressZip": "10115",
    "addressCity": "Berlin",
    "addressCountry": {"id": 1, "objectName": "StaticCountry"},
    "paymentMethod": {"id": 21919, "objectName": "PaymentMethod"},
}


def create_e_invoice(client: httpx.Client, contact_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """A draft e-invoice whose buyer data is complete (address, payment method, e-mail, reference)."""
    if contact_id is None:
        contact_id = create_contact(client, f"E-{id(extra)}")["id"]
        way = {"contact": {"id": int(contact_id), "objectName": "Contact"}, "type": "EMAIL", "main": True}
        objects(client.post("/CommunicationWay", json=way | {"value": "rechnung@acme.example"}), 201)
    return create_invoice(client, contact_id, **(E_INVOICE_FIELDS | extra))


def finalize(client: httpx.Client, invoice_id: str) -> dict[str, Any]:
    body = {"sendType": "VPDF", "sendDraft": False}
    return objects(client.put(f"/Invoice/{invoice_id}/sendBy", json=body))
