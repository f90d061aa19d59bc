"""POST /api/sevdesk/export/datev (admin): start a DATEV export; 202 with the job. The same
request while its export runs answers that job (alreadyRunning)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import make_api
from sevdesk_common.models.datev_export import DatevExportAccepted, DatevExportRequest
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import datev_export

api = make_api(role="admin")


@api.resolver.post(
    "/api/sevdesk/export/datev",
    responses={202: {"description": "Started, or the same export already running (alreadyRunning)"}},
)
def start_export(request: Annotated[DatevExportRequest, Body()]) -> Response[DatevExportAccepted]:
    job = datev_export.start_export(request, api.caller())
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=job)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
