"""Credit notes made from invoices (list, numbering, the 170 block) and vouchers (filters, booking)."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from devtools.sevdesk_emulator import SevdeskEmulator
from devtools.sevdesk_emulator.wire import BERLIN
from tests.emulator.helpers import CASH, create_invoice, finalize, objects


def voucher(client: httpx.Client, day: str, credit_debit: str = "C", status: int = 100) -> dict[str, str]:
    position = {"objectName": "VoucherPos", "mapAll": True, "taxRate": 19, "net": False, "sumGross": "11.90"}
    position["accountDatev"] = {"id": 4285, "objectName": "AccountDatev"}
    body = {
        "objectName": "Voucher",
        "mapAll": True,
        "voucherDate": day,
        "supplierName": "Lieferant",
        "status": status,
        "creditDebit": credit_debit,
        "voucherType": "VOU",
        "taxRule": {"id": 9, "objectName": "TaxRule"},
    }
    saved = objects(
        client.post("/Voucher/Factory/saveVoucher", json={"voucher": body, "voucherPosSave": [position]}), 201
    )
    return saved["voucher"]


def test_credit_note_from_an_invoice(client: httpx.Client, emu: SevdeskEmulator) -> None:
    sent = finalize(client, create_invoice(client, customerInternalNote="ORDER-CN")["id"])

    made = objects(
        client.post(
            "/CreditNote/Factory/createFromInvoice",
            json={"invoice": {"id": int(sent["id"]), "objectName": "Invoice"}},
        ),
        201,
    )

    note = made["creditNote"]
    assert (note["objectName"], note["status"], note["creditNoteNumber"]) == ("CreditNote", "100", None)
    assert note["refSrcInvoice"] == note["origin"] == {"id": sent["id"], "objectName": "Invoice"}
    assert (note["sumGross"], note["customerInternalNote"], note["creditNoteType"]) == (
        "65.45",
        "ORDER-CN",
        "CN",
    )
    assert [p["sumNet"] for p in made["creditNotePos"]] == ["30", "25"] and made["discount"] == []
    sent_note = objects(
        client.put(f"/CreditNote/{note['id']}/sendBy", json={"sendType": "VPDF", "sendDraft": False})
    )
    assert (sent_note["status"], sent_note["creditNoteNumber"]) == ("200", "GU-1000")  # its own sequence
    assert objects(client.get(f"/CreditNote/{note['id']}")) == [sent_note]
    blocked = client.post(f"/Invoice/{sent['id']}/cancelInvoice")
    assert (blocked.status_code, blocked.json()["error"]["code"]) == (422, 170)


def test_credit_note_list_filters_and_refusals(client: httpx.Client, emu: SevdeskEmulator) -> None:
    first, second = (finalize(client, create_invoice(client)["id"]) for _ in range(2))
    ids = [emu.add_credit_note(first["id"]), emu.add_credit_note(second["id"])]

    assert [n["id"] for n in objects(client.get("/CreditNote"))] == ids[::-1]  # newest first
    assert objects(client.get("/CreditNote", params={"status": 200})) == []
    today = int(emu.now().timestamp())
    assert (
        len(objects(client.get("/CreditNote", params={"startDate": today - 60, "endDate": today + 60}))) == 2
    )
    body = client.get("/CreditNote", params={"limit": 1, "countAll": "true"}).json()
    assert body["total"] == "2" and len(body["objects"]) == 1
    draft = create_invoice(client)
    refused = client.post("/CreditNote/Factory/createFromInvoice", json={"invoice": {"id": int(draft["id"])}})
    assert refused.status_code == 422
    assert client.post("/CreditNote/Factory/createFromInvoice", json={}).status_code == 400


def test_voucher_list_filters_and_paging(client: httpx.Client) -> None:
    september = voucher(client, "15.09.2026")
    october = voucher(client, "15.10.2026", credit_debit="D")
    draft = voucher(client, "20.10.2026", status=50)
    start = int(datetime(2026, 10, 1, tzinfo=BERLIN).timestamp())

    def ids(**params: object) -> list[str]:
        return [v["id"] for v in objects(client.get("/Voucher", params=params))]

    assert ids() == [draft["id"], october["id"], september["id"]]
    assert ids(startDate=start) == [draft["id"], october["id"]]
    assert ids(endDate=start) == [september["id"]]
    assert ids(creditDebit="D") == [october["id"]]
    assert ids(status=50) == [draft["id"]]
    assert ids(limit=1, offset=1) == [october["id"]]
    assert client.get("/Voucher", params={"limit": -1}).status_code == 400


@pytest.mark.parametrize(("credit_debit", "sign"), [("C", -1), ("D", 1)])
def test_voucher_booking_logs_money_out_negative(client: httpx.Client, credit_debit: str, sign: int) -> None:
    expense = voucher(client, "15.10.2026", credit_debit=credit_debit)

    log = objects(
        client.put(
            f"/Voucher/{expense['id']}/bookAmount",
            json={"amount": "11.90", "date": 1792015200, "type": "FULL_PAYMENT", "checkAccount": CASH},
        )
    )

    assert (log["objectName"], log["fromStatus"], log["toStatus"], log["amountPayed"]) == (
        "VoucherLog",
        "100",
        "1000",
        "11.9",
    )
    assert log["voucher"] == {"id": expense["id"], "objectName": "Voucher"}
    booked = objects(client.get(f"/Voucher/{expense['id']}"))[0]
    assert (booked["status"], booked["paidAmount"]) == ("1000", 11.9)
    [entry] = objects(client.get("/CheckAccountTransactionLog"))
    assert (
        entry["object"] == {"id": expense["id"], "objectName": "Voucher"}
        and entry["amountPaid"] == sign * 11.9
    )
    again = client.put(f"/Voucher/{expense['id']}/bookAmount", json={"amount": 1, "checkAccount": CASH})
    assert (again.status_code, again.json()["error"]["code"]) == (422, 751)
