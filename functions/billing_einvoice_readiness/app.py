"""GET /api/billing/invoices/{invoiceId}/einvoice-readiness (staff): whether publish makes the
invoice an e-invoice, and every piece it still lacks (the same check publish runs before it sends
anything to sevDesk), with the seller's master data as the last e-invoice found it."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import INVOICE_ID, make_api
from sevdesk_common.models.einvoice import EInvoiceReadiness
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import einvoice

api = make_api(role="staff")


@api.resolver.get("/api/billing/invoices/<invoiceId>/einvoice-readiness")
def readiness(invoiceId: Annotated[str, Path(**INVOICE_ID)]) -> EInvoiceReadiness:
    return einvoice.readiness(invoiceId)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
