"""The invoice model: records, position sums, and the status machine (NOTES.md §4-§10)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devtools.sevdesk_emulator.store import Record, Store, public
from devtools.sevdesk_emulator.wire import (
    ApiError,
    amount,
    bad_request,
    cents,
    flag,
    iso,
    not_found,
    number,
    parse_moment,
    ref,
    to_bool,
    to_decimal,
)

if TYPE_CHECKING:
    from devtools.sevdesk_emulator.emulator import SevdeskEmulator

DRAFT, OPEN, PARTIAL, PAID = "100", "200", "750", "1000"
REQUIRED_FIELDS = ("contact", "contactPerson", "invoiceDate", "status", "invoiceType", "currency", "taxRule")
# allowed position tax rates per revenue tax rule (NOTES.md §4); OSS rules 18-20 take country rates
ZERO_ONLY = frozenset({Decimal(0)})
STANDARD_RATES = frozenset({Decimal(0), Decimal(7), Decimal(19)})
TAX_RULE_RATES: dict[str, frozenset[Decimal]] = {
    "1": STANDARD_RATES,
    "3": STANDARD_RATES,
    **{rule: ZERO_ONLY for rule in ("2", "4", "5", "11", "17", "21")},
}
TAX_RULE_DETAILS: dict[str, Record] = {
    "1": {
        "name": "Umsatzsteuerpflichtige Umsätze",
        "description": "Umsatzsteuerpflichtige Umsätze",
        "code": "USTPFL_UMS_EINN",
    }
}
UNITIES: dict[str, Record] = {
    "1": {"name": "Stk", "translationCode": "UNITY_PIECE", "uneceTradeUnitCode": "C62"},
    "9": {"name": "Std", "translationCode": "UNITY_HOUR", "uneceTradeUnitCode": "HUR"},
}
ZERO_SUMS = (
    "sumDiscounts",
    "sumNetForeignCurrency",
    "sumTaxForeignCurrency",
    "sumGrossForeignCurrency",
    "sumDiscountsForeignCurrency",
)
NULL_FIELDS = (
    "accountIntervall",
    "accountLastInvoice",
    "accountNextInvoice",
    "reminderTotal",
    "reminderDebit",
    "reminderDeadline",
)


def get_invoice(store: Store, invoice_id: str) -> Record:
    invoice = store.invoices.get(invoice_id)
    if invoice is None:
        raise not_found("Invoice", invoice_id)
    return invoice


def invoice_out(emu: SevdeskEmulator, invoice: Record) -> Record:
    """An invoice as GET answers it; the switch drops propertyIsEInvoice like some read-backs do (§13)."""
    out = public(invoice)
    if emu.omit_e_invoice_flag:
        out.pop("propertyIsEInvoice", None)
    return out


def positions_of(store: Store, invoice_id: str) -> list[Record]:
    return store.positions_of(invoice_id)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _optional_ref(data: dict[str, Any], key: str, object_name: str) -> Record | None:
    return ref(data[key], object_name) if data.get(key) else None


def validate_invoice_input(data: Any) -> None:
    if not isinstance(data, dict):
        raise bad_request("invoice must be an object")
    if data.get("objectName") != "Invoice" or not to_bool(data.get("mapAll")):
        raise bad_request("invoice needs objectName 'Invoice' and mapAll true")
    missing = [key for key in REQUIRED_FIELDS if data.get(key) in (None, "")]
    if missing:
        raise bad_request(f"Missing required invoice fields: {', '.join(missing)}")
    if str(data["status"]) != DRAFT:
        raise ApiError(422, "Invoices can only be created as draft (status 100) in bookkeeping 2.0")


def build_invoice(
    store: Store, data: dict[str, Any], invoice_id: str, now: datetime, old: Record | None
) -> Record:
    """The invoice record for (merged) saveInvoice input; sums are filled in by `apply_sums`."""
    invoice_date = parse_moment(data["invoiceDate"], "invoiceDate")
    delivery = data.get("deliveryDate")
    until = data.get("deliveryDateUntil")
    record: Record = {"id": invoice_id, "objectName": "Invoice", "additionalInformation": None}
    if "propertyIsEInvoice" in data:
        record["propertyIsEInvoice"] = "1" if to_bool(data["propertyIsEInvoice"]) else None
    record |= {
        "invoiceNumber": old["invoiceNumber"] if old else _text(data.get("invoiceNumber") or None),
        "contact": ref(data["contact"], "Contact"),
        "create": old["create"] if old else iso(now),
        "update": iso(now),
        "sevClient": store.sev_client_ref(),
        "invoiceDate": iso(invoice_date),
        "header": _text(data.get("header")),
        "headText": _text(data.get("headText")),
        "footText": _text(data.get("footText")),
        "timeToPay": _text(data.get("timeToPay")),
        "discountTime": _text(data.get("discountTime")),
        "discount": amount(to_decimal(data.get("discount") or 0, "discount")),
        **{
            key: _text(data.get(key)) for key in ("addressName", "addressStreet", "addressZip", "addressCity")
        },
        "addressCountry": _optional_ref(data, "addressCountry", "StaticCountry"),
        "payDate": None,
        "createUser": store.user_ref(),
        "deliveryDate": iso(parse_moment(delivery, "deliveryDate")) if delivery else iso(invoice_date),
        "status": DRAFT,
        "smallSettlement": flag(data.get("smallSettlement")),
        "contactPerson": ref(data["contactPerson"], "SevUser"),
        "taxRate": amount(to_decimal(data.get("taxRate") or 0, "taxRate")),
        "taxText": _text(data.get("taxText")),
        "dunningLevel": None,
        "addressParentName": None,
        "taxType": _text(data.get("taxType")),
    }
    if data.get("paymentMethod"):
        record["paymentMethod"] = ref(data["paymentMethod"], "PaymentMethod")
    record |= {
        "sendDate": None,
        "invoiceType": str(data["invoiceType"]),
        **dict.fromkeys(NULL_FIELDS),
        "reminderCharge": "0",
        **dict.fromkeys(("addressParentName2", "addressName2", "addressGender", "accountStartDate")),
        "accountEndDate": None,
        "address": _text(data.get("address")),
        "currency": str(data["currency"]),
        "sumNet": "0",
        "sumTax": "0",
        "sumGross": "0",
        **dict.fromkeys(ZERO_SUMS, "0"),
        "sumNetAccounting": "0",
        "sumTaxAccounting": "0",
        "sumGrossAccounting": "0",
        "paidAmount": 0,
        "customerInternalNote": _text(data.get("customerInternalNote")),
        **dict.fromkeys(("einvoiceReference", "sepaMandateReference", "sepaCreditorId", "sepaPayerIban")),
        "showNet": flag(data.get("showNet", True)),
        "enshrined": None,
        "sendType": "0",
        "deliveryDateUntil": iso(parse_moment(until, "deliveryDateUntil")) if until else None,
        "sendPaymentReceivedNotificationDate": None,
        **dict.fromkeys(
            (
                "sumDiscountNet",
                "sumDiscountGross",
                "sumDiscountNetForeignCurrency",
                "sumDiscountGrossForeignCurrency",
            ),
            "0",
        ),
        "taxRule": ref(data["taxRule"], "TaxRule"),
    }
    return record


def build_position(
    store: Store, data: Any, invoice: Record, position_id: str, now: datetime, old: Record | None
) -> Record:
    """One InvoicePos; net = quantity * price rounded to cents, tax per position (showNet decides)."""
    if (
        not isinstance(data, dict)
        or data.get("objectName") != "InvoicePos"
        or not to_bool(data.get("mapAll"))
    ):
        raise bad_request("every position needs objectName 'InvoicePos' and mapAll true")
    merged = {**(old.get("_input", {}) if old else {}), **data}
    missing = [key for key in ("quantity", "price", "taxRate", "unity") if merged.get(key) in (None, "")]
    if missing:
        raise bad_request(f"Missing required position fields: {', '.join(missing)}")
    quantity = to_decimal(merged["quantity"], "quantity")
    price = to_decimal(merged["price"], "price")
    rate = to_decimal(merged["taxRate"], "taxRate")
    allowed = TAX_RULE_RATES.get(invoice["taxRule"]["id"])
    if allowed is not None and rate not in allowed:
        raise ApiError(422, f"Tax rate {rate} is not allowed for tax rule {invoice['taxRule']['id']}")
    factor = 1 + rate / 100
    if invoice["showNet"] == "1":
        net = cents(quantity * price)
        tax = cents(net * rate / 100)
        gross = net + tax
        price_net, price_gross = price, cents(price * factor)
    else:
        gross = cents(quantity * price)
        net = cents(gross / factor)
        tax = gross - net
        price_net, price_gross = cents(price / factor), price
    return {
        "id": position_id,
        "objectName": "InvoicePos",
        "additionalInformation": None,
        "create": old["create"] if old else iso(now),
        "update": iso(now),
        "invoice": {"id": invoice["id"], "objectName": "Invoice"},
        "quantity": amount(quantity),
        "price": amount(price),
        "name": _text(merged.get("name")),
        "priority": str(merged.get("priority", 100)),
        "unity": ref(merged["unity"], "Unity"),
        "positionNumber": str(merged.get("positionNumber", 1000)),
        "text": _text(merged.get("text")),
        "discount": amount(to_decimal(merged.get("discount") or 0, "discount")),
        "isPercentage": "1",
        "discountedValue": None,
        "taxRate": f"{rate:.2f}",
        "temporary": None,
        "sumNet": amount(net),
        "sumGross": amount(gross),
        "sumDiscount": "0",
        "sumTax": amount(tax),
        "sumNetAccounting": amount(net),
        "sumTaxAccounting": amount(tax),
        "sumGrossAccounting": amount(gross),
        "priceNet": amount(price_net),
        "priceGross": amount(price_gross),
        "priceTax": amount(price_gross - price_net),
        **dict.fromkeys(
            (
                "sumNetForeignCurrency",
                "sumTaxForeignCurrency",
                "sumGrossForeignCurrency",
                "sumDiscountForeignCurrency",
            ),
            "0",
        ),
        "createNextPart": "0",
        "_input": merged,
    }


def apply_sums(invoice: Record, positions: list[Record]) -> None:
    for key in ("sumNet", "sumTax", "sumGross"):
        total = amount(sum((Decimal(pos[key]) for pos in positions), Decimal(0)))
        invoice[key] = invoice[f"{key}Accounting"] = total


POSITION_NUMBERS = (
    "price",
    "discount",
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
    "sumNetForeignCurrency",
    "sumTaxForeignCurrency",
    "sumGrossForeignCurrency",
    "sumDiscountForeignCurrency",
)


def position_in_save_response(position: Record, invoice: Record) -> Record:
    """saveInvoice's odd position encoding: JSON numbers, quantity 1 as `true` (write_invoice_save.json)."""
    out = public(position)
    for key in POSITION_NUMBERS:
        out[key] = number(Decimal(out[key]))
    quantity = Decimal(out["quantity"])
    out["quantity"] = True if quantity == 1 else number(quantity)
    out |= {
        "create": None,
        "update": None,
        "invoice": public(invoice),
        "priority": int(out["priority"]),
        "positionNumber": int(out["positionNumber"]),
        "isPercentage": True,
        "createNextPart": False,
        "unity": expanded_unity(out["unity"]["id"]),
    }
    return out


def expanded_unity(unity_id: str) -> Record:
    known = UNITIES.get(
        unity_id, {"name": "Stk", "translationCode": "UNITY_PIECE", "uneceTradeUnitCode": "C62"}
    )
    return {
        "id": unity_id,
        "objectName": "Unity",
        "additionalInformation": None,
        "create": None,
        "update": "1970-01-01T01:00:01+01:00",
        "name": known["name"],
        "translationCode": known["translationCode"],
        "unitySystem": "general",
        "uneceTradeUnitCode": known["uneceTradeUnitCode"],
    }


def finalize(emu: SevdeskEmulator, invoice: Record, send_type: str) -> None:
    """Mark sent; a draft becomes open (200), gets the next number and is enshrined."""
    now = iso(emu.now())
    if invoice["status"] == DRAFT:
        invoice["status"] = OPEN
        invoice["invoiceNumber"] = invoice["invoiceNumber"] or emu.state.take_invoice_number()
        invoice["enshrined"] = now
    invoice["sendDate"] = now
    invoice["sendType"] = send_type
    invoice["update"] = now
