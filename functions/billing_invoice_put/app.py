"""PUT /api/billing/invoices/{invoiceId} (staff): R1 hands an invoice over (201 new, 200 unchanged
or updated before publishing, 409 once it is in sevDesk)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import INVOICE_ID, make_api
from sevdesk_common.models.invoice import BillingInvoice, InvoiceHandover
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import billing

api = make_api(role="staff")


@api.resolver.put(
    "/api/billing/invoices/<invoiceId>",
    responses={
        200: {"description": "Already handed over: unchanged, or updated before publishing"},
        201: {"description": "Handed over"},
    },
)
def put_invoice(
    invoiceId: Annotated[str, Path(**INVOICE_ID)],
    handover: Annotated[InvoiceHandover, Body()],
) -> Response[BillingInvoice]:
    state, created = billing.hand_over(invoiceId, handover, api.caller())
    return Response(
        status_code=201 if created else 200,
        content_type=content_types.APPLICATION_JSON,
        body=state,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
