"""Real concurrency through the faithful stack: concurrent callers each run in a function instance
of their own, against moto's DynamoDB that is as atomic as DynamoDB."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from devtools.local.stack import LocalStack
from tests.e2e.e2e_support import REPO_ROOT, bearer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
HANDOVER: dict[str, Any] = json.loads(
    json.loads((REPO_ROOT / "events" / "billing_invoice_put.json").read_text())["body"]
)


def _emulator_state(stack: LocalStack) -> dict[str, Any]:
    assert stack.emulator_server is not None
    return httpx.get(f"{stack.emulator_server.control_url}/state", timeout=10).json()


def test_concurrent_identical_hand_overs_store_one_invoice(stack: LocalStack, api: httpx.Client) -> None:
    path = "/api/billing/invoices/R1-E2E-CONCURRENT-HANDOVER"
    users = [bearer(stack.mint_token(f"staff-h{n}", ["staff"])) for n in range(5)]

    with ThreadPoolExecutor(len(users)) as pool:
        statuses = sorted(pool.map(lambda h: api.put(path, json=HANDOVER, headers=h).status_code, users))

    assert statuses == [200, 200, 200, 200, 201]
    events = api.get(f"{path}/events", headers=users[0]).json()["events"]
    assert [e["type"] for e in events] == ["handed_over"]


def test_twenty_concurrent_publishes_make_one_sevdesk_invoice(stack: LocalStack, api: httpx.Client) -> None:
    invoice_id = "R1-E2E-CONCURRENT-PUBLISH"
    body = {**HANDOVER, "company": {**HANDOVER["company"], "id": "company-concurrent"}}
    staff = bearer(stack.staff_token)
    assert api.put(f"/api/billing/invoices/{invoice_id}", json=body, headers=staff).status_code == 201
    users = [bearer(stack.mint_token(f"staff-p{n}", ["staff"])) for n in range(20)]

    def publish(headers: dict[str, str]) -> httpx.Response:
        return api.post(f"/api/sevdesk/invoices/{invoice_id}/publish", headers=headers, timeout=60)

    with ThreadPoolExecutor(len(users)) as pool:
        answers = list(pool.map(publish, users))

    assert {a.status_code for a in answers} == {200}, [a.text for a in answers if a.status_code != 200]
    assert len({a.json()["externalId"] for a in answers}) == 1
    marker = f"R1-INVOICE:{invoice_id}"
    state = _emulator_state(stack)
    ours = [i for i in state["invoices"].values() if i["customerInternalNote"] == marker]
    assert len(ours) == 1
    contacts = [c for c in state["contacts"].values() if c["customerNumber"] == "R1-CO-company-concurrent"]
    assert len(contacts) == 1
    events = api.get(f"/api/billing/invoices/{invoice_id}/events", headers=staff).json()["events"]
    assert [e["type"] for e in events].count("published") == 1
