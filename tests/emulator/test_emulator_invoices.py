"""Invoices: saveInvoice sums and shape, the status machine, numbering, PDFs, filters and paging."""

from __future__ import annotations

import base64
from datetime import datetime

import httpx
import pytest

from devtools.sevdesk_emulator import SevdeskEmulator
from tests.emulator.helpers import (
    create_contact,
    create_e_invoice,
    create_invoice,
    finalize,
    invoice_body,
    objects,
    position,
)


def test_save_computes_cent_rounded_sums_and_answers_the_recorded_shape(client: httpx.Client) -> None:
    contact = create_contact(client)
    saved = objects(client.post("/Invoice/Factory/saveInvoice", json=invoice_body(contact["id"])), 201)

    invoice = saved["invoice"]
    assert (invoice["sumNet"], invoice["sumTax"], invoice["sumGross"]) == ("55", "10.45", "65.45")
    assert invoice["status"] == "100" and invoice["invoiceNumber"] is None and invoice["enshrined"] is None
    assert invoice["sendType"] == "0" and invoice["paidAmount"] == 0
    assert invoice["invoiceDate"] == "2026-10-01T00:00:00+02:00"
    assert saved["vatdrop"] == "not relevant"
    first, second = saved["invoicePos"]
    assert (first["quantity"], first["sumNet"], first["sumGross"], first["priceGross"]) == (3, 30, 35.7, 11.9)
    assert second["quantity"] is True  # quantity 1 comes back as true
    assert first["invoice"]["id"] == invoice["id"]


def test_gross_prices_when_show_net_is_false(client: httpx.Client) -> None:
    invoice = create_invoice(client, positions=[position(1, "21.90")], showNet=False)
    assert (invoice["sumNet"], invoice["sumTax"], invoice["sumGross"]) == ("18.4", "3.5", "21.9")


def test_unix_and_iso_dates_are_accepted(client: httpx.Client) -> None:
    unix = int(datetime.fromisoformat("2026-10-05T00:00:00+02:00").timestamp())
    assert create_invoice(client, invoiceDate=unix)["invoiceDate"] == "2026-10-05T00:00:00+02:00"
    assert create_invoice(client, invoiceDate="2026-12-24")["invoiceDate"] == "2026-12-24T00:00:00+01:00"


@pytest.mark.parametrize(
    ("change", "status"),
    [({"status": 200}, 422), ({"contactPerson": None}, 400), ({"objectName": None}, 400)],
)
def test_save_refusals(client: httpx.Client, change: dict[str, object], status: int) -> None:
    contact = create_contact(client)
    body = invoice_body(contact["id"])
    body["invoice"] |= change
    assert client.post("/Invoice/Factory/saveInvoice", json=body).status_code == status


def test_wrong_tax_rate_for_the_rule_is_a_422(client: httpx.Client) -> None:
    contact = create_contact(client)
    body = invoice_body(contact["id"], taxRule={"id": 11, "objectName": "TaxRule"})
    assert client.post("/Invoice/Factory/saveInvoice", json=body).status_code == 422


def test_the_spec_key_invoice_pos_is_ignored(client: httpx.Client) -> None:
    contact = create_contact(client)
    body = invoice_body(contact["id"])
    body["invoicePos"] = body.pop("invoicePosSave")
    saved = objects(client.post("/Invoice/Factory/saveInvoice", json=body), 201)
    assert saved["invoicePos"] == [] and saved["invoice"]["sumGross"] == "0"


def test_updating_a_draft_replaces_and_deletes_positions(client: httpx.Client) -> None:
    invoice = create_invoice(client)
    positions = objects(client.get(f"/Invoice/{invoice['id']}/getPositions"))
    body = invoice_body(invoice["contact"]["id"], positions=[position(2, "5.00")], header="Neu")
    body["invoice"]["id"] = int(invoice["id"])
    body["invoicePosDelete"] = [{"id": int(positions[0]["id"]), "objectName": "InvoicePos"}]

    saved = objects(client.post("/Invoice/Factory/saveInvoice", json=body), 201)

    assert saved["invoice"]["id"] == invoice["id"] and saved["invoice"]["header"] == "Neu"
    assert len(saved["invoicePos"]) == 2  # 25.00 kept, 3x10 deleted, 2x5 added
    assert saved["invoice"]["sumNet"] == "35"


def test_a_finalized_invoice_can_not_be_changed(client: httpx.Client) -> None:
    invoice = create_invoice(client)
    finalize(client, invoice["id"])
    body = invoice_body(invoice["contact"]["id"])
    body["invoice"]["id"] = int(invoice["id"])
    assert client.post("/Invoice/Factory/saveInvoice", json=body).status_code == 400


def test_send_by_finalizes_and_numbers_from_re_1000(client: httpx.Client) -> None:
    first, second = create_invoice(client), create_invoice(client)
    assert objects(client.get("/Invoice/Factory/getNextInvoiceNumber")) == "RE-1000"
    assert objects(client.get("/Invoice/Factory/getNextInvoiceNumber")) == "RE-1000"  # a peek

    sent = finalize(client, second["id"])

    assert (sent["status"], sent["invoiceNumber"], sent["sendType"]) == ("200", "RE-1000", "VPDF")
    assert sent["enshrined"] and sent["sendDate"]
    assert finalize(client, first["id"])["invoiceNumber"] == "RE-1001"


def test_send_draft_true_changes_nothing(client: httpx.Client) -> None:
    invoice = create_invoice(client)
    sent = objects(
        client.put(f"/Invoice/{invoice['id']}/sendBy", json={"sendType": "VPDF", "sendDraft": True})
    )
    assert sent["status"] == "100" and sent["invoiceNumber"] is None
    assert client.put(f"/Invoice/{invoice['id']}/sendBy", json={"sendType": "VPDF"}).status_code == 400


def test_send_via_email_records_the_mail_and_finalizes(client: httpx.Client, emu: SevdeskEmulator) -> None:
    invoice = create_invoice(client)
    mail = {"toEmail": "kunde@example.com", "subject": "Ihre Rechnung", "text": "<p>Hallo</p>"}

    email = objects(client.post(f"/Invoice/{invoice['id']}/sendViaEmail", json=mail), 201)

    assert email["objectName"] == "Email" and email["to"] == "kunde@example.com"
    assert [e["subject"] for e in emu.state.emails] == ["Ihre Rechnung"]
    stored = emu.state.invoices[invoice["id"]]
    assert (stored["status"], stored["invoiceNumber"], stored["sendType"]) == ("200", "RE-1000", "VM")
    assert (
        client.post(f"/Invoice/{invoice['id']}/sendViaEmail", json={"toEmail": "x@y.de"}).status_code == 400
    )


def test_get_pdf_with_prevent_send_by_leaves_a_draft_alone(
    client: httpx.Client, emu: SevdeskEmulator
) -> None:
    invoice = create_invoice(client)

    pdf = objects(client.get(f"/Invoice/{invoice['id']}/getPdf", params={"preventSendBy": "true"}))

    assert pdf["filename"] == ".pdf" and pdf["base64Encoded"] is True and pdf["mimetype"] == "application/pdf"
    content = base64.b64decode(pdf["content"])
    assert content.startswith(b"%PDF-1.") and content.rstrip().endswith(b"%%EOF")
    assert b"65.45" in content
    assert emu.state.invoices[invoice["id"]]["status"] == "100"


def test_plain_get_pdf_finalizes_a_draft(client: httpx.Client, emu: SevdeskEmulator) -> None:
    invoice = create_invoice(client)
    pdf = objects(client.get(f"/Invoice/{invoice['id']}/getPdf"))
    assert pdf["filename"] == "RE-1000.pdf"
    assert b"RE-1000" in base64.b64decode(pdf["content"])
    assert emu.state.invoices[invoice["id"]]["sendType"] == "VPDF"


def test_raw_pdf_mode(client: httpx.Client, emu: SevdeskEmulator) -> None:
    emu.pdf_mode = "raw"
    response = client.get(f"/Invoice/{create_invoice(client)['id']}/getPdf", params={"preventSendBy": True})
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_delete_only_drafts(client: httpx.Client) -> None:
    draft, sent = create_invoice(client), create_invoice(client)
    finalize(client, sent["id"])

    assert client.delete(f"/Invoice/{draft['id']}").json() == {"objects": [None]}
    assert client.get(f"/Invoice/{draft['id']}").status_code == 404
    refused = client.delete(f"/Invoice/{sent['id']}")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == 159


def test_list_filters_are_exact(client: httpx.Client) -> None:
    contact = create_contact(client, "K-A")
    a = create_invoice(client, contact["id"], customerInternalNote="ORDER-1")
    b = create_invoice(client, customerInternalNote="ORDER-10")
    finalize(client, b["id"])

    def ids(**params: object) -> list[str]:
        return [inv["id"] for inv in objects(client.get("/Invoice", params=params))]

    assert ids(customerInternalNote="ORDER-1") == [a["id"]]
    assert ids(status=200) == [b["id"]]
    assert ids(invoiceNumber="RE-1000") == [b["id"]]
    assert ids(invoiceNumber="RE-100") == []
    assert ids(**{"contact[id]": contact["id"], "contact[objectName]": "Contact"}) == [a["id"]]
    assert ids(invoiceType="SR") == []


def test_date_and_update_filters_take_unix_seconds(client: httpx.Client) -> None:
    october = create_invoice(client, invoiceDate="01.10.2026")
    november = create_invoice(client, invoiceDate="15.11.2026")
    start = int(datetime.fromisoformat("2026-11-01T00:00:00+01:00").timestamp())

    listed = objects(client.get("/Invoice", params={"startDate": start}))
    assert [inv["id"] for inv in listed] == [november["id"]]
    assert [i["id"] for i in objects(client.get("/Invoice", params={"endDate": start}))] == [october["id"]]
    assert objects(client.get("/Invoice", params={"startDate": "2026-11-01"})) == []  # ISO: nothing
    future = int(datetime.now().timestamp()) + 3600
    assert objects(client.get("/Invoice", params={"updateAfter": future})) == []
    assert len(objects(client.get("/Invoice", params={"updateAfter": future - 7200}))) == 2


def test_paging_and_order_by_invoice_number(client: httpx.Client) -> None:
    invoices = [create_invoice(client) for _ in range(3)]
    for invoice in reversed(invoices):
        finalize(client, invoice["id"])

    page = client.get(
        "/Invoice", params={"limit": 2, "countAll": True, "orderByInvoiceNumber": "DESC"}
    ).json()

    assert page["total"] == "3"
    assert [inv["invoiceNumber"] for inv in page["objects"]] == ["RE-1002", "RE-1001"]
    rest = objects(client.get("/Invoice", params={"limit": 2, "offset": 2, "orderByInvoiceNumber": "DESC"}))
    assert [inv["invoiceNumber"] for inv in rest] == ["RE-1000"]


def test_e_invoice_draft_pdf_is_a_503_and_xml_comes_after_enshrining(client: httpx.Client) -> None:
    e_invoice = create_e_invoice(client)
    plain = finalize(client, create_invoice(client)["id"])

    assert client.get(f"/Invoice/{e_invoice['id']}/getPdf", params={"preventSendBy": True}).status_code == 503
    assert client.get(f"/Invoice/{e_invoice['id']}/getXml").status_code == 400
    finalize(client, e_invoice["id"])
    xml = objects(client.get(f"/Invoice/{e_invoice['id']}/getXml"))
    assert xml.startswith("<?xml") and "rsm:CrossIndustryInvoice" in xml and "65.45" in xml
    refused = client.get(f"/Invoice/{plain['id']}/getXml")
    assert refused.status_code == 400 and "not an electronic invoice" in refused.json()["error"]["message"]
