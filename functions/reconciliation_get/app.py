"""GET /api/sevdesk/reconciliation (admin): the drift between the bundle and sevDesk, each
difference with the action to take, and the sevDesk requests the report made (list reads only)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import make_api
from sevdesk_common.models.drift import DriftReport
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import reconciliation

api = make_api(role="admin")


@api.resolver.get("/api/sevdesk/reconciliation")
def drift_report() -> DriftReport:
    return reconciliation.drift_report("request")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
