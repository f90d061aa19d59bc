"""Write the HTTP API's OpenAPI document, generated from the route code (one resolver per
Lambda, merged), for the R1 frontend: `python -m devtools.openapi > docs/openapi.json`."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "examples": ["validation_error"]},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}
# API Gateway's own answers (no route matched, JWT authorizer refused): a fixed body HTTP APIs
# cannot reshape.
GATEWAY_MESSAGE_SCHEMA = {
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string", "examples": ["Unauthorized", "Not Found"]}},
    "description": "API Gateway's own answer, not the error shape",
}
ERROR = {"$ref": "#/components/schemas/Error"}
GATEWAY_MESSAGE = {"$ref": "#/components/schemas/GatewayMessage"}
RETRY_AFTER = {"schema": {"type": "integer", "minimum": 1}, "description": "Seconds to wait before retrying"}
# status -> (description, body schema, headers); on every route.
ERROR_STATUSES: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "400": ("Invalid input; `details` names each field", ERROR, {}),
    "401": (
        "No valid bearer token. API Gateway's JWT authorizer answers with its fixed body "
        '`{"message": "Unauthorized"}`; only a verified token without `sub` gets the error shape.',
        {"anyOf": [GATEWAY_MESSAGE, ERROR]},
        {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Set by API Gateway"}},
    ),
    "403": ("Not an internal user, or lacking the role", ERROR, {}),
    "409": (
        "Conflict with the current state. Retryable, with Retry-After: `invoice_busy` (another action "
        "holds the invoice for a moment), `contact_busy`. Final until something changes: "
        "`invoice_not_published`, `invoice_already_published`, `already_cancelled`, `invoice_cancelled`, "
        "`version_conflict`, `invoice_write_pending` (repeat the named action first), "
        "`send_outcome_unknown` (check the inbox, then send with `resend: true`), sevDesk's refusals "
        "(`already_cancelled_in_sevdesk`, `credit_note_exists`, `partially_paid`), "
        "`sevdesk_token_not_configured`; DATEV exports: `export_not_ready` (Retry-After: not done yet), "
        "`export_failed` (start it again).",
        ERROR,
        {"Retry-After": RETRY_AFTER},
    ),
    "422": ("Refused by sevDesk or an unknown reference", ERROR, {}),
    "429": (
        "Over 20 requests per 60 s for this user",
        ERROR,
        {"Retry-After": {**RETRY_AFTER, "required": True}},
    ),
    "502": ("sevDesk failed", ERROR, {}),
    "503": (
        "Retryable after Retry-After: `sevdesk_outcome_unknown` (sevDesk did not confirm a write; the "
        "retry checks sevDesk first and never does it twice), `sevdesk_rate_limited` (sevDesk or the "
        "shared budget), `sevdesk_unavailable` (sevDesk unreachable), `time_budget_exceeded` (sevDesk "
        "answered too slowly to finish within API Gateway's limit), `export_not_started` (Step "
        "Functions did not take a DATEV export; the job is marked failed, nothing runs).",
        ERROR,
        {"Retry-After": {**RETRY_AFTER, "required": True}},
    ),
}
NOT_FOUND = (
    "No invoice (or export job) with this id (also for an id none can have, such as one with "
    "control characters). A path that matches no route gets API Gateway's "
    '`{"message": "Not Found"}`.',
    {"anyOf": [ERROR, GATEWAY_MESSAGE]},
    {},
)
UNSUPPORTED_MEDIA_TYPE = ("The body is not `application/json`", ERROR, {})
# Powertools' own validation answer, which our error mapping replaces everywhere.
POWERTOOLS_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def _response(description: str, schema: dict[str, Any], headers: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if headers:
        response["headers"] = headers
    response["content"] = {"application/json": {"schema": schema}}
    return response


def _error_responses(
    path: str, operation: dict[str, Any]
) -> dict[str, tuple[str, dict[str, Any], dict[str, Any]]]:
    statuses = dict(ERROR_STATUSES)
    if "{" in path:
        statuses["404"] = NOT_FOUND
    if "requestBody" in operation:
        statuses["415"] = UNSUPPORTED_MEDIA_TYPE
    return dict(sorted(statuses.items()))


def _whole_numbers(node: Any) -> Any:
    """pydantic writes integer bounds as floats (`minimum: 0.0`); JSON Schema readers that type
    check the schema itself want `0` for an integer's bounds."""
    if isinstance(node, dict):
        return {key: _whole_numbers(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_whole_numbers(value) for value in node]
    if isinstance(node, float) and node.is_integer():
        return int(node)
    return node


def _output_names(node: Any) -> Any:
    """pydantic names a model's two variants X-Input and X-Output only where a route has both,
    and X where it has one; as the document merges all routes, the response variant is X."""
    if isinstance(node, dict):
        return {_output_name(key): _output_names(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_output_names(value) for value in node]
    if isinstance(node, str) and node.startswith("#/components/schemas/"):
        return _output_name(node)
    return node


def _output_name(name: str) -> str:
    return name.removesuffix("-Output")


def _merge_schemas(target: dict[str, Any], source: dict[str, Any]) -> None:
    # One name, one schema: two resolvers must not mean different things by the same name.
    for name, schema in source.items():
        if name in POWERTOOLS_SCHEMAS:
            continue
        if name in target and target[name] != schema:
            raise ValueError(f"component {name} differs between routes")
        target[name] = schema


def function_modules() -> list[str]:
    return sorted(f"functions.{path.parent.name}.app" for path in (REPO_ROOT / "functions").glob("*/app.py"))


def build_document() -> dict[str, Any]:
    sys.path[:0] = [str(REPO_ROOT / "layers" / "common"), str(REPO_ROOT)]
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "sevDesk integration API", "version": "1.0.0"},
        "paths": {},
        "components": {
            "schemas": {"Error": ERROR_SCHEMA, "GatewayMessage": GATEWAY_MESSAGE_SCHEMA},
            "securitySchemes": {"jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"jwt": []}],
    }
    for name in function_modules():
        module = importlib.import_module(name)
        api = getattr(module, "api", None)
        if api is None:  # not an HTTP route (scheduled or state-machine step)
            continue
        schema = api.resolver.get_openapi_schema().model_dump(mode="json", by_alias=True, exclude_none=True)
        schema = _output_names(_whole_numbers(schema))
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                operation["x-required-role"] = api.role
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)  # Powertools' default; our validation errors are 400
                for status, (description, body, headers) in _error_responses(path, operation).items():
                    responses.setdefault(status, _response(description, body, headers))
                operation["responses"] = dict(sorted(responses.items()))
            document["paths"].setdefault(path, {}).update(operations)
        _merge_schemas(document["components"]["schemas"], schema.get("components", {}).get("schemas", {}))
    document["paths"] = dict(sorted(document["paths"].items()))
    document["components"]["schemas"] = dict(sorted(document["components"]["schemas"].items()))
    return document


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
