"""The EventBridge `PurchaseCompleted` event R1 sends when a purchase completes: its detail is the
purchase, from which the billing invoice is made (schema: events/schemas/purchase_completed.json)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, AwareDatetime, Field, StrictBool, model_validator

from sevdesk_common.models.base import StrictApiModel
from sevdesk_common.models.fields import FIRST_DAY, LAST_DAY, EmailAddress
from sevdesk_common.models.invoice import (
    CompanyRecipient,
    Currency,
    DealType,
    Id,
    InvoiceHandover,
    InvoiceNumber,
    OptionalText,
    PaymentDays,
    PersonRecipient,
    Position,
)
from sevdesk_common.sevdesk.payloads import berlin_date

SOURCE = "r1.billing"
DETAIL_TYPE = "PurchaseCompleted"
INVOICE_ID_PREFIX = "PURCHASE-"


def _plausible(moment: datetime) -> datetime:
    if not FIRST_DAY.year <= moment.year <= LAST_DAY.year:
        raise ValueError(f"a moment in the years {FIRST_DAY.year} to {LAST_DAY.year} expected")
    return moment


PurchaseId = Annotated[
    str,
    Field(min_length=1, max_length=55, pattern=r"^[A-Za-z0-9._-]+$", description="R1's id of the purchase"),
]


class PurchaseCompleted(StrictApiModel):
    """The event's `detail`. Unknown fields are refused like in every request of this API: a
    producer change then lands in the dead-letter queue with the reason instead of being lost."""

    purchase_id: PurchaseId
    purchased_at: Annotated[AwareDatetime, AfterValidator(_plausible)] = Field(
        description="When the purchase completed; its Berlin day is the invoice date"
    )
    invoice_number: InvoiceNumber | None = Field(
        default=None, description="R1's invoice number; default: the purchase id"
    )
    contact: PersonRecipient | None = None
    company: CompanyRecipient | None = None
    items: Annotated[list[Position], Field(min_length=1, max_length=500)]
    currency: Currency = "EUR"
    deal_type: DealType
    document_template_id: Id | None = None
    time_to_pay_days: PaymentDays = 14
    header: OptionalText | None = None
    send_email: StrictBool = Field(default=False, description="E-mail the invoice once it is published")
    email: EmailAddress | None = Field(
        default=None, description="Send to this address instead of the buyer's"
    )

    @model_validator(mode="after")
    def _one_buyer(self) -> Self:
        if bool(self.contact) == bool(self.company):
            raise ValueError("give the buyer as either contact (a person) or company")
        return self

    @property
    def invoice_id(self) -> str:
        """The billing invoice of this purchase: one per purchase, whatever replays the event."""
        return INVOICE_ID_PREFIX + self.purchase_id

    def handover(self) -> InvoiceHandover:
        day = berlin_date(self.purchased_at)
        return InvoiceHandover(
            invoice_number=self.invoice_number or self.purchase_id,
            contact=self.contact,
            company=self.company,
            positions=self.items,
            currency=self.currency,
            deal_type=self.deal_type,
            document_template_id=self.document_template_id,
            invoice_date=day,
            delivery_date=day,
            time_to_pay_days=self.time_to_pay_days,
            header=self.header,
        )


class PurchaseEvent(StrictApiModel):
    """The EventBridge envelope (only what is checked; EventBridge's own keys pass)."""

    model_config = {**StrictApiModel.model_config, "extra": "ignore"}

    id: str | None = None
    source: Literal["r1.billing"]
    detail_type: Literal["PurchaseCompleted"] = Field(alias="detail-type")
    time: datetime | None = None
    detail: PurchaseCompleted


def describe_errors(errors: list[Any], *, limit: int = 20) -> list[dict[str, str]]:
    """Pydantic's errors as {field, message}, for the dead letter's reason."""
    out = []
    for issue in errors[:limit]:
        location = ".".join(str(part) for part in issue.get("loc", ()))
        message = "unknown field" if issue.get("type") == "extra_forbidden" else str(issue.get("msg"))
        out.append({"field": location or "event", "message": message})
    return out
