"""GET /api/sevdesk/audit/event-chains (admin): every invoice's event log verified against its
hash chain, a page of invoices at a time; names each break."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import make_api
from sevdesk_common.models.event_chain import ChainReport
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import audit

api = make_api(role="admin")


@api.resolver.get("/api/sevdesk/audit/event-chains")
def verify_chains(
    limit: Annotated[int, Query(ge=1, le=200, description="Invoices to check in this page")] = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ChainReport:
    return audit.verify_chains(limit=limit, cursor=cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
