"""Payment sync on the local stack over HTTP: "refresh payments" as an admin with a real JWT, and
the EventBridge timer firing the scheduled function (its clock run fast) until staff see the
payment."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from devtools.local.stack import LocalStack, Ports
from tests.e2e.e2e_support import REPO_ROOT, aws, bearer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

HANDOVER: dict[str, Any] = json.loads(
    json.loads((REPO_ROOT / "events" / "billing_invoice_put.json").read_text())["body"]
)


def _ok(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def published(api: httpx.Client, stack: LocalStack, invoice_id: str) -> str:
    """Handed over and published, to a customer of its own (stacks in one process share moto,
    not their emulator, so a contact linked by another stack's test is not in this one)."""
    staff = bearer(stack.staff_token)
    body = {**HANDOVER, "company": {**HANDOVER["company"], "id": f"company-{invoice_id}"}}
    _ok(api.put(f"/api/billing/invoices/{invoice_id}", json=body, headers=staff), 201)
    return str(_ok(api.post(f"/api/sevdesk/invoices/{invoice_id}/publish", headers=staff))["externalId"])


def book(stack: LocalStack, external_id: str, amount: str, account: str = "bank") -> None:
    if stack.emulator_server is None:
        pytest.skip("the stack talks to a real sevDesk")
    with httpx.Client(base_url=stack.emulator_server.control_url, timeout=10) as control:
        booked = control.post(f"/invoices/{external_id}/book", json={"amount": amount, "account": account})
        assert booked.status_code == 200, booked.text


def test_refresh_payments_over_http(api: httpx.Client, stack: LocalStack) -> None:
    paid = published(api, stack, "R1-E2E-SYNC-PAID")
    part = published(api, stack, "R1-E2E-SYNC-PART")
    book(stack, paid, "65.45")
    book(stack, part, "15.00", account="cash")
    admin = bearer(stack.admin_token)

    summary = _ok(api.post("/api/sevdesk/sync/payments", headers=admin))

    assert summary["trigger"] == "manual" and summary["complete"], summary
    assert (summary["changed"]["paid"], summary["changed"]["partiallyPaid"]) == (1, 1)
    assert summary["sevdeskRequests"] >= 2 and summary["dynamodbReads"] >= 1
    staff = bearer(stack.staff_token)
    seen = _ok(api.get("/api/billing/invoices/R1-E2E-SYNC-PAID", headers=staff))
    assert (seen["claimStatus"], seen["settlement"], seen["paidAmount"]) == ("paid", "paid", "65.45")
    one = _ok(api.post("/api/sevdesk/sync/payments", json={"invoiceId": "R1-E2E-SYNC-PART"}, headers=admin))
    assert one["trigger"] == "invoice" and one["unchanged"] == 1
    refused = api.post("/api/sevdesk/sync/payments", headers=staff)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"


@pytest.fixture(scope="module")
def fast_clock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack whose timers run 600 times faster: the ten-minute rule fires every second."""
    from tests.support.lambda_context import clear_process_caches

    clear_process_caches()
    state_dir = tmp_path_factory.mktemp("fast-clock")
    with LocalStack.start(
        REPO_ROOT / "template.yaml", Ports.ephemeral(), state_dir=state_dir, schedule_scale=600
    ) as running:
        yield running
    clear_process_caches()


def test_the_timer_fires_the_scheduled_sync(fast_clock: LocalStack) -> None:
    stack = fast_clock
    admin = bearer(stack.admin_token)
    with httpx.Client(base_url=stack.api_url, timeout=10) as api:
        first = _wait(lambda: _ok(api.get("/api/sevdesk/config", headers=admin))["lastSyncAt"])
        external_id = published(api, stack, "R1-E2E-TIMER")
        book(stack, external_id, "65.45")
        # Later ticks are skipped inside paymentSyncIntervalMinutes; as if ten minutes passed:
        _backdate_last_sync(stack, minutes=11)

        staff = bearer(stack.staff_token)

        def paid() -> Any:
            seen = _ok(api.get("/api/billing/invoices/R1-E2E-TIMER", headers=staff))
            return seen if seen["claimStatus"] == "paid" else None

        state = _wait(paid)

        assert state["paidAmount"] == "65.45" and state["settlement"] == "paid"
        events = _ok(api.get("/api/billing/invoices/R1-E2E-TIMER/events", headers=staff))
        [synced] = [e for e in events["events"] if e["type"] == "payment_synced"]
        assert synced["actor"] == "system:payment-sync" and synced["details"]["trigger"] == "schedule"
        assert _ok(api.get("/api/sevdesk/config", headers=admin))["lastSyncAt"] > first


def _wait(probe: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.3)
    pytest.fail(f"not reached within {seconds} s")


def _backdate_last_sync(stack: LocalStack, minutes: int) -> None:
    dynamodb = aws(stack, "dynamodb")
    [name] = dynamodb.list_tables()["TableNames"]
    item = dynamodb.get_item(
        TableName=name, Key={"pk": {"S": "CONFIG"}, "sk": {"S": "CONFIG"}}, ConsistentRead=True
    )["Item"]
    version = int(item["version"]["N"])
    item["lastSyncAt"] = {"S": (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()}
    item["version"] = {"N": str(version + 1)}
    dynamodb.put_item(
        TableName=name,
        Item=item,
        ConditionExpression="version = :v",
        ExpressionAttributeValues={":v": {"N": str(version)}},
    )
