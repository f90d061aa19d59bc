"""Request bodies we send to sevDesk, built from typed input. The wire shape follows the
measured saveInvoice/saveVoucher bodies in NOTES.md, not the spec (e.g. `invoicePosSave`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# The most entries sevDesk returns per list request (its `limit` cap).
MAX_PAGE = 1000


def ref(object_name: str, id_: str | int) -> dict[str, Any]:
    """A reference; numeric ids go out as integers, which sevDesk accepts everywhere."""
    value: str | int = int(id_) if isinstance(id_, str) and id_.isdigit() else id_
    return {"id": value, "objectName": object_name}


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def berlin_midnight_unix(day: date) -> int:
    """Unix seconds of 00:00 Europe/Berlin on `day`. The EU DST rule is computed rather than
    read from zoneinfo, so it does not depend on tz data being present in the Lambda image."""
    summer = _last_sunday(day.year, 3) < day <= _last_sunday(day.year, 10)
    offset = timedelta(hours=2 if summer else 1)
    return int((datetime(day.year, day.month, day.day, tzinfo=UTC) - offset).timestamp())


def berlin_date(moment: datetime) -> date:
    """The calendar day in Europe/Berlin of an aware moment (naive: taken as UTC), by the same
    computed DST rule (summer time from 01:00 UTC on the last Sunday of March to 01:00 UTC on the
    last Sunday of October)."""
    utc = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    year = utc.year
    summer_starts = datetime.combine(_last_sunday(year, 3), datetime.min.time(), UTC) + timedelta(hours=1)
    summer_ends = datetime.combine(_last_sunday(year, 10), datetime.min.time(), UTC) + timedelta(hours=1)
    offset = timedelta(hours=2 if summer_starts <= utc < summer_ends else 1)
    return (utc + offset).date()


def dmy(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def decimal_str(value: Decimal) -> str:
    # Plain notation ("1E+1" would not be understood).
    return format(value, "f")


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # built at first use


class InvoicePositionPayload(_Input):
    name: str = Field(min_length=1)
    quantity: Decimal
    price: Decimal
    tax_rate: Decimal
    text: str | None = None
    unity_id: int = 1  # "Stk" (piece)

    def to_wire(self) -> dict[str, Any]:
        return {
            "objectName": "InvoicePos",
            "mapAll": True,
            "name": self.name,
            "text": self.text,
            "quantity": decimal_str(self.quantity),
            "price": decimal_str(self.price),
            "taxRate": decimal_str(self.tax_rate),
            "unity": ref("Unity", self.unity_id),
        }


class InvoiceSavePayload(_Input):
    """A new draft invoice (status 100) with all its positions, created in one request."""

    contact_id: str
    contact_person_id: str
    invoice_date: date
    delivery_date: date | None = None
    delivery_date_until: date | None = None
    customer_internal_note: str = Field(min_length=1)  # our marker, used to reconcile
    header: str | None = None
    head_text: str | None = None
    foot_text: str | None = None
    invoice_type: str = "RE"
    currency: str = "EUR"
    tax_rule_id: int = 1
    tax_text: str = "Umsatzsteuer"
    show_net: bool = True
    time_to_pay: int | None = None
    payment_method_id: str | None = None
    # An e-invoice (ZUGFeRD/XRechnung): sevDesk then refuses to finalize it without the EN 16931 data.
    property_is_e_invoice: bool = False
    # sevDesk does not copy the contact's address onto the invoice, so it goes in explicitly.
    address: str | None = None
    address_name: str | None = None
    address_street: str | None = None
    address_zip: str | None = None
    address_city: str | None = None
    address_country_id: int = 1  # Germany
    positions: list[InvoicePositionPayload] = Field(min_length=1)

    def to_wire(self) -> dict[str, Any]:
        invoice: dict[str, Any] = {
            "objectName": "Invoice",
            "mapAll": True,
            "contact": ref("Contact", self.contact_id),
            "contactPerson": ref("SevUser", self.contact_person_id),
            "invoiceDate": dmy(self.invoice_date),
            "status": 100,
            "invoiceType": self.invoice_type,
            "currency": self.currency,
            "discount": 0,
            "taxRate": 0,  # unused by sevDesk: the rate is per position
            "taxRule": ref("TaxRule", self.tax_rule_id),
            "taxText": self.tax_text,
            "showNet": self.show_net,
            "customerInternalNote": self.customer_internal_note,
            "addressCountry": ref("StaticCountry", self.address_country_id),
            "address": self.address,
            "addressName": self.address_name,
            "addressStreet": self.address_street,
            "addressZip": self.address_zip,
            "addressCity": self.address_city,
            "header": self.header,
            "headText": self.head_text,
            "footText": self.foot_text,
        }
        if self.delivery_date:
            invoice["deliveryDate"] = berlin_midnight_unix(self.delivery_date)
        if self.delivery_date_until:
            invoice["deliveryDateUntil"] = berlin_midnight_unix(self.delivery_date_until)
        if self.time_to_pay is not None:
            invoice["timeToPay"] = self.time_to_pay
        if self.payment_method_id:
            invoice["paymentMethod"] = ref("PaymentMethod", self.payment_method_id)
        if self.property_is_e_invoice:
            invoice["propertyIsEInvoice"] = True
        return {
            "invoice": invoice,
            "invoicePosSave": [pos.to_wire() for pos in self.positions],
            "invoicePosDelete": None,
        }


class VoucherPositionPayload(_Input):
    """A position by its net amount (`net` true) or, with `net` false, by its gross amount."""

    account_datev_id: str
    tax_rate: Decimal
    sum_net: Decimal | None = None
    sum_gross: Decimal | None = None
    comment: str | None = None
    net: bool = True

    @model_validator(mode="after")
    def _amount_of_its_kind(self) -> VoucherPositionPayload:
        if (self.sum_net if self.net else self.sum_gross) is None:
            raise ValueError("a net position needs sum_net, a gross one sum_gross")
        return self

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "objectName": "VoucherPos",
            "mapAll": True,
            "accountDatev": ref("AccountDatev", self.account_datev_id),
            "taxRate": decimal_str(self.tax_rate),
            "net": self.net,
            "comment": self.comment,
        }
        if self.net:
            assert self.sum_net is not None
            wire["sumNet"] = decimal_str(self.sum_net)
        else:
            assert self.sum_gross is not None
            wire["sumGross"] = decimal_str(self.sum_gross)
        return wire


class VoucherSavePayload(_Input):
    """An incoming invoice (Beleg); `filename` is the name uploadTempFile returned."""

    voucher_date: date
    supplier_name: str
    description: str
    credit_debit: str = "C"
    voucher_type: str = "VOU"
    tax_rule_id: int
    status: int = 50  # draft
    currency: str = "EUR"
    delivery_date: date | None = None
    filename: str | None = None
    positions: list[VoucherPositionPayload] = Field(min_length=1)

    def to_wire(self) -> dict[str, Any]:
        voucher: dict[str, Any] = {
            "objectName": "Voucher",
            "mapAll": True,
            "voucherDate": dmy(self.voucher_date),
            "supplierName": self.supplier_name,
            "description": self.description,
            "status": self.status,
            "creditDebit": self.credit_debit,
            "voucherType": self.voucher_type,
            "taxRule": ref("TaxRule", self.tax_rule_id),
            "currency": self.currency,
        }
        if self.delivery_date:
            voucher["deliveryDate"] = dmy(self.delivery_date)
        body: dict[str, Any] = {
            "voucher": voucher,
            "voucherPosSave": [pos.to_wire() for pos in self.positions],
            "voucherPosDelete": None,
        }
        if self.filename:
            body["filename"] = self.filename
        return body
