"""cancelInvoice: the SR cancellation invoice, shaped like recorded write_invoice_cancel.json."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from devtools.sevdesk_emulator.invoices import (
    DRAFT,
    PARTIAL,
    TAX_RULE_DETAILS,
    get_invoice,
    positions_of,
)
from devtools.sevdesk_emulator.store import Record, public, touch
from devtools.sevdesk_emulator.wire import ApiError, amount, iso

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator

NEGATED = ("sumNet", "sumTax", "sumGross", "sumNetAccounting", "sumTaxAccounting", "sumGrossAccounting")
NOT_ON_SR = ("addressCountry", "paymentMethod", "origin")


def check_cancellable(emu: SevdeskEmulator, invoice: Record) -> None:
    if invoice["invoiceType"] == "SR":
        raise ApiError(422, "A cancellation invoice can not be cancelled")
    if invoice.get("_cancelledBy"):
        raise ApiError(422, "The invoice has already been cancelled", 421)
    if invoice["status"] == DRAFT:
        # UNCONFIRMED in NOTES.md §7; drafts are meant to be deleted
        raise ApiError(422, "Drafts can not be cancelled; delete the draft instead")
    if invoice["id"] in emu.state.credit_notes:
        raise ApiError(422, "A credit note exists for this invoice", 170)
    if invoice["status"] == PARTIAL:
        # measured: this refusal arrives inside HTTP 200
        raise ApiError(200, "The invoice is partially paid. Please book a credit invoice manually.", 390)


def cancel_invoice(emu: SevdeskEmulator, invoice_id: str) -> Record:
    store = emu.state
    original = get_invoice(store, invoice_id)
    check_cancellable(emu, original)
    now = iso(emu.now())
    number = store.take_invoice_number()
    sr_id = store.new_id("Invoice")
    cancellation: Record = {
        "id": sr_id,
        "objectName": "Invoice",
        "additionalInformation": {"creditVoucher": False},
        "propertyUseNewDocServer": "1",
        "propertyIsEInvoice": original.get("propertyIsEInvoice"),
        "propertyUseNewCalculation": "1",
        "propertyIsBookkeepingV1": None,
    }
    for key, value in public(original).items():
        if key not in cancellation and key not in NOT_ON_SR:
            cancellation[key] = value
        if key == "sendDate":
            cancellation["origin"] = {"id": original["id"], "objectName": "Invoice"}
    contact = store.contacts.get(original["contact"]["id"])
    cancellation |= {
        "invoiceNumber": number,
        "contact": public(contact) if contact else original["contact"],
        "create": now,
        "update": now,
        "invoiceDate": now,
        "header": f"Cancellation Invoice No. {number} to Invoice No. {original['invoiceNumber']}",
        "headText": None,
        "footText": None,
        **dict.fromkeys(("addressName", "addressStreet", "addressZip", "addressCity", "address")),
        "payDate": None,
        "status": "1000",
        "sendDate": None,
        "invoiceType": "SR",
        **{key: amount(-Decimal(original[key])) for key in NEGATED},
        "paidAmount": 0,
        "enshrined": now,
        "sendType": "VPDF",
        "taxRule": expanded_tax_rule(original["taxRule"]["id"]),
    }
    store.invoices[sr_id] = cancellation
    for position in positions_of(store, original["id"]):
        copy = dict(position, id=store.new_id("InvoicePos"), create=now, update=now)
        copy["invoice"] = {"id": sr_id, "objectName": "Invoice"}
        copy["quantity"] = amount(-Decimal(position["quantity"]))
        for key in NEGATED:
            copy[key] = amount(-Decimal(position[key]))
        store.add_position(copy)
    # [RS2]: the original reads back 1000 / paid 0 / payDate null, its update moved to now
    original |= {"_cancelledBy": sr_id, "status": emu.cancelled_original_status, "paidAmount": 0}
    original["payDate"] = None
    touch(original, emu.now())
    return cancellation


def expanded_tax_rule(rule_id: str) -> Record:
    details = TAX_RULE_DETAILS.get(rule_id, {"name": f"TaxRule {rule_id}", "description": None, "code": None})
    return {
        "id": rule_id,
        "objectName": "TaxRule",
        "additionalInformation": None,
        **details,
        "countryClient": {"id": "1", "objectName": "StaticCountry"},
        "countryContactType": "DE",
    }
