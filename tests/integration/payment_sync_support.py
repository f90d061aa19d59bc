"""Helpers for the payment sync tests: published invoices, the scheduled run and the route,
and what they leave behind (state, events)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.invoke import ADMIN, STAFF, ApiResult, invoke, load_event, running_as
from tests.support.lambda_context import FakeLambdaContext

GROSS = "65.45"  # events/billing_invoice_put.json: 55.00 net + 10.45 VAT


def published(invoice_id: str) -> str:
    """Hand over and publish through the routes; the sevDesk id."""
    body = json.loads(load_event("billing_invoice_put")["body"])
    handed = invoke("billing_invoice_put", claims=STAFF, body=body, path_parameters={"invoiceId": invoice_id})
    assert handed.status == 201, handed.body
    result = invoke("invoice_publish", claims=STAFF, path_parameters={"invoiceId": invoice_id})
    assert result.status == 200, result.body
    return str(result.body["externalId"])


def scheduled(context: FakeLambdaContext | None = None) -> dict[str, Any]:
    """The EventBridge tick: the function's handler with events/payment_sync.json."""
    from functions.payment_sync.app import lambda_handler

    with running_as("payment_sync"):
        return lambda_handler(load_event("payment_sync"), context or FakeLambdaContext("payment_sync"))


def refresh(body: Any = None, claims: dict[str, str] = ADMIN) -> ApiResult:
    """POST /api/sevdesk/sync/payments as the admin."""
    return invoke("payment_sync_refresh", claims=claims, body=body)


def state(invoice_id: str) -> dict[str, Any]:
    result = invoke("billing_invoice_get", claims=STAFF, path_parameters={"invoiceId": invoice_id})
    assert result.status == 200, result.body
    body: dict[str, Any] = result.body
    return body


def synced_events(invoice_id: str) -> list[dict[str, Any]]:
    result = invoke("billing_invoice_events", claims=STAFF, path_parameters={"invoiceId": invoice_id})
    return [e for e in reversed(result.body["events"]) if e["type"] == "payment_synced"]


def sync_state() -> Any:
    from sevdesk_common import payment_sync_store

    return payment_sync_store.load_state()


def config() -> Any:
    from sevdesk_common.services.config import load_config

    return load_config()


def backdate_last_sync(minutes: float) -> None:
    """As if the last run began `minutes` ago (the schedule's interval has passed)."""
    from sevdesk_common.services.config import modify_config

    at = datetime.now(UTC) - timedelta(minutes=minutes)
    modify_config(lambda c: c.model_copy(update={"last_sync_at": at}))


def baseline() -> dict[str, Any]:
    """The first scheduled run (the reconciliation that sets the watermark), then the interval
    passed, so the next tick runs."""
    first = scheduled()
    assert first["status"] == "completed", first
    backdate_last_sync(11)
    return first
