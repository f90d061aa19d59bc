"""POST /api/sevdesk/sync/payments (admin): "refresh payments" now; optionally one invoice."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import make_api
from sevdesk_common.models.payment_sync import PaymentSyncRequest, PaymentSyncSummary
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import payment_sync

api = make_api(role="admin")
# Declared here because the 404 comes from the body's invoiceId, not from the path.
RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "What the run did (`complete` false: the next run goes on)",
        "content": {"application/json": {"model": PaymentSyncSummary}},
    },
    404: {
        "description": "`invoiceId` names no handed-over invoice (`invoice_not_found`)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    },
}


@api.resolver.post("/api/sevdesk/sync/payments", responses=RESPONSES)
def refresh_payments(request: Annotated[PaymentSyncRequest | None, Body()] = None) -> PaymentSyncSummary:
    return payment_sync.run_requested(request or PaymentSyncRequest(), api.caller().user_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
