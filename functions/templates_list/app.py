"""GET /api/sevdesk/templates (admin): sevDesk's invoice templates, cached for 5 minutes."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import make_api
from sevdesk_common.models.config import TemplateList
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import templates

api = make_api(role="admin")


@api.resolver.get("/api/sevdesk/templates")
def list_templates() -> TemplateList:
    return templates.list_templates()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
