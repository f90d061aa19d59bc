"""Over HTTP on the local stack: drift injected through the emulator shows in the admin's drift
report, and every invoice's event log verifies through the audit route and its CLI."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from devtools import audit
from devtools.local.stack import DEV_SEVDESK_TOKEN, LocalStack
from tests.e2e.e2e_support import REPO_ROOT, aws, bearer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
HANDOVER: dict[str, Any] = json.loads(
    json.loads((REPO_ROOT / "events" / "billing_invoice_put.json").read_text())["body"]
)


def publish(api: httpx.Client, staff: dict[str, str], invoice_id: str) -> dict[str, Any]:
    put = api.put(f"/api/billing/invoices/{invoice_id}", json=HANDOVER, headers=staff)
    assert put.status_code == 201, put.text
    published = api.post(f"/api/sevdesk/invoices/{invoice_id}/publish", headers=staff, timeout=30)
    assert published.status_code == 200, published.text
    body: dict[str, Any] = published.json()
    return body


def test_drift_injected_in_sevdesk_is_reported_with_its_action(stack: LocalStack, api: httpx.Client) -> None:
    if stack.emulator_server is None:
        pytest.skip("the stack talks to a real sevDesk")
    staff, admin = bearer(stack.staff_token), bearer(stack.admin_token)
    paid = publish(api, staff, "R1-E2E-DRIFT-PAID")["externalId"]
    cancelled = publish(api, staff, "R1-E2E-DRIFT-CANCELLED")["externalId"]
    publish(api, staff, "R1-E2E-DRIFT-OK")
    control = httpx.Client(base_url=stack.emulator_server.control_url, timeout=10)
    sevdesk = httpx.Client(
        base_url=stack.emulator_url, headers={"Authorization": DEV_SEVDESK_TOKEN}, timeout=10
    )
    assert control.post(f"/invoices/{paid}/book", json={"amount": "65.45"}).status_code == 200
    assert sevdesk.post(f"/Invoice/{cancelled}/cancelInvoice").status_code == 201

    answer = api.get("/api/sevdesk/reconciliation", headers=admin, timeout=30)

    assert answer.status_code == 200, answer.text
    report = answer.json()
    found = {(item["invoiceId"], item["kind"]) for item in report["items"]}
    assert found == {
        ("R1-E2E-DRIFT-PAID", "payment_unseen"),
        ("R1-E2E-DRIFT-CANCELLED", "cancellation_unseen"),
    }
    assert all(item["action"] for item in report["items"])
    assert report["sevdeskRequests"]["byOperation"] == {"list_contacts": 1, "list_invoices": 1}
    assert api.get("/api/sevdesk/reconciliation", headers=staff).status_code == 403


def test_every_event_log_verifies_over_http_and_a_tampered_one_is_named(
    stack: LocalStack, api: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = bearer(stack.admin_token)
    publish(api, bearer(stack.staff_token), "R1-E2E-CHAIN")
    assert audit.main(["verify-chains", "--api-url", stack.api_url, "--token", stack.admin_token]) == 0
    assert "0 broken" in capsys.readouterr().out

    table = aws(stack, "dynamodb")
    (name,) = stack.resources["tables"]
    key = {"pk": {"S": "INVOICE#R1-E2E-CHAIN"}, "sk": {"S": f"EVENT#{2:010d}"}}
    item = table.get_item(TableName=name, Key=key)["Item"]
    item["actor"] = {"S": "someone-else"}
    table.put_item(TableName=name, Item=item)

    assert audit.main(["verify-chains", "--api-url", stack.api_url, "--token", stack.admin_token]) == 1
    assert "BROKEN R1-E2E-CHAIN event 2: altered" in capsys.readouterr().out
    log = api.get("/api/billing/invoices/R1-E2E-CHAIN/events", headers=admin).json()
    assert log["chain"]["verified"] is False
