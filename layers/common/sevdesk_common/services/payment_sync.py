"""Payment sync: sevDesk's payment state of our published invoices, every ten minutes (the
EventBridge rule) and on demand (POST /api/sevdesk/sync/payments).

sevDesk requests grow with what changed, never with the open invoices (no request per invoice):
- changes: `GET /Invoice?updateAfter=<watermark - overlap>&limit=1000`, paged by offset until a
  short page, `update` re-checked on our side (an ignored filter returns everything). Our
  invoices are known by the marker in customerInternalNote and read by key (100 per DynamoDB
  call); an SR in the same read settles the cancellation of its `origin`.
- reconciliation (hourly by default): every open invoice from the sparse index against
  sevDesk's lists of open invoices (status 200 and 750, a thousand per request); the ones no
  longer open there are read one by one, so a payment that did not move `update` is found too.
- bookings: only for invoices that just reached status 1000 (payment_bookings.py).
The rules: payment_classification.py. Storing a change: payment_settle.py.

Robust: a failing page is reported and skipped and the watermark stays where it was (the next
run reads it again); one bad invoice is reported and the rest go on; a run stops well inside
its time budget (or at sevDesk's limit) and the next one goes on from the offset it reached.
The run state is one item written conditionally; two runs at once merge their progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from aws_lambda_powertools.metrics import MetricUnit

from sevdesk_common import deadline, payment_sync_store
from sevdesk_common.clients import sevdesk_client
from sevdesk_common.credentials import get_token
from sevdesk_common.errors import TimeBudgetExceeded
from sevdesk_common.models.payment_sync import (
    ChangesPass,
    PaymentSyncRequest,
    PaymentSyncSummary,
    SkippedRun,
    SyncState,
    Trigger,
)
from sevdesk_common.observability import logger
from sevdesk_common.services import payment_run_state as run_state
from sevdesk_common.services.config import load_config
from sevdesk_common.services.lease import load_or_404, require_published
from sevdesk_common.services.payment_bookings import BookingReader, RunStopped, reraise_stop
from sevdesk_common.services.payment_classification import OPEN, PARTIALLY_PAID, Verdict, classify
from sevdesk_common.services.payment_run_state import Progress
from sevdesk_common.services.payment_settle import Observation, Settler, our_invoice_id
from sevdesk_common.settings import get_settings
from sevdesk_common.sevdesk.errors import SevdeskError, SevdeskNotFound

if TYPE_CHECKING:  # the client (and httpx) load at first use: see clients.client_for
    from sevdesk_common.models.record import InvoiceRecord
    from sevdesk_common.payment_sync_store import Candidate
    from sevdesk_common.sevdesk.client import SevdeskClient
    from sevdesk_common.sevdesk.models import Invoice, InvoicePage


SCHEDULE_ACTOR = "system:payment-sync"
# EventBridge fires about every ten minutes, not to the second: a tick this much early still runs.
INTERVAL_TOLERANCE = timedelta(seconds=60)
# A run stops starting new work when this share of its time budget (at least this long) is left.
STOP_SHARE, MIN_RESERVE_SECONDS = 0.2, 3.0
T = TypeVar("T")


def run_scheduled() -> PaymentSyncSummary | SkippedRun:
    """The EventBridge tick: skipped without a token or inside the configured interval."""
    config = load_config()
    if get_token() is None:
        logger.info("payment sync skipped: no sevDesk token is configured")
        run_state.metric("PaymentSyncSkippedNoToken", MetricUnit.Count, 1)
        return SkippedRun(reason="no_token", last_sync_at=config.last_sync_at)
    now = datetime.now(UTC)
    interval = timedelta(minutes=config.payment_sync_interval_minutes)
    if config.last_sync_at is not None and now < config.last_sync_at + interval - INTERVAL_TOLERANCE:
        logger.info(
            "payment sync skipped: inside the interval",
            extra={
                "last_sync_at": config.last_sync_at.isoformat(),
                "interval_minutes": config.payment_sync_interval_minutes,
            },
        )
        run_state.metric("PaymentSyncSkippedInterval", MetricUnit.Count, 1)
        return SkippedRun(reason="interval", last_sync_at=config.last_sync_at)
    return SyncRun(sevdesk_client(), trigger="schedule", actor=SCHEDULE_ACTOR).run_all(reconcile=None)


def run_requested(request: PaymentSyncRequest, actor: str) -> PaymentSyncSummary:
    """The admin's "refresh payments": everything now, or one invoice read from sevDesk directly."""
    if request.invoice_id is None:
        return SyncRun(sevdesk_client(), trigger="manual", actor=actor).run_all(reconcile=request.reconcile)
    record = load_or_404(request.invoice_id)
    require_published(record, "sync the payments of")
    return SyncRun(sevdesk_client(), trigger="invoice", actor=actor).run_one(record)


class SyncRun:
    def __init__(self, client: SevdeskClient, *, trigger: Trigger, actor: str) -> None:
        settings = get_settings()
        self.client = client
        self.started_at = datetime.now(UTC)
        self._clock = time.monotonic()
        self._requests_before = client.requests_sent
        self._reads_before = payment_sync_store.reads_so_far()
        left = deadline.remaining()
        self._reserve = None if left is None else max(MIN_RESERVE_SECONDS, STOP_SHARE * left)
        self._page = settings.payment_sync_page_size
        self._overlap = timedelta(seconds=settings.payment_sync_overlap_seconds)
        self._reconcile_every = timedelta(minutes=settings.payment_sync_reconcile_minutes)
        self.summary = PaymentSyncSummary(
            trigger=trigger, started_at=self.started_at, duration_ms=0, complete=False
        )
        bookings = BookingReader(client, self._page, self.check_time)
        self._settler = Settler(client, bookings, self.summary, actor=actor, trigger=trigger)
        self._srs: dict[str, Invoice] = {}  # origin -> its SR, across the pages of this run
        self._pages_failed = False

    def check_time(self) -> None:
        left = deadline.remaining()
        if self._reserve is not None and left is not None and left <= self._reserve:
            raise RunStopped("time")

    # ---------------------------------------------------------------- the runs

    def run_all(self, *, reconcile: bool | None) -> PaymentSyncSummary:
        """Changes since the watermark, then the reconciliation when due (`reconcile` None: by
        the clock; True: now; False: only before the first watermark)."""
        state = payment_sync_store.load_state()
        progress = Progress()
        first = state.watermark is None and state.pending is None
        try:
            if first:
                progress.watermark = self.started_at  # the reconciliation covers what came before
            else:
                self._changes(state, progress)
            if first or self._reconciliation_due(state, reconcile):
                self._reconcile(progress)
        except RunStopped as stop:
            self._stopped(stop)
        saved = run_state.save(state, progress)
        if self.summary.stopped_by is None:
            run_state.note_last_sync(self.started_at)
        return self._finish(saved.watermark)

    def run_one(self, record: InvoiceRecord) -> PaymentSyncSummary:
        external_id = require_published(record, "sync the payments of")
        read_at = datetime.now(UTC)
        invoice = self.client.get_invoice(external_id)
        self.summary.candidates = int(record.is_payment_sync_candidate)
        try:
            self._settler.settle([(record, Observation(external_id, invoice, None, read_at))])
        except RunStopped as stop:
            self._stopped(stop)
        return self._finish(None)

    def _reconciliation_due(self, state: SyncState, reconcile: bool | None) -> bool:
        if reconcile is not None:
            return reconcile
        last = state.last_reconciled_at
        return last is None or self.started_at - last >= self._reconcile_every

    def _stopped(self, stop: RunStopped) -> None:
        self.summary.stopped_by = stop.reason
        logger.info("payment sync stopped early; the next run goes on", extra={"reason": stop.reason})
        if stop.reason == "unauthorized" and stop.error is not None:
            self._settler.fail("sevdesk_unauthorized", str(stop.error))

    # ---------------------------------------------------------------- changes since the watermark

    def _changes(self, state: SyncState, progress: Progress) -> None:
        current = state.pending
        if current is None:
            assert state.watermark is not None
            start = (state.watermark - self._overlap).replace(microsecond=0)
            current = ChangesPass(window_from=start, until=self.started_at)
            offset = 0
        else:  # go on where a run stopped, a little before: entries may have shifted meanwhile
            offset = max(0, current.offset - self._page // 10)
        progress.worked_on = current

        def read(at: int, count_all: bool) -> InvoicePage:
            return self.client.list_invoices(
                update_after=current.window_from,
                limit=self._page,
                offset=at,
                count_all=count_all,
                tolerant=True,
            )

        try:
            failed = self._pages(read, offset, "changed invoices", self._settle_changes)
        except _StoppedAt as stop:
            progress.pending = current.model_copy(update={"offset": stop.offset})
            raise stop.cause from None
        progress.pending = None
        if not failed:
            held = min(self._settler.held, default=current.until)
            progress.watermark = max(min(current.until, held), state.watermark or held)

    def _settle_changes(self, page: InvoicePage, read_at: datetime) -> None:
        invoices: dict[str, Invoice] = {}
        ours: dict[str, str] = {}  # sevDesk id -> our invoice id
        cancelled: set[str] = set()
        for invoice in page.items:
            our_id = our_invoice_id(invoice.customer_internal_note)
            if invoice.is_cancellation:
                if invoice.origin is not None:
                    self._srs[invoice.origin.id] = invoice
                    cancelled.add(invoice.origin.id)
                    if our_id:
                        ours.setdefault(invoice.origin.id, our_id)
            elif our_id:
                invoices[invoice.id] = invoice
                ours[invoice.id] = our_id
        self._report_unreadable(
            page, {e.id for e in page.unreadable if our_invoice_id(e.customer_internal_note)}
        )
        wanted = {e: i for e, i in ours.items() if e in invoices or e in cancelled}
        records = payment_sync_store.load_invoices(wanted.values())
        pairs = []
        for external_id, invoice_id in wanted.items():
            record = records.get(invoice_id)
            if record is not None:
                seen = Observation(
                    external_id, invoices.get(external_id), self._srs.get(external_id), read_at
                )
                pairs.append((record, seen))
        self.summary.candidates += sum(1 for record, _ in pairs if record.is_payment_sync_candidate)
        self._settler.settle(pairs)

    # ---------------------------------------------------------------- reconciliation

    def _reconcile(self, progress: Progress) -> None:
        began = datetime.now(UTC)
        self.summary.reconciliation = "incomplete"
        candidates = {c.external_id: c for c in payment_sync_store.iter_candidates()}
        self.summary.candidates = len(candidates)
        seen: set[str] = set()

        def compare(page: InvoicePage, read_at: datetime) -> None:
            differing = []
            for invoice in page.items:
                candidate = candidates.get(invoice.id)
                if candidate is None:
                    continue
                seen.add(invoice.id)
                if _agrees(candidate, invoice):
                    self.summary.checked += 1
                    self.summary.unchanged += 1
                else:
                    differing.append(Observation(invoice.id, invoice, None, read_at))
            unreadable = {e.id for e in page.unreadable if e.id in candidates}
            seen.update(i for i in unreadable if i)
            self._report_unreadable(page, unreadable)
            self._settle_candidates(differing, candidates)

        complete = True
        for status in (OPEN, PARTIALLY_PAID):

            def read(at: int, count_all: bool, status: int = status) -> InvoicePage:
                return self.client.list_invoices(
                    status=status, limit=self._page, offset=at, count_all=count_all, tolerant=True
                )

            try:
                complete = not self._pages(read, 0, f"invoices in status {status}", compare) and complete
            except _StoppedAt as stop:
                raise stop.cause from None
        if not complete:
            return  # which are missing from the open lists is known only from complete lists
        missing = [c for external_id, c in candidates.items() if external_id not in seen]
        for chunk in _chunks(missing, 100):
            self._settle_candidates(
                [seen_now for c in chunk if (seen_now := self._read_one(c)) is not None], candidates
            )
        self.summary.reconciliation = "complete"
        progress.last_reconciled_at = began

    def _read_one(self, candidate: Candidate) -> Observation | None:
        """A candidate no longer open in sevDesk: read it by id."""
        self.check_time()
        read_at = datetime.now(UTC)
        try:
            invoice = self.client.get_invoice(candidate.external_id)
        except (SevdeskError, TimeBudgetExceeded) as error:
            reraise_stop(error)
            reason = "missing_in_sevdesk" if isinstance(error, SevdeskNotFound) else "sevdesk_error"
            self._settler.fail(
                reason, error.message, invoice_id=candidate.invoice_id, external_id=candidate.external_id
            )
            return None
        return Observation(candidate.external_id, invoice, self._srs.get(candidate.external_id), read_at)

    def _settle_candidates(self, observations: list[Observation], candidates: dict[str, Candidate]) -> None:
        if not observations:
            return
        ids = {o.external_id: candidates[o.external_id].invoice_id for o in observations}
        records = payment_sync_store.load_invoices(ids.values())
        pairs = [(records[ids[o.external_id]], o) for o in observations if ids[o.external_id] in records]
        self._settler.settle(pairs)

    # ---------------------------------------------------------------- paging

    def _pages(
        self,
        read: Callable[[int, bool], InvoicePage],
        offset: int,
        what: str,
        handle: Callable[[InvoicePage, datetime], None],
    ) -> bool:
        """Page from `offset` until a short page; True when a page failed (it was skipped when
        the total was known, else the read ended there). _StoppedAt when the run must end."""
        total: int | None = None
        failed = False
        while True:
            read_at = datetime.now(UTC)
            try:
                self.check_time()
                page = read(offset, total is None)  # the total tells whether a failed page had more behind it
            except RunStopped as stop:
                raise _StoppedAt(offset, stop) from None
            except (SevdeskError, TimeBudgetExceeded) as error:
                try:
                    reraise_stop(error)
                except RunStopped as stop:
                    raise _StoppedAt(offset, stop) from None
                failed = self._pages_failed = True
                last = offset + self._page - 1
                self._settler.fail("page_failed", f"Reading {what} {offset}-{last} failed: {error.message}")
                if total is None or offset + self._page >= total:
                    return True
                offset += self._page
                continue
            if page.total is not None:
                total = page.total
            try:
                handle(page, read_at)
            except RunStopped as stop:
                raise _StoppedAt(offset, stop) from None  # this page again next time
            if page.fetched < self._page:
                return failed
            offset += page.fetched

    def _report_unreadable(self, page: InvoicePage, ours: Collection[str | None]) -> None:
        for entry in page.unreadable:
            if entry.id in ours:
                invoice_id = our_invoice_id(entry.customer_internal_note)
                self._settler.fail(
                    "unreadable_invoice",
                    f"sevDesk sent invoice {entry.id} in a shape we cannot read ({entry.error}).",
                    invoice_id=invoice_id,
                    external_id=entry.id,
                )

    # ---------------------------------------------------------------- state, summary, metrics

    def _finish(self, watermark: datetime | None) -> PaymentSyncSummary:
        summary = self.summary
        summary.duration_ms = int((time.monotonic() - self._clock) * 1000)
        summary.sevdesk_requests = self.client.requests_sent - self._requests_before
        summary.dynamodb_reads = payment_sync_store.reads_so_far() - self._reads_before
        summary.watermark = watermark
        summary.complete = (
            summary.stopped_by is None and not self._pages_failed and summary.reconciliation != "incomplete"
        )
        lag = (datetime.now(UTC) - watermark).total_seconds() if watermark else None
        run_state.emit_metrics(summary, lag)
        logger.info(
            "payment sync finished",
            extra={
                "trigger": summary.trigger,
                "complete": summary.complete,
                "stopped_by": summary.stopped_by,
                "checked": summary.checked,
                "changed": summary.changed.model_dump(),
                "failed": summary.failed_count,
                "sevdesk_requests": summary.sevdesk_requests,
                "duration_ms": summary.duration_ms,
            },
        )
        return summary


class _StoppedAt(Exception):
    def __init__(self, offset: int, cause: RunStopped) -> None:
        super().__init__(cause.reason)
        self.offset = offset
        self.cause = cause


def _agrees(candidate: Candidate, invoice: Invoice) -> bool:
    """An open invoice's sevDesk state says what we already show (no record needs reading)."""
    outcome = classify(invoice)
    if not isinstance(outcome, Verdict):
        return False
    claim = outcome.claim
    return (
        claim.claim_status == candidate.claim_status
        and claim.paid_amount == candidate.paid_amount
        and claim.paid_at == candidate.paid_at
    )


def _chunks(items: list[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
