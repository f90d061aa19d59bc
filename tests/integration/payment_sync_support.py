"""Helpers for the payment sync tests: published invoices, the scheduled run and the route,
and what they leave behind (state, events)."""

from __future__ import annotations

import json
import uuid
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


def _reader() -> dict[str, str]:
    # A staff member of their own: the tests read a lot, the per-user limit is 20 a minute.
    return {**STAFF, "sub": f"staff-{uuid.uuid4().hex[:8]}"}


def state(invoice_id: str) -> dict[str, Any]:
    """What staff see: GET /api/billing/invoices/{id}."""
    result = invoke("billing_invoice_get", claims=_reader(), path_parameters={"invoiceId": invoice_id})
    assert result.status == 200, result.body
    body: dict[str, Any] = result.body
    return body


def synced_events(invoice_id: str) -> list[dict[str, Any]]:
    """The invoice's `payment_synced` events, oldest first."""
    result = invoke("billing_invoice_events", claims=_reader(), path_parameters={"invoiceId": invoice_id})
    assert result.status == 200, result.body
    return [e for e in reversed(result.body["events"]) if e["type"] == "payment_synced"]


def age(emulator: Any, external_id: str, hours: float = 1) -> None:
    """The invoice was last changed in sevDesk `hours` ago (before any watermark)."""
    from devtools.sevdesk_emulator.store import touch

    touch(emulator.state.invoices[external_id], emulator.now() - timedelta(hours=hours))


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
    modify_config(lambda c: c.model_copy(update={"last_sync_at": at}), bump_version=False)  # as the sync


def baseline() -> dict[str, Any]:
    """The first scheduled run (the reconciliation that sets the watermark), then the interval
    passed, so the next tick runs."""
    first = scheduled()
    assert first["status"] == "completed", first
    backdate_last_sync(11)
    return first


def cancel_in_sevdesk(emulator: Any, external_id: str) -> dict[str, Any]:
    """cancelInvoice straight in sevDesk (not through this bundle); the SR."""
    import httpx

    headers = {"Authorization": emulator.token}
    with httpx.Client(base_url=emulator.base_url, transport=emulator.transport(), headers=headers) as http:
        answer = http.post(f"/Invoice/{external_id}/cancelInvoice")
    assert answer.status_code == 201, answer.text
    sr: dict[str, Any] = answer.json()["objects"]
    return sr


def sevdesk_requests(emulator: Any) -> list[str]:
    """The API requests the emulator saw, as "METHOD path?offset", oldest first."""
    return [
        f"{r.method} {r.path}" + (f"?offset={r.query['offset']}" if "offset" in r.query else "")
        for r in emulator.requests
    ]


def use_page_size(monkeypatch: Any, size: int) -> None:
    from tests.support.lambda_context import clear_process_caches

    monkeypatch.setenv("PAYMENT_SYNC_PAGE_SIZE", str(size))
    clear_process_caches()
