"""Async worker for autoTransferInvoices: {"invoiceId", "requestedBy"?} -> publish. Raises only
failures worth Lambda's async retry (5xx, unknown outcome, rate limit, busy)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common import deadline
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services.auto_publish import handle_auto_publish


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline.start(float("inf"), context)  # the function's own timeout is the budget
    return handle_auto_publish(event)
