"""The invoice lifecycle over HTTP as staff with a real JWT: hand-over, publish, send, PDF, cancel,
event log, checked against the sevDesk emulator's state through its remote control and its API."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
import pytest

from devtools.local.stack import LocalStack
from tests.e2e.e2e_support import REPO_ROOT, bearer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

INVOICE_ID = "R1-E2E-LIFECYCLE-1"
# events/billing_invoice_put.json: company recipient, 2 positions -> 55.00 / 10.45 / 65.45
HANDOVER: dict[str, Any] = json.loads(
    json.loads((REPO_ROOT / "events" / "billing_invoice_put.json").read_text())["body"]
)
LIFECYCLE_EVENTS = ["handed_over", "published", "finalized", "sent", "pdf_downloaded", "cancelled"]


class Emulator:
    """The stack's emulator seen from outside: remote control for state, its API for positions."""

    def __init__(self, stack: LocalStack) -> None:
        from devtools.local.stack import DEV_SEVDESK_TOKEN

        if stack.emulator_server is None:
            pytest.skip("the stack talks to a real sevDesk (SEVDESK_API_TOKEN and SEVDESK_BASE_URL set)")
        self.control = httpx.Client(base_url=stack.emulator_server.control_url, timeout=10)
        self.api = httpx.Client(
            base_url=stack.emulator_url, headers={"Authorization": DEV_SEVDESK_TOKEN}, timeout=10
        )

    def state(self) -> dict[str, Any]:
        resp = self.control.get("/state")
        assert resp.status_code == 200, resp.text
        return resp.json()

    def invoices(self, invoice_type: str, marker: str) -> list[dict[str, Any]]:
        return [
            inv
            for inv in self.state()["invoices"].values()
            if inv["invoiceType"] == invoice_type and inv["customerInternalNote"] == marker
        ]

    def positions(self, sevdesk_id: str) -> list[dict[str, Any]]:
        resp = self.api.get(f"/Invoice/{sevdesk_id}/getPositions")
        assert resp.status_code == 200, resp.text
        return resp.json()["objects"]


@pytest.fixture(scope="module")
def staff(stack: LocalStack) -> dict[str, str]:
    return bearer(stack.staff_token)


@pytest.fixture(scope="module")
def emulator(stack: LocalStack) -> Emulator:
    return Emulator(stack)


def _ok(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json() if resp.headers.get("content-type", "").startswith("application/json") else resp


def _error_code(resp: httpx.Response, status: int) -> str:
    assert resp.status_code == status, resp.text
    return resp.json()["error"]["code"]


def test_lifecycle_over_http(api: httpx.Client, staff: dict[str, str], emulator: Emulator) -> None:
    billing = f"/api/billing/invoices/{INVOICE_ID}"
    sevdesk = f"/api/sevdesk/invoices/{INVOICE_ID}"
    marker = f"R1-INVOICE:{INVOICE_ID}"

    # hand-over: created, then the same body again is a no-op
    created = _ok(api.put(billing, json=HANDOVER, headers=staff), 201)
    assert created["invoiceId"] == INVOICE_ID and created["accountingSyncStatus"] == "pending"
    again = _ok(api.put(billing, json=HANDOVER, headers=staff), 200)
    assert again["version"] == created["version"]
    state = _ok(api.get(billing, headers=staff))
    assert (state["documentStatus"], state["externalId"]) == ("handed_over", None)
    assert (state["netAmount"], state["taxAmount"], state["grossAmount"]) == ("55.00", "10.45", "65.45")

    # publish: one sevDesk invoice with both positions, finalized with the first number
    published = _ok(api.post(f"{sevdesk}/publish", headers=staff))
    assert published["accountingProvider"] == "sevdesk"
    assert published["externalId"] and published["externalInvoiceNumber"] == "RE-1000"
    assert published["accountingSyncStatus"] == "synced" and published["accountingSyncedAt"]
    assert published["documentStatus"] == "finalized"
    (invoice,) = emulator.invoices("RE", marker)
    assert invoice["id"] == published["externalId"] and invoice["status"] == "200"
    assert (invoice["sumNet"], invoice["sumTax"], invoice["sumGross"]) == ("55", "10.45", "65.45")
    positions = emulator.positions(invoice["id"])
    assert sorted((p["name"], p["quantity"], p["sumNet"]) for p in positions) == [
        ("Beratung", "3", "30"),
        ("Lizenz", "1", "25"),
    ]

    # publishing again changes nothing, here or in sevDesk
    assert _ok(api.post(f"{sevdesk}/publish", headers=staff)) == published
    assert len(emulator.invoices("RE", marker)) == 1
    assert _ok(api.get(billing, headers=staff))["version"] == published["version"]

    # send: one mail to the recipient, naming the number
    sent = _ok(api.post(f"{sevdesk}/send", json={}, headers=staff))
    assert sent["documentStatus"] == "sent" and sent["sentTo"] == HANDOVER["company"]["email"]
    mails = [m for m in emulator.state()["emails"] if m["object"]["id"] == invoice["id"]]
    assert len(mails) == 1 and mails[0]["to"] == HANDOVER["company"]["email"]
    assert "RE-1000" in mails[0]["subject"]

    # PDF: binary through the gateway, with a filename
    pdf = api.get(f"{sevdesk}/pdf", headers=staff)
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"].startswith("application/pdf")
    assert pdf.content.startswith(b"%PDF")
    assert 'filename="' in pdf.headers["content-disposition"]
    assert "RE-1000" in pdf.headers["content-disposition"]

    # cancel: a cancellation invoice (SR) in sevDesk; the second cancel is refused, nothing new
    cancelled = _ok(api.post(f"{sevdesk}/cancel", headers=staff))
    assert cancelled["claimStatus"] == "cancelled"
    (sr,) = emulator.invoices("SR", marker)
    assert sr["origin"]["id"] == invoice["id"] and sr["sumGross"] == "-65.45"
    assert cancelled["cancellation"]["externalId"] == sr["id"]
    assert cancelled["cancellation"]["externalInvoiceNumber"] == sr["invoiceNumber"] == "RE-1001"
    assert _error_code(api.post(f"{sevdesk}/cancel", headers=staff), 409) == "already_cancelled"
    assert len(emulator.invoices("SR", marker)) == 1 and len(emulator.invoices("RE", marker)) == 1

    # the event log, newest first
    page = _ok(api.get(f"{billing}/events", headers=staff))
    events = page["events"]
    moments = [datetime.fromisoformat(e["at"]) for e in events]
    assert moments == sorted(moments, reverse=True)
    types = [e["type"] for e in events]
    assert set(LIFECYCLE_EVENTS) <= set(types)
    assert [t for t in reversed(types) if t in LIFECYCLE_EVENTS] == LIFECYCLE_EVENTS
    assert all(e["invoiceId"] == INVOICE_ID for e in events)


def test_send_and_pdf_before_publish_are_409_and_unknown_is_404(
    api: httpx.Client, staff: dict[str, str]
) -> None:
    other = "R1-E2E-UNPUBLISHED-1"
    _ok(api.put(f"/api/billing/invoices/{other}", json=HANDOVER, headers=staff), 201)
    send = api.post(f"/api/sevdesk/invoices/{other}/send", json={}, headers=staff)
    assert _error_code(send, 409) == "invoice_not_published"
    pdf = api.get(f"/api/sevdesk/invoices/{other}/pdf", headers=staff)
    assert _error_code(pdf, 409) == "invoice_not_published"
    unknown = "/api/sevdesk/invoices/R1-E2E-NEVER-SEEN/publish"
    assert _error_code(api.post(unknown, headers=staff), 404) == "invoice_not_found"
    assert (
        _error_code(api.get("/api/billing/invoices/R1-E2E-NEVER-SEEN", headers=staff), 404)
        == "invoice_not_found"
    )


def test_admin_route_as_staff_is_403(api: httpx.Client, staff: dict[str, str]) -> None:
    assert _error_code(api.get("/api/sevdesk/config", headers=staff), 403) == "forbidden"


def test_no_token_is_401(api: httpx.Client) -> None:
    for resp in (
        api.put(f"/api/billing/invoices/{INVOICE_ID}", json=HANDOVER),
        api.post(f"/api/sevdesk/invoices/{INVOICE_ID}/publish"),
    ):
        assert resp.status_code == 401
        assert resp.json() == {"message": "Unauthorized"}
