"""E-invoices (EN 16931: ZUGFeRD/XRechnung via sevDesk's `propertyIsEInvoice`): when an invoice
is one, what it still lacks, and sevDesk's own names for missing master data in words.

Germany: issuing e-invoices for domestic B2B sales is mandatory from 2027 for businesses over
800,000 EUR turnover and from 2028 for all; invoices up to 250 EUR gross (Kleinbetragsrechnungen,
§ 33 UStDV) and B2C sales are exempt. Public buyers (B2G) need their Leitweg-ID as buyer reference.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from sevdesk_common.models.base import ApiModel

EInvoiceMode = Literal["never", "domestic_b2b", "always"]
PaymentMeans = Literal["sepa_transfer", "sepa_direct_debit", "cash", "online"]
# UNTDID 4461 codes: what sevDesk's PaymentMethod.electronicInvoiceId holds.
PAYMENT_MEANS_CODES: dict[str, str] = {
    "sepa_transfer": "58",
    "sepa_direct_debit": "59",
    "cash": "10",
    "online": "68",
}
PAYMENT_MEANS_NAMES: dict[str, str] = {
    "sepa_transfer": "SEPA credit transfer",
    "sepa_direct_debit": "SEPA direct debit",
    "cash": "cash",
    "online": "online payment",
}
SMALL_AMOUNT_LIMIT = Decimal(250)  # § 33 UStDV: up to this gross amount no e-invoice is required

# Leitweg-ID (KoSIT format 2.0): coarse address (2-12 digits), optional fine address (up to 30
# letters/digits), check digits (ISO/IEC 7064 MOD 97-10 over the rest).
_LEITWEG_ID = re.compile(r"(\d{2,12})(?:-([A-Za-z0-9]{1,30}))?-(\d{2})")
_EU_VAT_ID = re.compile(r"[A-Z]{2}[0-9A-Z+*.]{2,12}")
_GERMAN_VAT_ID = re.compile(r"DE\d{9}")


def leitweg_id_problem(value: str) -> str | None:
    """Why `value` is not a Leitweg-ID, or None when it is one."""
    match = _LEITWEG_ID.fullmatch(value)
    if match is None:
        return "is not a Leitweg-ID (digits-[address-]check digits, e.g. 04011000-1234512345-06)"
    digits = "".join(str(int(c, 36)) for c in value.replace("-", "").upper())
    if int(digits) % 97 != 1:
        return "has wrong check digits (ISO/IEC 7064 MOD 97-10)"
    return None


def vat_id_problem(value: str) -> str | None:
    if not _EU_VAT_ID.fullmatch(value):
        return "is not a VAT identification number (country code and 2 to 12 characters, e.g. DE123456789)"
    if value.startswith("DE") and not _GERMAN_VAT_ID.fullmatch(value):
        return "is not a German VAT identification number (DE and 9 digits)"
    return None


Side = Literal["buyer", "seller", "document"]


class MissingPiece(ApiModel):
    """One thing an e-invoice still lacks, said so that someone can fix it."""

    field: str = Field(description="Where it belongs: a hand-over field, or sevDesk's name for it")
    side: Side
    problem: Literal["missing", "invalid"] = "missing"
    message: str
    fix: str


SellerStatus = Literal["unknown", "ok", "incomplete"]


class SellerCheck(ApiModel):
    """The seller's master data as far as sevDesk has told: sevDesk's API cannot read it (IBAN,
    tax number, ...), so the first e-invoice finalized after a configuration change is the
    canary, and its outcome is kept here until the configuration changes again."""

    status: SellerStatus = "unknown"
    missing: list[MissingPiece] = Field(default_factory=list)
    checked_at: datetime | None = None
    canary_invoice_id: str | None = None


class EInvoiceDecision(ApiModel):
    e_invoice: bool
    reason: str


class EInvoiceReadiness(ApiModel):
    """GET /api/billing/invoices/{invoiceId}/einvoice-readiness."""

    invoice_id: str
    e_invoice: bool = Field(description="Whether publish makes this invoice an e-invoice")
    reason: str
    ready: bool = Field(description="False: publish refuses it (nothing is sent) until `missing` is fixed")
    missing: list[MissingPiece]
    seller: SellerCheck


# sevDesk's names in the 830 refusal's "missing information" list -> (side, what, where to fix it).
_SELLER_FIX = (
    "Fix it in sevDesk (Einstellungen > Unternehmen / Zahlungsverkehr), then test the connection again."
)
SEVDESK_FIELDS: dict[str, tuple[Side, str, str]] = {
    "document_addressStreet": ("document", "the invoice address's street", "Hand the invoice over with it."),
    "document_addressZip": ("document", "the invoice address's postcode", "Hand the invoice over with it."),
    "document_addressCity": ("document", "the invoice address's city", "Hand the invoice over with it."),
    "document_addressCountry": (
        "document",
        "the invoice address's country",
        "Hand the invoice over with it.",
    ),
    "document_paymentMethod": (
        "document",
        "the payment method",
        "Set paymentMethod in the hand-over or eInvoicePaymentMethod in the settings.",
    ),
    "contact_buyerReference": (
        "buyer",
        "the customer's buyer reference (Leitweg-ID for public authorities)",
        "Set buyerReference in the hand-over, or on the customer's contact in sevDesk.",
    ),
    "contact_email": (
        "buyer",
        "the customer's e-mail address",
        "Add it to the customer's contact in sevDesk (or hand it over with a new customer).",
    ),
    "sevClient_addressStreet": ("seller", "your company's street", _SELLER_FIX),
    "sevClient_addressZip": ("seller", "your company's postcode", _SELLER_FIX),
    "sevClient_addressCity": ("seller", "your company's city", _SELLER_FIX),
    "sevClient_bankIban": ("seller", "your company's IBAN", _SELLER_FIX),
    "sevClient_bankBic": ("seller", "your company's BIC", _SELLER_FIX),
    "sevClient_email": ("seller", "your company's e-mail address", _SELLER_FIX),
    "sevClient_phone": ("seller", "your company's phone number", _SELLER_FIX),
    "sevClient_taxNumber": ("seller", "your company's tax number or VAT ID", _SELLER_FIX),
}


def from_sevdesk(name: str) -> MissingPiece:
    """One entry of sevDesk's 830 list, in words."""
    known = SEVDESK_FIELDS.get(name)
    if known is None:
        side: Side = (
            "seller"
            if name.startswith("sevClient_")
            else "buyer"
            if name.startswith("contact_")
            else "document"
        )
        return MissingPiece(
            field=name,
            side=side,
            message=f"sevDesk reports {name} as missing",
            fix=_SELLER_FIX if side == "seller" else "Complete it in sevDesk or in the hand-over.",
        )
    side, what, fix = known
    return MissingPiece(field=name, side=side, message=f"{what} is missing", fix=fix)
