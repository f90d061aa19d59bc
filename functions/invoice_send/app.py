"""POST /api/sevdesk/invoices/{invoiceId}/send (staff): e-mail the invoice through sevDesk."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import INVOICE_ID, make_api
from sevdesk_common.models.invoice import HandoffState
from sevdesk_common.models.send import SendRequest
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import send

api = make_api(role="staff")


@api.resolver.post("/api/sevdesk/invoices/<invoiceId>/send")
def send_invoice(
    invoiceId: Annotated[str, Path(**INVOICE_ID)],
    request: Annotated[SendRequest | None, Body()] = None,
) -> HandoffState:
    return send.send_invoice(invoiceId, request or SendRequest(), api.caller().user_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
