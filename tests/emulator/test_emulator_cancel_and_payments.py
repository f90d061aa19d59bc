"""Cancellation invoices and their refusals, payments, resetToOpen and layout parameters."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from devtools.sevdesk_emulator import SevdeskEmulator
from devtools.sevdesk_emulator.store import TEMPLATE_MODERN
from devtools.sevdesk_emulator.wire import BERLIN
from tests.emulator.helpers import CASH, create_invoice, finalize, objects


@pytest.fixture
def sent(client: httpx.Client) -> dict[str, object]:
    invoice = create_invoice(client, customerInternalNote="ORDER-9")
    return finalize(client, invoice["id"])


def test_cancel_creates_the_sr_shaped_like_the_recording(
    client: httpx.Client, emu: SevdeskEmulator, sent: dict[str, str]
) -> None:
    cancellation = objects(client.post(f"/Invoice/{sent['id']}/cancelInvoice"), 201)

    assert cancellation["invoiceType"] == "SR"
    assert cancellation["origin"] == {"id": sent["id"], "objectName": "Invoice"}
    assert (cancellation["status"], cancellation["paidAmount"], cancellation["sendType"]) == (
        "1000",
        0,
        "VPDF",
    )
    assert cancellation["enshrined"] and cancellation["payDate"] is None
    assert (cancellation["sumNet"], cancellation["sumGross"]) == ("-55", "-65.45")
    assert cancellation["invoiceNumber"] == "RE-1001"  # the same sequence as RE-1000
    assert cancellation["header"] == "Cancellation Invoice No. RE-1001 to Invoice No. RE-1000"
    assert cancellation["customerInternalNote"] == "ORDER-9"
    assert cancellation["contact"]["objectName"] == "Contact" and "customerNumber" in cancellation["contact"]
    assert emu.state.invoices[sent["id"]]["status"] == "1000"
    by_note = objects(client.get("/Invoice", params={"customerInternalNote": "ORDER-9"}))
    assert {inv["invoiceType"] for inv in by_note} == {"RE", "SR"}


def test_the_cancelled_original_status_is_a_switch(
    client: httpx.Client, emu: SevdeskEmulator, sent: dict[str, str]
) -> None:
    emu.cancelled_original_status = "200"
    client.post(f"/Invoice/{sent['id']}/cancelInvoice")
    assert emu.state.invoices[sent["id"]]["status"] == "200"


def test_cancelling_twice_is_422_code_421(client: httpx.Client, sent: dict[str, str]) -> None:
    client.post(f"/Invoice/{sent['id']}/cancelInvoice")
    again = client.post(f"/Invoice/{sent['id']}/cancelInvoice")
    assert (again.status_code, again.json()["error"]["code"]) == (422, 421)


def test_a_credit_note_blocks_cancel_with_code_170(
    client: httpx.Client, emu: SevdeskEmulator, sent: dict[str, str]
) -> None:
    emu.add_credit_note(sent["id"])
    refused = client.post(f"/Invoice/{sent['id']}/cancelInvoice")
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, 170)


def test_partly_paid_cancel_is_refused_inside_http_200(
    client: httpx.Client, emu: SevdeskEmulator, sent: dict[str, str]
) -> None:
    emu.book_payment(sent["id"], "10.00")

    refused = client.post(f"/Invoice/{sent['id']}/cancelInvoice")

    assert refused.status_code == 200
    assert refused.json()["objects"] is None and refused.json()["error"]["code"] == 390
    assert emu.state.invoices[sent["id"]]["status"] == "750"


def test_drafts_can_not_be_cancelled(client: httpx.Client) -> None:
    draft = create_invoice(client)
    assert client.post(f"/Invoice/{draft['id']}/cancelInvoice").status_code == 422


def test_book_amount_partial_then_full(
    client: httpx.Client, emu: SevdeskEmulator, sent: dict[str, str]
) -> None:
    body = {
        "amount": "15.45",
        "date": 1790805600,
        "type": "N",
        "checkAccount": CASH,
    }
    log = objects(client.put(f"/Invoice/{sent['id']}/bookAmount", json=body))

    assert (log["objectName"], log["fromStatus"], log["toStatus"], log["ammountPayed"]) == (
        "InvoiceLog",
        "200",
        "750",
        "15.45",
    )
    partial = objects(client.get(f"/Invoice/{sent['id']}"))[0]
    assert partial["paidAmount"] == 15.45 and partial["payDate"] == "2026-10-01T00:00:00+02:00"
    assert objects(client.get(f"/Invoice/{sent['id']}/getIsPartiallyPaid")) is True

    emu.book_payment(sent["id"], 50)

    paid = objects(client.get(f"/Invoice/{sent['id']}"))[0]
    assert (paid["status"], paid["paidAmount"]) == ("1000", 65.45)
    assert objects(client.get(f"/Invoice/{sent['id']}/getIsPartiallyPaid")) is False
    again = client.put(f"/Invoice/{sent['id']}/bookAmount", json=body)
    assert again.status_code == 422 and again.json()["error"]["code"] == 750


def test_every_mutation_bumps_update(
    client: httpx.Client, emu: SevdeskEmulator, sent: dict[str, str]
) -> None:
    later = datetime(2030, 1, 2, 3, 4, 5, tzinfo=BERLIN)
    emu.clock = lambda: later

    client.put(f"/Invoice/{sent['id']}/bookAmount", json={"amount": 1, "checkAccount": CASH})

    assert objects(client.get(f"/Invoice/{sent['id']}"))[0]["update"] == "2030-01-02T03:04:05+01:00"
    since = int(later.timestamp())
    assert [inv["id"] for inv in objects(client.get("/Invoice", params={"updateAfter": since}))] == [
        sent["id"]
    ]


def test_reset_to_open_refusals(client: httpx.Client, emu: SevdeskEmulator, sent: dict[str, str]) -> None:
    emu.book_payment(sent["id"], 5)
    assert client.put(f"/Invoice/{sent['id']}/resetToOpen").status_code == 422  # enshrined
    emu.add_credit_note(sent["id"])
    refused = client.put(f"/Invoice/{sent['id']}/resetToOpen")
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, 170)


def test_change_parameter_applies_a_known_template(
    client: httpx.Client, emu: SevdeskEmulator, sent: dict[str, str]
) -> None:
    url = f"/Invoice/{sent['id']}/changeParameter"

    assert client.put(url, json={"key": "template", "value": TEMPLATE_MODERN}).status_code == 200
    assert client.put(url, json={"key": "language", "value": "en_US"}).status_code == 200

    assert emu.state.invoices[sent["id"]]["_template"] == TEMPLATE_MODERN
    assert emu.state.invoices[sent["id"]]["_language"] == "en_US"
    assert client.put(url, json={"key": "template", "value": "0" * 24}).status_code == 422
    assert client.put(url, json={"key": "colour", "value": "red"}).status_code == 400
    assert "_template" not in objects(client.get(f"/Invoice/{sent['id']}"))[0]
