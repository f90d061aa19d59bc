"""GET /api/sevdesk/invoices/{invoiceId}/pdf (staff): the invoice PDF from sevDesk.

The body is bytes, which Powertools base64-encodes (isBase64Encoded), the way an HTTP API
passes binary content through to the client."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import INVOICE_ID, make_api
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import pdf

api = make_api(role="staff")


# OpenAPI's header object has `required`, which Powertools' TypedDict does not know: typed Any.
PDF_RESPONSES: dict[int, Any] = {
    200: {
        "description": "The invoice PDF",
        "headers": {
            "Content-Disposition": {
                "description": "Names the file: Rechnung-<sevDesk invoice number>.pdf",
                "required": True,
                "schema": {"type": "string", "pattern": '^attachment; filename="[A-Za-z0-9._-]+"$'},
            }
        },
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}


# No return annotation on purpose: Powertools would validate (JSON-serialise) an annotated
# return value, which a PDF is not; unannotated, a non-JSON Response passes through unchanged.
@api.resolver.get("/api/sevdesk/invoices/<invoiceId>/pdf", responses=PDF_RESPONSES)
def get_pdf(invoiceId: Annotated[str, Path(**INVOICE_ID)]):  # type: ignore[no-untyped-def]
    filename, content = pdf.invoice_pdf(invoiceId, api.caller().user_id)
    return Response(
        status_code=200,
        content_type="application/pdf",
        body=content,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
