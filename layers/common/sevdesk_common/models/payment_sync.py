"""Payment sync: the route's request and the summary every run answers, and the run state kept
between runs (services/payment_sync.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StrictBool

from sevdesk_common.models.base import ApiModel, StrictApiModel

Trigger = Literal["schedule", "manual", "invoice"]
# What a change made of the claim: the kind each `payment_synced` event and metric names.
ChangeKind = Literal["paid", "overpaid", "partially_paid", "written_off", "cancelled", "reopened"]
# Why a run ended before its work was done (the next run goes on).
StopReason = Literal["time", "rate_limit", "unauthorized"]


class PaymentSyncRequest(StrictApiModel):
    """POST /api/sevdesk/sync/payments: all invoices, or one."""

    invoice_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")] | None = (
        Field(default=None, description="Sync only this invoice (R1's id), read from sevDesk directly")
    )
    reconcile: StrictBool = Field(
        default=False,
        description="Also compare every open invoice with sevDesk now (otherwise hourly, by the schedule); "
        "on a large account it may not finish within the request, then the next scheduled run does it",
    )


class ChangedCounts(ApiModel):
    paid: int = 0
    overpaid: int = 0
    partially_paid: int = 0
    written_off: int = 0
    cancelled: int = 0
    reopened: int = Field(default=0, description="Was paid or partly paid; sevDesk shows it open again")

    def total(self) -> int:
        return sum(self.model_dump().values())


class SyncFailure(ApiModel):
    invoice_id: str | None = None
    external_id: str | None = Field(default=None, description="The sevDesk invoice id")
    reason: str = Field(description="A stable code, e.g. page_failed, bookings_do_not_add_up")
    message: str


class PaymentSyncSummary(ApiModel):
    """What one run did. `complete` false: it stopped early (time, sevDesk's limit) or a list page
    failed; the next run goes on from there and nothing read so far is lost."""

    trigger: Trigger
    started_at: datetime
    duration_ms: int
    complete: bool
    stopped_by: StopReason | None = None
    candidates: int = Field(
        default=0,
        description="Open published invoices looked at: all of them in a reconciliation, otherwise those "
        "sevDesk reported changed",
    )
    checked: int = Field(default=0, description="Invoices compared with their sevDesk state")
    changed: ChangedCounts = Field(default_factory=ChangedCounts)
    unchanged: int = 0
    deferred: int = Field(default=0, description="Busy with another action now; checked again next run")
    failed: list[SyncFailure] = Field(default_factory=list, description="The first 100 failures")
    failed_count: int = 0
    reconciliation: Literal["not_due", "complete", "incomplete"] = "not_due"
    sevdesk_requests: int = 0
    dynamodb_reads: int = 0
    watermark: datetime | None = Field(
        default=None, description="sevDesk changes before this moment are applied (minus a safety overlap)"
    )


class SkippedRun(ApiModel):
    """A scheduled run that did nothing, and why."""

    status: Literal["skipped"] = "skipped"
    reason: Literal["interval", "no_token"]
    last_sync_at: datetime | None = None


class ChangesPass(ApiModel):
    """A read of sevDesk's changes that has not reached its end yet: where to go on."""

    window_from: datetime
    until: datetime  # when this read began: the watermark once it is complete
    offset: int = 0


class SyncState(ApiModel):
    watermark: datetime | None = None
    pending: ChangesPass | None = None
    last_reconciled_at: datetime | None = None
    version: int = 0
