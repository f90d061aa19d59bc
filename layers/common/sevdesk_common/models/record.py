"""The stored invoice and its rules: what R1 handed over, where it stands in sevDesk, who holds
it, and which sevDesk write is still unconfirmed. Services ask it, never the raw fields."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from sevdesk_common.models.fields import AmountOut
from sevdesk_common.models.invoice import (
    BillingInvoice,
    ClaimStatus,
    DocumentStatus,
    HandoffState,
    InvoiceHandover,
)

Action = Literal["publish", "send", "cancel"]
Operation = Literal[
    "createContact",
    "saveInvoice",
    "sendBy",
    "sendViaEmail",
    "cancelInvoice",
    "deleteInvoice",
    "createJob",
    "saveVoucher",
]
# The action that owns each invoice-level operation: only it may settle the write.
OWNER: dict[str, Action] = {
    "createContact": "publish",
    "saveInvoice": "publish",
    "sendBy": "publish",
    "sendViaEmail": "send",
    "cancelInvoice": "cancel",
    "deleteInvoice": "cancel",
}


class PendingWrite(BaseModel):
    """A sevDesk write announced before it was sent; cleared once its outcome is known.

    `at` is when it was sent (the grace period counts from there); the other fields are what a
    read needs to find its result, or to tell the user what may have happened."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
        defer_build=True,  # built at first use (see models.base.ApiModel)
    )

    action: Action | Literal["contact", "export", "voucher"]
    operation: Operation
    at: datetime
    target_id: str | None = Field(default=None, description="The sevDesk object the write acts on")
    to: str | None = None
    subject: str | None = None
    cc: list[str] = Field(default_factory=list)
    bcc: list[str] = Field(default_factory=list)
    resend: bool = False


def body_hash(handover: InvoiceHandover) -> str:
    canonical = json.dumps(
        handover.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class InvoiceRecord(BillingInvoice):
    """The stored invoice: the public state plus bookkeeping only this package reads."""

    body_hash: str
    lock_owner: str | None = None
    lock_action: str | None = None
    lock_expires_at: datetime | None = None
    pending_write: PendingWrite | None = None
    handed_over_by: str | None = None
    # When the sevDesk state that payment sync last applied was read: an older read never
    # overwrites a newer one (two sync runs at once).
    payment_observed_at: datetime | None = None
    # The head of the event log's hash chain (models/event_chain.py): the last event's seq and
    # hash, written in the same transaction as the events, so chaining costs no extra read.
    event_seq: int = 0
    event_head: str | None = None
    # Where the e-invoice XML is archived in the export bucket.
    xml_key: str | None = None

    # ------------------------------------------------------------------ from R1

    @classmethod
    def handed_over(cls, invoice_id: str, handover: InvoiceHandover, by: str, at: datetime) -> InvoiceRecord:
        return cls(
            invoice_id=invoice_id,
            created_at=at,
            updated_at=at,
            version=1,
            handed_over_by=by,
            **_handover_fields(handover),
        )

    def with_handover(self, handover: InvoiceHandover) -> InvoiceRecord:
        return self.changed(**_handover_fields(handover))

    def same_handover(self, handover: InvoiceHandover) -> bool:
        return self.body_hash == body_hash(handover)

    @property
    def accepts_handover_changes(self) -> bool:
        """A changed hand-over is taken only while nothing has gone to sevDesk."""
        return not (self.external_id or self.pending_write or self.lock_owner)

    # ------------------------------------------------------------------ in sevDesk

    @property
    def is_published(self) -> bool:
        """Created and finalized in sevDesk (it has its number)."""
        return self.external_id is not None and self.document_status in {"finalized", "sent", "cancelled"}

    @property
    def is_cancelled(self) -> bool:
        return self.claim_status == "cancelled" or self.document_status == "cancelled"

    @property
    def is_payment_sync_candidate(self) -> bool:
        return (
            self.external_id is not None
            and self.document_status in {"finalized", "sent"}
            and self.claim_status in {"open", "partially_paid"}
        )

    @property
    def needs_xml(self) -> bool:
        """A published e-invoice whose XML is not archived yet (publish's last step)."""
        return bool(self.e_invoice) and self.is_published and self.xml_sha256 is None

    def pending_of(self, action: str) -> PendingWrite | None:
        """This action's unconfirmed write, if any."""
        pending = self.pending_write
        return pending if pending is not None and pending.action == action else None

    def foreign_pending(self, action: str) -> PendingWrite | None:
        """Another action's unconfirmed write: that action must settle it first."""
        pending = self.pending_write
        return pending if pending is not None and pending.action != action else None

    # ------------------------------------------------------------------ views and changes

    def public(self) -> BillingInvoice:
        return BillingInvoice.model_validate(self.model_dump(include=set(BillingInvoice.model_fields)))

    def handoff(self) -> HandoffState:
        """The handoff state alone, as the action routes answer it."""
        return HandoffState.model_validate(self.model_dump(include=set(HandoffState.model_fields)))

    def summary(self) -> InvoiceSummary:
        """The invoice in flat fields (stored beside it, see InvoiceSummary)."""
        handover = self.invoice
        recipient = handover.company or handover.contact
        name: str | None = None
        if recipient is not None:
            name = getattr(recipient, "name", None) or " ".join(
                (getattr(recipient, "first_name", ""), getattr(recipient, "last_name", ""))
            )
        fields = set(InvoiceSummary.model_fields) - {"recipient_key", "recipient_name", "recipient_vat_id"}
        return InvoiceSummary(
            **{field: getattr(self, field) for field in fields},
            recipient_key=handover.recipient_key(),
            recipient_name=name,
            recipient_vat_id=recipient.vat_id if recipient is not None else None,
        )

    def changed(self, **changes: Any) -> Self:
        """A validated copy with `changes` (field names); an unknown field is an error."""
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise TypeError(f"not fields of {type(self).__name__}: {sorted(unknown)}")
        return type(self).model_validate({**self.model_dump(by_alias=False), **changes})


def _handover_fields(handover: InvoiceHandover) -> dict[str, Any]:
    return {
        "invoice": handover,
        "invoice_number": handover.invoice_number,
        "currency": handover.currency,
        "net_amount": handover.net_amount,
        "tax_amount": handover.tax_amount,
        "gross_amount": handover.gross_amount,
        "body_hash": body_hash(handover),
    }


class InvoiceSummary(BaseModel):
    """What the checks over every invoice read of one (the drift report, the event-chain check).
    Stored as one map beside the invoice and read through a projection of it: a fraction of the
    item (no hand-over, no positions) for Lambda to fetch and parse."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)

    invoice_id: str
    created_at: datetime
    external_id: str | None = None
    external_invoice_number: str | None = None
    net_amount: AmountOut
    gross_amount: AmountOut
    paid_amount: AmountOut = Decimal(0)
    claim_status: ClaimStatus = "open"
    document_status: DocumentStatus = "handed_over"
    e_invoice: bool | None = None
    sevdesk_contact_id: str | None = None
    event_seq: int = 0
    event_head: str | None = None
    recipient_key: str | None = None
    recipient_name: str | None = None
    recipient_vat_id: str | None = None

    @property
    def is_cancelled(self) -> bool:
        return self.claim_status == "cancelled" or self.document_status == "cancelled"
