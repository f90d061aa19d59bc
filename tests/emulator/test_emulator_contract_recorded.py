"""Contract (1): for every recorded sevDesk response, the emulator answers the same call with the
same structure (key sets and value kinds: string / number / boolean / null / object / array)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from devtools.sevdesk_emulator import SevdeskEmulator
from tests.emulator.contract import RECORDED, recorded, require_shared, shape_differences
from tests.emulator.helpers import create_contact, create_invoice, finalize, invoice_body, objects, position

pytestmark = pytest.mark.usefixtures("shared")


@pytest.fixture
def shared() -> None:
    require_shared()


def _person(client: httpx.Client) -> dict[str, str]:
    body = {"surename": "Max", "familyname": "Privat", "category": {"id": 3, "objectName": "Category"}}
    return objects(client.post("/Contact", json=body), 201)


def _contact_ref(contact: dict[str, str]) -> dict[str, object]:
    return {"id": int(contact["id"]), "objectName": "Contact"}


def version(client: httpx.Client) -> httpx.Response:
    return client.get("/Tools/bookkeepingSystemVersion")


def contact_list(client: httpx.Client) -> httpx.Response:
    create_contact(client, "SDRS-1")
    return client.get("/Contact", params={"customerNumber": "SDRS-1"})


def contact_create(client: httpx.Client) -> httpx.Response:
    body = {"name": "Testkunde GmbH", "category": {"id": 3, "objectName": "Category"}, "status": 1000}
    return client.post("/Contact", json=body | {"buyerReference": "-", "customerNumber": "SDRS-2"})


def contact_address(client: httpx.Client) -> httpx.Response:
    body = {
        "contact": _contact_ref(create_contact(client)),
        "street": "Teststrasse 1",
        "zip": "10115",
        "city": "Berlin",
        "country": {"id": 1, "objectName": "StaticCountry"},
        "category": {"id": 47, "objectName": "Category"},
    }
    return client.post("/ContactAddress", json=body)


def communication_way(client: httpx.Client) -> httpx.Response:
    body = {"contact": _contact_ref(create_contact(client)), "type": "EMAIL", "value": "a@example.com"}
    return client.post(
        "/CommunicationWay", json=body | {"key": {"id": 2, "objectName": "CommunicationWayKey"}}
    )


def invoice_draft(client: httpx.Client) -> httpx.Response:
    # the recorded probe sent a multiline `address` and a delivery period
    invoice = create_invoice(
        client,
        header="Rechnung PROBE",
        headText="Testbeleg",
        address="Probe GmbH\nStr. 1\n10115 Berlin",
        addressCountry={"id": 1, "objectName": "StaticCountry"},
        deliveryDate="01.09.2026",
        deliveryDateUntil=1790805600,
    )
    return client.get(f"/Invoice/{invoice['id']}")


def invoice_save(client: httpx.Client) -> httpx.Response:
    contact = create_contact(client)
    body = invoice_body(
        contact["id"],
        positions=[position(3, "10.00"), position(1, "25.00", text="Zweite Zeile")],
        header="SDRS",
        deliveryDate=1790805600,
        deliveryDateUntil=1793401200,
        addressName="Testkunde GmbH",
        addressStreet="Teststrasse 1",
        addressZip="10115",
        addressCity="Berlin",
        addressCountry={"id": 1, "objectName": "StaticCountry"},
        paymentMethod={"id": 114251, "objectName": "PaymentMethod"},
        propertyIsEInvoice=True,
    )
    return client.post("/Invoice/Factory/saveInvoice", json=body)


def invoice_cancel(client: httpx.Client) -> httpx.Response:
    invoice = create_invoice(client, _person(client)["id"], showNet=False, deliveryDateUntil=1793401200)
    finalize(client, invoice["id"])
    return client.post(f"/Invoice/{invoice['id']}/cancelInvoice")


def invoice_pdf(client: httpx.Client) -> httpx.Response:
    invoice = finalize(client, create_invoice(client)["id"])
    return client.get(f"/Invoice/{invoice['id']}/getPdf", params={"preventSendBy": "true"})


def error_404(client: httpx.Client) -> httpx.Response:
    # documented difference: recorded on /CheckAccountTransaction/1, which the emulator does not model
    return client.get("/Invoice/1")


def error_422(client: httpx.Client) -> httpx.Response:
    # documented difference: recorded on POST /CheckAccountTransaction; any 422 with code null will do
    body = invoice_body(create_contact(client)["id"])
    body["invoice"]["status"] = 200
    return client.post("/Invoice/Factory/saveInvoice", json=body)


def voucher_save(client: httpx.Client) -> httpx.Response:
    position_body = {"objectName": "VoucherPos", "mapAll": True, "taxRate": 0, "net": True, "comment": "fee"}
    position_body["accountDatev"] = {"id": 4285, "objectName": "AccountDatev"}
    voucher = {
        "objectName": "Voucher",
        "mapAll": True,
        "voucherDate": "29.09.2026",
        "deliveryDate": "29.09.2026",
    }
    voucher |= {"supplierName": "Stripe", "description": "capture", "status": 50, "creditDebit": "C"}
    voucher |= {"voucherType": "VOU", "taxRule": {"id": 14, "objectName": "TaxRule"}, "currency": "EUR"}
    positions = [position_body | {"sumNet": "0.35"}, position_body | {"sumNet": "0.10"}]
    return client.post("/Voucher/Factory/saveVoucher", json={"voucher": voucher, "voucherPosSave": positions})


def upload_temp_file(client: httpx.Client) -> httpx.Response:
    return client.post(
        "/Voucher/Factory/uploadTempFile", files={"file": ("fee.pdf", b"%PDF-1.4\n", "application/pdf")}
    )


SCENARIOS: dict[str, tuple[Callable[[httpx.Client], httpx.Response], int]] = {
    "bookkeeping_system_version.json": (version, 200),
    "contact_list_by_customer_number.json": (contact_list, 200),
    "write_contact_create.json": (contact_create, 201),
    "write_contact_address_create.json": (contact_address, 201),
    "write_communication_way_create.json": (communication_way, 201),
    "invoice_draft.json": (invoice_draft, 200),
    "write_invoice_save.json": (invoice_save, 201),
    "write_invoice_cancel.json": (invoice_cancel, 201),
    "invoice_pdf.json": (invoice_pdf, 200),
    "error_404_code_151.json": (error_404, 404),
    "error_422_offline_account.json": (error_422, 422),
    "write_voucher_save_create.json": (voucher_save, 201),
    "write_upload_temp_file.json": (upload_temp_file, 201),
}


def test_every_recorded_file_has_a_scenario() -> None:
    assert {path.name for path in RECORDED.glob("*.json")} == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_emulator_answers_in_the_recorded_shape(
    client: httpx.Client, emu: SevdeskEmulator, name: str
) -> None:
    scenario, status = SCENARIOS[name]

    response = scenario(client)

    assert response.status_code == status, response.text
    assert shape_differences(recorded(name), response.json()) == []
