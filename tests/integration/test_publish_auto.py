"""autoTransferInvoices: the hand-over publishes asynchronously; failures are in the event log
and a retried worker publishes exactly once."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from devtools.sevdesk_emulator import Fault
from tests.integration.test_publish import INVOICE_ID, configure, event_log, hand_over, handover_body, ours
from tests.support.invoke import load_event, outside_aws, running_as
from tests.support.lambda_context import FakeLambdaContext

pytestmark = pytest.mark.usefixtures("emulator", "token_configured")
SAVE = "/Invoice/Factory/saveInvoice"


def run_worker(event: dict[str, Any] | None = None) -> dict[str, Any]:
    from functions.invoice_auto_publish.app import lambda_handler

    with running_as("invoice_auto_publish"):
        return lambda_handler(
            event or load_event("invoice_auto_publish"), FakeLambdaContext("invoice_auto_publish")
        )


class FakeLambda:
    """A real boto3 Lambda client whose Invoke is answered here instead of by AWS: an Event
    invoke runs the worker, as Lambda would. Real parameter validation, and the call is one the
    grants recorder sees (lambda:InvokeFunction on the worker)."""

    def __init__(self) -> None:
        import boto3

        self.calls: list[dict[str, Any]] = []
        self.fail = False
        self.client = boto3.client("lambda")
        self.client.meta.events.register("provide-client-params.lambda.Invoke", self._params)
        self.client.meta.events.register_first("before-send.lambda.Invoke", self._send)

    def _params(self, params: dict[str, Any], **_: Any) -> None:
        self.calls.append(dict(params))

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        if self.fail:
            error = json.dumps({"Type": "Service", "message": "down"}).encode()
            headers = {"x-amzn-errortype": "ServiceException"}
            return AWSResponse(request.url, 400, headers, _Raw(error))
        # Lambda keeps an async invocation's failure to itself (and retries it).
        with contextlib.suppress(Exception):
            run_worker(json.loads(self.calls[-1]["Payload"]))
        return AWSResponse(request.url, 202, {}, _Raw(b""))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


@pytest.fixture
def auto_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTO_PUBLISH_FUNCTION_NAME", raising=False)
    configure(auto_transfer_invoices=True)


@pytest.fixture
def fake_lambda(monkeypatch: pytest.MonkeyPatch, auto_on: None) -> FakeLambda:
    from sevdesk_common.services import auto_transfer
    from tests.conftest import clear_process_caches

    fake = FakeLambda()
    monkeypatch.setenv("AUTO_PUBLISH_FUNCTION_NAME", "sevdesk-invoice-auto-publish")
    clear_process_caches()
    monkeypatch.setattr(auto_transfer, "_lambda", lambda: fake.client)
    return fake


def test_the_hand_over_publishes_inline_without_a_worker(emulator: Any, auto_on: None) -> None:
    # The template always names the worker, so in AWS the hand-over never publishes itself.
    with outside_aws():
        hand_over()

    [invoice] = ours(emulator)
    assert invoice["status"] == "200" and invoice["invoiceNumber"] == "RE-1000"
    log = event_log()
    assert [e["type"] for e in log] == ["handed_over", "published", "finalized"]
    assert log[1]["actor"] == "system:auto-transfer"


def test_the_hand_over_invokes_the_worker_asynchronously(emulator: Any, fake_lambda: FakeLambda) -> None:
    hand_over()

    [call] = fake_lambda.calls
    assert call["FunctionName"] == "sevdesk-invoice-auto-publish"
    assert call["InvocationType"] == "Event"
    assert json.loads(call["Payload"])["invoiceId"] == INVOICE_ID
    assert len(ours(emulator)) == 1


def test_a_failing_auto_publish_is_logged_and_a_retried_worker_publishes_once(
    emulator: Any, fake_lambda: FakeLambda
) -> None:
    emulator.faults.add(Fault(method="POST", path=SAVE, kind="status", status=503))

    hand_over()  # the PUT itself succeeds

    assert not ours(emulator)
    failed = event_log()[-1]
    assert failed["type"] == "publish_failed"
    assert failed["actor"] == "system:auto-transfer"
    assert failed["details"]["code"] == "sevdesk_outcome_unknown"

    result = run_worker()  # Lambda's async retry

    assert result["status"] == "published"
    assert len(ours(emulator)) == 1
    assert run_worker()["reason"] == "already_published"  # a further retry changes nothing
    assert len([r for r in emulator.requests if r.path == SAVE]) == 2
    assert [e["type"] for e in event_log()].count("published") == 1


def test_the_worker_raises_retryable_failures_only(emulator: Any) -> None:
    from sevdesk_common.errors import OutcomeUnknown

    configure(auto_transfer_invoices=False)
    hand_over()
    hand_over("R1-UNLINKED", handover_body(company=None, contactId="ct-404"))
    configure(auto_transfer_invoices=True)
    emulator.faults.add(Fault(method="POST", path=SAVE, kind="status", status=502))

    with pytest.raises(OutcomeUnknown):  # sevDesk's 502: the worker is retried, reading first
        run_worker()
    refused = run_worker({"invoiceId": "R1-UNLINKED"})

    assert refused["status"] == "failed"
    assert refused["error"]["code"] == "contact_not_linked"
    assert event_log("R1-UNLINKED")[-1]["type"] == "publish_failed"


def test_the_worker_skips_when_auto_transfer_is_off_or_the_event_is_invalid(emulator: Any) -> None:
    hand_over()

    assert run_worker() == {"invoiceId": INVOICE_ID, "status": "skipped", "reason": "auto_transfer_off"}
    assert run_worker({"invoice": "x"})["status"] == "rejected"
    configure(auto_transfer_invoices=True)
    assert run_worker({"invoiceId": "R1-NOPE"})["reason"] == "invoice_not_found"
    assert not emulator.requests


def test_an_invoke_failure_never_fails_the_hand_over(emulator: Any, fake_lambda: FakeLambda) -> None:
    fake_lambda.fail = True

    hand_over()

    failed = event_log()[-1]
    assert failed["type"] == "publish_failed"
    assert failed["details"]["code"] == "auto_publish_not_started"
    assert not emulator.state.invoices
