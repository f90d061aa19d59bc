"""Contract (2): the emulator against sevDesk's official OpenAPI spec.

Where the spec is right, responses validate against its schemas (OpenAPI `nullable` translated; the
"wire" translation also admits NOTES.md §0's string encoding and the nulls the recorded files
show). Where NOTES.md says the real API differs, a test per deviation asserts that the emulator
follows NOTES.md and that the spec indeed says otherwise.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devtools.sevdesk_emulator import SevdeskEmulator
from tests.emulator.contract import (
    component_errors,
    recorded,
    require_shared,
    response_schema,
    schema_errors,
    spec,
)
from tests.emulator.helpers import CASH, create_contact, create_invoice, finalize, invoice_body, objects

pytestmark = pytest.mark.usefixtures("shared")


@pytest.fixture
def shared() -> None:
    require_shared()


@pytest.fixture
def world(client: httpx.Client, emu: SevdeskEmulator) -> dict[str, Any]:
    """A contact with address and e-mail, a draft, an open, a cancelled invoice with its SR, a voucher."""
    contact = create_contact(client)
    ref = {"id": int(contact["id"]), "objectName": "Contact"}
    client.post("/ContactAddress", json={"contact": ref, "street": "S 1", "zip": "10115", "city": "Berlin"})
    client.post("/CommunicationWay", json={"contact": ref, "type": "EMAIL", "value": "a@b.de", "main": True})
    draft = create_invoice(client, contact["id"])
    sent = finalize(client, create_invoice(client, contact["id"])["id"])
    cancelled = finalize(client, create_invoice(client, contact["id"])["id"])
    sr = objects(client.post(f"/Invoice/{cancelled['id']}/cancelInvoice"), 201)
    return {"contact": contact, "draft": draft, "sent": sent, "sr": sr}


def test_the_wire_translation_accepts_the_recorded_real_responses() -> None:
    # keeps the translation honest: real sevDesk answers pass it, and the strict spec refuses them
    draft = recorded("invoice_draft.json")
    assert schema_errors("/Invoice/{invoiceId}", "get", "200", draft) == []
    assert schema_errors("/Invoice/{invoiceId}", "get", "200", draft, wire=False) != []
    contacts = recorded("contact_list_by_customer_number.json")
    assert schema_errors("/Contact", "get", "200", contacts) == []


SPEC_RIGHT = [
    ("/Tools/bookkeepingSystemVersion", "/Tools/bookkeepingSystemVersion", "get", False),
    ("/Contact/Factory/getNextCustomerNumber", "/Contact/Factory/getNextCustomerNumber", "get", False),
    ("/Contact", "/Contact", "get", True),
    ("/Contact/{contactId}", "/Contact/{contact}", "get", True),
    ("/ContactAddress", "/ContactAddress", "get", True),
    ("/CommunicationWay", "/CommunicationWay", "get", True),
    ("/Invoice", "/Invoice", "get", True),
    ("/Invoice/{invoiceId}", "/Invoice/{draft}", "get", True),
    ("/Invoice/{invoiceId}", "/Invoice/{sent}", "get", True),
    ("/Invoice/{invoiceId}", "/Invoice/{sr}", "get", True),
    ("/Invoice/{invoiceId}/getIsPartiallyPaid", "/Invoice/{sent}/getIsPartiallyPaid", "get", False),
    ("/Voucher", "/Voucher", "get", True),
]


@pytest.mark.parametrize(("spec_path", "url", "method", "wire"), SPEC_RIGHT)
def test_responses_validate_where_the_spec_is_right(
    client: httpx.Client, world: dict[str, Any], spec_path: str, url: str, method: str, wire: bool
) -> None:
    ids = {key: value["id"] for key, value in world.items()}
    response = client.request(method.upper(), url.format(**ids))

    assert response.status_code == 200
    assert schema_errors(spec_path, method, "200", response.json(), wire=wire) == []


def test_get_by_id_is_a_list_of_one_and_the_spec_agrees(client: httpx.Client, world: dict[str, Any]) -> None:
    """NOTES.md §0 "Response envelope": a GET by id answers a list of one (no deviation here)."""
    body = client.get(f"/Invoice/{world['sent']['id']}").json()
    assert isinstance(body["objects"], list) and len(body["objects"]) == 1
    assert response_schema("/Invoice/{invoiceId}", "get", "200")["properties"]["objects"]["type"] == "array"


WRAPPED_WRITES = [
    # (spec path, method, status, spec component the inner object must satisfy)
    ("/Invoice/{invoiceId}/cancelInvoice", "post", "201", "Model_InvoiceResponse"),
    ("/Invoice/{invoiceId}/sendBy", "put", "200", "Model_InvoiceResponse"),
    ("/Invoice/{invoiceId}/sendViaEmail", "post", "201", "Model_Email"),
    ("/Contact", "post", "201", "Model_ContactResponse"),
    ("/ContactAddress", "post", "201", "Model_ContactAddressResponse"),
    ("/CommunicationWay", "post", "201", "Model_CommunicationWayResponse"),
]


@pytest.mark.parametrize(("spec_path", "method", "status", "component"), WRAPPED_WRITES)
def test_deviation_write_responses_are_wrapped_in_objects(
    client: httpx.Client, world: dict[str, Any], spec_path: str, method: str, status: str, component: str
) -> None:
    """NOTES.md §0 "Response envelope": [SPEC] leaves `objects` off write responses; the real API wraps."""
    assert "objects" not in response_schema(spec_path, method, status).get("properties", {})
    response = _write(client, world, spec_path)

    assert response.status_code == int(status)
    assert set(response.json()) == {"objects"}
    assert component_errors(component, response.json()["objects"]) == []


def _write(client: httpx.Client, world: dict[str, Any], spec_path: str) -> httpx.Response:
    ref = {"id": int(world["contact"]["id"]), "objectName": "Contact"}
    fresh = finalize(client, create_invoice(client, world["contact"]["id"])["id"])["id"]
    calls = {
        "/Invoice/{invoiceId}/cancelInvoice": lambda: client.post(f"/Invoice/{fresh}/cancelInvoice"),
        "/Invoice/{invoiceId}/sendBy": lambda: client.put(
            f"/Invoice/{world['draft']['id']}/sendBy", json={"sendType": "VPDF", "sendDraft": False}
        ),
        "/Invoice/{invoiceId}/sendViaEmail": lambda: client.post(
            f"/Invoice/{fresh}/sendViaEmail", json={"toEmail": "a@b.de", "subject": "S", "text": "T"}
        ),
        "/Contact": lambda: client.post("/Contact", json={"name": "N", "category": {"id": 3}}),
        "/ContactAddress": lambda: client.post("/ContactAddress", json={"contact": ref, "city": "Berlin"}),
        "/CommunicationWay": lambda: client.post(
            "/CommunicationWay", json={"contact": ref, "type": "PHONE", "value": "030 1"}
        ),
    }
    return calls[spec_path]()


def test_deviation_book_amount_log_is_wrapped(client: httpx.Client, world: dict[str, Any]) -> None:
    """NOTES.md §10: [SPEC] returns a bare InvoiceLog; the measured voucher analogue is wrapped."""
    schema = response_schema("/Invoice/{invoiceId}/bookAmount", "put", "200")
    assert "objects" not in schema["properties"] and "ammountPayed" in schema["properties"]
    body = client.put(
        f"/Invoice/{world['sent']['id']}/bookAmount", json={"amount": "1.00", "checkAccount": CASH}
    ).json()
    assert schema_errors("/Invoice/{invoiceId}/bookAmount", "put", "200", body["objects"]) == []


def test_deviation_save_invoice_takes_invoice_pos_save(client: httpx.Client, world: dict[str, Any]) -> None:
    """NOTES.md §4 field notes: [SPEC] requires `invoicePos`; the real key is `invoicePosSave`."""
    request_schema = spec()["components"]["schemas"]["saveInvoice"]
    assert "invoicePos" in request_schema["required"] and "invoicePosSave" not in request_schema["required"]
    body = invoice_body(world["contact"]["id"])
    saved = objects(client.post("/Invoice/Factory/saveInvoice", json=body), 201)
    assert len(saved["invoicePos"]) == 2


def test_deviation_save_invoice_response_is_wrapped_with_numeric_positions(
    client: httpx.Client, world: dict[str, Any]
) -> None:
    """NOTES.md §0 "Value encoding" and §4: wrapped {invoice, invoicePos, vatdrop}; position sums are
    JSON numbers and quantity 1 is `true`, where [SPEC] types price etc. as strings."""
    schema = response_schema("/Invoice/Factory/saveInvoice", "post", "201")
    assert "$ref" in schema and "objects" not in schema.get("properties", {})
    assert (
        spec()["components"]["schemas"]["Model_InvoicePosResponse"]["properties"]["price"]["type"] == "string"
    )
    body = client.post("/Invoice/Factory/saveInvoice", json=invoice_body(world["contact"]["id"])).json()

    saved = body["objects"]
    assert saved["vatdrop"] == "not relevant"
    assert (
        isinstance(saved["invoicePos"][0]["price"], int | float)
        and saved["invoicePos"][1]["quantity"] is True
    )
    assert component_errors("Model_InvoiceResponse", saved["invoice"]) == []


def test_deviation_numbers_and_booleans_are_strings(client: httpx.Client, world: dict[str, Any]) -> None:
    """NOTES.md §0 "Value encoding": flags are "0"/"1" strings; only paidAmount is a JSON number."""
    properties = spec()["components"]["schemas"]["Model_InvoiceResponse"]["properties"]
    assert properties["smallSettlement"]["type"] == "boolean"
    invoice = objects(client.get(f"/Invoice/{world['sent']['id']}"))[0]
    assert invoice["smallSettlement"] == "0" and invoice["showNet"] == "1" and invoice["status"] == "200"
    assert invoice["paidAmount"] == 0 and not isinstance(invoice["paidAmount"], str)
    strict = schema_errors("/Invoice/{invoiceId}", "get", "200", {"objects": [invoice]}, wire=False)
    assert any("smallSettlement" in error for error in strict)


def test_deviation_drafts_have_send_type_zero(client: httpx.Client, world: dict[str, Any]) -> None:
    """NOTES.md "What a faithful emulator must model" 2: a draft reads sendType "0" (recorded), which
    [SPEC]'s enum does not allow."""
    enum = spec()["components"]["schemas"]["Model_InvoiceResponse"]["properties"]["sendType"]["enum"]
    assert "0" not in enum
    assert recorded("invoice_draft.json")["objects"][0]["sendType"] == "0"
    assert objects(client.get(f"/Invoice/{world['draft']['id']}"))[0]["sendType"] == "0"


def test_deviation_get_pdf_key_spelling(client: httpx.Client, world: dict[str, Any]) -> None:
    """NOTES.md §6: measured `base64Encoded`/`mimetype` inside `objects`; [SPEC] has `base64encoded`,
    `mimeType` and no wrapper."""
    properties = response_schema("/Invoice/{invoiceId}/getPdf", "get", "200")["properties"]
    assert {"base64encoded", "mimeType"} <= set(properties) and "objects" not in properties
    pdf = objects(client.get(f"/Invoice/{world['sent']['id']}/getPdf", params={"preventSendBy": "true"}))
    assert set(pdf) == {"base64Encoded", "content", "filename", "mimetype"}


def test_deviation_templates_are_wrapped_in_objects(client: httpx.Client) -> None:
    """NOTES.md §2: [SPEC] shows {result, templates}; observed wrapped in `objects` (here: a list)."""
    properties = response_schema("/DocServer/getTemplatesWithThumb", "get", "200")["properties"]
    assert set(properties) == {"result", "templates"}
    body = client.get("/DocServer/getTemplatesWithThumb", params={"type": "Invoice"}).json()
    assert set(body) == {"objects"} and isinstance(body["objects"], list)


def test_deviation_sev_user_is_not_in_the_spec(client: httpx.Client) -> None:
    """NOTES.md §1: GET /SevUser is undocumented but widely used."""
    assert "/SevUser" not in spec()["paths"]
    assert objects(client.get("/SevUser"))[0]["sevClient"]["objectName"] == "SevClient"


def test_deviation_delete_invoice_is_not_in_the_spec(client: httpx.Client, world: dict[str, Any]) -> None:
    """NOTES.md §4 field notes: DELETE /Invoice/{id} is only in [COMM]; a draft answers {"objects":[null]}."""
    assert "delete" not in spec()["paths"]["/Invoice/{invoiceId}"]
    assert client.delete(f"/Invoice/{world['draft']['id']}").json() == {"objects": [None]}


def test_deviation_datev_progress_shapes(client: httpx.Client, emu: SevdeskEmulator) -> None:
    """NOTES.md §11: [SPEC] types the hash and download info as arrays; a hash string and one
    {filename, link, linkExpireDate} object are what clients get (and read)."""
    for path in ("/Progress/generateDownloadHash", "/ExportJob/jobDownloadInfo", "/Progress/getProgress"):
        assert response_schema(path, "get", "200")["properties"]["objects"]["type"] == "array"
    client.put(f"/SevClient/{emu.state.sev_client['id']}/updateExportConfig", json={"accountingYearBegin": 0})
    emu.export_progress_polls = 1
    params = {"startDate": 1790805600, "endDate": 1793401199, "scope": "E"}  # October 2026: at most a year
    job = objects(client.get("/Export/createDatevCsvZipExportJob", params=params))
    assert (
        schema_errors("/Export/createDatevCsvZipExportJob", "get", "200", {"objects": job}, wire=False) == []
    )

    hash_ = objects(client.get("/Progress/generateDownloadHash", params={"jobId": job}))
    progress = objects(client.get("/Progress/getProgress", params={"hash": hash_}))
    info = objects(client.get("/ExportJob/jobDownloadInfo", params={"jobId": job}))

    assert isinstance(hash_, str) and progress == {"current": 100, "total": 100}
    assert component_errors("Export_Job_Download_Info", info, wire=False) == []
    assert component_errors("Export_Progress_Data", progress, wire=False) == []
