"""Dead letters on the local stack: an auto-publish that keeps failing ends, after Lambda's
retries, in its dead-letter queue; once the cause is fixed `python -m devtools.dlq replay` (make
replay-dlq) publishes it exactly once, and a second replay finds nothing to do."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools import dlq
from devtools.local.stack import LocalStack, Ports
from tests.e2e.e2e_support import REPO_ROOT, aws, bearer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
INVOICE_ID = "R1-E2E-DLQ-1"
HANDOVER: dict[str, Any] = json.loads(
    json.loads((REPO_ROOT / "events" / "billing_invoice_put.json").read_text())["body"]
)


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dlq-state")


@pytest.fixture(scope="module")
def stack(state_dir: Path) -> Iterator[LocalStack]:
    from tests.support.lambda_context import clear_process_caches

    quick = {"SEVDESK_RETRY_MIN_SECONDS": "0", "SEVDESK_RETRY_MAX_SECONDS": "0"}
    clear_process_caches()
    with LocalStack.start(
        REPO_ROOT / "template.yaml",
        Ports.ephemeral(),
        state_dir=state_dir,
        env=quick,
        async_retry_delays=(0.2, 0.2),
    ) as running:
        clear_process_caches()
        yield running
    clear_process_caches()


def waiting(stack: LocalStack, queue: str) -> int:
    sqs = aws(stack, "sqs")
    url = sqs.get_queue_url(QueueName=f"sevdesk-local-{queue}")["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def replay(
    state_dir: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, list[dict[str, Any]]]:
    code = dlq.main(
        ["replay", "--state-dir", str(state_dir), "--queue", "AutoPublishDeadLetterQueue", *extra]
    )
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_failed_auto_publish_is_replayed_once_after_the_cause_is_fixed(
    stack: LocalStack, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack.emulator_server is not None
    api = httpx.Client(base_url=stack.api_url, timeout=30)
    admin, staff = bearer(stack.admin_token), bearer(stack.staff_token)
    control = httpx.Client(base_url=stack.emulator_server.control_url, timeout=10)
    version = api.get("/api/sevdesk/config", headers=admin).json()["version"]
    assert api.put(
        "/api/sevdesk/config", json={"version": version, "autoTransferInvoices": True}, headers=admin
    ).is_success
    # sevDesk is down for contacts: every attempt fails before anything is written
    fault = {"method": "GET", "path": "/Contact", "kind": "status", "status": 503, "times": 100}
    assert control.post("/faults", json=fault).status_code == 201

    assert api.put(f"/api/billing/invoices/{INVOICE_ID}", json=HANDOVER, headers=staff).status_code == 201
    deadline = time.monotonic() + 60
    while waiting(stack, "AutoPublishDeadLetterQueue") == 0 and time.monotonic() < deadline:
        time.sleep(0.2)

    assert waiting(stack, "AutoPublishDeadLetterQueue") == 1
    state = api.get(f"/api/billing/invoices/{INVOICE_ID}", headers=staff).json()
    assert state["externalId"] is None and state["lastError"]["code"] == "sevdesk_unavailable"

    code, dry = replay(state_dir, capsys, "--dry-run")  # shows it, changes nothing
    assert code == 0 and len(dry[0]["wouldRedrive"]) == 1 and dry[0]["redriven"] == 0
    assert waiting(stack, "AutoPublishDeadLetterQueue") == 1
    code, still_down = replay(state_dir, capsys)  # the cause is not fixed yet: it stays
    assert code == 1 and still_down[0]["redriven"] == 0 and len(still_down[0]["failed"]) == 1
    assert waiting(stack, "AutoPublishDeadLetterQueue") == 1

    assert control.delete("/faults").status_code == 200  # the cause is fixed
    code, done = replay(state_dir, capsys)

    assert code == 0 and done == [{"queue": "AutoPublishDeadLetterQueue", "redriven": 1, "failed": []}]
    assert waiting(stack, "AutoPublishDeadLetterQueue") == 0
    published = api.get(f"/api/billing/invoices/{INVOICE_ID}", headers=staff).json()
    assert published["externalInvoiceNumber"] == "RE-1000" and published["documentStatus"] == "finalized"
    ours = [i for i in control.get("/state").json()["invoices"].values()
            if i["customerInternalNote"] == f"R1-INVOICE:{INVOICE_ID}"]  # fmt: skip
    assert len(ours) == 1

    code, again = replay(state_dir, capsys)  # nothing doubled
    assert code == 0 and again[0]["redriven"] == 0
    assert len(control.get("/state").json()["invoices"]) == 1


def test_the_template_names_a_target_for_every_dead_letter_queue(capsys: pytest.CaptureFixture[str]) -> None:
    assert dlq.main(["list", "--template", str(REPO_ROOT / "template.yaml")]) == 0
    listed = capsys.readouterr().out
    assert "AutoPublishDeadLetterQueue -> function InvoiceAutoPublishFunction" in listed
    assert "ReconciliationDeadLetterQueue -> function ReconciliationNightlyFunction" in listed
