"""Every response recorded on a live sevDesk account parses with its model, and the quirks
(strings for numbers, "0"/"1" booleans, `"quantity": true`) come out typed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from sevdesk_common.sevdesk.models import (
    BookkeepingVersion,
    CommunicationWay,
    Contact,
    ContactAddress,
    ErrorBody,
    Invoice,
    PdfWire,
    SavedInvoice,
    SavedVoucher,
    TempFile,
)
from sevdesk_common.sevdesk.payloads import (
    InvoicePositionPayload,
    InvoiceSavePayload,
    VoucherPositionPayload,
    VoucherSavePayload,
    berlin_midnight_unix,
)
from tests.unit.sevdesk.sevdesk_helpers import RECORDED, recorded

# file -> how the client reads its `objects` (GET by id: list of one; factories: one object).
PARSERS: dict[str, Callable[[Any], Any]] = {
    "bookkeeping_system_version.json": lambda b: BookkeepingVersion.model_validate(b["objects"]),
    "contact_list_by_customer_number.json": lambda b: [Contact.model_validate(c) for c in b["objects"]],
    "error_404_code_151.json": lambda b: ErrorBody.model_validate(b["error"]),
    "error_422_offline_account.json": lambda b: ErrorBody.model_validate(b["error"]),
    "invoice_draft.json": lambda b: Invoice.model_validate(b["objects"][0]),
    "invoice_pdf.json": lambda b: PdfWire.model_validate(b["objects"]),
    "write_communication_way_create.json": lambda b: CommunicationWay.model_validate(b["objects"]),
    "write_contact_address_create.json": lambda b: ContactAddress.model_validate(b["objects"]),
    "write_contact_create.json": lambda b: Contact.model_validate(b["objects"]),
    "write_invoice_cancel.json": lambda b: Invoice.model_validate(b["objects"]),
    "write_invoice_save.json": lambda b: SavedInvoice.model_validate(b["objects"]),
    "write_upload_temp_file.json": lambda b: TempFile.model_validate(b["objects"]),
    "write_voucher_save_create.json": lambda b: SavedVoucher.model_validate(b["objects"]),
}


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_recorded_response_parses(name: str) -> None:
    assert PARSERS[name](recorded(name)) is not None


def test_every_recorded_file_has_a_parser() -> None:
    if not RECORDED.is_dir():
        pytest.skip(f"recorded sevDesk responses not found at {RECORDED} (../shared is absent)")
    assert {p.name for p in RECORDED.glob("*.json")} == set(PARSERS)


def test_draft_invoice_types() -> None:
    inv = PARSERS["invoice_draft.json"](recorded("invoice_draft.json"))
    assert inv.id == "135169163"
    assert inv.status == 100 and inv.is_draft
    assert inv.invoice_number is None and inv.enshrined is None
    assert inv.sum_gross == Decimal("34.51") and inv.paid_amount == Decimal(0)
    assert inv.show_net is True and inv.time_to_pay == 14
    assert inv.tax_rule is not None and inv.tax_rule.id == "1"
    assert inv.update is not None and inv.update.utcoffset() is not None
    assert inv.customer_internal_note == "PROBE-R1-A1-str-date"


def test_saved_invoice_quantity_true_and_number_sums() -> None:
    saved = PARSERS["write_invoice_save.json"](recorded("write_invoice_save.json"))
    assert saved.invoice.id == "135582100" and saved.invoice.property_is_e_invoice is True
    first, second = saved.positions
    assert first.quantity == Decimal(3) and first.price == Decimal(10)
    assert second.quantity == Decimal(1)  # sent as 1, recorded as `true`
    assert second.sum_gross == Decimal("29.75") and second.tax_rate == Decimal("19.00")


def test_cancellation_invoice() -> None:
    sr = PARSERS["write_invoice_cancel.json"](recorded("write_invoice_cancel.json"))
    assert sr.is_cancellation and sr.status == 1000
    assert sr.origin is not None and sr.origin.id == "135582398"
    assert sr.sum_gross == Decimal("-21.9") and sr.invoice_number == "RE-1080"
    assert sr.contact is not None and sr.contact.id == "138810529"  # embedded contact reduces to a ref


def test_contact_and_error_bodies() -> None:
    contact = PARSERS["write_contact_create.json"](recorded("write_contact_create.json"))
    assert contact.status == 1000 and contact.category is not None and contact.category.id == "3"
    err = PARSERS["error_404_code_151.json"](recorded("error_404_code_151.json"))
    assert err.code == 151 and err.response_code == 404
    err = PARSERS["error_422_offline_account.json"](recorded("error_422_offline_account.json"))
    assert err.code is None and err.message.startswith("You can only create")


def test_pdf_wire_accepts_both_spellings() -> None:
    spec = PdfWire.model_validate({"base64encoded": False, "content": "x", "mimeType": "application/pdf"})
    assert spec.base64_encoded is False and spec.mime_type == "application/pdf"
    live = PARSERS["invoice_pdf.json"](recorded("invoice_pdf.json"))
    assert live.base64_encoded is True and live.mime_type == "application/pdf"


def test_voucher_parses() -> None:
    saved = PARSERS["write_voucher_save_create.json"](recorded("write_voucher_save_create.json"))
    assert saved.voucher.status == 50 and saved.voucher.sum_gross == Decimal("0.45")
    assert [p.sum_net for p in saved.positions] == [Decimal("0.35"), Decimal("0.1")]


def test_ints_are_accepted_as_ids() -> None:
    inv = Invoice.model_validate({"id": 5, "status": "200", "contact": {"id": 7, "objectName": "Contact"}})
    assert inv.id == "5" and inv.contact is not None and inv.contact.id == "7"


def test_bad_amount_is_rejected() -> None:
    with pytest.raises(ValueError, match="decimal"):
        Invoice.model_validate({"id": "1", "status": "100", "sumGross": "abc"})


def test_invoice_payload_wire_shape() -> None:
    payload = InvoiceSavePayload(
        contact_id="138810483",
        contact_person_id="1551095",
        invoice_date=date(2026, 10, 1),
        delivery_date=date(2026, 10, 1),
        customer_internal_note="R1-INV-42",
        tax_text="Umsatzsteuer 19%",
        address_name="ACME GmbH",
        address_street="Teststrasse 1",
        address_zip="10115",
        address_city="Berlin",
        positions=[
            InvoicePositionPayload(
                name="Beratung", quantity=Decimal(3), price=Decimal("10.00"), tax_rate=Decimal(19)
            ),
            InvoicePositionPayload(
                name="Paket", quantity=Decimal(1), price=Decimal("25"), tax_rate=Decimal(19)
            ),
        ],
    )
    wire = payload.to_wire()
    assert set(wire) == {"invoice", "invoicePosSave", "invoicePosDelete"} and wire["invoicePosDelete"] is None
    inv = wire["invoice"]
    assert inv["objectName"] == "Invoice" and inv["mapAll"] is True and inv["status"] == 100
    assert inv["invoiceDate"] == "01.10.2026"
    assert inv["deliveryDate"] == 1790805600  # Berlin midnight, as in NOTES.md's measured body
    assert inv["taxRule"] == {"id": 1, "objectName": "TaxRule"} and inv["taxRate"] == 0
    assert inv["contact"] == {"id": 138810483, "objectName": "Contact"}
    assert inv["contactPerson"] == {"id": 1551095, "objectName": "SevUser"}
    assert inv["customerInternalNote"] == "R1-INV-42" and inv["addressCity"] == "Berlin"
    pos = wire["invoicePosSave"][0]
    assert pos["objectName"] == "InvoicePos" and pos["mapAll"] is True
    assert (pos["quantity"], pos["price"], pos["taxRate"]) == ("3", "10.00", "19")
    assert pos["unity"] == {"id": 1, "objectName": "Unity"}


@pytest.mark.parametrize("day", [date(2026, 1, 15), date(2026, 3, 29), date(2026, 3, 30), date(2026, 10, 25)])
def test_berlin_midnight_matches_zoneinfo(day: date) -> None:
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no tz database on this machine")
    expected = int(datetime(day.year, day.month, day.day, tzinfo=berlin).timestamp())
    assert berlin_midnight_unix(day) == expected


def test_voucher_payload_wire_shape() -> None:
    payload = VoucherSavePayload(
        voucher_date=date(2026, 9, 29),
        supplier_name="Stripe",
        description="fees",
        tax_rule_id=14,
        positions=[
            VoucherPositionPayload(account_datev_id="4285", tax_rate=Decimal(0), sum_net=Decimal("0.35"))
        ],
    )
    wire = payload.to_wire()
    assert wire["voucher"]["voucherDate"] == "29.09.2026" and wire["voucher"]["status"] == 50
    assert wire["voucherPosSave"][0]["accountDatev"] == {"id": 4285, "objectName": "AccountDatev"}
