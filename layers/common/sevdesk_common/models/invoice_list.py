"""GET /api/billing/invoices: one row per handed-over invoice, as the list indexes project it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sevdesk_common.models.base import ApiModel
from sevdesk_common.models.fields import AmountOut
from sevdesk_common.models.invoice import ClaimStatus, DocumentStatus, SyncStatus


class InvoiceSummary(ApiModel):
    invoice_id: str
    invoice_number: str
    invoice_date: date
    recipient_name: str
    currency: str = "EUR"
    net_amount: AmountOut
    gross_amount: AmountOut
    paid_amount: AmountOut = Decimal(0)
    accounting_sync_status: SyncStatus
    claim_status: ClaimStatus
    document_status: DocumentStatus
    external_id: str | None = None
    external_invoice_number: str | None = None
    last_error: dict[str, Any] | None = None
    created_at: datetime


class InvoiceList(ApiModel):
    invoices: list[InvoiceSummary]
    next_cursor: str | None = None
