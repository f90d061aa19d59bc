"""The documented request schemas and the request models agree on the values that matter: what
docs/openapi.json calls valid the model takes, and what it calls invalid the model refuses."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema_rs
import pytest
from pydantic import BaseModel, ValidationError

from devtools.openapi import REPO_ROOT
from sevdesk_common.models.config import ConfigUpdate
from sevdesk_common.models.invoice import InvoiceHandover
from sevdesk_common.models.send import SendRequest
from tests.support.invoke import load_event

DOCUMENT = json.loads((REPO_ROOT / "docs" / "openapi.json").read_text())
LONG = "x" * 256


def documented(component: str) -> Any:
    schema = {"$ref": f"#/components/schemas/{component}", "components": DOCUMENT["components"]}
    return jsonschema_rs.validator_for(schema, validate_formats=True)


def accepted(model: type[BaseModel], body: dict[str, Any]) -> bool:
    try:
        # Through JSON, the way a request arrives (Powertools validates the parsed body).
        model.model_validate(json.loads(json.dumps(body)))
    except ValidationError:
        return False
    return True


def with_value(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    target: Any = body
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    target[int(last) if last.isdigit() else last] = value
    return body


HANDOVER = json.loads(load_event("billing_invoice_put")["body"])
HANDOVER_CASES = [
    ("positions.0.taxRate", 19, True),
    ("positions.0.taxRate", 7.0, True),
    ("positions.0.taxRate", "19", True),
    ("positions.0.taxRate", "19.00", True),
    ("positions.0.taxRate", 16, False),
    ("positions.0.taxRate", "16", False),
    ("positions.0.taxRate", " 19", False),
    ("positions.0.taxRate", "+19", False),
    ("positions.0.taxRate", "1.9e1", False),
    ("positions.0.taxRate", "19\n", False),
    ("positions.0.taxRate", True, False),
    ("positions.0.quantity", 1, True),
    ("positions.0.quantity", "0.0001", True),
    ("positions.0.quantity", "12345678.1234", True),
    ("positions.0.quantity", 0, False),
    ("positions.0.quantity", "0.000", False),
    ("positions.0.quantity", "-1", False),
    ("positions.0.quantity", "1e3", False),
    ("positions.0.quantity", "123456789", False),
    ("positions.0.quantity", "1.23456", False),
    ("positions.0.quantity", 1e20, False),
    ("positions.0.quantity", False, False),
    ("positions.0.unitPrice", "-5.5", True),
    ("positions.0.unitPrice", -5, True),
    ("positions.0.unitPrice", "5,00", False),
    ("positions.0.unitPrice", "12345678901", False),
    ("currency", "EUR", True),
    ("currency", "eur", False),
    ("currency", " EUR", False),
    ("currency", "XXX", False),
    ("company.address.country", "DE", True),
    ("company.address.country", "de", False),
    ("company.address.country", "FR", False),
    ("invoiceDate", "2026-10-01", True),
    ("invoiceDate", 0, False),
    ("invoiceDate", "2026-10-01T00:00:00", False),
    ("invoiceDate", "20261001", False),
    ("invoiceDate", "2026-13-01", False),
    ("timeToPayDays", 30, True),
    ("timeToPayDays", "30", False),
    ("timeToPayDays", True, False),
    ("timeToPayDays", 30.5, False),
    ("timeToPayDays", 366, False),
    ("company.email", "buchhaltung@example.de", True),
    ("company.email", "a.b+c@mail.example.co.uk", True),
    ("company.email", "a b@example.de", False),
    ("company.email", " a@example.de", False),
    ("company.email", "a@example.de\n", False),
    ("company.email", "a@localhost", False),
    ("company.email", "jörg@example.de", False),
    ("company.name", "x" * 255, True),
    ("company.name", LONG, False),
    ("company.name", " " + "x" * 255, False),
    ("company.name", "", False),
]


@pytest.mark.parametrize(("path", "value", "valid"), HANDOVER_CASES)
def test_invoice_handover(path: str, value: Any, valid: bool) -> None:
    body = with_value(HANDOVER, path, value)

    assert documented("InvoiceHandover-Input").is_valid(body) is valid
    assert accepted(InvoiceHandover, body) is valid


@pytest.mark.parametrize(
    ("path", "value", "valid"),
    [
        ("version", 0, True),
        ("version", "0", False),
        ("version", True, False),
        ("version", -1, False),
        ("version", 1.5, False),
        ("paymentSyncIntervalMinutes", 10, True),
        ("paymentSyncIntervalMinutes", "10", False),
        ("paymentSyncIntervalMinutes", 0, False),
        ("templateEbAr", "tpl_1-a", True),
        ("templateEbAr", " tpl", False),
        ("templateEbAr", "tpl\n", False),
    ],
)
def test_config_update(path: str, value: Any, valid: bool) -> None:
    body = with_value({"version": 0}, path, value)

    assert documented("ConfigUpdate").is_valid(body) is valid
    assert accepted(ConfigUpdate, body) is valid


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({}, True),
        ({"email": "a@example.de", "cc": ["b@example.de"]}, True),
        ({"email": "a@example.de;b@example.de"}, False),
        ({"cc": ["a@example.de, b@example.de"]}, False),
        ({"subject": ""}, False),
        ({"resend": "true"}, False),
    ],
)
def test_send_request(body: dict[str, Any], valid: bool) -> None:
    assert documented("SendRequest").is_valid(body) is valid
    assert accepted(SendRequest, body) is valid
