"""PUT /api/sevdesk/config (admin): validated settings update with optimistic locking."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import make_api
from sevdesk_common.models.config import ConfigUpdate, ConfigView
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import config

api = make_api(role="admin")


@api.resolver.put("/api/sevdesk/config")
def put_config(update: Annotated[ConfigUpdate, Body()]) -> ConfigView:
    return config.update_config(update, api.caller())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
