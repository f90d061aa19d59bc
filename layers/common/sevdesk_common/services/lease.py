"""One action at a time per invoice: a lease in the invoice item (so a crashed Lambda cannot
block it for longer than the lease), the writes made under it, and the one failure recorder.

Writes are few on purpose: taking the lease may carry the first write's announcement; changes
found along the way are staged and go out with the next write (`flush`), and `finish` stores
the result and frees the invoice in one write. When an action fails, its staged progress, the
failure and the release still go out together."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sevdesk_common import deadline, invoice_store
from sevdesk_common.errors import AppError, Conflict, InvoiceBusy, NotFound
from sevdesk_common.invoice_store import Event, StaleInvoice
from sevdesk_common.models.record import InvoiceRecord, PendingWrite
from sevdesk_common.observability import logger

if TYPE_CHECKING:
    from sevdesk_common.repository import TransactItem

LEASE_SECONDS = 60
# Longest wait for another action's lease; the invocation's time budget may cut it shorter.
WAIT_FOR_LEASE_SECONDS = 10.0
_POLL_SECONDS = 0.2
# What a waiting caller leaves of its budget for its own work once it holds the lease.
_WORK_RESERVE_SECONDS = 8.0


@dataclass
class Ride:
    """What goes out with taking the lease: changes of the invoice, other items, and what to do
    once they are stored."""

    changes: dict[str, Any] = field(default_factory=dict)
    also: Sequence[TransactItem] = ()
    stored: Callable[[], None] | None = None


# Builds the ride for the record read; `attempt` > 0 after a lost race (read what it needs again).
Prepare = Callable[[InvoiceRecord, int], Ride]


def load_or_404(invoice_id: str) -> InvoiceRecord:
    record = invoice_store.load(invoice_id)
    return require_found(record, invoice_id)


def require_found(record: InvoiceRecord | None, invoice_id: str) -> InvoiceRecord:
    if record is None:
        raise NotFound(f"Invoice {invoice_id} has not been handed over.", code="invoice_not_found")
    return record


def lease_is_free(record: InvoiceRecord, now: datetime) -> bool:
    return record.lock_owner is None or (record.lock_expires_at is not None and record.lock_expires_at < now)


def busy(record: InvoiceRecord, now: datetime) -> InvoiceBusy:
    left = (record.lock_expires_at - now).total_seconds() if record.lock_expires_at else LEASE_SECONDS
    return InvoiceBusy(
        f"Invoice {record.invoice_id} is busy ({record.lock_action or 'another action'} in progress); "
        "try again in a few seconds.",
        retry_after=min(5.0, max(1.0, left)),
    )


class InvoiceLease:
    """The holder of an invoice's lease. `record` is always the latest stored version."""

    def __init__(self, record: InvoiceRecord, owner: str, action: str, actor: str) -> None:
        self.record = record
        self.owner = owner
        self.action = action
        self.actor = actor
        self._staged: dict[str, Any] = {}
        self._events: list[Event] = []
        self.released = False

    # -- the write-once journal ------------------------------------------------------------
    def pending(self) -> PendingWrite | None:
        return self.record.pending_of(self.action)

    def announce(self, intent: PendingWrite) -> None:
        self.flush(pending_write=intent)

    # -- writes ------------------------------------------------------------------------------
    def stage(self, event: str | None = None, details: dict[str, Any] | None = None, **changes: Any) -> None:
        """Remember changes (and their event) for the next write."""
        self._staged.update(changes)
        if event:
            self._events.append(Event(event, self.actor, details or {}))

    def flush(self, *, also: Sequence[TransactItem] = (), **changes: Any) -> InvoiceRecord:
        """Store the staged changes plus `changes`, with their events, in one write."""
        merged = {**self._staged, **changes}
        updated = self.record.changed(**merged)
        self.record = invoice_store.save(updated, events=self._events, also=also)
        self._staged, self._events = {}, []
        return self.record

    def finish(
        self,
        event: str | None = None,
        details: dict[str, Any] | None = None,
        *,
        also: Sequence[TransactItem] = (),
        **changes: Any,
    ) -> None:
        """The last write: the result, its event and the release of the lease."""
        self.stage(event, details, **changes)
        self.flush(also=also, lock_owner=None, lock_action=None, lock_expires_at=None)
        self.released = True

    def pending_in_effect(self) -> PendingWrite | None:
        """The pending write as the next write will leave it (staged changes included)."""
        if "pending_write" in self._staged:
            staged: PendingWrite | None = self._staged["pending_write"]
            return staged
        return self.record.pending_write

    @property
    def has_staged_events(self) -> bool:
        return bool(self._events)


def _take(record: InvoiceRecord, owner: str, actor: str, ride: Ride) -> InvoiceLease:
    action = owner.split(":", 1)[0]
    lease = InvoiceLease(record, owner, action, actor)
    lease.flush(
        also=ride.also,
        lock_owner=owner,
        lock_action=action,
        lock_expires_at=datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS),
        **ride.changes,
    )
    if ride.stored:
        ride.stored()
    return lease


def acquire(
    record: InvoiceRecord, action: str, actor: str, *, prepare: Prepare | None = None
) -> InvoiceLease:
    """Take the invoice's lease for `action`, waiting (within the time budget) while another
    action holds it; `prepare(record)` gives changes and other items to store with the taking.
    InvoiceBusy (409, retryable) when it stays held."""
    owner = f"{action}:{uuid.uuid4().hex}"
    give_up = time.monotonic() + deadline.within(WAIT_FOR_LEASE_SECONDS)
    left = deadline.remaining()
    if left is not None:
        give_up = min(give_up, time.monotonic() + left - _WORK_RESERVE_SECONDS)
    attempt = 0
    while True:
        now = datetime.now(UTC)
        if lease_is_free(record, now):
            try:
                return _take(record, owner, actor, prepare(record, attempt) if prepare else Ride())
            except StaleInvoice:
                attempt += 1  # someone else wrote first: read again and decide again
        elif time.monotonic() >= give_up:
            raise busy(record, now)
        else:
            time.sleep(_POLL_SECONDS)
        record = load_or_404(record.invoice_id)


def failure_details(error: AppError) -> dict[str, Any]:
    """What the event log and `lastError` keep of a failure: our code, the message and, for
    sevDesk refusals, sevDesk's own code (never the token: messages are redacted upstream)."""
    details: dict[str, Any] = {"code": error.code, "message": error.message, "status": error.status}
    sevdesk_code = getattr(error, "sevdesk_code", None)
    if sevdesk_code is not None:
        details["sevdeskCode"] = sevdesk_code
    http_status = getattr(error, "http_status", None)
    if http_status is not None:
        details["sevdeskHttpStatus"] = http_status
    return details


# What makes two failures the same failure (the message may differ, e.g. a countdown).
_SAME_FAILURE = ("code", "status", "step", "sevdeskCode", "outcome")


def record_failure(
    lease: InvoiceLease,
    error: AppError,
    *,
    keep_pending: bool,
    details: dict[str, Any] | None = None,
    also: Sequence[TransactItem] = (),
    remember: bool = True,
    **changes: Any,
) -> None:
    """The one failure recorder: what was achieved so far, the failure, and the release, in one
    write. The same failure again is no new event (a retry loop must not flood the log).
    `remember=False`: a refusal that leaves the invoice as it was is logged, not kept as lastError."""
    failure = {**failure_details(error), **(details or {})}
    if keep_pending and lease.pending_in_effect() is not None:
        failure["outcome"] = "unknown"
    previous = lease.record.last_error or {}
    repeated = not lease.has_staged_events and all(previous.get(k) == failure.get(k) for k in _SAME_FAILURE)
    if not keep_pending:
        changes["pending_write"] = None
    if remember:
        changes["last_error"] = failure
    lease.stage(None if repeated else f"{lease.action}_failed", failure, **changes)
    try:
        lease.finish(also=also)
    except Exception:  # never hide the original error behind a bookkeeping failure
        logger.exception("failure not recorded", extra={"invoice_id": lease.record.invoice_id})
    logger.warning(
        f"{lease.action} failed", extra={"invoice_id": lease.record.invoice_id, "error": failure["code"]}
    )


@contextmanager
def stale_is_busy(invoice_id: str) -> Iterator[None]:
    """Someone wrote the invoice behind the lease (it expired mid-action): a retryable 409."""
    try:
        yield
    except StaleInvoice as error:
        raise InvoiceBusy(
            f"Invoice {invoice_id} was changed concurrently; try again.", retry_after=1
        ) from error


def release_quietly(lease: InvoiceLease) -> None:
    """Free the invoice after an action that ended without its own last write."""
    if lease.released:
        return
    try:
        lease.finish()
    except StaleInvoice:
        logger.warning(
            "lease not released (changed meanwhile); it expires by itself", extra={"owner": lease.owner}
        )


def refuse_foreign_pending(record: InvoiceRecord, action: str) -> None:
    """Another action's sevDesk write is unconfirmed: that action must settle it first."""
    pending = record.foreign_pending(action)
    if pending is not None:
        raise Conflict(
            f"An earlier sevDesk write ({pending.operation}) of invoice {record.invoice_id} is not "
            f"confirmed yet; run {pending.action} again to settle it first.",
            code="invoice_write_pending",
            details={"pendingWrite": pending.model_dump(mode="json")},
        )


def require_published(record: InvoiceRecord, action: str) -> str:
    """The sevDesk id of a finalized invoice (it has its number), else 409."""
    if not record.external_id or not record.external_invoice_number:
        raise Conflict(
            f"Invoice {record.invoice_id} has not been published and finalized in sevDesk yet; "
            f"publish it before you {action} it.",
            code="invoice_not_published",
        )
    return record.external_id
