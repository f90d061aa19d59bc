"""POST /api/sevdesk/test-connection (admin): verify the token and store the account identity."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import make_api
from sevdesk_common.models.config import ConnectionResult
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import connection

api = make_api(role="admin")


@api.resolver.post("/api/sevdesk/test-connection")
def test_connection() -> ConnectionResult:
    return connection.verify_connection(api.caller())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
