"""The drift report between the bundle and sevDesk (GET /api/sevdesk/reconciliation)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from sevdesk_common.models.base import ApiModel

DriftKind = Literal[
    "missing_in_sevdesk",
    "missing_in_bundle",
    "number_differs",
    "sums_differ",
    "status_differs",
    "cancellation_unseen",
    "payment_unseen",
    "einvoice_differs",
    "contact_missing_in_sevdesk",
    "contact_differs",
]

# What to do about each kind, for whoever reads the report.
ACTIONS: dict[str, str] = {
    "missing_in_sevdesk": (
        "sevDesk no longer has this invoice (a deleted draft?). Check sevDesk; a finalized invoice "
        "cannot vanish. Cancel it in R1 and hand over a new invoice."
    ),
    "missing_in_bundle": (
        "sevDesk has an invoice with this R1 invoice's marker that the bundle does not know. If the R1 "
        "invoice exists, publish it again: publish adopts the invoice by its marker. Otherwise cancel "
        "(or delete, if a draft) it in sevDesk."
    ),
    "number_differs": (
        "The invoice numbers differ. sevDesk's number is the legal one: publish again to adopt it, "
        "and check which number the customer received."
    ),
    "sums_differ": (
        "The amounts differ. Compare the positions; if sevDesk's document is wrong, cancel it and "
        "hand over a corrected invoice."
    ),
    "status_differs": (
        "The document status differs (e.g. finalized in sevDesk by hand). Publish again: it adopts "
        "sevDesk's state."
    ),
    "cancellation_unseen": (
        "sevDesk has a cancellation invoice for it that the bundle has not seen. Cancel it in the "
        "bundle (POST .../cancel adopts the existing one) or run the payment sync."
    ),
    "payment_unseen": (
        "sevDesk has booked a payment the bundle has not seen. Run the payment sync "
        "(POST /api/sevdesk/sync/payments); if it stays, check the booking in sevDesk."
    ),
    "einvoice_differs": (
        "The bundle published it as an e-invoice but sevDesk says it is not one. Cancel it and hand "
        "over a new invoice; never send the plain one."
    ),
    "contact_missing_in_sevdesk": (
        "The customer's sevDesk contact is gone. The next publish for this customer fails until the "
        "contact exists again: restore it in sevDesk (same customer number)."
    ),
    "contact_differs": (
        "The customer's data in sevDesk differs from R1's latest hand-over. Update the contact in "
        "sevDesk (or R1, whichever is wrong): sevDesk uses the contact for e-invoices and dunning."
    ),
}


class DriftItem(ApiModel):
    kind: DriftKind
    invoice_id: str | None = None
    external_id: str | None = None
    contact_id: str | None = None
    ours: dict[str, Any] = Field(default_factory=dict, description="What the bundle holds")
    sevdesk: dict[str, Any] = Field(default_factory=dict, description="What sevDesk holds")
    action: str


class SevdeskRequests(ApiModel):
    total: int
    by_operation: dict[str, int]


class DriftReport(ApiModel):
    generated_at: datetime
    trigger: Literal["request", "schedule"]
    bundle_invoices: int = Field(description="Invoices the bundle has published to sevDesk (or started to)")
    sevdesk_invoices: int = Field(description="Invoices in sevDesk that carry an R1 marker")
    contacts_checked: int
    sevdesk_requests: SevdeskRequests = Field(
        description="The sevDesk requests this report made (list reads)"
    )
    duration_ms: int
    counts: dict[str, int]
    items: list[DriftItem]
    stored_as: str | None = Field(default=None, description="Where the nightly run archived it")
