"""GET /api/sevdesk/export/datev/{jobId}/status (admin): the job's status, progress, failure
reason, and once done the file (name, size, sha256)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import make_api
from sevdesk_common.models.datev_export import EXPORT_JOB_ID, DatevExportView
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import datev_export

api = make_api(role="admin")


@api.resolver.get("/api/sevdesk/export/datev/<jobId>/status")
def get_status(jobId: Annotated[str, Path(**EXPORT_JOB_ID)]) -> DatevExportView:
    return datev_export.get_status(jobId)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
