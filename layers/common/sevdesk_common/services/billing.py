"""R1 hands invoices over and reads their handoff state and event log."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sevdesk_common import invoice_store
from sevdesk_common.auth import Caller
from sevdesk_common.errors import Conflict, NotFound
from sevdesk_common.invoice_store import InvoiceRecord, StaleInvoice
from sevdesk_common.models.invoice import BillingInvoice, EventPage, InvoiceHandover
from sevdesk_common.observability import logger


def body_hash(handover: InvoiceHandover) -> str:
    canonical = json.dumps(
        handover.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def hand_over(invoice_id: str, handover: InvoiceHandover, caller: Caller) -> tuple[BillingInvoice, bool]:
    """Store R1's invoice. Returns (state, created). The same body again is a no-op; a changed
    body is accepted only while nothing has been written to sevDesk."""
    digest = body_hash(handover)
    existing = invoice_store.load(invoice_id)
    if existing is None:
        now = datetime.now(UTC)
        record = InvoiceRecord(
            invoice_id=invoice_id,
            invoice_number=handover.invoice_number,
            invoice=handover,
            currency=handover.currency,
            net_amount=handover.net_amount,
            tax_amount=handover.tax_amount,
            gross_amount=handover.gross_amount,
            created_at=now,
            updated_at=now,
            version=1,
            body_hash=digest,
            handed_over_by=caller.user_id,
        )
        try:
            invoice_store.insert(
                record,
                event="handed_over",
                actor=caller.user_id,
                details={
                    "invoiceNumber": handover.invoice_number,
                    "grossAmount": handover.gross_amount,
                    "currency": handover.currency,
                    "positions": len(handover.positions),
                },
            )
        except StaleInvoice:
            # A concurrent hand-over of the same id won; decide against what it stored.
            return hand_over(invoice_id, handover, caller)
        _maybe_auto_publish(invoice_id)
        return record.public(), True

    if existing.body_hash == digest:
        return existing.public(), False
    if existing.external_id or existing.pending_write or existing.lock_owner:
        raise Conflict(
            "This invoice is already in sevDesk (or being published); it can no longer be changed. "
            "Cancel it and hand over a new invoice instead.",
            code="invoice_already_published",
            details={"externalId": existing.external_id},
        )
    changed = existing.model_copy(
        update={
            "invoice": handover,
            "invoice_number": handover.invoice_number,
            "currency": handover.currency,
            "net_amount": handover.net_amount,
            "tax_amount": handover.tax_amount,
            "gross_amount": handover.gross_amount,
            "body_hash": digest,
        }
    )
    try:
        saved = invoice_store.save(
            changed,
            event="handover_updated",
            actor=caller.user_id,
            details={"grossAmount": handover.gross_amount, "positions": len(handover.positions)},
        )
    except StaleInvoice:
        return hand_over(invoice_id, handover, caller)
    return saved.public(), False


def get_invoice(invoice_id: str) -> BillingInvoice:
    record = invoice_store.load(invoice_id)
    if record is None:
        raise NotFound(f"Invoice {invoice_id} has not been handed over.", code="invoice_not_found")
    return record.public()


def list_events(invoice_id: str, *, limit: int, cursor: str | None) -> EventPage:
    get_invoice(invoice_id)  # 404 for unknown invoices rather than an empty log
    return invoice_store.list_events(invoice_id, limit=limit, cursor=cursor)


def _maybe_auto_publish(invoice_id: str) -> None:
    from sevdesk_common.services.config import load_config

    if not load_config().auto_transfer_invoices:
        return
    from sevdesk_common.services.auto_publish import enqueue_publish

    logger.info("auto transfer: publishing asynchronously", extra={"invoice_id": invoice_id})
    enqueue_publish(invoice_id)
