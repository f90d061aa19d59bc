"""GET /api/sevdesk/kpis/revenue: revenue, expenses and profit of a year, per month, on two bases."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from sevdesk_common.models.base import ApiModel
from sevdesk_common.models.fields import AmountOut


class Figures(ApiModel):
    revenue: AmountOut = Field(description="net revenue")
    expenses: AmountOut = Field(description="net expenses")
    profit: AmountOut = Field(description="revenue - expenses")
    written_off: AmountOut = Field(
        default=Decimal(0), description="cash basis only: invoice amounts written off (gross), not cash"
    )


class MonthFigures(Figures):
    month: int = Field(ge=1, le=12)


class BasisFigures(ApiModel):
    basis: Literal["accrual", "cash"]
    definition: str
    months: list[MonthFigures]
    total: Figures


class DocumentCounts(ApiModel):
    invoices: int = 0
    credit_notes: int = 0
    vouchers: int = 0
    bookings: int = 0
    skipped_drafts: int = 0
    skipped_other_currency: int = 0


class RevenueKpis(ApiModel):
    year: int
    currency: Literal["EUR"] = "EUR"
    accrual: BasisFigures
    cash: BasisFigures
    computed_at: datetime = Field(description="when the figures were computed from sevDesk")
    age_seconds: int = Field(description="how old they are (cached for a few minutes)")
    cached: bool
    sevdesk_requests: int = Field(description="sevDesk requests the computation made")
    counted: DocumentCounts
