"""POST /api/sevdesk/sync/payments (admin): "refresh payments" now; optionally one invoice."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import make_api
from sevdesk_common.models.payment_sync import PaymentSyncRequest, PaymentSyncSummary
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import payment_sync

api = make_api(role="admin")


@api.resolver.post("/api/sevdesk/sync/payments")
def refresh_payments(request: Annotated[PaymentSyncRequest | None, Body()] = None) -> PaymentSyncSummary:
    return payment_sync.run_requested(request or PaymentSyncRequest(), api.caller().user_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
