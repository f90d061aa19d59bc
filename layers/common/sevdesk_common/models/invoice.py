"""R1's invoice as handed over, its handoff state, and its event log (DESIGN.md section 3).

Money is Decimal end to end and rounded to cents per position, the way sevDesk sums.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, model_validator

from sevdesk_common.models.base import ApiModel, StrictApiModel
from sevdesk_common.models.currencies import ISO_4217
from sevdesk_common.models.einvoice import PaymentMeans
from sevdesk_common.models.event_chain import ChainStatus
from sevdesk_common.models.fields import (
    AmountOut,
    EmailAddress,
    IsoDate,
    code,
    decimal,
    integer,
    one_of_numbers,
    text,
)

CENT = Decimal("0.01")
# Tax rates sevDesk allows on revenue under tax rule 1 (Umsatzsteuerpflichtige Umsätze).
TAX_RATES = (0, 7, 19)
# sevDesk's StaticCountry ids are per installation and no endpoint lists them; Germany is 1.
STATIC_COUNTRY_IDS = {"DE": 1}

DealType = Literal["EB", "KOP"]
ClaimStatus = Literal["open", "partially_paid", "paid", "cancelled"]
# How a claim that sevDesk reports settled (status 1000) was settled: by money, or by booking
# the unpaid rest off to a write-off account (the claim is closed, but that money never came).
Settlement = Literal["paid", "written_off"]
DocumentStatus = Literal["handed_over", "draft", "finalized", "sent", "cancelled"]
SyncStatus = Literal["pending", "publishing", "draft_created", "synced", "failed", "outcome_unknown"]


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


Text = Annotated[str, *text(255)]
Id = Annotated[str, *text(64)]
OptionalText = Annotated[str, *text(255, required=False)]
Zip = Annotated[str, *text(20)]
Description = Annotated[str, *text(2000, required=False)]
RecipientId = Annotated[str, *text(64, description="R1's id of the contact or company")]
InvoiceNumber = Annotated[str, *text(64, description="R1's invoice number")]
Currency = Annotated[str, *code(ISO_4217, "currency (ISO 4217 code in capitals)")]
# sevDesk needs a StaticCountry id per country; only Germany's is known (see STATIC_COUNTRY_IDS).
Country = Annotated[str, *code(STATIC_COUNTRY_IDS, "country (not mapped to a sevDesk country)")]
TaxRate = Annotated[Decimal, *one_of_numbers(TAX_RATES, "VAT rate in percent: 0, 7 or 19")]
Quantity = Annotated[Decimal, *decimal(8, "Quantity, greater than 0", positive=True)]
Money = Annotated[Decimal, *decimal(10, "Net unit price in the invoice currency")]
PaymentDays = Annotated[int, *integer(ge=0, le=365)]


class Address(StrictApiModel):
    street: Text
    zip: Zip
    city: Text
    country: Country = "DE"


class Recipient(StrictApiModel):
    id: RecipientId
    email: EmailAddress | None = None
    address: Address
    vat_id: Annotated[str, Field(min_length=4, max_length=20)] | None = None


class PersonRecipient(Recipient):
    """A natural person (R1 `contact`)."""

    first_name: Text
    last_name: Text


class CompanyRecipient(Recipient):
    """A legal entity (R1 `company`)."""

    name: Text
    public_authority: StrictBool = Field(
        default=False, description="A public buyer (B2G): e-invoices need its Leitweg-ID as buyerReference"
    )


class Position(StrictApiModel):
    name: Text
    description: Description | None = None
    quantity: Quantity
    unit_price: Money
    tax_rate: TaxRate

    @property
    def net(self) -> Decimal:
        return cents(self.quantity * self.unit_price)

    @property
    def tax(self) -> Decimal:
        return cents(self.net * self.tax_rate / 100)


class InvoiceHandover(StrictApiModel):
    """PUT /api/billing/invoices/{invoiceId}: R1 hands an invoice over."""

    invoice_number: InvoiceNumber
    contact: PersonRecipient | None = None
    company: CompanyRecipient | None = None
    contact_id: Id | None = Field(
        default=None, description="Fallback recipient: an R1 contact already linked to a sevDesk contact"
    )
    positions: Annotated[list[Position], Field(min_length=1, max_length=500)]
    currency: Currency = "EUR"
    deal_type: DealType
    document_template_id: Id | None = None
    invoice_date: IsoDate
    delivery_date: IsoDate | None = None
    time_to_pay_days: PaymentDays = 14
    header: OptionalText | None = None
    e_invoice: StrictBool | None = Field(
        default=None,
        description="true/false: an e-invoice or not, whatever the setting says; null: the setting decides",
    )
    buyer_reference: Annotated[str, *text(100, required=False)] | None = Field(
        default=None, description="EN 16931 buyer reference (BT-10); the Leitweg-ID for public authorities"
    )
    payment_method: PaymentMeans | None = Field(
        default=None,
        description="How the buyer pays (e-invoices); default: the setting eInvoicePaymentMethod",
    )

    @model_validator(mode="after")
    def _consistent(self) -> InvoiceHandover:
        if self.contact and self.company:
            raise ValueError("give either contact or company, not both")
        if not (self.contact or self.company or self.contact_id):
            raise ValueError("a recipient is required: contact, company or contactId")
        if self.delivery_date and self.delivery_date > self.invoice_date:
            raise ValueError("deliveryDate must not be after invoiceDate")
        return self

    @property
    def net_amount(self) -> Decimal:
        return sum((p.net for p in self.positions), Decimal(0))

    @property
    def tax_amount(self) -> Decimal:
        return sum((p.tax for p in self.positions), Decimal(0))

    @property
    def gross_amount(self) -> Decimal:
        return self.net_amount + self.tax_amount

    def recipient_key(self) -> str:
        """R1's identity of the recipient; it becomes the sevDesk customerNumber."""
        return recipient_key(self.company, self.contact, self.contact_id)


def recipient_key(
    company: CompanyRecipient | None, contact: PersonRecipient | None, contact_id: str | None = None
) -> str:
    """R1's identity of a customer, the same for its invoices and a customer sync; it is also
    the customer's sevDesk customerNumber and the key of its contact link."""
    if company:
        return f"R1-CO-{company.id}"
    if contact:
        return f"R1-CT-{contact.id}"
    return f"R1-CT-{contact_id}"


class Cancellation(ApiModel):
    external_id: str
    external_invoice_number: str | None = None
    template_id: str | None = None


class HandoffState(ApiModel):
    """The handoff state R1 reads back (GET /api/billing/invoices/{id} and action routes)."""

    invoice_id: str
    invoice_number: str
    accounting_provider: Literal["sevdesk"] = "sevdesk"
    external_id: str | None = None
    external_invoice_number: str | None = None
    accounting_sync_status: SyncStatus = "pending"
    accounting_synced_at: datetime | None = None
    document_status: DocumentStatus = "handed_over"
    claim_status: ClaimStatus = Field(
        default="open",
        description="From sevDesk by payment sync: open, partially_paid, paid (closed; `settlement` says "
        "whether the money came or the rest was written off), cancelled",
    )
    currency: str = "EUR"
    net_amount: AmountOut
    tax_amount: AmountOut
    gross_amount: AmountOut
    paid_amount: AmountOut = Field(
        default=Decimal(0),
        description="Money received (bank and cash bookings in sevDesk); never includes a written-off rest. "
        "Above grossAmount when the customer paid too much.",
    )
    paid_at: datetime | None = Field(
        default=None, description="sevDesk's payDate: the value date of the last booking"
    )
    settlement: Settlement | None = Field(
        default=None,
        description="Set when claimStatus is paid: `paid` (the money came), or `written_off` (sevDesk "
        "booked the unpaid rest off: the claim is closed but only paidAmount was received).",
    )
    written_off_amount: AmountOut | None = Field(
        default=None, description="The rest sevDesk booked off (settlement written_off)"
    )
    sevdesk_contact_id: str | None = None
    template_id: str | None = None
    sent_at: datetime | None = None
    sent_to: str | None = None
    e_invoice: bool | None = Field(default=None, description="Published as an e-invoice (decided at publish)")
    xml_sha256: str | None = Field(default=None, description="sha256 of the e-invoice XML as archived")
    xml_stored_at: datetime | None = None
    cancellation: Cancellation | None = None
    last_error: dict[str, Any] | None = None
    created_at: datetime
    updated_at: datetime
    version: int


class BillingInvoice(HandoffState):
    invoice: InvoiceHandover


class InvoiceEvent(ApiModel):
    event_id: str
    invoice_id: str
    type: str
    at: datetime
    actor: str
    details: dict[str, Any] = Field(default_factory=dict)
    seq: int | None = Field(default=None, description="Position in the invoice's log: 1, 2, ...")
    prev_hash: str | None = Field(
        default=None, description="sha256 of the event before (64 zeros for the first)"
    )
    hash: str | None = Field(default=None, description="sha256 over this event's canonical form")


class EventPage(ApiModel):
    events: list[InvoiceEvent]
    next_cursor: str | None = None
    chain: ChainStatus = Field(description="Whether the whole log verifies (not only this page)")
