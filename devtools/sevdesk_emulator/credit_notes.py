"""Credit notes (Gutschriften) made from an invoice: the separate CreditNote model (NOTES.md §7).

Shaped like the recorded credit_note.json / write_credit_note_save.json ([RS]): numbered "GU-%NUMBER"
from their own sequence, positive sums, `refSrcInvoice` and `origin` pointing at the invoice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from devtools.sevdesk_emulator.invoices import DRAFT, get_invoice, positions_of
from devtools.sevdesk_emulator.store import Record, public
from devtools.sevdesk_emulator.wire import ApiError, iso

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator

COPIED = (
    "contact",
    "header",
    "headText",
    "footText",
    "discount",
    "addressName",
    "addressStreet",
    "addressZip",
    "addressCity",
    "addressCountry",
    "createUser",
    "sevClient",
    "deliveryDate",
    "smallSettlement",
    "contactPerson",
    "taxRate",
    "taxText",
    "addressParentName",
    "taxType",
    "paymentMethod",
)
SUMS = ("sumNet", "sumTax", "sumGross", "sumNetAccounting", "sumTaxAccounting", "sumGrossAccounting")
POSITION_KEYS = (
    "quantity",
    "price",
    "name",
    "priority",
    "unity",
    "positionNumber",
    "text",
    "discount",
    "isPercentage",
    "discountedValue",
    "taxRate",
    "sumNet",
    "sumGross",
    "sumDiscount",
    "sumTax",
    "sumNetAccounting",
    "sumTaxAccounting",
    "sumGrossAccounting",
    "priceNet",
    "priceGross",
    "priceTax",
)


def create_from_invoice(emu: SevdeskEmulator, invoice_id: str) -> Record:
    """POST /CreditNote/Factory/createFromInvoice: a draft credit note over the invoice's positions."""
    store = emu.state
    invoice = get_invoice(store, invoice_id)
    if invoice["status"] == DRAFT or invoice["invoiceType"] == "SR":
        raise ApiError(422, "Credit notes can only be created from finalized invoices")
    now = iso(emu.now())
    note_id = store.new_id("CreditNote")
    note: Record = {"id": note_id, "objectName": "CreditNote", "additionalInformation": None}
    if "propertyIsEInvoice" in invoice:
        note["propertyIsEInvoice"] = invoice["propertyIsEInvoice"]
    note |= {
        "creditNoteNumber": None,
        "create": now,
        "update": now,
        "creditNoteDate": now,
        **{key: invoice.get(key) for key in COPIED},
        "timeToPay": None,
        "discountTime": "0",
        "payDate": None,
        "status": "100",
        "sendDate": None,
        "origin": {"id": invoice["id"], "objectName": "Invoice"},
        "creditNoteType": "CN",
        **dict.fromkeys(("accountIntervall", "accountLastCreditNote", "accountNextCreditNote")),
        **dict.fromkeys(("reminderTotal", "reminderDebit", "reminderDeadline", "reminderCharge")),
        **dict.fromkeys(("addressParentName2", "addressName2", "addressGender", "accountEndDate")),
        "address": invoice.get("address"),
        "currency": invoice["currency"],
        **{key: invoice[key] for key in SUMS},
        **dict.fromkeys(
            (
                "sumDiscounts",
                "sumNetForeignCurrency",
                "sumTaxForeignCurrency",
                "sumGrossForeignCurrency",
                "sumDiscountsForeignCurrency",
            ),
            "0",
        ),
        "customerInternalNote": invoice.get("customerInternalNote"),
        "taxNumber": None,
        "vatNumber": None,
        "showNet": invoice["showNet"],
        "enshrined": None,
        "sendType": "0",
        "bookingCategory": "UNDERACHIEVEMENT",
        "deliveryDateUntil": invoice.get("deliveryDateUntil"),
        "refSrcInvoice": {"id": invoice["id"], "objectName": "Invoice"},
        "isTransferred": "0",
        **dict.fromkeys(
            (
                "sumDiscountNet",
                "sumDiscountGross",
                "sumDiscountNetForeignCurrency",
                "sumDiscountGrossForeignCurrency",
            ),
            "0",
        ),
        "taxRule": {"id": invoice["taxRule"]["id"], "objectName": "TaxRule"},
    }
    if note["paymentMethod"] is None:
        del note["paymentMethod"]
    store.credit_note_records[note_id] = note
    store.credit_notes[invoice["id"]] = note_id  # blocks cancel and resetToOpen (code 170)
    for position in positions_of(store, invoice["id"]):
        copy = {
            "id": store.new_id("CreditNotePos"),
            "objectName": "CreditNotePos",
            "additionalInformation": None,
            "create": now,
            "update": now,
            "creditNote": {"id": note_id, "objectName": "CreditNote"},
            "sevClient": store.sev_client_ref(),
            **{key: position.get(key) for key in POSITION_KEYS},
            **{key: "0" for key in ("sumNetForeignCurrency", "sumTaxForeignCurrency")},
            **{key: "0" for key in ("sumGrossForeignCurrency", "sumDiscountForeignCurrency")},
            "temporary": "0",
            "createNextPart": None,
        }
        store.credit_note_positions[copy["id"]] = copy
    return note


def finalize_credit_note(emu: SevdeskEmulator, note: Record, send_type: str) -> None:
    now = iso(emu.now())
    if note["status"] == DRAFT:
        note |= {"status": "200", "creditNoteNumber": emu.state.take_credit_note_number(), "enshrined": now}
    note |= {"sendDate": now, "sendType": send_type, "update": now}


def credit_note_positions(emu: SevdeskEmulator, note_id: str) -> list[Record]:
    return [
        public(pos) for pos in emu.state.credit_note_positions.values() if pos["creditNote"]["id"] == note_id
    ]
