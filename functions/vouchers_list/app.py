"""GET /api/sevdesk/vouchers (staff): incoming invoices (Belege) from sevDesk, by period and status."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import make_api
from sevdesk_common.errors import BadRequest
from sevdesk_common.models.fields import SevdeskDate
from sevdesk_common.models.voucher import VoucherList, VoucherStatusName
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import vouchers

api = make_api(role="staff")


@api.resolver.get("/api/sevdesk/vouchers")
def list_vouchers(
    status: Annotated[VoucherStatusName | None, Query()] = None,
    dateFrom: Annotated[SevdeskDate | None, Query(description="First voucher date (YYYY-MM-DD)")] = None,
    dateTo: Annotated[SevdeskDate | None, Query(description="Last voucher date (YYYY-MM-DD)")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> VoucherList:
    if dateFrom and dateTo and dateFrom > dateTo:
        raise BadRequest(
            "dateFrom must not be after dateTo", details=[{"field": "dateFrom", "message": "after dateTo"}]
        )
    return vouchers.list_vouchers(
        status=status, date_from=dateFrom, date_to=dateTo, limit=limit, offset=offset
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
