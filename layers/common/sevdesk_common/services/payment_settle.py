"""Apply what sevDesk shows to our invoices: decide each one (payment_classification), read the
cancellation invoice or the bookings where the decision needs them (all at once for a batch), and
store each real change as one versioned write with its one `payment_synced` event.

Two runs at once (the schedule and an admin) cannot double an event or lose an update: a write
is conditioned on the version read, a lost race reads the invoice again and decides again, and
a state read earlier than the one already applied is never applied over it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from sevdesk_common import invoice_store
from sevdesk_common.errors import TimeBudgetExceeded
from sevdesk_common.invoice_store import Event, StaleInvoice
from sevdesk_common.models.payment_sync import PaymentSyncSummary, SyncFailure, Trigger
from sevdesk_common.observability import logger
from sevdesk_common.services.payment_bookings import BookingReader, reraise_stop
from sevdesk_common.services.payment_classification import (
    Bookings,
    Claim,
    NeedsBookings,
    NeedsCancellation,
    Outcome,
    Unclear,
    Verdict,
    already_settled,
    classify,
)
from sevdesk_common.sevdesk.errors import SevdeskError
from sevdesk_common.sevdesk.markers import MARKER_PREFIX, invoice_marker

if TYPE_CHECKING:  # the client (and httpx) load at first use: see clients.client_for
    from sevdesk_common.models.record import InvoiceRecord
    from sevdesk_common.sevdesk.client import SevdeskClient
    from sevdesk_common.sevdesk.models import Invoice


_OUR_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_WRITE_ROUNDS = 3
# The actions whose unconfirmed sevDesk write decides the claim themselves.
_CANCEL_OPERATIONS = frozenset({"cancelInvoice", "deleteInvoice"})
MAX_LISTED_FAILURES = 100


def our_invoice_id(note: str | None) -> str | None:
    """R1's invoice id from our marker in customerInternalNote (also on its SR), if it is ours."""
    if not note or not note.startswith(MARKER_PREFIX):
        return None
    candidate = note[len(MARKER_PREFIX) :]
    return candidate if _OUR_ID.fullmatch(candidate) else None


@dataclass(frozen=True)
class Observation:
    """One invoice as sevDesk showed it (and its SR, if one was seen), and when it was read."""

    external_id: str
    invoice: Invoice | None
    cancellation: Invoice | None
    read_at: datetime

    @property
    def update(self) -> datetime | None:
        shown = self.invoice or self.cancellation
        return shown.update if shown else None


@dataclass
class _Item:
    record: InvoiceRecord
    seen: Observation
    outcome: Outcome | None = None


class Settler:
    """Decides and stores observations for one run, counting into its summary. `held` collects
    the sevDesk `update` of invoices that could not be settled for a passing reason, so the
    changes read keeps its watermark before them."""

    def __init__(
        self,
        client: SevdeskClient,
        bookings: BookingReader,
        summary: PaymentSyncSummary,
        *,
        actor: str,
        trigger: Trigger,
    ) -> None:
        self._client = client
        self._bookings = bookings
        self._summary = summary
        self._actor = actor
        self._trigger = trigger
        self.held: list[datetime] = []

    # ---------------------------------------------------------------- reporting

    def fail(
        self, reason: str, message: str, *, invoice_id: str | None = None, external_id: str | None = None
    ) -> None:
        self._summary.failed_count += 1
        if len(self._summary.failed) < MAX_LISTED_FAILURES:
            self._summary.failed.append(
                SyncFailure(invoice_id=invoice_id, external_id=external_id, reason=reason, message=message)
            )
        logger.warning(
            "payment sync: not settled",
            extra={"invoice_id": invoice_id, "external_id": external_id, "reason": reason},
        )

    def _hold(self, seen: Observation) -> None:
        if seen.update is not None:
            self.held.append(seen.update)

    def _passing(self, item: _Item, reason: str, message: str) -> None:
        """A failure a later run may get past: reported, and the changes read is held before it."""
        self.fail(reason, message, invoice_id=item.record.invoice_id, external_id=item.seen.external_id)
        self._hold(item.seen)

    # ---------------------------------------------------------------- settling

    def settle(self, pairs: list[tuple[InvoiceRecord, Observation]]) -> None:
        """Decide every pair, read SRs and bookings where needed (bookings for all at once), store."""
        items = [_Item(record, seen) for record, seen in pairs]
        live = [item for item in items if self._admit(item)]
        for item in live:
            item.outcome = self._first_look(item)
        for item in live:
            if isinstance(item.outcome, NeedsCancellation):
                item.outcome = self._with_cancellation(item)
        self._with_bookings([item for item in live if isinstance(item.outcome, NeedsBookings)])
        for item in live:
            outcome = item.outcome
            if isinstance(outcome, Verdict):
                self._store(item.record, outcome, item.seen)
            elif isinstance(outcome, Unclear):
                self.fail(
                    outcome.reason,
                    outcome.message,
                    invoice_id=item.record.invoice_id,
                    external_id=item.seen.external_id,
                )

    def _admit(self, item: _Item) -> bool:
        """Whether the pair is to be decided now; counts it otherwise."""
        record, seen = item.record, item.seen
        if record.external_id != seen.external_id or not record.is_published:
            return False  # a copy of our invoice in sevDesk carries the marker too: not this one
        self._summary.checked += 1
        verdict = _skip(record, seen)
        if verdict == "unchanged":
            self._summary.unchanged += 1
            return False
        if verdict == "busy":
            self._summary.deferred += 1
            self._hold(seen)
            return False
        if verdict == "write_pending":
            self.fail(
                "write_pending",
                f"A cancellation of invoice {record.invoice_id} is not confirmed yet; cancel it again to "
                "settle it, payment sync leaves it alone meanwhile.",
                invoice_id=record.invoice_id,
                external_id=seen.external_id,
            )
            return False
        return True

    def _first_look(self, item: _Item) -> Outcome | None:
        invoice = item.seen.invoice
        outcome = classify(invoice, cancellation=item.seen.cancellation)
        if (
            isinstance(outcome, NeedsBookings)
            and invoice is not None
            and already_settled(item.record, invoice)
        ):
            self._summary.unchanged += 1  # settled before: its bookings were read then
            return None
        return outcome

    def _with_cancellation(self, item: _Item) -> Outcome | None:
        """Status 1000 with nothing paid: look for its SR by our marker (one request)."""
        external_id = item.seen.external_id
        try:
            found = self._client.find_invoices_by_marker(invoice_marker(item.record.invoice_id))
        except (SevdeskError, TimeBudgetExceeded) as error:
            reraise_stop(error)
            self._passing(item, "sevdesk_error", f"Looking for its cancellation failed: {error}")
            return None
        sr = next((i for i in found if i.is_cancellation and i.origin and i.origin.id == external_id), None)
        return classify(item.seen.invoice, cancellation=sr, cancellation_searched=True)

    def _with_bookings(self, items: list[_Item]) -> None:
        wanted: dict[str, Decimal] = {}
        for item in items:
            invoice = item.seen.invoice
            assert invoice is not None and invoice.paid_amount is not None  # classify checked both
            wanted[item.seen.external_id] = invoice.paid_amount
        if not wanted:
            return
        results = self._bookings.read(wanted)
        for item in items:
            result = results[item.seen.external_id]
            if isinstance(result, Bookings):
                item.outcome = classify(item.seen.invoice, bookings=result)
            elif isinstance(result, Unclear):
                item.outcome = result
            else:
                item.outcome = None
                self._passing(item, "sevdesk_error", f"Reading its bookings failed: {result.message}")

    def _store(self, record: InvoiceRecord, verdict: Verdict, seen: Observation) -> None:
        """One versioned write with its event; a lost race reads again and decides again."""
        for _ in range(_WRITE_ROUNDS):
            before = Claim.of(record)
            if verdict.claim.same_as(before):
                self._summary.unchanged += 1
                return
            changed = record.changed(**verdict.claim.changes(record), payment_observed_at=seen.read_at)
            event = Event("payment_synced", self._actor, self._details(verdict, before, seen))
            try:
                invoice_store.save(changed, events=[event])
            except StaleInvoice:
                reloaded = invoice_store.load(record.invoice_id)
                if reloaded is None:
                    return
                record = reloaded
                after = _skip(record, seen)
                if after == "unchanged":
                    self._summary.unchanged += 1
                    return
                if after in ("busy", "write_pending"):
                    self._summary.deferred += 1
                    self._hold(seen)
                    return
                continue
            except ClientError as error:
                self.fail(
                    "store_error",
                    f"Storing the change failed ({error.response['Error']['Code']}); retried next run.",
                    invoice_id=record.invoice_id,
                    external_id=seen.external_id,
                )
                self._hold(seen)
                return
            self._synced(record, verdict)
            return
        self.fail(
            "concurrent_changes",
            "The invoice kept changing while it was stored; retried next run.",
            invoice_id=record.invoice_id,
            external_id=seen.external_id,
        )
        self._hold(seen)

    def _details(self, verdict: Verdict, before: Claim, seen: Observation) -> dict[str, Any]:
        """The payment_synced event's details: the claim before and after, and sevDesk's evidence."""
        return {
            "kind": verdict.kind,
            "from": before.view(),
            "to": verdict.claim.view(),
            "sevdesk": verdict.evidence,
            "trigger": self._trigger,
            "observedAt": seen.read_at.isoformat(),
        }

    def _synced(self, record: InvoiceRecord, verdict: Verdict) -> None:
        setattr(self._summary.changed, verdict.kind, getattr(self._summary.changed, verdict.kind) + 1)
        extra = {
            "invoice_id": record.invoice_id,
            "kind": verdict.kind,
            "claim_status": verdict.claim.claim_status,
        }
        logger.info("payment synced", extra=extra)


def _skip(record: InvoiceRecord, seen: Observation) -> str | None:
    """Why a published invoice of ours is not decided now, if it is not."""
    if record.is_cancelled:
        return "unchanged"  # final: nothing sevDesk shows later changes it
    if record.payment_observed_at is not None and seen.read_at <= record.payment_observed_at:
        return "unchanged"  # another run applied a later read already
    lock = record.lock_expires_at
    if record.lock_owner is not None and lock is not None and lock > datetime.now(UTC):
        return "busy"  # an action (e.g. our cancel) is under way: it sets the state itself
    pending = record.pending_write
    if pending is not None and pending.operation in _CANCEL_OPERATIONS:
        return "write_pending"
    return None
