"""autoTransferInvoices, the worker's side: publish one handed-over invoice with the same
resumable service as the route. Lambda's async retries (MaximumRetryAttempts in template.yaml)
repeat only failures that may pass on a later try."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationError

from sevdesk_common import invoice_store
from sevdesk_common.errors import AppError
from sevdesk_common.models.base import StrictApiModel
from sevdesk_common.models.config import SevdeskConfig
from sevdesk_common.observability import logger
from sevdesk_common.repository import get_config_item
from sevdesk_common.services.auto_transfer import ACTOR
from sevdesk_common.services.lease import failure_details
from sevdesk_common.services.publish import publish_invoice
from sevdesk_common.sevdesk.errors import SevdeskUnauthorized

# Codes of failures that a later attempt may get past (another action holds the invoice).
_RETRYABLE_CODES = frozenset({"invoice_busy", "contact_busy"})


class AutoPublishEvent(StrictApiModel):
    invoice_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
    requested_by: Annotated[str, Field(max_length=128)] | None = None


def handle_auto_publish(event: dict[str, Any]) -> dict[str, Any]:
    """Publish one invoice; re-raise only what Lambda should retry."""
    try:
        request = AutoPublishEvent.model_validate(event)
    except ValidationError as error:
        logger.error("auto transfer: invalid event, not retried", extra={"errors": error.errors()})
        return {"status": "rejected", "reason": "invalid_event"}
    invoice_id = request.invoice_id
    result: dict[str, Any] = {"invoiceId": invoice_id}
    if not SevdeskConfig.model_validate(get_config_item() or {}).auto_transfer_invoices:
        return {**result, "status": "skipped", "reason": "auto_transfer_off"}
    record = invoice_store.load(invoice_id)
    if record is None:
        logger.warning("auto transfer: unknown invoice", extra={"invoice_id": invoice_id})
        return {**result, "status": "skipped", "reason": "invoice_not_found"}
    if record.is_published:
        return {**result, "status": "skipped", "reason": "already_published"}
    logger.info(
        "auto transfer: publishing", extra={"invoice_id": invoice_id, "requested_by": request.requested_by}
    )
    try:
        state = publish_invoice(invoice_id, ACTOR)
    except AppError as error:
        if is_retryable(error):
            raise
        logger.warning(
            "auto transfer: refused, not retried", extra={"invoice_id": invoice_id, "code": error.code}
        )
        return {**result, "status": "failed", "error": failure_details(error)}
    return {
        **result,
        "status": "published",
        "externalId": state.external_id,
        "externalInvoiceNumber": state.external_invoice_number,
    }


def is_retryable(error: AppError) -> bool:
    """5xx, unknown outcome, rate limited or busy may pass later; a refusal (4xx) will not."""
    if isinstance(error, SevdeskUnauthorized):
        return False
    return error.status >= 500 or error.code in _RETRYABLE_CODES
