"""The EventBridge rule's payment sync (every ten minutes): skipped without a token or inside
paymentSyncIntervalMinutes; otherwise sevDesk's payment state of our invoices is brought in."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common import deadline
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import payment_sync


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline.start(float("inf"), context)  # the function's own timeout; the run stops well before it
    logger.append_keys(scheduled_at=event.get("time"))
    result = payment_sync.run_scheduled()
    body: dict[str, Any] = result.model_dump(mode="json")
    if "status" not in body:
        body["status"] = "completed" if body["complete"] else "incomplete"
    return body
