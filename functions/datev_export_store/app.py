"""DATEV export state machine. Store step: sevDesk's ZIP streamed into the export bucket (multipart,
sha256).
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common import deadline
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import datev_steps


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline.start(float("inf"), context)  # the function's own timeout is the budget
    return datev_steps.store_export(event)
