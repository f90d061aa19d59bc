"""R1 hands invoices over and reads their handoff state and event log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sevdesk_common import invoice_store
from sevdesk_common.errors import BadRequest, Conflict
from sevdesk_common.invoice_store import Event, InvalidCursor, StaleInvoice
from sevdesk_common.models.config import SevdeskConfig
from sevdesk_common.models.event_chain import only_ahead_of_head, verify
from sevdesk_common.models.invoice import BillingInvoice, EventPage, InvoiceEvent, InvoiceHandover
from sevdesk_common.models.record import InvoiceRecord
from sevdesk_common.observability import logger
from sevdesk_common.repository import get_config_item
from sevdesk_common.services.auto_transfer import enqueue_publish
from sevdesk_common.services.lease import load_or_404

if TYPE_CHECKING:
    from sevdesk_common.auth import Caller


def hand_over(invoice_id: str, handover: InvoiceHandover, caller: Caller) -> tuple[BillingInvoice, bool]:
    """Store R1's invoice. Returns (state, created). The same body again is a no-op; a changed
    body is accepted only while nothing has been written to sevDesk."""
    existing = invoice_store.load(invoice_id)
    if existing is None:
        record = InvoiceRecord.handed_over(invoice_id, handover, caller.user_id, datetime.now(UTC))
        details = {
            "invoiceNumber": handover.invoice_number,
            "grossAmount": handover.gross_amount,
            "currency": handover.currency,
            "positions": len(handover.positions),
        }
        try:
            invoice_store.insert(record, Event("handed_over", caller.user_id, details))
        except StaleInvoice:
            # A concurrent hand-over of the same id won; decide against what it stored.
            return hand_over(invoice_id, handover, caller)
        _maybe_auto_publish(invoice_id)
        return record.public(), True

    if existing.same_handover(handover):
        return existing.public(), False
    if not existing.accepts_handover_changes:
        raise Conflict(
            "This invoice is already in sevDesk (or being published); it can no longer be changed. "
            "Cancel it and hand over a new invoice instead.",
            code="invoice_already_published",
            details={"externalId": existing.external_id},
        )
    event = Event(
        "handover_updated",
        caller.user_id,
        {"grossAmount": handover.gross_amount, "positions": len(handover.positions)},
    )
    try:
        saved = invoice_store.save(existing.with_handover(handover), events=[event])
    except StaleInvoice:
        return hand_over(invoice_id, handover, caller)
    return saved.public(), False


def get_invoice(invoice_id: str) -> BillingInvoice:
    return load_or_404(invoice_id).public()


def list_events(invoice_id: str, *, limit: int, cursor: str | None) -> EventPage:
    """A page of the log, newest first, with the verdict on the whole chain (the log of one
    invoice is short: it is read whole and verified against the head the invoice recorded)."""
    record = load_or_404(invoice_id)  # 404 for unknown invoices rather than an empty log
    try:
        after = invoice_store.event_position(cursor) if cursor else None
    except InvalidCursor:
        raise BadRequest("cursor: not a cursor this API returned", details=[{"field": "cursor"}]) from None
    items = invoice_store.event_items(invoice_id)
    chain = verify(items, record.event_seq, record.event_head)
    if only_ahead_of_head(chain):  # appended after the invoice was read
        record = load_or_404(invoice_id)
        chain = verify(items, record.event_seq, record.event_head)
    newest = [item for item in reversed(items) if after is None or item["sk"] < after]
    page = newest[:limit]
    more = len(newest) > limit
    return EventPage(
        events=[InvoiceEvent.model_validate(item) for item in page],
        next_cursor=invoice_store.event_cursor(page[-1]["sk"]) if more else None,
        chain=chain,
    )


def _maybe_auto_publish(invoice_id: str) -> None:
    if not SevdeskConfig.model_validate(get_config_item() or {}).auto_transfer_invoices:
        return
    logger.info("auto transfer: publishing asynchronously", extra={"invoice_id": invoice_id})
    enqueue_publish(invoice_id)
