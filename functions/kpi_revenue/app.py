"""GET /api/sevdesk/kpis/revenue?year=YYYY (admin): revenue, expenses and profit per month and for
the year, by document date (accrual) and by money received (cash), from sevDesk list reads,
cached for five minutes; the answer states its bases and when it was computed."""

from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import make_api
from sevdesk_common.models.kpi import RevenueKpis
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import kpis

api = make_api(role="admin")


@api.resolver.get("/api/sevdesk/kpis/revenue")
def revenue(
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="Calendar year; default: this year")
    ] = None,
) -> RevenueKpis:
    return kpis.revenue_kpis(year or datetime.now(UTC).year)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
