"""What every sevDesk action on an invoice shares: loading it, one action at a time per invoice
(a lease in the invoice item, so a crashed Lambda cannot block it forever), and recording a
failure with sevDesk's code and message in the event log."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sevdesk_common import invoice_store
from sevdesk_common.errors import AppError, Conflict, NotFound
from sevdesk_common.invoice_store import InvoiceRecord, StaleInvoice
from sevdesk_common.observability import logger

LEASE_SECONDS = 60
WAIT_FOR_LOCK_SECONDS = 20.0
_POLL_SECONDS = 0.2


def load_or_404(invoice_id: str) -> InvoiceRecord:
    record = invoice_store.load(invoice_id)
    if record is None:
        raise NotFound(f"Invoice {invoice_id} has not been handed over.", code="invoice_not_found")
    return record


class InvoiceLock:
    """The holder of an invoice's lease. `record` is always the latest stored version; every
    write goes through `save`, which keeps the lease."""

    def __init__(self, record: InvoiceRecord, owner: str) -> None:
        self.record = record
        self.owner = owner

    def save(
        self,
        *,
        event: str | None = None,
        actor: str = "system",
        details: dict[str, Any] | None = None,
        **changes: Any,
    ) -> InvoiceRecord:
        self.record = invoice_store.save(
            self.record.model_copy(update=changes), event=event, actor=actor, details=details
        )
        return self.record

    def reload(self) -> InvoiceRecord:
        self.record = load_or_404(self.record.invoice_id)
        return self.record


@contextmanager
def invoice_lock(
    invoice_id: str, action: str, *, wait_seconds: float = WAIT_FOR_LOCK_SECONDS
) -> Iterator[InvoiceLock]:
    """Hold the invoice's lease for `action`. A concurrent caller waits up to `wait_seconds`
    for the holder to finish (then sees its result), else gets 409."""
    owner = f"{action}:{uuid.uuid4().hex}"
    deadline = time.monotonic() + wait_seconds
    while True:
        record = load_or_404(invoice_id)
        now = datetime.now(UTC)
        free = record.lock_owner is None or (
            record.lock_expires_at is not None and record.lock_expires_at < now
        )
        if free:
            try:
                record = invoice_store.save(
                    record.model_copy(
                        update={
                            "lock_owner": owner,
                            "lock_action": action,
                            "lock_expires_at": now + timedelta(seconds=LEASE_SECONDS),
                        }
                    )
                )
                break
            except StaleInvoice:
                continue
        if time.monotonic() >= deadline:
            raise Conflict(
                f"Another {record.lock_action or 'action'} of invoice {invoice_id} is in progress; "
                "try again shortly.",
                code="invoice_busy",
            )
        time.sleep(_POLL_SECONDS)

    lock = InvoiceLock(record, owner)
    try:
        yield lock
    finally:
        _release(lock)


def _release(lock: InvoiceLock) -> None:
    for _ in range(5):
        record = (
            lock.record
            if lock.record.lock_owner == lock.owner
            else invoice_store.load(lock.record.invoice_id)
        )
        if record is None or record.lock_owner != lock.owner:
            return
        try:
            lock.record = invoice_store.save(
                record.model_copy(update={"lock_owner": None, "lock_action": None, "lock_expires_at": None})
            )
            return
        except StaleInvoice:
            lock.record = invoice_store.load(record.invoice_id) or record
    logger.warning("could not release invoice lock; it expires by itself", extra={"owner": lock.owner})


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


def require_published(record: InvoiceRecord, action: str) -> str:
    """The sevDesk id of a finalized invoice (it has its number), else 409."""
    if not record.external_id or not record.external_invoice_number:
        raise Conflict(
            f"Invoice {record.invoice_id} has not been published and finalized in sevDesk yet; "
            f"publish it before you {action} it.",
            code="invoice_not_published",
        )
    return record.external_id


def refuse_foreign_pending(record: InvoiceRecord, own_op: str) -> None:
    """Another action's sevDesk write is unsettled: that action must settle it first."""
    pending = record.pending_write
    if pending and pending.get("op") != own_op:
        action = "publish" if pending.get("op") in {"saveInvoice", "sendBy"} else "the earlier action"
        raise Conflict(
            f"An earlier sevDesk write ({pending.get('op')}) of invoice {record.invoice_id} has an "
            f"unknown outcome; run {action} again to settle it first.",
            code="invoice_write_pending",
            details={"pendingWrite": pending},
        )


@contextmanager
def busy_if_stale(invoice_id: str) -> Iterator[None]:
    """Someone wrote the invoice behind the lease (should not happen): a 409 to retry, not a 500.
    A pending write stays, so the retry reconciles instead of repeating a sevDesk write."""
    try:
        yield
    except StaleInvoice as error:
        raise Conflict(
            f"Invoice {invoice_id} was changed concurrently; try again.", code="invoice_busy"
        ) from error
