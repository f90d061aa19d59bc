"""autoTransferInvoices: a handed-over invoice is published asynchronously.

The hand-over only enqueues (an async Lambda invoke), so R1's PUT never waits for sevDesk. The
worker publishes with the same resumable service as the route; Lambda's async retries
(MaximumRetryAttempts in template.yaml) repeat only failures that may pass on a later try.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

from pydantic import Field, ValidationError

from sevdesk_common import invoice_store
from sevdesk_common.errors import AppError
from sevdesk_common.models.base import StrictApiModel
from sevdesk_common.observability import logger
from sevdesk_common.services.invoice_ops import failure_details

ACTOR = "system:auto-transfer"
# Codes of failures that a later attempt may get past (another action holds the invoice).
_RETRYABLE_CODES = frozenset({"invoice_busy", "contact_busy"})
_lambda_client: Any = None


class AutoPublishEvent(StrictApiModel):
    invoice_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
    requested_by: Annotated[str, Field(max_length=128)] | None = None


def _lambda() -> Any:
    global _lambda_client
    if _lambda_client is None:
        import boto3  # only the hand-over needs it, and only when auto transfer is on

        _lambda_client = boto3.client("lambda")
    return _lambda_client


def enqueue_publish(invoice_id: str, requested_by: str = ACTOR) -> None:
    """Start the publish without waiting for it; never raises into the hand-over."""
    payload = {"invoiceId": invoice_id, "requestedBy": requested_by}
    function_name = os.environ.get("AUTO_PUBLISH_FUNCTION_NAME", "")
    try:
        if function_name:
            _lambda().invoke(
                FunctionName=function_name, InvocationType="Event", Payload=json.dumps(payload).encode()
            )
        else:  # no worker (local runs, tests): publish inline
            handle_auto_publish(payload)
    except AppError:
        # publish_invoice logged it already (or another action holds the invoice, which is no failure)
        logger.warning("auto transfer: publish failed", extra={"invoice_id": invoice_id})
    except Exception as error:
        logger.exception("auto transfer: could not start the publish", extra={"invoice_id": invoice_id})
        _record(invoice_id, {"code": "auto_publish_not_started", "message": type(error).__name__})


def handle_auto_publish(event: dict[str, Any]) -> dict[str, Any]:
    """The worker: publish one invoice; re-raise only what Lambda should retry."""
    from sevdesk_common.services.config import load_config
    from sevdesk_common.services.publish import is_published, publish_invoice

    try:
        request = AutoPublishEvent.model_validate(event)
    except ValidationError as error:
        logger.error("auto transfer: invalid event, not retried", extra={"errors": error.errors()})
        return {"status": "rejected", "reason": "invalid_event"}
    invoice_id = request.invoice_id
    result: dict[str, Any] = {"invoiceId": invoice_id}
    if not load_config().auto_transfer_invoices:
        return {**result, "status": "skipped", "reason": "auto_transfer_off"}
    record = invoice_store.load(invoice_id)
    if record is None:
        logger.warning("auto transfer: unknown invoice", extra={"invoice_id": invoice_id})
        return {**result, "status": "skipped", "reason": "invoice_not_found"}
    if is_published(record):
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
    """5xx, ambiguous, rate limited or busy may pass later; a refusal (4xx) will not."""
    from sevdesk_common.sevdesk import SevdeskUnauthorized

    if isinstance(error, SevdeskUnauthorized):
        return False
    return error.status >= 500 or error.code in _RETRYABLE_CODES


def _record(invoice_id: str, details: dict[str, Any]) -> None:
    try:
        invoice_store.append_event(invoice_id, "publish_failed", actor=ACTOR, details=details)
    except Exception:
        logger.exception("auto transfer: failure not recorded", extra={"invoice_id": invoice_id})
