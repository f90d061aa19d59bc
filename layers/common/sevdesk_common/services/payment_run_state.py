"""Payment sync's bookkeeping around a run: what it moves in the run state and how two runs'
progress merges, lastSyncAt, and the run's metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from sevdesk_common import payment_sync_store
from sevdesk_common.errors import Conflict
from sevdesk_common.models.payment_sync import ChangesPass, PaymentSyncSummary, SyncState
from sevdesk_common.observability import logger, metrics
from sevdesk_common.services.config import modify_config

if TYPE_CHECKING:
    from sevdesk_common.models.config import SevdeskConfig


@dataclass
class Progress:
    """What a run moves in the run state (None: leaves it as it was)."""

    watermark: datetime | None = None
    pending: ChangesPass | None = None
    worked_on: ChangesPass | None = None  # the read of changes this run took part in
    last_reconciled_at: datetime | None = None


def save(state: SyncState, progress: Progress) -> SyncState:
    """Store the run's progress on the state it read; when another run stored first, merge with
    what that one stored and try again."""
    merged = merge(state, progress)
    for _ in range(5):
        if payment_sync_store.save_state(merged):
            return merged
        merged = merge(payment_sync_store.load_state(), progress)
    logger.warning("payment sync state not saved (kept changing); the next run reads again")
    return merged


def merge(base: SyncState, progress: Progress) -> SyncState:
    """The stored state with this run's progress: the later watermark and reconciliation win; an
    unfinished read of changes is kept, continued or dropped by what the other run did with it."""
    watermark = _later(base.watermark, progress.watermark)
    pending = base.pending
    ours = progress.worked_on
    if ours is not None:
        same = base.pending is not None and base.pending.until == ours.until
        if progress.pending is None:
            pending = None if same else base.pending
        elif same:
            assert base.pending is not None
            pending = base.pending if base.pending.offset >= progress.pending.offset else progress.pending
        elif base.pending is None and (watermark is None or watermark < progress.pending.until):
            pending = progress.pending
    return SyncState(
        watermark=watermark,
        pending=pending,
        last_reconciled_at=_later(base.last_reconciled_at, progress.last_reconciled_at),
        version=base.version,
    )


def note_last_sync(started: datetime) -> None:
    """lastSyncAt: when the latest run that got through began (never moved back)."""

    def later(config: SevdeskConfig) -> SevdeskConfig:
        if config.last_sync_at is not None and config.last_sync_at >= started:
            return config
        return config.model_copy(update={"last_sync_at": started})

    try:
        # Every ten minutes: a version bump would refuse the save of an admin editing the settings.
        modify_config(later, bump_version=False)
    except Conflict:
        logger.warning("lastSyncAt not stored: the settings kept changing")


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


def emit_metrics(summary: PaymentSyncSummary, lag_seconds: float | None) -> None:
    metric("PaymentSyncInvoicesChecked", MetricUnit.Count, summary.checked)
    for kind, count in summary.changed.model_dump(by_alias=False).items():
        if count:
            metric("PaymentSyncInvoicesChanged", MetricUnit.Count, count, kind=kind)
    metric("PaymentSyncSevdeskRequests", MetricUnit.Count, summary.sevdesk_requests)
    metric("PaymentSyncFailures", MetricUnit.Count, summary.failed_count)
    metric("PaymentSyncDuration", MetricUnit.Milliseconds, summary.duration_ms)
    if lag_seconds is not None:
        metric("PaymentSyncLagSeconds", MetricUnit.Seconds, max(0.0, lag_seconds))


def metric(name: str, unit: MetricUnit, value: float, *, kind: str | None = None) -> None:
    # A metric must never break a run (e.g. no namespace outside a handler).
    try:
        if kind is None:
            metrics.add_metric(name=name, unit=unit, value=value)
            return
        with single_metric(
            name=name, unit=unit, value=value, default_dimensions=metrics.default_dimensions
        ) as one:
            one.add_dimension(name="kind", value=kind)
    except Exception:
        logger.debug("metric not recorded", extra={"metric": name})
