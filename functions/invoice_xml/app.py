"""GET /api/sevdesk/invoices/{invoiceId}/xml (staff): the e-invoice XML (EN 16931 CII) as
archived in our bucket when the invoice was published, checked against its sha256."""

import base64
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sevdesk_common.api import INVOICE_ID, make_api
from sevdesk_common.observability import logger, metrics, tracer
from sevdesk_common.services import einvoice

api = make_api(role="staff")

# OpenAPI's header object has `required`, which Powertools' TypedDict does not know: typed Any.
XML_RESPONSES: dict[int, Any] = {
    200: {
        "description": "The e-invoice XML (UN/CEFACT Cross Industry Invoice, EN 16931)",
        "headers": {
            "Content-Disposition": {
                "description": "Names the file: Rechnung-<sevDesk invoice number>.xml",
                "required": True,
                "schema": {"type": "string", "pattern": '^attachment; filename="[A-Za-z0-9._-]+"$'},
            },
            "Repr-Digest": {
                "description": "sha-256 of the body (RFC 9530), as recorded when it was archived",
                "required": True,
                "schema": {"type": "string", "pattern": "^sha-256=:[A-Za-z0-9+/]+=*:$"},
            },
        },
        "content": {"application/xml": {"schema": {"type": "string"}}},
    }
}


# No return annotation on purpose (see invoice_pdf): a non-JSON Response passes through unchanged.
@api.resolver.get("/api/sevdesk/invoices/<invoiceId>/xml", responses=XML_RESPONSES)
def get_xml(invoiceId: Annotated[str, Path(**INVOICE_ID)]):  # type: ignore[no-untyped-def]
    filename, body, sha256 = einvoice.archived_xml(invoiceId)
    digest = base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
    return Response(
        status_code=200,
        content_type="application/xml",
        body=body.decode("utf-8"),
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Repr-Digest": f"sha-256=:{digest}:",
            "Cache-Control": "no-store",
        },
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event, context)
