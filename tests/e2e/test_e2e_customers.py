"""Issue 11's routes and the purchase event over the local stack, as R1 and ops would use them:
HTTP with real JWTs, EventBridge events put through moto's PutEvents (delivered by the stack like
EventBridge, with the function's retries and its OnFailure destination), the dead-letter queue in
moto's SQS, and `python -m devtools.dlq` re-driving it as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.local.events import entry_of
from devtools.local.stack import LocalStack
from tests.e2e.e2e_support import REPO_ROOT, aws, bearer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
PURCHASE = json.loads((REPO_ROOT / "events" / "purchase_completed.json").read_text())
HANDOVER = json.loads(json.loads((REPO_ROOT / "events" / "billing_invoice_put.json").read_text())["body"])
VOUCHER = json.loads(json.loads((REPO_ROOT / "events" / "vouchers_create.json").read_text())["body"])
BUS = "sevdesk-local-billing"


@pytest.fixture(scope="module")
def staff(stack: LocalStack) -> dict[str, str]:
    return bearer(stack.staff_token)


@pytest.fixture(scope="module")
def admin(stack: LocalStack) -> dict[str, str]:
    return bearer(stack.admin_token)


@pytest.fixture(scope="module")
def control(stack: LocalStack) -> Iterator[httpx.Client]:
    if stack.emulator_server is None:
        pytest.skip("the stack talks to a real sevDesk")
    with httpx.Client(base_url=stack.emulator_server.control_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def queue(stack: LocalStack) -> str:
    return str(stack.resources["queues"]["PurchaseEventsDeadLetterQueue"])


def ok(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def wait_for(check: Callable[[], Any], seconds: float = 30) -> Any:
    give_up = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < give_up, "timed out waiting"
        time.sleep(0.2)


def put_event(stack: LocalStack, event: dict[str, Any]) -> None:
    answer = aws(stack, "events").put_events(Entries=[entry_of(event, BUS)])
    assert answer["FailedEntryCount"] == 0, answer


def dead_letters(stack: LocalStack, queue: str) -> list[dict[str, Any]]:
    sqs = aws(stack, "sqs")
    found = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
        "Messages", []
    )
    return [json.loads(m["Body"]) for m in found]


def drain(stack: LocalStack, queue: str) -> None:
    sqs = aws(stack, "sqs")
    while found := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        for message in found:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


def purchase(purchase_id: str, **detail: Any) -> dict[str, Any]:
    event = json.loads(json.dumps(PURCHASE))
    event["detail"].update(purchaseId=purchase_id, **detail)
    return event


def test_customers_sync_and_the_cached_list(
    api: httpx.Client, staff: dict[str, str], control: httpx.Client
) -> None:
    body = {
        "company": {
            "id": "e2e-customer-1",
            "name": "E2E Kunde AG",
            "email": "e2e@kunde.example",
            "phone": "+49 30 555",
            "address": {"street": "Weg 1", "zip": "10115", "city": "Berlin"},
        }
    }
    before = ok(api.get("/api/sevdesk/contacts", params={"name": "E2E"}, headers=staff))
    created = ok(api.post("/api/sevdesk/contacts", json=body, headers=staff), 201)
    again = ok(api.post("/api/sevdesk/contacts", json=body, headers=staff), 200)
    listed = ok(api.get("/api/sevdesk/contacts", params={"name": "E2E"}, headers=staff))
    cached = ok(api.get("/api/sevdesk/contacts", params={"name": "E2E"}, headers=staff))

    assert before["contacts"] == []
    assert created["customerNumber"] == "R1-CO-e2e-customer-1" and again["created"] is False
    assert again["contact"]["id"] == created["contact"]["id"]
    assert [c["id"] for c in listed["contacts"]] == [created["contact"]["id"]] and listed["cached"] is False
    assert cached["cached"] is True and cached["ageSeconds"] >= 0
    state = ok(control.get("/state"))
    assert [c for c in state["contacts"].values() if c["customerNumber"] == "R1-CO-e2e-customer-1"]


def test_the_invoice_list_over_http(api: httpx.Client, staff: dict[str, str]) -> None:
    for number, day in (("1", "2026-01-05"), ("2", "2026-02-05"), ("3", "2026-03-05")):
        body = {**HANDOVER, "invoiceDate": day, "deliveryDate": day, "invoiceNumber": f"E2E-L-{number}"}
        ok(api.put(f"/api/billing/invoices/E2E-LIST-{number}", json=body, headers=staff), 201)

    page = ok(
        api.get(
            "/api/billing/invoices",
            params={"invoiceDateFrom": "2026-01-01", "invoiceDateTo": "2026-03-31", "limit": 2},
            headers=staff,
        )
    )
    rest = ok(
        api.get(
            "/api/billing/invoices",
            params={
                "invoiceDateFrom": "2026-01-01",
                "invoiceDateTo": "2026-03-31",
                "cursor": page["nextCursor"],
            },
            headers=staff,
        )
    )
    pending = ok(api.get("/api/billing/invoices", params={"accountingSyncStatus": "pending"}, headers=staff))

    assert [i["invoiceId"] for i in page["invoices"]] == ["E2E-LIST-3", "E2E-LIST-2"]
    assert [i["invoiceId"] for i in rest["invoices"]] == ["E2E-LIST-1"] and rest["nextCursor"] is None
    assert {"E2E-LIST-1", "E2E-LIST-2", "E2E-LIST-3"} <= {i["invoiceId"] for i in pending["invoices"]}
    bad = api.get("/api/billing/invoices", params={"claimStatus": "overdue"}, headers=staff)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"


def test_vouchers_and_kpis_over_http(api: httpx.Client, staff: dict[str, str], admin: dict[str, str]) -> None:
    headers = {**staff, "Idempotency-Key": "e2e-voucher-0001"}
    created = ok(api.post("/api/sevdesk/vouchers", json=VOUCHER, headers=headers), 201)
    repeated = ok(api.post("/api/sevdesk/vouchers", json=VOUCHER, headers=headers), 200)
    listed = ok(
        api.get(
            "/api/sevdesk/vouchers", params={"dateFrom": "2026-11-20", "dateTo": "2026-11-20"}, headers=staff
        )
    )
    figures = ok(api.get("/api/sevdesk/kpis/revenue", params={"year": 2026}, headers=admin))
    again = ok(api.get("/api/sevdesk/kpis/revenue", params={"year": 2026}, headers=admin))

    assert repeated["voucher"]["id"] == created["voucher"]["id"]
    assert [v["id"] for v in listed["vouchers"]] == [created["voucher"]["id"]]
    assert figures["accrual"]["basis"] == "accrual" and figures["cash"]["basis"] == "cash"
    assert figures["accrual"]["months"][10]["expenses"] == "120.00"  # the voucher, November
    assert again["cached"] is True and again["computedAt"] == figures["computedAt"]
    assert api.get("/api/sevdesk/kpis/revenue", headers=staff).status_code == 403


def test_purchase_events_create_publish_and_dead_letter(
    stack: LocalStack,
    api: httpx.Client,
    staff: dict[str, str],
    admin: dict[str, str],
    control: httpx.Client,
    queue: str,
) -> None:
    config = ok(api.get("/api/sevdesk/config", headers=admin))
    ok(
        api.put(
            "/api/sevdesk/config",
            json={"version": config["version"], "autoTransferInvoices": True},
            headers=admin,
        )
    )
    drain(stack, queue)

    # a purchase: its invoice, published and e-mailed
    put_event(stack, purchase("E2E-P1"))
    state = wait_for(lambda: _sent(api, staff, "PURCHASE-E2E-P1"))
    log = ok(api.get("/api/billing/invoices/PURCHASE-E2E-P1/events", headers=staff))["events"]

    # the same event again: nothing new
    put_event(stack, purchase("E2E-P1"))
    time.sleep(2)
    assert len(ok(api.get("/api/billing/invoices/PURCHASE-E2E-P1/events", headers=staff))["events"]) == len(
        log
    )
    marker = "R1-INVOICE:PURCHASE-E2E-P1"
    assert (
        len(
            [
                i
                for i in ok(control.get("/state"))["invoices"].values()
                if i["customerInternalNote"] == marker and i["invoiceType"] == "RE"
            ]
        )
        == 1
    )
    assert state["documentStatus"] == "sent"

    # a malformed one: in the dead-letter queue with the reason
    put_event(stack, purchase("E2E-P2", items=[]))
    [letter] = wait_for(lambda: dead_letters(stack, queue))
    assert letter["responsePayload"]["errorType"] == "malformed_event"
    assert "detail.items" in letter["responsePayload"]["errorMessage"]
    drain(stack, queue)

    # sevDesk failing for good: Lambda's retries, then the OnFailure destination; replayed once fixed
    ok(
        control.post(
            "/faults",
            json={
                "method": "POST",
                "path": "/Invoice/Factory/saveInvoice",
                "kind": "status",
                "status": 503,
                "times": None,
            },
        ),
        201,
    )
    put_event(stack, purchase("E2E-P3"))
    [failure] = wait_for(lambda: dead_letters(stack, queue), seconds=60)
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["requestPayload"]["detail"]["purchaseId"] == "E2E-P3"
    ok(control.delete("/faults"))

    replay = subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.dlq",
            "replay",
            "PurchaseEventsDeadLetterQueue",
            "--state-dir",
            str(stack.state_dir),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "replayed 1, refused again 0, kept 0" in replay.stderr
    assert json.loads(replay.stdout)["redriven"] == 1
    assert _sent(api, staff, "PURCHASE-E2E-P3")
    assert dead_letters(stack, queue) == []
    marker = "R1-INVOICE:PURCHASE-E2E-P3"
    assert (
        len(
            [
                i
                for i in ok(control.get("/state"))["invoices"].values()
                if i["customerInternalNote"] == marker and i["invoiceType"] == "RE"
            ]
        )
        == 1
    )


def _sent(api: httpx.Client, staff: dict[str, str], invoice_id: str) -> dict[str, Any] | None:
    resp = api.get(f"/api/billing/invoices/{invoice_id}", headers=staff)
    if resp.status_code != 200:
        return None
    state: dict[str, Any] = resp.json()
    return state if state["documentStatus"] == "sent" else None


def test_the_cli_puts_an_event_from_a_fixture(
    stack: LocalStack, api: httpx.Client, staff: dict[str, str]
) -> None:
    event = purchase("E2E-CLI-1")
    path = Path(stack.state_dir or ".") / "purchase-e2e-cli.json"
    path.write_text(json.dumps(event))

    put = subprocess.run(
        [sys.executable, "-m", "devtools.local", "--state-dir", str(stack.state_dir), "put-event", str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert put.returncode == 0, put.stdout + put.stderr
    assert json.loads(put.stdout)["bus"] == BUS
    wait_for(lambda: api.get("/api/billing/invoices/PURCHASE-E2E-CLI-1", headers=staff).status_code == 200)
