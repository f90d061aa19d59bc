"""GET /api/billing/invoices/{invoiceId}/events (staff): the append-only event log, newest first."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import INVOICE_ID, make_api
from sevdesk_common.models.invoice import EventPage
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import billing

api = make_api(role="staff")


@api.resolver.get("/api/billing/invoices/<invoiceId>/events")
def list_events(
    invoiceId: Annotated[str, Path(**INVOICE_ID)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> EventPage:
    return billing.list_events(invoiceId, limit=limit, cursor=cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
