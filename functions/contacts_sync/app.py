"""POST /api/sevdesk/contacts (staff): sync one R1 customer to sevDesk (201 created with address,
e-mail and phone; 200 the existing contact of that customer number, unchanged)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import make_api
from sevdesk_common.models.customer import ContactSyncResult, CustomerSync
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import customers

api = make_api(role="staff")


@api.resolver.post(
    "/api/sevdesk/contacts",
    responses={
        200: {"description": "A contact with this customer number exists: returned unchanged"},
        201: {"description": "Created in sevDesk, with its address, e-mail and phone"},
    },
)
def sync_contact(customer: Annotated[CustomerSync, Body()]) -> Response[ContactSyncResult]:
    result = customers.sync_customer(customer, api.caller())
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
