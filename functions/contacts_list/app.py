"""GET /api/sevdesk/contacts (staff): sevDesk contacts (persons and organisations), paged, with a
search by name or customer number, from a five-minute cache; the answer says how old it is."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import make_api
from sevdesk_common.models.customer import CategoryName, ContactList
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import customers

api = make_api(role="staff")


@api.resolver.get("/api/sevdesk/contacts")
def list_contacts(
    name: Annotated[str | None, Query(min_length=1, max_length=100, description="Part of the name")] = None,
    customerNumber: Annotated[
        str | None, Query(min_length=1, max_length=64, description="Exact customer number")
    ] = None,
    category: Annotated[CategoryName | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> ContactList:
    return customers.list_contacts(
        name=name, customer_number=customerNumber, category=category, limit=limit, offset=offset
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
