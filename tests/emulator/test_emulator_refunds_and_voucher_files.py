"""What issue 11 added to the emulator: refunds of credit notes (money out in the booking log),
descriptionLike on vouchers, uploaded files that become a voucher's document, seeded vouchers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import httpx

from devtools.sevdesk_emulator import SevdeskEmulator
from devtools.sevdesk_emulator.wire import BERLIN
from tests.emulator.helpers import create_invoice, finalize, objects

PDF = b"%PDF-1.4\n%%EOF\n"


def save_voucher(client: httpx.Client, description: str, filename: str | None = None) -> httpx.Response:
    body: dict[str, object] = {
        "voucher": {
            "objectName": "Voucher",
            "mapAll": True,
            "voucherDate": "20.11.2026",
            "supplierName": "Lieferant",
            "description": description,
            "status": 100,
            "creditDebit": "C",
            "voucherType": "VOU",
            "taxRule": {"id": 9, "objectName": "TaxRule"},
        },
        "voucherPosSave": [
            {
                "objectName": "VoucherPos",
                "mapAll": True,
                "accountDatev": {"id": 4930},
                "taxRate": 7,
                "net": True,
                "sumNet": "10",
            }
        ],
    }
    if filename:
        body["filename"] = filename
    return client.post("/Voucher/Factory/saveVoucher", json=body)


def test_a_credit_note_refund_is_money_out_on_its_own_booking(
    client: httpx.Client, emu: SevdeskEmulator
) -> None:
    invoice = finalize(client, create_invoice(client)["id"])
    note_id = emu.add_credit_note(invoice["id"], finalize=True)
    note = objects(client.get(f"/CreditNote/{note_id}"))[0]
    assert note["status"] == "200" and note["creditNoteNumber"]

    booked = client.put(
        f"/CreditNote/{note_id}/bookAmount",
        json={
            "amount": note["sumGross"],
            "date": "25.10.2026",
            "checkAccount": {"id": 6300002, "objectName": "CheckAccount"},
        },
    )

    assert booked.status_code == 200, booked.text
    assert objects(client.get(f"/CreditNote/{note_id}"))[0]["status"] == "1000"
    logs = objects(client.get("/CheckAccountTransactionLog", params={"embed": "checkAccountTransaction"}))
    [refund] = [log for log in logs if log["object"]["objectName"] == "CreditNote"]
    assert Decimal(str(refund["amountPaid"])) == -Decimal(note["sumGross"])
    assert refund["checkAccountTransaction"]["checkAccount"]["id"] == "6300002"


def test_a_draft_credit_note_cannot_be_refunded(client: httpx.Client, emu: SevdeskEmulator) -> None:
    invoice = finalize(client, create_invoice(client)["id"])
    note_id = emu.add_credit_note(invoice["id"])

    refused = client.put(
        f"/CreditNote/{note_id}/bookAmount", json={"amount": "1", "checkAccount": {"id": 6300002}}
    )

    assert refused.status_code == 422


def test_vouchers_by_part_of_their_description(client: httpx.Client) -> None:
    for description in ("RE-4711", "re-4712", "GU-0815"):
        assert save_voucher(client, description).status_code == 201

    found = objects(client.get("/Voucher", params={"descriptionLike": "RE-47"}))

    assert sorted(v["description"] for v in found) == ["RE-4711", "re-4712"]


def test_an_uploaded_file_becomes_the_vouchers_document_and_an_unknown_one_is_refused(
    client: httpx.Client,
) -> None:
    uploaded = objects(
        client.post("/Voucher/Factory/uploadTempFile", files={"file": ("b.pdf", PDF, "application/pdf")}), 201
    )

    with_file = save_voucher(client, "WITH-FILE", uploaded["filename"])
    unknown = save_voucher(client, "UNKNOWN-FILE", "0" * 32 + ".pdf")

    assert with_file.status_code == 201
    assert with_file.json()["objects"]["voucher"]["document"]["objectName"] == "Document"
    assert unknown.status_code == 400


def test_seeded_vouchers_cycle_the_rates_and_pay_exactly_their_share(emu: SevdeskEmulator) -> None:
    ids = emu.seed_vouchers(
        9, first_day=datetime(2026, 1, 1, tzinfo=BERLIN), per_day=3, paid=1 / 3, drafts=1 / 9
    )

    vouchers = [emu.state.vouchers[i] for i in ids]
    assert [v["sumNet"] for v in vouchers[:3]] == ["100", "20", "5"]
    assert sum(v["status"] == "1000" for v in vouchers) == 3
    assert sum(v["status"] == "50" for v in vouchers) == 1
    assert {v["voucherDate"][:10] for v in vouchers} == {"2026-01-01", "2026-01-02", "2026-01-03"}
