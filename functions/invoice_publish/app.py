"""POST /api/sevdesk/invoices/{invoiceId}/publish (staff): create the invoice in sevDesk and
finalize it (resumable; never a second sevDesk invoice). Returns the handoff state."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import INVOICE_ID, make_api
from sevdesk_common.models.invoice import HandoffState
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import publish

api = make_api(role="staff")


@api.resolver.post("/api/sevdesk/invoices/<invoiceId>/publish")
def publish_invoice(
    invoiceId: Annotated[str, Path(**INVOICE_ID)],
) -> HandoffState:
    return publish.publish_invoice(invoiceId, api.caller().user_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
