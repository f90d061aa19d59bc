"""Nightly (EventBridge Schedule): the drift report, archived in the export bucket. A failure is
retried by Lambda and then lands in its dead-letter queue (template.yaml; make replay-dlq)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common import deadline
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import reconciliation


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline.start(float("inf"), context)  # the function's own timeout is the budget
    report = reconciliation.nightly()
    return {
        "storedAs": report.stored_as,
        "items": len(report.items),
        "counts": report.counts,
        "sevdeskRequests": report.sevdesk_requests.total,
    }
