"""docs/openapi.json is the frontend's contract; it must match the route code."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from devtools.openapi import REPO_ROOT, render
from tests.support.aws import load_template, resources_of_type


def test_committed_document_matches_the_code() -> None:
    committed = (REPO_ROOT / "docs" / "openapi.json").read_text()

    assert json.loads(committed) == json.loads(render()), "run `make openapi` and commit docs/openapi.json"


def test_every_route_of_the_template_is_documented_with_camel_case_bodies() -> None:
    document = json.loads(render())
    config_update = document["components"]["schemas"]["ConfigUpdate"]
    template = load_template()
    routes = {
        (event["Properties"]["Path"], event["Properties"]["Method"].lower())
        for resource in resources_of_type(template, "AWS::Serverless::Function").values()
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "HttpApi"
    }

    assert routes
    assert {(path, method) for path, ops in document["paths"].items() for method in ops} == routes
    assert "paymentSyncIntervalMinutes" in config_update["properties"]
    assert config_update.get("additionalProperties") is False
    assert document["paths"]["/api/sevdesk/config"]["put"]["x-required-role"] == "admin"


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def _names_an_invoice(document: dict[str, Any], path: str, operation: dict[str, Any]) -> bool:
    """The path ({invoiceId}, {jobId}) or the request body (POST /api/sevdesk/sync/payments)
    names something that may not exist."""
    if "{" in path:
        return True
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    refs = [option["$ref"] for option in schema.get("anyOf", [schema]) if "$ref" in option]
    schemas = document["components"]["schemas"]
    return any("invoiceId" in schemas[ref.rsplit("/", 1)[1]].get("properties", {}) for ref in refs)


def test_statuses_and_headers_are_the_ones_the_code_sends() -> None:
    document = json.loads(render())

    for path, method, operation in _operations(document):
        responses = operation["responses"]
        where = f"{method} {path}"
        assert "500" not in responses, where
        assert ("404" in responses) == _names_an_invoice(document, path, operation), where
        assert ("415" in responses) == ("requestBody" in operation), where
        assert responses["429"]["headers"]["Retry-After"]["required"] is True, where
        assert "Retry-After" in responses["503"]["headers"], where
        # API Gateway's JWT authorizer answers 401 itself, with its own body.
        unauthorized = responses["401"]["content"]["application/json"]["schema"]["anyOf"]
        assert {"$ref": "#/components/schemas/GatewayMessage"} in unauthorized, where
    pdf = document["paths"]["/api/sevdesk/invoices/{invoiceId}/pdf"]["get"]["responses"]["200"]
    assert pdf["headers"]["Content-Disposition"]["required"] is True
    assert set(pdf["content"]) == {"application/pdf"}
    gateway = document["components"]["schemas"]["GatewayMessage"]
    assert gateway["required"] == ["message"]


def test_request_constraints_are_stated_as_the_models_check_them() -> None:
    schemas = json.loads(render())["components"]["schemas"]
    position = schemas["Position-Input"]["properties"]
    handover = schemas["InvoiceHandover-Input"]["properties"]

    tax_rate = position["taxRate"]["anyOf"]
    assert {"enum": [0, 7, 19]} in tax_rate
    assert schemas["Address"]["properties"]["country"]["enum"] == ["DE"]
    assert "EUR" in handover["currency"]["enum"]
    assert handover["timeToPayDays"] == {
        "type": "integer",
        "maximum": 365,
        "minimum": 0,
        "title": "Timetopaydays",
        "default": 14,
    }
    assert schemas["ConfigUpdate"]["properties"]["version"]["minimum"] == 0
    assert handover["invoiceDate"]["format"] == "date"
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        assert name not in schemas


# Classes and anchors that mean different things in Python, Rust and ECMA-262 regexes, and
# syntax ECMA-262 lacks.
NOT_PORTABLE = re.compile(r"\\[dDwWsSAZzh]|\(\?P|\(\?[aiLmsux]|\(\?>|\[\[:")


def test_every_pattern_is_anchored_and_means_the_same_in_json_schema() -> None:
    import jsonschema_rs

    patterns = {
        node["pattern"] for node in _walk(json.loads(render())) if isinstance(node.get("pattern"), str)
    }

    assert len(patterns) >= 8
    for pattern in patterns:
        assert pattern.startswith("^") and pattern.endswith("$"), pattern
        assert not NOT_PORTABLE.search(pattern), pattern
        re.compile(pattern)
        jsonschema_rs.validator_for({"type": "string", "pattern": pattern})
