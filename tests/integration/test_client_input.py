"""Malformed client input the fuzzer found answered with 500s: each is now a 4xx in the one error
shape, and nothing is stored or sent."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import boto3
import pytest

from tests.conftest import TABLE_NAME
from tests.support.invoke import ADMIN, STAFF, ApiResult, invoke, load_event

pytestmark = pytest.mark.usefixtures("aws")
INVOICE_ID = "R1-INV-7"
BODY_ROUTES = ("config_put", "billing_invoice_put", "invoice_send")
# (route, content type): the three the fuzzer found on each body route, and the rest once.
FOREIGN_MEDIA_TYPES = [
    *((function, kind) for function in BODY_ROUTES for kind in ("text/plain", "application/xml")),
    *((function, "multipart/form-data; boundary=xyz") for function in BODY_ROUTES),
    ("config_put", "multipart/form-data"),
    ("invoice_send", "application/x-www-form-urlencoded"),
]


def event_for(function: str, *, content_type: str | None = None, **changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event(function))
    if content_type is not None:
        event["headers"]["content-type"] = content_type
    event.update(changes)
    return event


def call(function: str, event: dict[str, Any]) -> ApiResult:
    claims = ADMIN if function.startswith("config") else STAFF
    return invoke(function, claims=claims, event=event)


def assert_error(result: ApiResult, status: int, code: str) -> dict[str, Any]:
    assert result.status == status, result.raw
    assert result.headers["content-type"] == "application/json"
    error = result.body["error"]
    assert error["code"] == code
    assert error["message"]
    return error


def stored_state() -> list[dict[str, Any]]:
    """Every item but the limiters' token buckets, which each request draws from."""
    items = boto3.resource("dynamodb").Table(TABLE_NAME).scan()["Items"]
    return sorted((item for item in items if not item["pk"].startswith("BUCKET#")), key=str)


def seed_invoice() -> list[dict[str, Any]]:
    result = invoke("billing_invoice_put", claims=STAFF, path_parameters={"invoiceId": INVOICE_ID})
    assert result.status == 201, result.body
    return stored_state()


@pytest.mark.parametrize(("function", "content_type"), FOREIGN_MEDIA_TYPES)
def test_a_body_that_is_not_json_is_415(function: str, content_type: str) -> None:
    before = seed_invoice()
    event = event_for(function, content_type=content_type, body="<invoice>1</invoice>")

    error = assert_error(call(function, event), 415, "unsupported_media_type")

    assert "application/json" in error["message"]
    assert error["details"] == [{"field": "body", "message": "content type must be application/json"}]
    assert stored_state() == before


def test_a_route_without_a_body_ignores_one_as_documented() -> None:
    """No 415 where the document names no body: publish answers as it would without one."""
    event = event_for("invoice_publish", content_type="text/plain", body="\xff anything")
    event["pathParameters"] = {"invoiceId": "R1-NOPE"}
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/api/sevdesk/invoices/R1-NOPE/publish"

    assert_error(call("invoice_publish", event), 404, "invoice_not_found")


def test_json_with_a_charset_parameter_is_still_json() -> None:
    event = event_for("config_put", content_type="application/json; charset=utf-8", body='{"version": 0}')

    result = call("config_put", event)

    assert result.status == 200, result.body
    assert result.body["version"] == 1


def test_a_base64_body_holding_utf8_json_is_decoded() -> None:
    """API Gateway base64-encodes a body it deems binary; valid UTF-8 JSON inside is fine."""
    body = base64.b64encode(json.dumps({"version": 0, "templateEbAr": "abc"}).encode()).decode()
    event = event_for("config_put", body=body, isBase64Encoded=True)

    result = call("config_put", event)

    assert result.status == 200, result.body
    assert result.body["templateEbAr"] == "abc"


@pytest.mark.parametrize(
    ("function", "raw"),
    [
        *((function, b"\xff") for function in BODY_ROUTES),
        ("config_put", b'{"version": "\xff"}'),
        ("config_put", b"\xed\xa0\x80"),  # a UTF-16 surrogate, which UTF-8 forbids
    ],
)
def test_a_body_that_is_not_utf8_is_400(function: str, raw: bytes) -> None:
    before = seed_invoice()
    event = event_for(function, body=base64.b64encode(raw).decode(), isBase64Encoded=True)

    error = assert_error(call(function, event), 400, "validation_error")

    assert error["details"] == [{"field": "body", "message": "the body is not valid UTF-8"}]
    assert stored_state() == before


def test_a_body_that_is_not_even_base64_is_400() -> None:
    event = event_for("config_put", body="%%%not base64%%%", isBase64Encoded=True)

    assert_error(call("config_put", event), 400, "validation_error")
    assert stored_state() == []


@pytest.mark.parametrize(
    ("function", "invoice_id"),
    [
        *(
            ("billing_invoice_get", invoice_id)
            for invoice_id in ("a\x0bb", "a\tb", "a\x85b", "a\u2028b", "a\x00b", "\U0001f9fe")
        ),
        ("billing_invoice_put", "a\x0bb"),
        ("invoice_publish", "\U0001f9fe"),
        ("invoice_pdf", "a\x00b"),
    ],
)
def test_an_id_no_invoice_can_have_is_404(function: str, invoice_id: str) -> None:
    result = invoke(
        function,
        claims=STAFF,
        event=load_event(function),
        path_parameters={"invoiceId": invoice_id},
    )

    assert_error(result, 404, "not_found")
    assert stored_state() == []


def test_the_catch_all_logs_the_exception_type_and_traceback(
    monkeypatch: pytest.MonkeyPatch, log_output: Any
) -> None:
    from sevdesk_common.services import config

    def broken(*_: Any) -> Any:
        raise KeyError("a bug of ours")

    monkeypatch.setattr(config, "get_config", broken)

    result = invoke("config_get", claims=ADMIN)

    error = assert_error(result, 500, "internal_error")
    assert "a bug of ours" not in error["message"]
    lines = [json.loads(line) for line in log_output.getvalue().splitlines() if line.startswith("{")]
    unhandled = [line for line in lines if line["message"].startswith("unhandled error")]
    assert len(unhandled) == 1
    assert unhandled[0]["exception_name"] == "KeyError"
    assert unhandled[0]["error_type"] == "builtins.KeyError"
    assert "Traceback" in unhandled[0]["exception"]
    assert "broken" in unhandled[0]["exception"]


@pytest.mark.parametrize("function", ["config_put", "billing_invoice_put"])
def test_a_lone_surrogate_escape_in_json_is_400(function: str) -> None:
    """`"\\ud800"` is valid JSON syntax but no Unicode text: pydantic refuses it (as no UTF-8
    encoder, DynamoDB's included, could take it)."""
    event = load_event(function)
    body = json.loads(event["body"])
    if function == "config_put":
        body["documentTemplates"] = {"a\ud800": "tpl"}
    else:
        body["positions"][0]["name"] = "Beratung \ud800"
    event = event_for(function, body=json.dumps(body))

    assert_error(call(function, event), 400, "validation_error")
    assert stored_state() == []
