"""What the client puts on the wire and how it reads the answers (httpx.MockTransport)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sevdesk_common.sevdesk.errors import SevdeskProtocolError
from sevdesk_common.sevdesk.payloads import InvoicePositionPayload, InvoiceSavePayload
from tests.unit.sevdesk.sevdesk_helpers import TOKEN, objects, recorded

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


def _invoice(id_: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "objectName": "Invoice",
        "status": "200",
        "update": "2026-10-01T12:00:00+02:00",
        **fields,
    }


def test_headers_and_base_url(make_client) -> None:
    client, seen = make_client(
        lambda _: httpx.Response(200, json=recorded("bookkeeping_system_version.json"))
    )
    assert client.bookkeeping_system_version() == "2.0"
    request = seen[0]
    assert str(request.url) == "https://sevdesk.test/api/v1/Tools/bookkeepingSystemVersion"
    assert request.headers["Authorization"] == TOKEN  # raw, no Bearer
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("sevdesk-integration/")


def test_repr_and_logs_hold_no_token(make_client, log_output) -> None:
    client, _ = make_client(lambda _: objects({"version": "2.0"}))
    client.bookkeeping_system_version()
    assert TOKEN not in repr(client)
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    request_lines = [line for line in lines if line["message"] == "sevdesk request"]
    assert request_lines and request_lines[0]["path"] == "/Tools/bookkeepingSystemVersion"
    assert request_lines[0]["status"] == 200 and "duration_ms" in request_lines[0]
    assert TOKEN not in log_output.getvalue()


def test_sev_users_and_contacts(make_client) -> None:
    contact_list = recorded("contact_list_by_customer_number.json")
    number = contact_list["objects"][0]["customerNumber"]
    other = {**contact_list["objects"][0], "id": "9", "customerNumber": f"{number}-2"}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/SevUser"):
            return objects(
                [
                    {
                        "id": "1551095",
                        "username": "u",
                        "sevClient": {"id": "1303847", "objectName": "SevClient", "name": "ACME"},
                    }
                ]
            )
        # An ignored filter would return more than the match: the client re-checks.
        return objects([*contact_list["objects"], other])

    client, seen = make_client(handler)
    user = client.list_sev_users()[0]
    assert user.id == "1551095" and user.sev_client is not None and user.sev_client.id == "1303847"
    assert user.sev_client.name == "ACME"
    found = client.find_contacts_by_customer_number(number)
    assert [c.id for c in found] == ["138810376"]
    assert seen[1].url.params["customerNumber"] == number and seen[1].url.params["depth"] == "1"


def test_create_contact_organisation_and_person(make_client) -> None:
    client, seen = make_client(lambda _: httpx.Response(201, json=recorded("write_contact_create.json")))
    assert client.create_contact(customer_number="K-1", name="ACME GmbH", vat_number="DE1").id == "138810376"
    client.create_contact(customer_number="K-2", surename="Erika", familyname="Muster")
    org, person = (json.loads(r.content) for r in seen)
    assert org == {
        "name": "ACME GmbH",
        "customerNumber": "K-1",
        "category": {"id": 3, "objectName": "Category"},
        "vatNumber": "DE1",
    }
    assert person["surename"] == "Erika" and person["familyname"] == "Muster" and "name" not in person
    with pytest.raises(ValueError):
        client.create_contact(customer_number="K-3")


def test_address_and_email(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        name = (
            "write_contact_address_create.json"
            if "Address" in request.url.path
            else "write_communication_way_create.json"
        )
        return httpx.Response(201, json=recorded(name))

    client, seen = make_client(handler)
    address = client.create_contact_address(
        "138810376", street="Teststrasse 1", zip_code="10115", city="Berlin"
    )
    assert address.contact.id == "138810376" and address.city == "Berlin"
    way = client.create_communication_way("138810376", "a@example.com")
    assert way.main is True and way.type == "EMAIL"
    body = json.loads(seen[1].content)
    assert body["contact"] == {"id": 138810376, "objectName": "Contact"} and body["value"] == "a@example.com"


def test_save_invoice_sends_one_request_with_all_positions(make_client) -> None:
    client, seen = make_client(lambda _: httpx.Response(201, json=recorded("write_invoice_save.json")))
    positions = [
        InvoicePositionPayload(name=f"P{i}", quantity=Decimal(i), price=Decimal("9.99"), tax_rate=Decimal(19))
        for i in (1, 2, 3)
    ]
    payload = InvoiceSavePayload(
        contact_id="1",
        contact_person_id="2",
        invoice_date=date(2026, 10, 1),
        customer_internal_note="R1-7",
        positions=positions,
    )
    saved = client.save_invoice(payload)
    assert saved.invoice.id == "135582100" and len(saved.positions) == 2
    assert (
        len(seen) == 1
        and seen[0].method == "POST"
        and seen[0].url.path.endswith("/Invoice/Factory/saveInvoice")
    )
    body = json.loads(seen[0].content)
    assert len(body["invoicePosSave"]) == 3 and body["invoicePosDelete"] is None


def test_get_invoice_list_of_one(make_client) -> None:
    client, _ = make_client(lambda _: httpx.Response(200, json=recorded("invoice_draft.json")))
    assert client.get_invoice("135169163").is_draft


def test_list_invoices_params_and_client_side_recheck(make_client) -> None:
    since = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
    old = _invoice("1", update="2026-09-01T00:00:00+02:00")
    new = _invoice("2", update="2026-10-01T13:00:00+02:00")
    client, seen = make_client(lambda _: httpx.Response(200, json={"objects": [old, new], "total": "2"}))
    page = client.list_invoices(status=200, update_after=since, count_all=True)
    assert [i.id for i in page.items] == ["2"] and page.total == 2 and page.fetched == 2
    params = seen[0].url.params
    assert params["status"] == "200" and params["updateAfter"] == str(int(since.timestamp()))
    assert params["limit"] == "1000" and params["offset"] == "0" and params["countAll"] == "true"


def test_iter_invoices_pages_until_a_short_page(make_client) -> None:
    invoices = [_invoice(str(i)) for i in range(5)]

    def handler(request: httpx.Request) -> httpx.Response:
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        return objects(invoices[offset : offset + limit])

    client, seen = make_client(handler)
    assert [i.id for i in client.iter_invoices(limit=2)] == ["0", "1", "2", "3", "4"]
    assert [r.url.params["offset"] for r in seen] == ["0", "2", "4"]


def test_iter_invoices_stops_after_an_exactly_full_last_page(make_client) -> None:
    invoices = [_invoice(str(i)) for i in range(4)]
    client, seen = make_client(
        lambda r: objects(invoices[int(r.url.params["offset"]) : int(r.url.params["offset"]) + 2])
    )
    assert len(list(client.iter_invoices(limit=2))) == 4
    assert len(seen) == 3  # the third page is empty


def test_find_invoices_by_marker_is_exact(make_client) -> None:
    hits = [
        _invoice("1", customerInternalNote="R1-7"),
        _invoice("2", customerInternalNote="R1-7", invoiceType="SR"),
        _invoice("3", customerInternalNote="R1-70"),
    ]
    client, seen = make_client(lambda _: objects(hits))
    assert [i.id for i in client.find_invoices_by_marker("R1-7")] == ["1", "2"]
    assert seen[0].url.params["customerInternalNote"] == "R1-7"


def test_positions_and_partially_paid(make_client) -> None:
    saved = recorded("write_invoice_save.json")["objects"]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/getPositions"):
            return objects(saved["invoicePos"])
        return objects(True)

    client, _ = make_client(handler)
    assert [p.quantity for p in client.get_positions("1")] == [Decimal(3), Decimal(1)]
    assert client.get_is_partially_paid("1") is True


def test_send_by_and_email(make_client) -> None:
    sent = _invoice("1", invoiceNumber="RE-1000", sendType="VPDF")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sendViaEmail"):
            return httpx.Response(
                201,
                json={
                    "objects": {
                        "id": "5",
                        "objectName": "Email",
                        "to": "a@b.de",
                        "object": {"id": "1", "objectName": "Invoice"},
                    }
                },
            )
        return objects(sent)

    client, seen = make_client(handler)
    assert client.send_by("1").invoice_number == "RE-1000"
    assert json.loads(seen[0].content) == {"sendType": "VPDF", "sendDraft": False}
    result = client.send_via_email("1", "a@b.de", "Invoice", "<p>hi</p>", cc=["c@d.de", "e@f.de"])
    assert result.to == "a@b.de" and result.document is not None and result.document.id == "1"
    assert json.loads(seen[1].content)["ccEmail"] == "c@d.de,e@f.de"


def test_cancel_returns_the_cancellation_invoice(make_client) -> None:
    client, seen = make_client(lambda _: httpx.Response(201, json=recorded("write_invoice_cancel.json")))
    sr = client.cancel_invoice("135582398")
    assert sr.is_cancellation and sr.origin is not None and sr.origin.id == "135582398"
    assert seen[0].method == "POST" and seen[0].content == b""


@pytest.mark.parametrize(
    "answer",
    [
        {
            "base64Encoded": True,
            "content": base64.b64encode(PDF).decode(),
            "filename": "RE-1.pdf",
            "mimetype": "application/pdf",
        },
        {
            "base64encoded": True,
            "content": base64.b64encode(PDF).decode(),
            "filename": "RE-1.pdf",
            "mimeType": "application/pdf",
        },
    ],
    ids=["live-spelling", "spec-spelling"],
)
def test_get_pdf_base64_json(make_client, answer: dict[str, Any]) -> None:
    client, seen = make_client(lambda _: objects(answer))
    pdf = client.get_pdf("1")
    assert pdf.content == PDF and pdf.filename == "RE-1.pdf"
    assert seen[0].url.params["preventSendBy"] == "true"


def test_get_pdf_recorded_answer(make_client) -> None:
    client, _ = make_client(lambda _: httpx.Response(200, json=recorded("invoice_pdf.json")))
    pdf = client.get_pdf("1")
    assert pdf.content.startswith(b"%PDF-1.5") and pdf.filename == "RE-1076.pdf"


def test_get_pdf_raw_bytes_and_draft_filename(make_client) -> None:
    client, _ = make_client(
        lambda _: httpx.Response(200, content=PDF, headers={"Content-Type": "application/pdf"})
    )
    assert client.get_pdf("77").content == PDF
    draft = {"base64Encoded": True, "content": base64.b64encode(PDF).decode(), "filename": ".pdf"}
    client, _ = make_client(lambda _: objects(draft))
    assert client.get_pdf("77").filename == "77.pdf"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(
            200, json={"objects": {"base64Encoded": True, "content": base64.b64encode(b"<html>").decode()}}
        ),
        httpx.Response(200, content=b"\x89PNG...", headers={"Content-Type": "image/png"}),
        httpx.Response(200, json={"objects": {"base64Encoded": True, "content": "%%%not base64"}}),
    ],
    ids=["json-not-pdf", "raw-not-pdf", "bad-base64"],
)
def test_get_pdf_rejects_what_is_not_a_pdf(make_client, response: httpx.Response) -> None:
    client, _ = make_client(lambda _: response)
    with pytest.raises(SevdeskProtocolError):
        client.get_pdf("1")


def test_change_parameter_delete_and_book_amount(make_client) -> None:
    log = {
        "id": "9",
        "objectName": "InvoiceLog",
        "fromStatus": "200",
        "toStatus": "1000",
        "ammountPayed": "65.45",
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/bookAmount"):
            return objects(log)
        return objects([None])

    client, seen = make_client(handler)
    client.change_parameter("1", "template", "57986aee6bd2d53306068da1")
    client.delete_invoice("1")
    entry = client.book_amount("1", Decimal("65.45"), date(2026, 10, 1), check_account_id="7")
    assert entry.to_status == 1000 and entry.amount_paid == Decimal("65.45")
    assert json.loads(seen[0].content) == {"key": "template", "value": "57986aee6bd2d53306068da1"}
    assert seen[1].method == "DELETE"
    assert json.loads(seen[2].content) == {
        "amount": "65.45",
        "date": 1790805600,
        "type": "FULL_PAYMENT",
        "checkAccount": {"id": 7, "objectName": "CheckAccount"},
    }


@pytest.mark.parametrize(
    "body",
    [
        {
            "objects": [
                {
                    "id": "57986aee6bd2d53306068da1",
                    "name": "Standard",
                    "default": "1",
                    "type": "Invoice",
                    "translationCode": "X",
                }
            ]
        },
        {
            "objects": {
                "result": "1",
                "templates": [{"id": "57986aee6bd2d53306068da1", "name": "Standard", "default": True}],
            }
        },
        {"result": "1", "templates": [{"id": "57986aee6bd2d53306068da1", "name": "Standard", "default": 1}]},
    ],
    ids=["objects-list", "objects-result-templates", "spec-unwrapped"],
)
def test_templates_in_every_shape(make_client, body: dict[str, Any]) -> None:
    client, seen = make_client(lambda _: httpx.Response(200, json=body))
    [template] = client.list_templates()
    assert template.id == "57986aee6bd2d53306068da1" and template.is_default is True
    assert seen[0].url.params["type"] == "Invoice"


def test_datev_export_calls(make_client) -> None:
    answers = {
        "/SevClient/1303847/updateExportConfig": {"objects": None},
        "/Export/createDatevCsvZipExportJob": {"objects": "0b7f1c4e-job"},
        "/Progress/generateDownloadHash": {"objects": "abc_0b7f1c4e"},
        "/Progress/getProgress": {"objects": {"current": "40", "total": "100"}},
        "/ExportJob/jobDownloadInfo": {
            "objects": {
                "filename": "x.zip",
                "link": "https://s3.example/x.zip",
                "linkExpireDate": "2026-10-08T10:00:00+02:00",
            }
        },
    }
    client, seen = make_client(
        lambda r: httpx.Response(200, json=answers[r.url.path.removeprefix("/api/v1")])
    )
    client.update_export_config(
        "1303847", date(2026, 1, 1), accountant_number="1324124", accountant_client_number="1234"
    )
    assert client.create_datev_csv_zip_export_job(date(2026, 1, 1), date(2026, 1, 31)) == "0b7f1c4e-job"
    assert client.generate_download_hash("0b7f1c4e-job") == "abc_0b7f1c4e"
    progress = client.get_progress("abc_0b7f1c4e")
    assert (progress.current, progress.total, progress.done) == (40, 100, False)
    info = client.job_download_info("0b7f1c4e-job")
    assert info.link.startswith("https://") and info.link_expire_date is not None
    config = json.loads(seen[0].content)
    assert config == {
        "accountingYearBegin": 1767222000,
        "accountantNumber": 1324124,
        "accountantClientNumber": 1234,
    }
    job = seen[1].url.params
    assert seen[1].method == "GET" and job["scope"] == "EXTCD"
    assert job["startDate"] == "1767222000" and job["endDate"] == str(1769900400 - 1)


def test_vouchers(make_client) -> None:
    saved = recorded("write_voucher_save_create.json")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/uploadTempFile"):
            return httpx.Response(201, json=recorded("write_upload_temp_file.json"))
        if request.url.path.endswith("/saveVoucher"):
            return httpx.Response(201, json=saved)
        if request.url.path.endswith("/Voucher"):
            return objects([saved["objects"]["voucher"]])
        return objects([saved["objects"]["voucher"]])

    client, seen = make_client(handler)
    assert client.upload_temp_file("fee.pdf", PDF).filename.endswith(".pdf")
    assert b'name="file"; filename="fee.pdf"' in seen[0].content
    assert [v.id for v in client.list_vouchers(status=50, credit_debit="C")] == ["156270656"]
    assert client.list_vouchers(status=1000) == []  # ignored filter re-checked
    assert client.get_voucher("156270656").supplier_name.startswith("Stripe")


def test_datev_xml_export_job_and_the_period_in_berlin_days(make_client) -> None:
    client, seen = make_client(lambda _: httpx.Response(200, json={"objects": "0b7f1c4e-xml"}))
    # summer time: the period starts at 22:00 UTC the day before and ends at 21:59:59 UTC
    job = client.create_datev_xml_zip_export_job(date(2026, 7, 1), date(2026, 7, 31), "E")
    assert job == "0b7f1c4e-xml"
    params = seen[0].url.params
    assert seen[0].url.path.endswith("/Export/createDatevXmlZipExportJob")
    assert params["startDate"] == str(int(datetime(2026, 6, 30, 22, tzinfo=UTC).timestamp()))
    assert params["endDate"] == str(int(datetime(2026, 7, 31, 22, tzinfo=UTC).timestamp()) - 1)
    assert (params["scope"], params["includeExportedDocuments"], params["includeDocumentXml"]) == (
        "E",
        "true",
        "true",
    )
    assert "enshrineDocuments" not in params


@pytest.mark.parametrize(
    "body",
    [
        {"objects": {"current": "40", "total": "100"}},
        {"objects": [{"current": 40, "total": 100}]},
        {"objects": "40"},
        {"objects": [40]},
    ],
    ids=["object", "spec-list-of-one", "bare-text", "bare-number-in-list"],
)
def test_export_progress_in_every_shape(make_client, body: dict[str, Any]) -> None:
    client, _ = make_client(lambda _: httpx.Response(200, json=body))
    progress = client.get_progress("abc_0b7f1c4e")
    assert (progress.percent, progress.done) == (40, False)


def test_export_progress_that_is_not_one_is_a_protocol_error(make_client) -> None:
    client, _ = make_client(lambda _: httpx.Response(200, json={"objects": "abc_not-a-number"}))
    with pytest.raises(SevdeskProtocolError):
        client.get_progress("abc_0b7f1c4e")
