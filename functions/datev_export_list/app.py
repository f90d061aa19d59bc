"""GET /api/sevdesk/export/datev (admin): recent export jobs, newest first, paged."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import make_api
from sevdesk_common.models.datev_export import DatevExportPage
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import datev_export

api = make_api(role="admin")


@api.resolver.get("/api/sevdesk/export/datev")
def list_exports(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> DatevExportPage:
    return datev_export.list_exports(limit=limit, cursor=cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
