"""The EventBridge `PurchaseCompleted` event: the billing invoice of the purchase, and with
autoTransferInvoices on, its publish (and e-mail when the event asks).

Each purchase has one invoice, `PURCHASE-<purchaseId>`, stored only if it is not there yet, so a
replayed event creates nothing new: the steps after it (publish, send) are idempotent themselves
and just finish what is left. Nothing is dropped silently: an event that is malformed, or that
carries other content for a purchase already stored, or whose work sevDesk refuses, goes to the
dead-letter queue with the reason (dead_letters.py); a failure that may pass on a later try is
raised, so Lambda retries it and, after its retries, puts it in the same queue (OnFailure).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from sevdesk_common import dead_letters, invoice_store
from sevdesk_common.errors import AppError
from sevdesk_common.invoice_store import Event, StaleInvoice
from sevdesk_common.models.config import SevdeskConfig
from sevdesk_common.models.purchase import PurchaseCompleted, PurchaseEvent, describe_errors
from sevdesk_common.models.record import InvoiceRecord
from sevdesk_common.models.send import SendRequest
from sevdesk_common.observability import logger
from sevdesk_common.repository import get_config_item
from sevdesk_common.services.auto_publish import is_retryable
from sevdesk_common.services.lease import failure_details
from sevdesk_common.services.publish import publish_invoice
from sevdesk_common.services.send import send_invoice

if TYPE_CHECKING:
    from sevdesk_common.dead_letters import InvocationContext
    from sevdesk_common.models.invoice import HandoffState

ACTOR = "system:purchase-events"


def handle_purchase_event(event: Any, context: InvocationContext | None = None) -> dict[str, Any]:
    try:
        envelope = PurchaseEvent.model_validate(event)
    except ValidationError as error:
        details = describe_errors(error.errors())
        dead_letters.reject(
            event,
            reason="malformed_event",
            message="The event is not a valid PurchaseCompleted event: "
            + "; ".join(f"{d['field']}: {d['message']}" for d in details),
            details=details,
            context=context,
        )
        return {"status": "rejected", "reason": "malformed_event", "details": details, "deadLettered": True}
    purchase = envelope.detail
    result: dict[str, Any] = {"purchaseId": purchase.purchase_id, "invoiceId": purchase.invoice_id}
    try:
        _invoice_of(purchase, envelope.id)
    except _Conflicting as conflict:
        dead_letters.reject(event, reason="purchase_conflict", message=str(conflict), context=context)
        return {**result, "status": "rejected", "reason": "purchase_conflict", "deadLettered": True}
    if not SevdeskConfig.model_validate(get_config_item() or {}).auto_transfer_invoices:
        return {**result, "status": "handed_over", "autoTransfer": False}
    try:
        state = publish_invoice(purchase.invoice_id, ACTOR)
        status = "published"
        if purchase.send_email:
            state = send_invoice(purchase.invoice_id, SendRequest(email=purchase.email), ACTOR)
            status = "sent"
    except AppError as error:
        if is_retryable(error):
            raise  # Lambda retries; after its retries the event goes to the dead-letter queue
        failure = failure_details(error)
        dead_letters.reject(event, reason=error.code, message=error.message, details=failure, context=context)
        return {**result, "status": "failed", "error": failure, "deadLettered": True}
    return {
        **result,
        "status": status,
        "externalId": state.external_id,
        "externalInvoiceNumber": state.external_invoice_number,
    }


class _Conflicting(Exception):
    """Another event of this purchase stored other content: it is not overwritten."""


def _invoice_of(purchase: PurchaseCompleted, event_id: str | None) -> HandoffState:
    """The purchase's invoice: stored now, or as an earlier delivery of the event stored it."""
    handover = purchase.handover()
    existing = invoice_store.load(purchase.invoice_id)
    if existing is None:
        record = InvoiceRecord.handed_over(purchase.invoice_id, handover, ACTOR, datetime.now(UTC))
        details = {
            "purchaseId": purchase.purchase_id,
            "eventId": event_id,
            "invoiceNumber": handover.invoice_number,
            "grossAmount": handover.gross_amount,
            "currency": handover.currency,
            "positions": len(handover.positions),
        }
        try:
            invoice_store.insert(record, Event("handed_over", ACTOR, details))
            logger.info("purchase invoice created", extra={"invoice_id": purchase.invoice_id})
            return record.handoff()
        except StaleInvoice:  # a concurrent delivery of the same event stored it first
            existing = invoice_store.load(purchase.invoice_id)
            assert existing is not None
    if not existing.same_handover(handover):
        raise _Conflicting(
            f"Purchase {purchase.purchase_id} already has invoice {purchase.invoice_id} with other "
            "content; this event was not applied. Hand a correction over as a new invoice."
        )
    return existing.handoff()
