"""POST /api/sevdesk/vouchers (staff): create an incoming invoice in sevDesk via the voucher factory,
with an optional PDF; a repeated request (same Idempotency-Key, or the same body) creates nothing
new and answers 200 with the voucher made the first time."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import make_api
from sevdesk_common.models.voucher import VoucherCreate, VoucherCreated
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import vouchers

api = make_api(role="staff")


@api.resolver.post(
    "/api/sevdesk/vouchers",
    responses={
        200: {"description": "This request was answered before: the voucher it created, nothing new"},
        201: {"description": "Created in sevDesk"},
    },
)
def create_voucher(
    voucher: Annotated[VoucherCreate, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=8,
            max_length=128,
            pattern=r"^[A-Za-z0-9._:-]+$",
            description="The request's identity; without it the body's hash is",
        ),
    ] = None,
) -> Response[VoucherCreated]:
    result = vouchers.create_voucher(voucher, idempotency_key, api.caller())
    return Response(
        status_code=201 if result.created else 200,
        content_type=content_types.APPLICATION_JSON,
        body=result,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
