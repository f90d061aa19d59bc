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
ERROR_STATUSES = {
    "400": "Invalid input; `details` names each field",
    "401": "Missing or invalid token",
    "403": "Not an internal user, or lacking the role",
    "409": "Conflict with the current state",
    "422": "Refused by sevDesk or an unknown reference",
    "429": "Over 20 requests per 60 s for this user; see Retry-After",
    "502": "sevDesk failed",
    "503": "sevDesk unreachable or the outcome of a write is unknown",
}


def function_modules() -> list[str]:
    return sorted(f"functions.{path.parent.name}.app" for path in (REPO_ROOT / "functions").glob("*/app.py"))


def build_document() -> dict[str, Any]:
    sys.path[:0] = [str(REPO_ROOT / "layers" / "common"), str(REPO_ROOT)]
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "sevDesk integration API", "version": "1.0.0"},
        "paths": {},
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
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
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                operation["x-required-role"] = api.role
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)  # Powertools' default; our validation errors are 400
                for status, description in ERROR_STATUSES.items():
                    responses.setdefault(
                        status,
                        {
                            "description": description,
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                            },
                        },
                    )
            document["paths"].setdefault(path, {}).update(operations)
        document["components"]["schemas"].update(schema.get("components", {}).get("schemas", {}))
    document["paths"] = dict(sorted(document["paths"].items()))
    document["components"]["schemas"] = dict(sorted(document["components"]["schemas"].items()))
    return document


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
