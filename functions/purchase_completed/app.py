"""EventBridge PurchaseCompleted (source r1.billing): creates the purchase's billing invoice and,
with autoTransferInvoices on, publishes it (and e-mails it when the event asks). A malformed or
refused event goes to the dead-letter queue with the reason; a failure that may pass later is
raised for Lambda's retries (then the same queue, by the OnFailure destination)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common import deadline
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services.purchases import handle_purchase_event


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline.start(float("inf"), context)  # the function's own timeout is the budget
    return handle_purchase_event(event, context)
