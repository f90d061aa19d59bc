"""GET /api/billing/invoices/{invoiceId} (staff): the invoice with its handoff state."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import INVOICE_ID, make_api
from sevdesk_common.models.invoice import BillingInvoice
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import billing

api = make_api(role="staff")


@api.resolver.get("/api/billing/invoices/<invoiceId>")
def get_invoice(invoiceId: Annotated[str, Path(**INVOICE_ID)]) -> BillingInvoice:
    return billing.get_invoice(invoiceId)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
