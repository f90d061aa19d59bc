"""GET /api/billing/invoices (staff): handed-over invoices, newest first, filtered by status and
invoice date, paged; read from the list indexes (never a Scan)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import make_api
from sevdesk_common.models.fields import IsoDate
from sevdesk_common.models.invoice import ClaimStatus, DocumentStatus, SyncStatus
from sevdesk_common.models.invoice_list import InvoiceList
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import invoice_list

api = make_api(role="staff")


@api.resolver.get("/api/billing/invoices")
def list_invoices(
    accountingSyncStatus: Annotated[SyncStatus | None, Query()] = None,
    claimStatus: Annotated[ClaimStatus | None, Query()] = None,
    documentStatus: Annotated[DocumentStatus | None, Query()] = None,
    invoiceDateFrom: Annotated[IsoDate | None, Query(description="First invoice date (YYYY-MM-DD)")] = None,
    invoiceDateTo: Annotated[IsoDate | None, Query(description="Last invoice date (YYYY-MM-DD)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> InvoiceList:
    wanted = {
        "accountingSyncStatus": accountingSyncStatus,
        "claimStatus": claimStatus,
        "documentStatus": documentStatus,
    }
    statuses = {name: str(value) for name, value in wanted.items() if value is not None}
    return invoice_list.list_invoices(
        statuses=statuses,
        date_from=invoiceDateFrom,
        date_to=invoiceDateTo,
        limit=limit,
        cursor=cursor,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
